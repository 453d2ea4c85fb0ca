// Load generator for vsd: many simulated GS sessions over loopback. Not a test; bench/vsd_load.sh
// runs it against a real vsd and writes the figures docs/PERFORMANCE.md quotes.
//
//   vsd_load identities --count N             hex identity keys, one per line (for allowed_gs)
//   vsd_load run --vs HOST:PORT --sessions N --mode capacity|scale ...
//   vsd_load check-store --store PATH --acked FILE
//                                            every receipt the run saw acknowledged, looked up by
//                                            (session, receipt index) in the VS store
//
// capacity: every session sends the real message mix, a heartbeat then a digest, back to back
//   with --window pairs in flight, all pre-signed so the generator spends its CPU on I/O, not on
//   signing (heartbeats can be: the generator computes the receipt tips the VS will issue).
//   Measures acknowledged messages/s against a raw libsodium verify loop on --verify-threads
//   threads. The VS answers a digest with a receipt and a heartbeat with nothing; it handles a
//   session's messages in order and sends a receipt only once everything before it is durable,
//   so a receipt acknowledges its digest and the heartbeat sent before it.
// scale: every session heartbeats and sends a 16-player digest once per second, signed live, as a
//   real GS would; measures p50/p99 receipt latency with all sessions held.
// storm: every session heartbeats and sends a digest once per --period-ms, signed live with the
//   receipt state it holds, and reads whatever the VS sends as it comes. When its connection is
//   lost (bench/vsd_restart.sh restarts the VS), it resumes its session (GsResume, PROTOCOL.md
//   §8.15) after a wait drawn at random between --backoff-min-ms and a ceiling that doubles up to
//   --backoff-max-ms, as gsd does; reports how many resumed, how long each took, and the receipt
//   latency through the storm.
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sodium.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "net/escape.h"
#include "net/framed_connection.h"
#include "protocol/chains.h"
#include "protocol/clock.h"
#include "protocol/messages.h"
#include "rules/gs_checks.h"
#include "storage/log.h"

namespace gsvs::bench {
namespace {

namespace asio = net::asio;
using namespace protocol;  // NOLINT(google-build-using-namespace)
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

crypto::SecretKey identity_key(std::size_t index) {
  return crypto::SecretKey::from_seed(
      crypto::sha256(as_bytes("vsd_load identity " + std::to_string(index))));
}

Hash32 bench_build() { return crypto::sha256(as_bytes("vsd_load build")); }

using Address = std::pair<std::string, std::uint16_t>;  // host, port

// A generator whose loop died measures nothing: it stops at once, after the EscapeHandler said
// what ended and why.
void abort_generator(const std::string& /*fault*/) { std::abort(); }

net::EscapeHandler on_escape(std::string what) { return {std::move(what), abort_generator}; }

struct Options {
  std::string vs = "127.0.0.1:7700";
  std::size_t sessions = 100;
  std::string mode = "capacity";
  double duration_s = 10;
  double ramp_per_s = 500;
  std::size_t players = 16;
  std::size_t presign = 4000;
  std::size_t window = 8;
  unsigned verify_threads = 2;
  double settle_s = 2;  // after every session started sending, before measuring
  int vsd_pid = 0;      // when set, vsd's own CPU time over the measurement is reported
  // CPUs the raw baselines run on, one thread a CPU in turn (taskset's list syntax: "0", "0-3",
  // "0,2"); empty: wherever the scheduler puts them. bench/vsd_load.sh passes vsd's CPUs, so the
  // baseline is measured on the cores vsd is pinned to, while vsd is idle.
  std::string raw_cpus;
  std::string acked_out;  // when set, each acknowledged receipt as "session index" lines
  // When set (with vsd_pid and raw_cpus): once a second of the measurement vsd is stopped
  // (SIGSTOP) and the raw verify loop runs this long on its CPUs, then vsd goes on (SIGCONT).
  // On a machine whose speed drifts within seconds, the baseline then follows the speed vsd ran
  // at, where one before and one after the load can be a factor of two apart.
  unsigned interleave_ms = 0;
  // storm
  std::uint64_t period_ms = 5000;
  std::uint64_t backoff_min_ms = 200;
  std::uint64_t backoff_max_ms = 10000;
};

struct Stats {
  std::atomic<std::uint64_t> joined{0};
  std::atomic<std::uint64_t> failed{0};
  // Why each failed join failed ("connect", "no challenge: ...", "no answer: ...", "rejected
  // <reason name>"); on io's thread, read once every session has joined or failed.
  std::map<std::string, std::uint64_t> join_failures;
  // When the last session joined or failed: the joins' rate is the sessions over the time from
  // `started` to then. On io's thread, read once every session has joined or failed.
  Clock::time_point joins_done;
  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::uint64_t> receipts{0};
  std::atomic<std::uint64_t> acked_messages{0};
  std::atomic<std::uint64_t> receipts_whole_run{0};  // measured or not: each must be in the store
  std::atomic<std::uint64_t> revoked{0};
  std::atomic<bool> measuring{false};
  std::atomic<bool> stop{false};
  std::vector<double> latencies_ms;  // measured window only
  // The same, by second of the measured window (from measure_started, set before `measuring`).
  Clock::time_point measure_started;
  std::vector<std::vector<double>> latencies_ms_per_second;
  // Every acknowledgement of the run, as (seconds since the first session started, ms): the
  // stderr timeline shows the ramp, the settling and whether the latency is steady.
  Clock::time_point started = Clock::now();
  std::vector<std::pair<double, double>> timeline;
  // storm: connections lost, sessions resumed, resumes the VS refused (each ends its session),
  // attempts that found no VS or were closed unanswered (each retried), and the time each
  // resume took from the loss; on io's thread, read once it has stopped.
  std::uint64_t lost = 0;
  std::uint64_t resumed = 0;
  std::uint64_t resume_refused = 0;
  std::uint64_t resume_retries = 0;
  std::vector<double> resume_ms;
  std::optional<double> first_loss_s;  // seconds since `started`
  std::optional<double> last_resume_s;
  std::string first_refusal;
};

std::vector<PlayerPosition> players_at(std::size_t count, std::int32_t step) {
  std::vector<PlayerPosition> players(count);
  for (std::size_t i = 0; i < count; ++i) {
    players[i].player.bytes[0] = static_cast<std::uint8_t>(i);
    players[i].player.bytes[1] = 0xb5;
    players[i].x_mm = step * 1000;  // 1 m per second: well within any limit
    players[i].y_mm = static_cast<std::int32_t>(i) * 1000;
  }
  return players;
}

class GsSession : public std::enable_shared_from_this<GsSession> {
 public:
  GsSession(std::size_t index, const Options& options, Stats& stats)
      : index_(index),
        options_(options),
        stats_(stats),
        identity_(identity_key(index)),
        session_key_(crypto::SecretKey::generate()) {}

  // Joins, waits for `go` to be cancelled, then sends until the run stops.
  // Joins the first of `nodes` (a VS, or a fleet's nodes: storm resumes move on to the others).
  asio::awaitable<void> run(asio::any_io_executor executor, const std::vector<Address>& nodes,
                            asio::steady_timer& go) {
    auto socket = co_await net::connect(executor, nodes.front().first, nodes.front().second,
                                        milliseconds(30000));
    if (!socket) {
      join_failed("connect");
      co_return;
    }
    conn_ = std::make_shared<net::FramedConnection>(std::move(*socket),
                                                    net::ConnectionLimits{1 << 20, 64 << 20});
    conn_->start(abort_generator);
    if (auto refused = co_await join()) {
      join_failed(*refused);
      conn_->close();
      co_return;
    }
    const bool capacity = options_.mode == "capacity";
    receipts_behind_ = capacity ? options_.window : 0;
    step_ms_ = capacity ? 1 : 1000;
    // Waits for every session to join and for the messages to be signed (off this thread, while
    // the VS is idle), so that neither the ramp nor the signing competes with the VS under load.
    stats_.joins_done = Clock::now();
    ++stats_.joined;
    boost::system::error_code ec;
    co_await go.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stats_.stop) co_return;
    if (options_.mode == "storm") {
      nodes_ = nodes;
      asio::co_spawn(
          executor, [self = shared_from_this(), executor] { return self->storm_reader(executor); },
          on_escape("a storm reader"));
      co_await storm_sender(executor);
    } else if (capacity) {
      co_await capacity_loop();
    } else {
      co_await scale_loop(executor);
    }
    conn_->close();
  }

  // Signs the first `count` heartbeat + digest pairs. Called from a signing thread while the
  // session waits for the start; a session that runs out later signs more as it goes, with the
  // generator's CPU, so the figures are cleanest when --presign covers the run. Nothing for a
  // session that did not join (ids start at 1).
  // This session's id and the index of every receipt it saw acknowledged (--acked-out).
  [[nodiscard]] SessionId session_id() const { return session_id_; }
  [[nodiscard]] const std::vector<std::uint64_t>& acked_receipts() const { return acked_receipts_; }

  void presign(std::size_t count) {
    // A storm session signs as it goes, with the receipt state it holds.
    if (session_id_ == 0 || options_.mode == "storm") return;
    sign_start_ms_ = unix_time_ms();
    sign_pairs(count);
  }

 private:
  // Why a join failed, counted by cause; on io's thread.
  void join_failed(const std::string& cause) {
    ++stats_.join_failures[cause];
    stats_.joins_done = Clock::now();
    ++stats_.failed;
  }

  // nullopt once joined, else why not.
  asio::awaitable<std::optional<std::string>> join() {
    auto frame = co_await conn_->read_frame(milliseconds(30000));
    if (!frame) co_return "no challenge: " + frame.error();
    auto challenge = decode<VsChallenge>(*frame);
    if (!challenge) co_return "no challenge";
    JoinRequest request;
    request.gs_identity = identity_.public_key();
    request.session_key = session_key_.public_key();
    request.sw_hash = bench_build();
    request.gs_time_ms = unix_time_ms();
    request.challenge = challenge->challenge;
    sign(request, identity_, 0);
    sign(request, session_key_, 1);
    conn_->send(encode(request));
    while (true) {
      auto reply = co_await conn_->read_frame(milliseconds(30000));
      if (!reply) co_return "no answer: " + reply.error();
      if (auto accept = decode<JoinAccept>(*reply)) {
        session_id_ = accept->session_id;
        co_return std::nullopt;
      }
      if (auto reject = decode<JoinReject>(*reply)) {
        co_return "rejected " + rules::reason_text<JoinRejectReason>(reject->reason);
      }
    }
  }

  // Reads until a receipt arrives; false if the connection ended (revoked or closed).
  asio::awaitable<bool> await_receipt() {
    while (true) {
      auto frame = co_await conn_->read_frame(milliseconds(60000));
      if (!frame) co_return false;
      auto kind = peek_kind(*frame);
      if (!kind) co_return false;
      if (*kind == MessageKind::kProtectedReceipt) {
        ++stats_.receipts_whole_run;
        if (!options_.acked_out.empty()) {
          if (auto receipt = decode<ProtectedReceipt>(*frame)) {
            acked_receipts_.push_back(receipt->receipt_index);
          }
        }
        co_return true;
      }
      if (*kind == MessageKind::kRevocation) {
        ++stats_.revoked;
        co_return false;
      }
    }
  }

  // Appends `count` pairs; pair i is heartbeat i then digest i, stamped step_ms_ apart. The
  // heartbeat acknowledges the receipts the session is sure to have been issued by then (all but
  // the last receipts_behind_ digests), with the tip the VS will have computed over them, so it
  // passes the VS's receipt_tip check.
  void sign_pairs(std::size_t count) {
    for (std::size_t n = 0; n < count; ++n) {
      const std::size_t i = tips_.size() - 1;
      const std::uint64_t gs_time_ms = sign_start_ms_ + i * step_ms_;
      Heartbeat hb;
      hb.session_id = session_id_;
      hb.gs_counter = ++counter_;
      hb.gs_time_ms = gs_time_ms;
      hb.sw_hash = bench_build();
      hb.receipt_count = i > receipts_behind_ ? i - receipts_behind_ : 0;
      hb.receipt_tip = tips_[hb.receipt_count];
      sign(hb, session_key_);
      presigned_.push_back(encode(hb));
      presigned_.push_back(encode_signed_digest(i, gs_time_ms));
      tips_.push_back(chains::next_receipt_tip(session_id_, i + 1, tips_.back(),
                                               chains::message_hash(presigned_.back())));
    }
  }

  asio::awaitable<void> capacity_loop() {
    const auto& presigned = presigned_;
    // Keep `window` pairs in flight: a session is never idle waiting for the disk.
    std::deque<Clock::time_point> in_flight;
    std::size_t next = 0;
    while (!stats_.stop) {
      while (in_flight.size() < options_.window) {
        if (next + 1 >= presigned.size()) sign_pairs(options_.window);
        conn_->send(presigned[next++]);
        conn_->send(presigned[next++]);
        in_flight.push_back(Clock::now());
        if (stats_.measuring) stats_.sent += 2;
      }
      if (!co_await await_receipt()) co_return;
      record(in_flight.front(), 2);
      in_flight.pop_front();
    }
  }

  asio::awaitable<void> scale_loop(asio::any_io_executor executor) {
    asio::steady_timer timer(executor);
    // Spread sessions over the second so the load is smooth.
    auto next = Clock::now() + milliseconds(static_cast<long>(index_ % 1000));
    for (std::size_t next_pair = 0; !stats_.stop; next_pair += 2) {
      if (next_pair + 1 >= presigned_.size()) sign_pairs(1);
      timer.expires_at(next);
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (stats_.stop) break;
      conn_->send(presigned_[next_pair]);
      const auto sent_at = Clock::now();
      conn_->send(presigned_[next_pair + 1]);
      if (stats_.measuring) stats_.sent += 2;
      if (!co_await await_receipt()) co_return;
      record(sent_at, 2);
      next += milliseconds(1000);
    }
  }

  // storm: a heartbeat (with the receipt state this session holds) and a digest every period,
  // while connected and not still waiting for the last receipt.
  asio::awaitable<void> storm_sender(asio::any_io_executor executor) {
    asio::steady_timer timer(executor);
    const milliseconds period(options_.period_ms);
    auto next = Clock::now() + milliseconds(index_ % options_.period_ms);
    for (std::uint64_t step = 0; !stats_.stop && !ended_; ++step) {
      timer.expires_at(next);
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      next += period;
      if (stats_.stop || !connected_ || awaiting_receipt_) continue;
      Heartbeat hb;
      hb.session_id = session_id_;
      hb.gs_counter = ++counter_;
      hb.gs_time_ms = unix_time_ms();
      hb.sw_hash = bench_build();
      hb.receipt_count = receipt_count_;
      hb.receipt_tip = receipt_tip_;
      sign(hb, session_key_);
      conn_->send(encode(hb));
      conn_->send(encode_signed_digest(step, hb.gs_time_ms));
      awaiting_receipt_ = Clock::now();
      if (stats_.measuring) stats_.sent += 2;
    }
  }

  // storm: everything the VS sends, as it comes: tickets and receipts noted for the resume, a
  // receipt timed against its digest; a lost connection resumed.
  asio::awaitable<void> storm_reader(asio::any_io_executor executor) {
    while (!stats_.stop && !ended_) {
      auto frame = co_await conn_->read_frame(milliseconds(120000));
      if (!frame) {
        if (stats_.stop) break;
        connected_ = false;
        awaiting_receipt_.reset();
        if (!co_await storm_resume(executor)) {
          ended_ = true;
          break;
        }
        continue;
      }
      auto kind = peek_kind(*frame);
      if (!kind) continue;
      if (*kind == MessageKind::kPlayTicket) {
        if (auto ticket = decode<PlayTicket>(*frame)) {
          ticket_seq_ = ticket->ticket_seq;
          ticket_hash_ = chains::message_hash(*frame);
        }
      } else if (*kind == MessageKind::kProtectedReceipt) {
        if (auto receipt = decode<ProtectedReceipt>(*frame)) {
          receipt_count_ = receipt->receipt_index;
          receipt_tip_ = receipt->receipt_tip;
          ++stats_.receipts_whole_run;
          if (!options_.acked_out.empty()) acked_receipts_.push_back(receipt->receipt_index);
        }
        if (awaiting_receipt_) record(*std::exchange(awaiting_receipt_, std::nullopt), 2);
      } else if (*kind == MessageKind::kRevocation) {
        ++stats_.revoked;
        ended_ = true;
      }
    }
    conn_->close();
  }

  // storm: reconnects with backoff and full jitter and resumes; false once the VS refuses.
  asio::awaitable<bool> storm_resume(asio::any_io_executor executor) {
    const auto lost_at = Clock::now();
    ++stats_.lost;
    const double lost_s = std::chrono::duration<double>(lost_at - stats_.started).count();
    if (!stats_.first_loss_s) stats_.first_loss_s = lost_s;
    std::uint64_t ceiling = options_.backoff_min_ms * 2;
    asio::steady_timer wait(executor);
    while (!stats_.stop) {
      const std::uint64_t span = ceiling - options_.backoff_min_ms;
      wait.expires_after(milliseconds(options_.backoff_min_ms +
                                      randombytes_uniform(static_cast<std::uint32_t>(span + 1))));
      boost::system::error_code ec;
      co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      ceiling = std::max(std::min(ceiling * 2, options_.backoff_max_ms), options_.backoff_min_ms);
      // The node the session was on first, then the fleet's others in turn (PROTOCOL.md §8.8
      // "A GS's node list"): one that is down, or turns the resume away, is passed over.
      const Address& node = nodes_[node_ % nodes_.size()];
      auto socket = co_await net::connect(executor, node.first, node.second, milliseconds(5000));
      if (!socket) {
        ++stats_.resume_retries;
        ++node_;
        continue;
      }
      conn_ = std::make_shared<net::FramedConnection>(std::move(*socket),
                                                      net::ConnectionLimits{1 << 20, 64 << 20});
      conn_->start(abort_generator);
      auto frame = co_await conn_->read_frame(milliseconds(10000));
      std::optional<VsChallenge> challenge;
      if (frame) {
        if (auto decoded = decode<VsChallenge>(*frame)) challenge = *decoded;
      }
      if (!challenge) {
        ++stats_.resume_retries;
        conn_->close();
        continue;
      }
      GsResume resume;
      resume.session_id = session_id_;
      resume.gs_identity = identity_.public_key();
      resume.session_key = session_key_.public_key();
      resume.gs_counter = ++counter_;
      resume.gs_time_ms = unix_time_ms();
      resume.receipt_count = receipt_count_;
      resume.receipt_tip = receipt_tip_;
      resume.ticket_seq = ticket_seq_;
      resume.ticket_hash = ticket_seq_ == 0 ? Hash32{} : ticket_hash_;
      resume.challenge = challenge->challenge;
      sign(resume, session_key_);
      conn_->send(encode(resume));
      auto reply = co_await conn_->read_frame(milliseconds(10000));
      if (reply && decode<ResumeAccept>(*reply)) {
        connected_ = true;
        ++stats_.resumed;
        const auto now = Clock::now();
        stats_.resume_ms.push_back(
            std::chrono::duration<double, std::milli>(now - lost_at).count());
        stats_.last_resume_s = std::chrono::duration<double>(now - stats_.started).count();
        co_return true;
      }
      if (reply) {
        if (auto reject = decode<JoinReject>(*reply)) {
          ++stats_.resume_refused;
          if (stats_.first_refusal.empty()) {
            stats_.first_refusal =
                std::string(reason_name(static_cast<JoinRejectReason>(reject->reason))) + ": " +
                reject->detail;
            // Printed inside a JSON string.
            std::replace_if(
                stats_.first_refusal.begin(), stats_.first_refusal.end(),
                [](char c) { return c == '"' || c == '\\' || c < ' '; }, '\'');
          }
          co_return false;
        }
      }
      // Closed unanswered: the VS's pace of joins, or it is not taking sessions yet; in a fleet,
      // a node that cannot adopt the session (yet).
      ++stats_.resume_retries;
      ++node_;
      conn_->close();
    }
    co_return false;
  }

  Bytes encode_signed_digest(std::size_t step, std::uint64_t gs_time_ms) {
    TranscriptDigest digest;
    digest.session_id = session_id_;
    digest.gs_counter = ++counter_;
    digest.gs_time_ms = gs_time_ms;
    digest.tick = step;
    digest.players = players_at(options_.players, 0);
    sign(digest, session_key_);
    return encode(digest);
  }

  // A receipt arrived for a digest sent at `sent_at`; it acknowledges `messages` messages.
  void record(Clock::time_point sent_at, std::uint64_t messages) {
    const auto now = Clock::now();
    const double ms = std::chrono::duration<double, std::milli>(now - sent_at).count();
    stats_.timeline.emplace_back(std::chrono::duration<double>(now - stats_.started).count(), ms);
    if (!stats_.measuring) return;
    ++stats_.receipts;
    stats_.acked_messages += messages;
    stats_.latencies_ms.push_back(ms);
    const auto second = static_cast<std::size_t>(
        std::chrono::duration<double>(now - stats_.measure_started).count());
    if (stats_.latencies_ms_per_second.size() <= second) {
      stats_.latencies_ms_per_second.resize(second + 1);
    }
    stats_.latencies_ms_per_second[second].push_back(ms);
  }

  std::size_t index_;
  const Options& options_;
  Stats& stats_;
  crypto::SecretKey identity_;
  crypto::SecretKey session_key_;
  std::shared_ptr<net::FramedConnection> conn_;
  std::vector<Bytes> presigned_;
  SessionId session_id_ = 0;
  std::uint64_t counter_ = 0;
  std::vector<Hash32> tips_{Hash32{}};  // tips_[n]: the receipt tip after n receipts
  std::size_t receipts_behind_ = 0;
  std::uint64_t step_ms_ = 1;
  std::uint64_t sign_start_ms_ = 0;
  std::vector<std::uint64_t> acked_receipts_;
  // storm: where the VS is (the node of nodes_ it was on last), and what this session holds for
  // its resume.
  std::vector<Address> nodes_;
  std::size_t node_ = 0;
  bool connected_ = true;
  bool ended_ = false;                                 // revoked, or its resume refused
  std::optional<Clock::time_point> awaiting_receipt_;  // the last digest's send time
  std::uint64_t receipt_count_ = 0;
  Hash32 receipt_tip_;
  std::uint64_t ticket_seq_ = 0;
  Hash32 ticket_hash_;
};

// The CPUs of a taskset-style list ("0-3,6"); empty on a malformed list.
std::vector<std::size_t> parse_cpu_list(const std::string& list) {
  std::vector<std::size_t> cpus;
  std::stringstream in(list);
  std::string range;
  while (std::getline(in, range, ',')) {
    int first = 0;
    int last = 0;
    char dash = 0;
    std::istringstream part(range);
    if (!(part >> first) || first < 0) return {};
    last = first;
    if (part >> dash && (dash != '-' || !(part >> last) || last < first)) return {};
    for (int cpu = first; cpu <= last; ++cpu) cpus.push_back(static_cast<std::size_t>(cpu));
  }
  return cpus;
}

// Pins the calling thread to `cpu`; false (and the thread left where it was) when the kernel
// refuses, e.g. a CPU outside this machine or this cgroup.
bool pin_this_thread(std::size_t cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0;
}

// Operations per second of `op` on `threads` threads for `seconds`.
// Thread t runs on cpus[t % cpus.size()] when `cpus` is not empty.
template <class Op>
double raw_rate(unsigned threads, const std::vector<std::size_t>& cpus, double seconds,
                const Op& op) {
  std::atomic<std::uint64_t> total{0};
  std::vector<std::thread> pool;
  const auto until = Clock::now() + std::chrono::duration<double>(seconds);
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      if (!cpus.empty() && !pin_this_thread(cpus[t % cpus.size()])) {
        std::fprintf(stderr, "vsd_load: cannot pin a baseline thread to CPU %zu\n",
                     cpus[t % cpus.size()]);
      }
      std::uint64_t n = 0;
      while (Clock::now() < until) {
        for (int i = 0; i < 64; ++i) n += op() ? 1U : 0U;
      }
      total += n;
    });
  }
  for (auto& t : pool) t.join();
  return static_cast<double>(total) / seconds;
}

double raw_verify_rate(unsigned threads, const std::vector<std::size_t>& cpus, double seconds) {
  auto key = crypto::SecretKey::generate();
  Bytes message(200, 0x42);
  auto sig = key.sign(message);
  return raw_rate(threads, cpus, seconds, [&] {
    return crypto_sign_verify_detached(sig.bytes.data(), message.data(), message.size(),
                                       key.public_key().bytes.data()) == 0;
  });
}

// The VS signs a receipt per digest (and a ticket per session per period).
double raw_sign_rate(unsigned threads, const std::vector<std::size_t>& cpus, double seconds) {
  auto key = crypto::SecretKey::generate();
  Bytes message(200, 0x42);
  return raw_rate(threads, cpus, seconds, [&] {
    static_cast<void>(key.sign(message));  // an opaque library call: not optimised away
    return true;
  });
}

// Receipts signed and encoded per second in batches of kReceiptBatch (PROTOCOL.md §5.11.1): a
// leaf hash, a proof, the batch's share of one signature and the encoding, as vsd's
// ReceiptBatcher does for a full batch.
constexpr std::size_t kReceiptBatch = 64;
double raw_batched_receipt_rate(unsigned threads, const std::vector<std::size_t>& cpus,
                                double seconds) {
  auto key = crypto::SecretKey::generate();
  std::vector<ProtectedReceipt> batch(kReceiptBatch);
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i].session_id = i + 1;
  thread_local std::vector<ProtectedReceipt> receipts;
  const double batches = raw_rate(threads, cpus, seconds, [&] {
    receipts = batch;
    sign_receipt_batch(receipts, key);
    std::size_t bytes = 0;
    for (const auto& r : receipts) bytes += encode(r).size();
    return bytes > 0;
  });
  return batches * static_cast<double>(kReceiptBatch);
}

// utime + stime of a process in seconds, from /proc; 0 when unreadable.
double process_cpu_seconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return 0;
  // Field 2 (the command) may hold spaces; count fields from the closing parenthesis.
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int index = 3; index <= 15 && rest >> field; ++index) {
    if (index == 14 || index == 15) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// {"cause": count, ...} of the failed joins (a cause may carry a read's error text).
std::string join_failures_json(const Stats& stats) {
  return nlohmann::json(stats.join_failures).dump();
}

double percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  auto index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1));
  return values[index];
}

// Per second of the run: acknowledgements, p50 and p99 latency (to stderr).
void print_timeline(const std::vector<std::pair<double, double>>& timeline) {
  std::vector<std::vector<double>> seconds;
  for (const auto& [at, ms] : timeline) {
    const auto second = static_cast<std::size_t>(at);
    if (seconds.size() <= second) seconds.resize(second + 1);
    seconds[second].push_back(ms);
  }
  std::fprintf(stderr, "second  acks  p50_ms  p99_ms\n");
  for (std::size_t i = 0; i < seconds.size(); ++i) {
    if (seconds[i].empty()) continue;
    std::fprintf(stderr, "%6zu %5zu %7.1f %7.1f\n", i, seconds[i].size(),
                 percentile(seconds[i], 0.5), percentile(seconds[i], 0.99));
  }
}

// storm: one JSON line on the resumes, and the receipt latency before the first lost connection
// and through the storm (from it until a period after the last resume).
void print_storm(Stats& stats, const Options& options) {
  std::vector<double> before;
  std::vector<double> storm;
  const double first_loss = stats.first_loss_s.value_or(1e300);
  const double storm_end =
      stats.last_resume_s.value_or(first_loss) + static_cast<double>(options.period_ms) / 1000;
  for (const auto& [at, ms] : stats.timeline) {
    if (at < first_loss) {
      before.push_back(ms);
    } else if (at <= storm_end) {
      storm.push_back(ms);
    }
  }
  const double max_resume_ms =
      stats.resume_ms.empty() ? 0
                              : *std::max_element(stats.resume_ms.begin(), stats.resume_ms.end());
  const double all_back_s =
      stats.first_loss_s && stats.last_resume_s ? *stats.last_resume_s - *stats.first_loss_s : 0;
  std::printf(
      "{\"storm\": true, \"sessions\": %llu, \"join_failed\": %llu, \"connections_lost\": %llu, "
      "\"resumed\": %llu, \"resume_refused\": %llu, \"resume_retries\": %llu, "
      "\"revoked\": %llu, \"all_resumed_s\": %.2f, \"p50_resume_ms\": %.0f, "
      "\"p99_resume_ms\": %.0f, \"max_resume_ms\": %.0f, \"p99_ack_ms_before\": %.1f, "
      "\"acks_in_storm\": %zu, \"p50_ack_ms_storm\": %.1f, \"p99_ack_ms_storm\": %.1f, "
      "\"first_refusal\": \"%s\"}\n",
      static_cast<unsigned long long>(stats.joined.load()),
      static_cast<unsigned long long>(stats.failed.load()),
      static_cast<unsigned long long>(stats.lost), static_cast<unsigned long long>(stats.resumed),
      static_cast<unsigned long long>(stats.resume_refused),
      static_cast<unsigned long long>(stats.resume_retries),
      static_cast<unsigned long long>(stats.revoked.load()), all_back_s,
      percentile(stats.resume_ms, 0.5), percentile(stats.resume_ms, 0.99), max_resume_ms,
      percentile(before, 0.99), storm.size(), percentile(storm, 0.5), percentile(storm, 0.99),
      stats.first_refusal.c_str());
}

// One "session receipt_index" line for each receipt the sessions saw acknowledged.
bool write_acked(const std::string& path, const std::vector<std::shared_ptr<GsSession>>& sessions) {
  std::ofstream out(path);
  for (const auto& session : sessions) {
    for (const std::uint64_t index : session->acked_receipts()) {
      out << session->session_id() << ' ' << index << '\n';
    }
  }
  out.flush();
  return static_cast<bool>(out);
}

// The exact loss check: each acknowledged receipt (--acked-out of a run) is looked up by its
// session and receipt index among the ProtectedReceipts of the store, rather than comparing
// counts, which a lost receipt and an extra one would cancel. Prints one JSON line; exit 1 when
// any is missing, 2 when the store or the list cannot be read.
int check_store(const std::vector<std::string>& store_paths, const std::string& acked_path) {
  // Receipt indexes stored, by session, in any of the stores.
  std::unordered_map<SessionId, std::unordered_set<std::uint64_t>> stored;
  std::size_t stored_receipts = 0;
  std::uint64_t stored_digests = 0;
  std::uint64_t undecodable = 0;
  for (const std::string& store_path : store_paths) {
    auto log = storage::Log::open(store_path, storage::OpenMode::kReadOnly);
    if (!log) {
      std::cerr << "vsd_load: " << storage::printable_store(store_path) << ": " << log.error()
                << "\n";
      return 2;
    }
    const auto scanned = (*log)->scan({}, [&](const storage::Entry& entry) {
      if (entry.header.kind == MessageKind::kTranscriptDigest) ++stored_digests;
      if (entry.header.kind != MessageKind::kProtectedReceipt) return true;
      if (auto receipt = decode<ProtectedReceipt>(entry.message)) {
        stored_receipts +=
            stored[receipt->session_id].insert(receipt->receipt_index).second ? 1U : 0U;
      } else {
        ++undecodable;
      }
      return true;
    });
    if (!scanned.ok()) {
      std::cerr << "vsd_load: " << storage::printable_store(store_path) << ": " << scanned.error()
                << "\n";
      return 2;
    }
  }
  std::ifstream in(acked_path);
  if (!in) {
    std::cerr << "vsd_load: cannot read " << acked_path << "\n";
    return 2;
  }
  std::uint64_t acked = 0;
  std::uint64_t missing = 0;
  std::string first_missing;
  SessionId session = 0;
  std::uint64_t index = 0;
  while (in >> session >> index) {
    ++acked;
    const auto of_session = stored.find(session);
    if (of_session == stored.end() || !of_session->second.contains(index)) {
      if (missing++ == 0) {
        first_missing = std::to_string(session) + ":" + std::to_string(index);
      }
    }
  }
  std::printf(
      "{\"receipts_acked\": %llu, \"stored_receipts\": %zu, \"stored_digests\": %llu, "
      "\"undecodable_receipts\": %llu, \"acked_receipts_missing_from_store\": %llu, "
      "\"first_missing\": \"%s\"}\n",
      static_cast<unsigned long long>(acked), stored_receipts,
      static_cast<unsigned long long>(stored_digests), static_cast<unsigned long long>(undecodable),
      static_cast<unsigned long long>(missing), first_missing.c_str());
  return missing == 0 && undecodable == 0 ? 0 : 1;
}

int run(const Options& options) {
  std::vector<Address> nodes;
  std::stringstream list(options.vs);
  for (std::string item; std::getline(list, item, ',');) {
    auto address = net::parse_host_port(item);
    if (!address) {
      std::cerr << "vsd_load: --vs: " << address.error() << "\n";
      return 2;
    }
    nodes.push_back(*address);
  }
  if (nodes.empty()) {
    std::cerr << "vsd_load: --vs names no address\n";
    return 2;
  }
  const std::vector<std::size_t> raw_cpus = parse_cpu_list(options.raw_cpus);
  if (!options.raw_cpus.empty() && raw_cpus.empty()) {
    std::cerr << "vsd_load: --raw-cpus: not a CPU list: " << options.raw_cpus << "\n";
    return 2;
  }
  // A storm is about resumes, not the ratio to raw verifies: no baseline.
  const bool baseline = options.mode != "storm";
  if (baseline) {
    std::fprintf(stderr, "raw verify baseline on %u thread(s)%s%s...\n", options.verify_threads,
                 raw_cpus.empty() ? "" : ", CPUs ", options.raw_cpus.c_str());
  }
  const double raw_before = baseline ? raw_verify_rate(options.verify_threads, raw_cpus, 2.0) : 0;
  const double raw_sign = baseline ? raw_sign_rate(options.verify_threads, raw_cpus, 1.0) : 0;
  const double raw_batched =
      baseline ? raw_batched_receipt_rate(options.verify_threads, raw_cpus, 1.0) : 0;

  std::optional<asio::io_context> io(std::in_place, 1);
  Stats stats;
  const auto ramp_gap = std::chrono::duration<double>(1.0 / options.ramp_per_s);
  // Sessions wait on this timer between their join and the start; cancelling it starts them all.
  std::optional<asio::steady_timer> go(std::in_place, *io, Clock::time_point::max());
  std::vector<std::shared_ptr<GsSession>> sessions;  // filled by the ramp, on io's thread
  asio::co_spawn(
      *io,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer timer(*io);
        for (std::size_t i = 0; i < options.sessions; ++i) {
          auto session = std::make_shared<GsSession>(i, options, stats);
          sessions.push_back(session);
          asio::co_spawn(
              *io,
              [session, &io, &nodes, &go] { return session->run(io->get_executor(), nodes, *go); },
              on_escape("a session"));
          timer.expires_after(std::chrono::duration_cast<Clock::duration>(ramp_gap));
          boost::system::error_code ec;
          co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
      },
      on_escape("the ramp"));

  double elapsed = 0;
  double joins_per_s = 0;  // joined or failed, from the first session's start to the last's answer
  double vsd_cores = 0;
  double own_cores = 0;
  const bool interleave = options.interleave_ms > 0;
  bool interleave_failed = false;
  std::vector<double> interleaved_verify_rates;
  double paused_s = 0;
  std::thread reporter([&] {
    // Wait for the ramp, sign every session's messages, start them all, let them settle, then
    // measure for the duration.
    while (stats.joined + stats.failed < options.sessions) {
      std::this_thread::sleep_for(milliseconds(100));
    }
    joins_per_s = static_cast<double>(options.sessions) /
                  std::chrono::duration<double>(stats.joins_done - stats.started).count();
    std::fprintf(stderr, "signing %zu pairs for each of %llu sessions...\n", options.presign,
                 static_cast<unsigned long long>(stats.joined.load()));
    std::atomic<std::size_t> next_to_sign{0};
    std::vector<std::thread> signers;
    for (unsigned t = 0; t < options.verify_threads; ++t) {
      signers.emplace_back([&] {
        for (std::size_t i = next_to_sign++; i < sessions.size(); i = next_to_sign++) {
          sessions[i]->presign(options.presign);
        }
      });
    }
    for (auto& signer : signers) signer.join();
    asio::post(*io, [&go] { go->cancel(); });
    std::this_thread::sleep_for(std::chrono::duration<double>(options.settle_s));
    std::fprintf(stderr,
                 "%llu sessions joined, %.0f a second (%llu failed%s%s); measuring for %.0f s\n",
                 static_cast<unsigned long long>(stats.joined.load()), joins_per_s,
                 static_cast<unsigned long long>(stats.failed.load()), stats.failed > 0 ? ": " : "",
                 stats.failed > 0 ? join_failures_json(stats).c_str() : "", options.duration_s);
    const double vsd_cpu_start = options.vsd_pid ? process_cpu_seconds(options.vsd_pid) : 0;
    const double own_cpu_start = process_cpu_seconds(getpid());
    stats.measure_started = Clock::now();
    stats.measuring = true;
    const auto start = stats.measure_started;
    const auto end = start + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(options.duration_s));
    if (interleave) {
      const auto burst = milliseconds(options.interleave_ms);
      while (Clock::now() + std::chrono::seconds(1) + burst <= end) {
        std::this_thread::sleep_for(std::chrono::seconds(1));
        const auto paused = Clock::now();
        if (kill(options.vsd_pid, SIGSTOP) != 0) {
          // vsd is gone: a burst now would measure beside nothing, so none is taken.
          std::fprintf(stderr,
                       "vsd_load: --interleave-ms: cannot stop vsd (pid %d): %s; has it exited? "
                       "Its log says why\n",
                       options.vsd_pid,
                       std::error_code(errno, std::generic_category()).message().c_str());
          interleave_failed = true;
          break;
        }
        {
          // vsd goes on however the burst ends, an exception included.
          const struct ResumeVsd {
            int pid;
            ~ResumeVsd() { kill(pid, SIGCONT); }
          } resume{options.vsd_pid};
          // The kernel's loopback work for vsd's sockets runs on its CPU a moment longer.
          std::this_thread::sleep_for(milliseconds(20));
          interleaved_verify_rates.push_back(raw_verify_rate(
              options.verify_threads, raw_cpus, std::chrono::duration<double>(burst).count()));
        }
        paused_s += std::chrono::duration<double>(Clock::now() - paused).count();
      }
    }
    if (!interleave_failed) std::this_thread::sleep_until(end);
    stats.measuring = false;
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    vsd_cores =
        options.vsd_pid ? (process_cpu_seconds(options.vsd_pid) - vsd_cpu_start) / elapsed : 0;
    own_cores = (process_cpu_seconds(getpid()) - own_cpu_start) / elapsed;
    stats.stop = true;
    io->stop();
  });
  io->run();
  reporter.join();
  if (interleave_failed) return 1;
  // Closes every connection, so the VS goes quiet, and measures the baseline again: the machine's
  // speed drifts, and the higher of the two keeps the ratio conservative. The sessions and the
  // start timer go first: they hold sockets and timers of io.
  if (!options.acked_out.empty() && !write_acked(options.acked_out, sessions)) {
    std::cerr << "vsd_load: cannot write " << options.acked_out << "\n";
    return 2;
  }
  sessions.clear();
  go.reset();
  io.reset();
  if (baseline) std::this_thread::sleep_for(milliseconds(1000));
  const double raw_after = baseline ? raw_verify_rate(options.verify_threads, raw_cpus, 2.0) : 0;
  const double raw = std::max(raw_before, raw_after);

  std::vector<double> latencies = stats.latencies_ms;
  print_timeline(stats.timeline);
  // p99 of each second of the measured window, the target's unit (a whole-run p99 hides bursts).
  std::string per_second_p99 = "[";
  double worst_second_p99 = 0;
  for (auto& second : stats.latencies_ms_per_second) {
    const double p99 = percentile(second, 0.99);
    worst_second_p99 = std::max(worst_second_p99, p99);
    std::array<char, 32> number{};
    std::snprintf(number.data(), number.size(), "%s%.1f", per_second_p99.size() > 1 ? ", " : "",
                  p99);
    per_second_p99 += number.data();
  }
  per_second_p99 += "]";
  const double digests = static_cast<double>(stats.receipts.load()) / elapsed;
  const double acked = static_cast<double>(stats.acked_messages.load()) / elapsed;
  const double sent = static_cast<double>(stats.sent.load()) / elapsed;
  // The ratio per CPU-second vsd used: its acknowledged messages per CPU-second, against one
  // verify thread's rate. Where vsd is not pinned it leaves out the generator's share of the
  // cores; where it is (bench/vsd_load.sh), the ratio itself is the ratio per vsd core.
  const auto per_cpu_second_ratio_to = [&](double raw_rate) {
    return vsd_cores > 0 && raw_rate > 0 ? (acked / vsd_cores) / (raw_rate / options.verify_threads)
                                         : 0;
  };
  const double per_cpu_second_ratio = per_cpu_second_ratio_to(raw);
  // The same against the verify rates taken while vsd was stopped, once a second.
  double raw_interleaved = 0;
  for (const double rate : interleaved_verify_rates) raw_interleaved += rate;
  if (!interleaved_verify_rates.empty()) {
    raw_interleaved /= static_cast<double>(interleaved_verify_rates.size());
  }
  const double interleaved_ratio = per_cpu_second_ratio_to(raw_interleaved);
  // What the ratio would be if the VS did nothing but its signature work on all the threads:
  // a verify per message and a signature per digest (receipt), tickets left out.
  const double signs_per_message = acked > 0 ? static_cast<double>(stats.receipts.load()) /
                                                   static_cast<double>(stats.acked_messages.load())
                                             : 0;
  const double crypto_ceiling = raw_sign > 0 ? 1.0 / (1.0 + signs_per_message * raw / raw_sign) : 0;
  // The same with each receipt signed in a full batch.
  const double crypto_ceiling_batched =
      raw_batched > 0 ? 1.0 / (1.0 + signs_per_message * raw / raw_batched) : 0;
  std::printf(
      "{\"mode\": \"%s\", \"sessions\": %llu, \"failed\": %llu, \"revoked\": %llu, "
      "\"measured_s\": %.1f, \"messages_sent_per_s\": %.0f, \"messages_acked_per_s\": %.0f, "
      "\"digests_acked_per_s\": %.0f, \"raw_verify_per_s\": %.0f, "
      "\"raw_verify_before_per_s\": %.0f, \"raw_verify_after_per_s\": %.0f, "
      "\"raw_sign_per_s\": %.0f, \"raw_batched_receipts_per_s\": %.0f, "
      "\"verify_threads\": %u, \"ratio\": %.3f, \"ratio_per_vsd_core\": %.3f, "
      "\"crypto_only_ceiling\": %.3f, \"crypto_only_ceiling_batched\": %.3f, "
      "\"vsd_cpu_cores\": %.2f, \"generator_cpu_cores\": %.2f, "
      "\"ratio_per_vsd_cpu_second\": %.3f, \"p50_ack_ms\": %.2f, \"p99_ack_ms\": %.2f, "
      "\"acks\": %zu, \"receipts_whole_run\": %llu, \"worst_second_p99_ms\": %.1f, "
      "\"per_second_p99_ms\": %s, \"joins_per_s\": %.0f, \"join_failures\": %s, "
      "\"interleaved_bursts\": %zu, \"paused_s\": %.2f, \"raw_verify_interleaved_per_s\": %.0f, "
      "\"ratio_interleaved\": %.3f}\n",
      options.mode.c_str(), static_cast<unsigned long long>(stats.joined.load()),
      static_cast<unsigned long long>(stats.failed.load()),
      static_cast<unsigned long long>(stats.revoked.load()), elapsed, sent, acked, digests, raw,
      raw_before, raw_after, raw_sign, raw_batched, options.verify_threads,
      raw > 0 ? acked / raw : 0, raw_cpus.empty() || raw <= 0 ? 0.0 : acked / raw, crypto_ceiling,
      crypto_ceiling_batched, vsd_cores, own_cores, per_cpu_second_ratio,
      percentile(latencies, 0.5), percentile(latencies, 0.99), latencies.size(),
      static_cast<unsigned long long>(stats.receipts_whole_run.load()), worst_second_p99,
      per_second_p99.c_str(), joins_per_s, join_failures_json(stats).c_str(),
      interleaved_verify_rates.size(), paused_s, raw_interleaved, interleaved_ratio);
  if (options.mode == "storm") print_storm(stats, options);
  std::fflush(stdout);
  return stats.failed == 0 && stats.revoked == 0 && stats.resume_refused == 0 ? 0 : 1;
}

}  // namespace
}  // namespace gsvs::bench

int main(int argc, char** argv) {
  using namespace gsvs::bench;  // NOLINT(google-build-using-namespace)
  CLI::App app{"Load generator for vsd (see bench/vsd_load.sh)", "vsd_load"};
  app.require_subcommand(1);
  std::size_t count = 0;
  auto* identities = app.add_subcommand("identities", "Print N identity public keys (hex)");
  identities->add_option("--count", count)->required();
  auto* build = app.add_subcommand("build", "Print the build hash the sessions report");
  Options options;
  auto* run_cmd = app.add_subcommand("run", "Run the load");
  run_cmd
      ->add_option("--vs", options.vs,
                   "vsd address; a fleet's nodes separated by commas (sessions join the first, and "
                   "a storm's resumes move on to the others)")
      ->capture_default_str();
  run_cmd->add_option("--sessions", options.sessions)->capture_default_str();
  run_cmd->add_option("--mode", options.mode)
      ->check(CLI::IsMember({"capacity", "scale", "storm"}))
      ->capture_default_str();
  run_cmd->add_option("--duration-s", options.duration_s)->capture_default_str();
  run_cmd->add_option("--ramp-per-s", options.ramp_per_s, "Sessions started per second")
      ->capture_default_str();
  run_cmd->add_option("--players", options.players)->capture_default_str();
  run_cmd
      ->add_option("--settle-s", options.settle_s,
                   "Seconds between starting every session and starting the measurement")
      ->capture_default_str();
  run_cmd
      ->add_option("--presign", options.presign,
                   "Heartbeat + digest pairs pre-signed per session (scale: one a second)")
      ->capture_default_str();
  run_cmd->add_option("--window", options.window, "capacity: pairs in flight per session")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  run_cmd
      ->add_option("--verify-threads", options.verify_threads,
                   "Threads for the raw verify baseline (vsd's thread count)")
      ->capture_default_str();
  // Positive: --interleave-ms stops this process, and kill() reads 0 and below as groups.
  auto* vsd_pid = run_cmd
                      ->add_option("--vsd-pid", options.vsd_pid,
                                   "vsd's process id: report the CPU it used while measured")
                      ->check(CLI::PositiveNumber);
  auto* raw_cpus = run_cmd->add_option(
      "--raw-cpus", options.raw_cpus,
      "CPUs for the raw baselines, one thread each in turn (e.g. 0-1: vsd's CPUs)");
  run_cmd
      ->add_option("--interleave-ms", options.interleave_ms,
                   "With --vsd-pid and --raw-cpus: once a second, stop vsd and measure raw "
                   "verifies on its CPUs for this long (ratio_interleaved; the latencies then "
                   "include the pauses); 0: off")
      ->needs(vsd_pid)
      ->needs(raw_cpus)
      ->capture_default_str();
  run_cmd->add_option("--acked-out", options.acked_out,
                      "Write each acknowledged receipt as a \"session index\" line (check-store)");
  run_cmd
      ->add_option("--period-ms", options.period_ms, "storm: a heartbeat and a digest this often")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  run_cmd
      ->add_option("--backoff-min-ms", options.backoff_min_ms,
                   "storm: the shortest wait before a reconnection")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  run_cmd
      ->add_option("--backoff-max-ms", options.backoff_max_ms,
                   "storm: the ceiling the wait doubles up to")
      ->capture_default_str();
  std::vector<std::string> store_paths;
  std::string acked_path;
  auto* check_cmd = app.add_subcommand(
      "check-store",
      "Look up every acknowledged receipt of a run in the VS store; exit 1 if any is missing");
  check_cmd
      ->add_option("--store", store_paths,
                   "The VS store (file, segment directory or postgresql:// URI); repeated for a "
                   "fleet's nodes, whose logs together must hold every receipt")
      ->required();
  check_cmd->add_option("--acked", acked_path, "The --acked-out list of the run")->required();
  CLI11_PARSE(app, argc, argv);
  if (auto ready = gsvs::crypto::init(); !ready) {
    std::fprintf(stderr, "vsd_load: %s\n", ready.error().c_str());
    return 2;
  }
  if (*identities) {
    for (std::size_t i = 0; i < count; ++i)
      std::printf("%s\n", gsvs::to_hex(identity_key(i).public_key()).c_str());
    return 0;
  }
  if (*build) {
    std::printf("%s\n", gsvs::to_hex(bench_build()).c_str());
    return 0;
  }
  if (*check_cmd) return check_store(store_paths, acked_path);
  return run(options);
}
