#include "vsd/session_loop.h"

#include <algorithm>
#include <cmath>

namespace gsvs::vsd {

namespace asio = net::asio;

storage::BatchWriter::Done notify(const std::shared_ptr<Durability>& durability) {
  return [durability](const Status& status) {
    asio::post(durability->wake.get_executor(), [durability, status] {
      durability->status = status;
      durability->wake.cancel();
    });
  };
}

asio::awaitable<Status> until_durable(Durability& durability) {
  while (!durability.status) {
    boost::system::error_code ec;
    co_await durability.wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return *durability.status;
}

asio::awaitable<Status> durable_or_refused(const Result<std::vector<storage::Entry>>& placed,
                                           Durability& durability) {
  if (!placed) co_return Status(Error{placed.error()});
  co_return co_await until_durable(durability);
}

SessionLoop::SessionLoop() : guard_(context_.get_executor()) {}

SessionLoop::~SessionLoop() { stop(); }

asio::any_io_executor SessionLoop::executor() { return context_.get_executor(); }

void SessionLoop::start() {
  last_probe_ = std::chrono::steady_clock::now();
  probe_lag(std::chrono::steady_clock::now() + kLagProbePeriod);
  thread_ = std::thread([this] { context_.run(); });
}

namespace {
std::int64_t steady_us(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}
}  // namespace

std::chrono::microseconds SessionLoop::lag() const {
  const std::int64_t due = probe_due_us_.load(std::memory_order_relaxed);
  const std::int64_t overdue = due == 0 ? 0 : steady_us(std::chrono::steady_clock::now()) - due;
  return std::chrono::microseconds(std::max(lag_us_.load(std::memory_order_relaxed), overdue));
}

void SessionLoop::probe_lag(std::chrono::steady_clock::time_point due) {
  probe_due_us_.store(steady_us(due), std::memory_order_relaxed);
  lag_probe_.expires_at(due);
  lag_probe_.async_wait([this, due](const boost::system::error_code& ec) {
    if (ec) return;
    const auto now = std::chrono::steady_clock::now();
    const auto late = std::chrono::duration_cast<std::chrono::microseconds>(now - due).count();
    const auto faded =
        faded_lag(std::chrono::microseconds(lag_us_.load(std::memory_order_relaxed)),
                  std::chrono::duration_cast<std::chrono::microseconds>(now - last_probe_));
    lag_us_.store(std::max<std::int64_t>(late, faded.count()), std::memory_order_relaxed);
    last_probe_ = now;
    probe_lag(now + kLagProbePeriod);
  });
}

std::chrono::microseconds SessionLoop::faded_lag(std::chrono::microseconds previous,
                                                 std::chrono::microseconds elapsed) {
  const double half_lives = std::chrono::duration<double>(elapsed) / kLagHalfLife;
  return std::chrono::microseconds(static_cast<std::int64_t>(
      static_cast<double>(previous.count()) * std::exp2(-std::max(half_lives, 0.0))));
}

void SessionLoop::stop() {
  guard_.reset();
  context_.stop();
  if (thread_.joinable()) thread_.join();
}

void SessionLoop::deliver(std::function<void()> fn) {
  const std::lock_guard lock(inbox_mutex_);
  inbox_.push_back(std::move(fn));
  if (drain_posted_) return;
  drain_posted_ = true;
  asio::post(context_, [this] { drain(); });
}

void SessionLoop::drain() {
  std::vector<std::function<void()>> ready;
  {
    const std::lock_guard lock(inbox_mutex_);
    ready.swap(inbox_);
    drain_posted_ = false;
  }
  for (const auto& fn : ready) fn();
}

}  // namespace gsvs::vsd
