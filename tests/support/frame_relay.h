// A relay on 127.0.0.1 between a program and the port it connects to, frame by frame, that can
// cut the connections it carries as a broken network would, with a close at both ends or
// silently (a black hole): for tests of a GS whose VS connection breaks while the VS runs on
// (PROTOCOL.md §8.15). Each connection made to port() is carried to the target on a connection
// of its own; one thread moves the frames both ways.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "protocol/message_kinds.h"

namespace gsvs::testing {

class FrameListener;

class FrameRelay {
 public:
  explicit FrameRelay(std::uint16_t target_port);  // throws if it cannot listen
  ~FrameRelay();
  FrameRelay(const FrameRelay&) = delete;
  FrameRelay& operator=(const FrameRelay&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  // Cuts every connection it carries right after it has passed on the next frame of `kind` from
  // the target: the program's frames stop passing at once, the target's replies still in flight
  // pass for a moment (frame_relay.cpp, kCutGrace), then both ends close; connections made
  // afterwards are carried as before.
  // Cutting just after a frame the target sends at a known pace (a PlayTicket) leaves no frame
  // of that kind in flight.
  void cut_after_next(protocol::MessageKind kind);
  // Waits until that cut (or black hole) has happened.
  bool wait_cut(std::chrono::milliseconds timeout);
  // A cut that sends no FIN or RST, as a pulled cable or a dropping firewall makes: right after
  // the next frame of `kind` from the target has passed, every connection it carries swallows
  // what either end sends from then on, and neither end is closed until that end closes its own
  // side. Connections made afterwards are carried as before (the path is back).
  void black_hole_after_next(protocol::MessageKind kind);
  // How many frames of `kind` the target sent into a black hole.
  [[nodiscard]] std::size_t swallowed_from_target(protocol::MessageKind kind);

 private:
  void run();

  std::uint16_t target_port_;
  std::unique_ptr<FrameListener> listener_;
  std::uint16_t port_ = 0;
  std::mutex mutex_;
  // How the next cut happens, and after which frame of the target (guarded by mutex_).
  enum class CutStyle : std::uint8_t { kClose, kBlackHole };
  std::optional<protocol::MessageKind> cut_after_;
  CutStyle cut_style_ = CutStyle::kClose;
  std::map<protocol::MessageKind, std::size_t> swallowed_;  // guarded by mutex_
  std::atomic<bool> stopping_{false};
  std::thread thread_;  // last: started once the rest is ready
};

}  // namespace gsvs::testing
