// The event loops GS sessions run on, and how a coroutine on one waits for the store: a session
// loop is an io_context run by one thread, fed by the store's writer thread through an inbox;
// Durability carries one commit's outcome back to the coroutine that submitted it.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "net/asio.h"
#include "protocol/result.h"
#include "storage/log.h"

namespace gsvs::vsd {

// Lets a coroutine wait for the BatchWriter's durability callback, which runs on the writer
// thread: the callback posts the status to the coroutine's executor and wakes it. (Plain objects
// rather than a completion-token adapter: g++ 12 mishandles lambda temporaries in co_await.)
struct Durability {
  explicit Durability(const net::asio::any_io_executor& executor)
      : wake(executor, std::chrono::steady_clock::time_point::max()) {}
  net::asio::steady_timer wake;
  std::optional<Status> status;
};

// The callback to submit with: it hands the commit's status to `durability` on its executor.
storage::BatchWriter::Done notify(const std::shared_ptr<Durability>& durability);

// Waits until the commit's status has arrived, and returns it.
net::asio::awaitable<Status> until_durable(Durability& durability);

// The outcome of a submit: its refusal, or once it was placed, its commit. (An `if`, never a
// `co_await` inside `?:`: g++ 12 miscompiles that, destroying the awaited temporary twice.)
net::asio::awaitable<Status> durable_or_refused(const Result<std::vector<storage::Entry>>& placed,
                                                Durability& durability);

// An event loop for GS sessions: an io_context run by one thread (told so, so that asio skips
// the locking it would need for several), which keeps each session's handlers in order without a
// strand. Work from the store's writer thread arrives through an inbox: one commit completes
// entries of many sessions at once, and one wake-up of the loop serves them all.
class SessionLoop {
 public:
  SessionLoop();
  SessionLoop(const SessionLoop&) = delete;
  SessionLoop& operator=(const SessionLoop&) = delete;
  ~SessionLoop();

  [[nodiscard]] net::asio::any_io_executor executor();
  void start();
  void stop();

  // From any thread: runs `fn` on this loop, after everything delivered before it.
  void deliver(std::function<void()> fn);

  // How late this loop runs its lag probe, a timer due every kLagProbePeriod: about how long a
  // frame that arrives now waits before its session reads it and stamps its VS time. The later of
  // how late the last probe ran, faded (faded_lag), and how overdue the next one is now (a loop
  // stuck in a handler shows as late while it is stuck, not only once it is free again). From
  // any thread; zero before the first probe.
  [[nodiscard]] std::chrono::microseconds lag() const;
  static constexpr std::chrono::milliseconds kLagProbePeriod{20};
  static constexpr std::chrono::milliseconds kLagHalfLife{100};
  // What a lag figure of `previous` reads `elapsed` later: half as much per kLagHalfLife. A spike
  // stays in view for a while, so joins held by it do not flap on and off probe by probe, nor
  // between the stalls of a loop that stalls again and again; and once the loop runs on time
  // again, a pause of any length is forgotten within log2(pause / admission_max_lag_ms) half-lives
  // (fading at a fixed pace held joins and resumes, players' included, for half as long again as
  // the pause had lasted).
  [[nodiscard]] static std::chrono::microseconds faded_lag(std::chrono::microseconds previous,
                                                           std::chrono::microseconds elapsed);

 private:
  void drain();
  void probe_lag(std::chrono::steady_clock::time_point due);

  net::asio::io_context context_{1};
  net::asio::executor_work_guard<net::asio::io_context::executor_type> guard_;
  net::asio::steady_timer lag_probe_{context_};
  std::atomic<std::int64_t> lag_us_{0};
  // When the next probe is due, in microseconds of the steady clock's epoch (0: none yet).
  std::atomic<std::int64_t> probe_due_us_{0};
  std::chrono::steady_clock::time_point last_probe_;  // the loop's thread only, after start()
  std::thread thread_;
  // Declared after the context, so destroyed before it: callbacks delivered after the loop
  // stopped still hold sessions, whose sockets must close while their context exists.
  std::mutex inbox_mutex_;
  std::vector<std::function<void()>> inbox_;
  bool drain_posted_ = false;
};

}  // namespace gsvs::vsd
