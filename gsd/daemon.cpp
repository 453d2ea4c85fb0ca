#include "gsd/daemon.h"

#include <spdlog/spdlog.h>

#include "gsd/client_session.h"
#include "gsd/listener.h"
#include "gsd/shared_state.h"
#include "gsd/vs_link.h"

// The daemon in four parts, each a file: the listener (gsd/listener.h) accepts client
// connections; a client session (gsd/client_session.h) serves each one; the VS link
// (gsd/vs_link.h) joins the VS and keeps the session; the shared state (gsd/shared_state.h,
// gsd/match.h) is what they all read and write. This file starts and stops them.
//
// Threading: the daemon runs on ONE thread (the io_context is run by a single thread, which makes
// it one implicit strand for the whole match). The world, the ticket window, the nonce book, the
// replay counters and the VS link are shared by every client connection, so a strand per
// connection would only move the locking elsewhere. The heaviest work per input is one Ed25519
// verification (about 70 µs here): 256 players sending 20 inputs a second use about a third of a
// core. The store's writer thread is the only other thread; its callbacks post back to this one.

namespace gsvs::gsd {

namespace asio = net::asio;
using std::chrono::milliseconds;

struct Daemon::Impl : std::enable_shared_from_this<Daemon::Impl> {
  explicit Impl(asio::io_context& io) : stop_timer(io) {}

  std::shared_ptr<SharedState> shared;
  std::shared_ptr<Listener> listener;
  std::shared_ptr<VsLink> vs_link;
  asio::steady_timer stop_timer;
  bool stop_finished = false;

  void stop();
  // The rest of stop(), once the VS answered the GsLeaving, closed, or did not answer in time.
  void finish_stop();
};

void Daemon::Impl::stop() {
  if (shared->stopping) return;
  shared->stopping = true;
  spdlog::info("stopping: closing {} client(s) and the VS connection", shared->clients.size());
  listener->close();
  std::weak_ptr<Impl> weak = weak_from_this();
  vs_link->leave([weak] {
    if (auto self = weak.lock()) self->finish_stop();
  });
}

void Daemon::Impl::finish_stop() {
  if (stop_finished) return;
  stop_finished = true;
  vs_link->end("gsd is stopping");
  for (auto& [id, weak] : shared->clients) {
    if (auto c = weak.lock()) c->close_after_flush();
  }
  // A moment for the last frames to leave, then stop whatever still waits (a join in progress),
  // with the last refusals logged.
  stop_timer.expires_after(milliseconds(200));
  auto* context = &shared->io;
  stop_timer.async_wait([context, last = listener](const boost::system::error_code&) {
    last->summarise_refusals();
    context->stop();
  });
}

Daemon::Daemon(asio::io_context& io, Config config, crypto::SecretKey identity, Hash32 own_sw_hash,
               std::unique_ptr<storage::Log> store, std::shared_ptr<Behaviour> behaviour)
    : impl_(std::make_shared<Impl>(io)) {
  std::weak_ptr<Impl> weak = impl_;
  impl_->shared = std::make_shared<SharedState>(io, std::move(config), std::move(behaviour),
                                                std::move(store), [weak] {
                                                  if (auto self = weak.lock()) self->stop();
                                                });
  impl_->listener = std::make_shared<Listener>(impl_->shared);
  impl_->vs_link = std::make_shared<VsLink>(impl_->shared, std::move(identity), own_sw_hash);
}

Daemon::~Daemon() = default;

Status Daemon::start() {
  Status listening = impl_->listener->open();
  if (!listening) return listening;
  Status metrics_served = serve_metrics(impl_->shared);
  if (!metrics_served) return metrics_served;
  spdlog::info("client port {} bound; clients are served once the VS admits this GS",
               impl_->shared->client_address());
  impl_->listener->run();
  impl_->vs_link->run();
  return {};
}

void Daemon::stop() { impl_->stop(); }

Status Daemon::flush() { return impl_->shared->writer->flush(); }

bool Daemon::failed() const { return impl_->shared->store_failed || impl_->shared->faulted; }

std::uint16_t Daemon::client_port() const { return impl_->listener->port(); }

}  // namespace gsvs::gsd
