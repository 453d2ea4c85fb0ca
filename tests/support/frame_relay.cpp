#include "tests/support/frame_relay.h"

#include <vector>

#include "protocol/messages.h"
#include "tests/support/frame_server.h"
#include "tests/support/frame_socket.h"

namespace gsvs::testing {

using std::chrono::milliseconds;

namespace {

// One carried connection: the program's end and the target's.
struct RelayedConnection {
  std::unique_ptr<FrameSocket> program;
  std::unique_ptr<FrameSocket> target;
  bool black_hole = false;  // what either end sends is read and dropped
};

// Each side is read in short slices, so one thread serves every connection; a slice that ends
// inside a frame keeps its bytes for the next (FrameSocket).
constexpr milliseconds kRelaySlice(2);
// How long the target's replies still reach the program after its own frames stop passing.
constexpr milliseconds kCutGrace(300);

}  // namespace

FrameRelay::FrameRelay(std::uint16_t target_port)
    : target_port_(target_port),
      listener_(std::make_unique<FrameListener>()),
      port_(listener_->port()),
      thread_([this] { run(); }) {}

FrameRelay::~FrameRelay() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void FrameRelay::cut_after_next(protocol::MessageKind kind) {
  std::lock_guard lock(mutex_);
  cut_after_ = kind;
  cut_style_ = CutStyle::kClose;
}

void FrameRelay::black_hole_after_next(protocol::MessageKind kind) {
  std::lock_guard lock(mutex_);
  cut_after_ = kind;
  cut_style_ = CutStyle::kBlackHole;
}

std::size_t FrameRelay::swallowed_from_target(protocol::MessageKind kind) {
  std::lock_guard lock(mutex_);
  auto it = swallowed_.find(kind);
  return it == swallowed_.end() ? 0 : it->second;
}

bool FrameRelay::wait_cut(milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard lock(mutex_);
      if (!cut_after_) return true;
    }
    std::this_thread::sleep_for(milliseconds(5));  // the relay thread clears it at the cut
  }
  return false;
}

void FrameRelay::run() {
  std::vector<RelayedConnection> carried;
  while (!stopping_) {
    if (auto accepted = listener_->accept(kRelaySlice)) {
      try {
        carried.push_back(
            {std::move(accepted), std::make_unique<FrameSocket>(target_port_, milliseconds(1000))});
      } catch (const std::exception&) {
        // The target is not there: the program's connection closes, as a refused one would.
      }
    }
    bool cut = false;
    for (auto& c : carried) {
      if (auto frame = c.program->read_frame(kRelaySlice)) {
        if (!c.black_hole) c.target->send_frame(*frame);
      }
      if (auto frame = c.target->read_frame(kRelaySlice)) {
        auto kind = protocol::peek_kind(*frame);
        std::lock_guard lock(mutex_);
        if (c.black_hole) {
          if (kind) ++swallowed_[*kind];
          continue;
        }
        c.program->send_frame(*frame);
        if (kind && cut_after_ && *kind == *cut_after_) cut = true;
      }
    }
    std::unique_lock style_lock(mutex_);
    if (cut && cut_style_ == CutStyle::kBlackHole) {
      // Nothing passes from here on and nothing is closed: each end finds out by its own
      // timeouts, and whatever it sends meanwhile is lost.
      for (auto& c : carried) c.black_hole = true;
      cut_after_.reset();
      cut = false;
    }
    style_lock.unlock();
    if (cut) {
      // The program's way out breaks first: for kCutGrace what it sends is lost, while what the
      // target had already answered still reaches it. A reply in flight at the cut (a receipt for
      // a digest the target logged just before) is not lost, which a real cut could do and the
      // protocol does not replay (PROTOCOL.md §11): the test means the cut, not that race.
      // Reading the program's frames also lets the close reach it as an end of stream after the
      // last frame passed on, not as a reset that could discard that frame.
      const auto closes_at = std::chrono::steady_clock::now() + kCutGrace;
      while (std::chrono::steady_clock::now() < closes_at) {
        for (auto& c : carried) {
          (void)c.program->read_frame(kRelaySlice);
          if (auto frame = c.target->read_frame(kRelaySlice)) c.program->send_frame(*frame);
        }
      }
      carried.clear();  // closes both ends of every carried connection
      std::lock_guard lock(mutex_);
      cut_after_.reset();
    }
    // A connection either end closed is closed at the other end too; through a black hole no
    // close passes, so each end is held open until it closes its own side.
    std::erase_if(carried, [](const RelayedConnection& c) {
      if (c.black_hole) return c.program->closed() && c.target->closed();
      return c.program->closed() || c.target->closed();
    });
  }
}

}  // namespace gsvs::testing
