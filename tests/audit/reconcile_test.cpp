// reconcile: a VS store written by a real vsd against a GS store holding what the GS got and
// sent (built from the VS store, same schema), then against copies an insider cut or rewrote.
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <functional>
#include <map>

#include "audit-cli/reconcile_check.h"
#include "protocol/clock.h"
#include "protocol/keyfile.h"
#include "tests/audit/report_fixture.h"
#include "tests/support/gsd_fixture.h"

namespace gsvs::testing {
namespace {

using audit::reconcile::Reconciliation;
using audit::reconcile::Severity;
using nlohmann::json;
using protocol::MessageKind;

Reconciliation run(const std::string& vs_store, const std::string& gs_store,
                   const std::optional<crypto::PublicKey>& key) {
  auto vs = storage::Log::open(vs_store, storage::OpenMode::kReadOnly);
  auto gs = storage::Log::open(gs_store, storage::OpenMode::kReadOnly);
  if (!vs || !gs) throw std::runtime_error("cannot open the stores");
  audit::reconcile::Options options;
  options.vs_key = key;
  auto result = audit::reconcile::reconcile(**vs, **gs, options);
  if (!result) throw std::runtime_error(result.error());
  return std::move(result).value();
}

std::vector<std::string> codes(const Reconciliation& r, Severity severity) {
  std::vector<std::string> out;
  for (const auto& f : r.findings) {
    if (f.severity == severity) out.push_back(f.code);
  }
  return out;
}

bool has(const Reconciliation& r, const std::string& code) {
  for (const auto& f : r.findings) {
    if (f.code == code) return true;
  }
  return false;
}

class ReconcileTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(crypto::init().ok());
    session_ = std::make_unique<RecordedSession>(record(Scenario::kSpeedViolation));
    entries_ = std::make_unique<std::vector<storage::Entry>>(read_store(session_->store));
  }
  static void TearDownTestSuite() {
    session_.reset();
    entries_.reset();
  }
  // The checkpoints the GS store holds, by seq in the VS log.
  std::vector<std::uint64_t> gs_checkpoint_seqs() const {
    std::uint64_t first = UINT64_MAX;
    std::uint64_t last = 0;
    for (const auto& e : *entries_) {
      if (e.header.session_id != session_->session) continue;
      first = std::min(first, e.header.seq);
      last = std::max(last, e.header.seq);
    }
    std::vector<std::uint64_t> out;
    for (const auto& e : *entries_) {
      if (e.header.kind == MessageKind::kCheckpoint && e.header.seq > first &&
          e.header.seq < last) {
        out.push_back(e.header.seq);
      }
    }
    return out;
  }
  std::string gs_store(const std::function<bool(const storage::Entry&)>& keep = nullptr) {
    std::string path = work_.file("gs-" + std::to_string(++stores_) + ".db");
    if (keep) {
      write_gs_store(*entries_, session_->session, path, keep);
    } else {
      write_gs_store(*entries_, session_->session, path);
    }
    return path;
  }

  static std::unique_ptr<RecordedSession> session_;
  static std::unique_ptr<std::vector<storage::Entry>> entries_;
  TempDir work_;
  int stores_ = 0;
};
std::unique_ptr<RecordedSession> ReconcileTest::session_;
std::unique_ptr<std::vector<storage::Entry>> ReconcileTest::entries_;

TEST_F(ReconcileTest, AgreeingStoresReconcile) {
  ASSERT_GE(gs_checkpoint_seqs().size(), 2u) << "the session should span several checkpoints";
  const std::string gs = gs_store();
  std::string output;
  ASSERT_EQ(audit_cli_status(
                {"reconcile", session_->store, gs, "--vs-pubkey", session_->vs_key_file, "--json"},
                &output),
            0)
      << output;
  const json result = json::parse(output);
  EXPECT_EQ(result["ok"], true);
  EXPECT_EQ(result["errors"], 0);
  EXPECT_EQ(result["warnings"], 0);
  EXPECT_EQ(result["matched"], result["gs_entries"]);
  EXPECT_EQ(result["sessions"], json::array({session_->session}));
  for (const auto& c : result["checkpoints"]) {
    EXPECT_EQ(c["status"], "matches");
    EXPECT_EQ(c["vs_signed"], true);
  }
  EXPECT_EQ(audit_cli_status({"reconcile", session_->store, gs}, &output), 0) << output;
  EXPECT_NE(output.find("OK: the VS log and the GS store agree"), std::string::npos) << output;
}

TEST_F(ReconcileTest, CutVsTailShowsAgainstALaterGsCheckpoint) {
  const auto held = gs_checkpoint_seqs();
  const std::uint64_t last_checkpoint = held.back();
  const std::string gs = gs_store();
  // The insider cuts the VS log a few entries before the last checkpoint the GS holds, so the
  // log ends cleanly and verifies on its own.
  const std::string vs = copy_store(session_->store, work_, "vs-cut.db");
  const std::uint64_t cut = last_checkpoint - 3;
  Insider(vs).cut_from(cut);
  const auto r = run(vs, gs, session_->vs_key);
  EXPECT_TRUE(has(r, "vs_log_cut")) << audit::reconcile::to_text(r);
  EXPECT_TRUE(has(r, "vs_missing_received"));
  EXPECT_FALSE(has(r, "vs_chain_broken"));
  EXPECT_FALSE(has(r, "vs_log_rewritten"));  // what is left is the genuine prefix
  bool named = false;
  for (const auto& f : r.findings) {
    if (f.code == "vs_log_cut") {
      named |= f.detail.find("has only " + std::to_string(cut)) != std::string::npos;
    }
  }
  EXPECT_TRUE(named) << audit::reconcile::to_text(r);
  for (const auto& c : r.checkpoints) {
    EXPECT_EQ(c.status, c.log_size > cut ? "beyond_log" : "matches") << c.log_size;
  }
  std::string output;
  EXPECT_EQ(
      audit_cli_status({"reconcile", vs, gs, "--vs-pubkey", to_hex(session_->vs_key)}, &output), 1);
  EXPECT_NE(output.find("ERROR vs_log_cut"), std::string::npos) << output;
}

TEST_F(ReconcileTest, RewrittenEntryShowsAsOtherBytesAndAnotherRoot) {
  const auto held = gs_checkpoint_seqs();
  ASSERT_GE(held.size(), 2u);
  // A Heartbeat the GS sent before the last checkpoint it holds, made to say something else;
  // the insider re-chains the log so that it verifies on its own.
  std::optional<std::uint64_t> victim;
  for (const auto& e : *entries_) {
    if (e.header.kind == MessageKind::kHeartbeat && e.header.session_id == session_->session &&
        e.header.seq < held.back()) {
      victim = e.header.seq;
    }
  }
  ASSERT_TRUE(victim);
  const std::string gs = gs_store();
  const std::string vs = copy_store(session_->store, work_, "vs-rewritten.db");
  Bytes message = (*entries_)[*victim].message;
  message[20] ^= 0x01;  // a bit of gs_time_ms
  Insider(vs).rewrite(*entries_, *victim, message);
  const auto r = run(vs, gs, session_->vs_key);
  const std::string text = audit::reconcile::to_text(r);
  EXPECT_FALSE(has(r, "vs_chain_broken")) << text;
  EXPECT_TRUE(has(r, "vs_log_rewritten")) << text;
  bool differing = false;
  bool ranged = false;
  for (const auto& f : r.findings) {
    if (f.code == "differing_bytes") {
      differing = true;
      EXPECT_EQ(f.vs_seq, victim);
      EXPECT_NE(f.detail.find("the VS log's copy is not genuine"), std::string::npos) << f.detail;
    }
    if (f.code == "vs_log_changed_range") {
      ranged = true;
      // The change lies between the last checkpoint that still matches and the first that does
      // not, and the victim is in that range.
      std::uint64_t matched_below = 0;
      std::uint64_t first_bad = UINT64_MAX;
      for (const auto& c : r.checkpoints) {
        if (c.status == "matches" && c.log_size <= *victim) matched_below = c.log_size;
        if (c.status == "root_mismatch") first_bad = std::min(first_bad, c.log_size);
      }
      EXPECT_LE(matched_below, *victim);
      EXPECT_GT(first_bad, *victim);
      EXPECT_NE(f.detail.find("entries " + std::to_string(matched_below) + " to " +
                              std::to_string(first_bad - 1)),
                std::string::npos)
          << f.detail;
    }
  }
  EXPECT_TRUE(differing) << text;
  EXPECT_TRUE(ranged) << text;
  for (const auto& c : r.checkpoints) {
    EXPECT_EQ(c.status, c.log_size > *victim ? "root_mismatch" : "matches") << c.log_size;
  }
}

TEST_F(ReconcileTest, WhatTheGsLacksIsAnErrorMidSessionAndInfoAtTheTail) {
  // A GS store without its first receipt (hidden or lost) but with later ones: an error.
  std::optional<std::uint64_t> first_receipt;
  for (const auto& e : *entries_) {
    if (!first_receipt && e.header.kind == MessageKind::kProtectedReceipt &&
        e.header.session_id == session_->session) {
      first_receipt = e.header.seq;
    }
  }
  ASSERT_TRUE(first_receipt);
  auto r = run(session_->store,
               gs_store([&](const storage::Entry& e) { return e.header.seq != *first_receipt; }),
               session_->vs_key);
  ASSERT_EQ(codes(r, Severity::kError), std::vector<std::string>{"gs_missing_issued"})
      << audit::reconcile::to_text(r);
  EXPECT_EQ(r.findings.front().vs_seq, first_receipt);

  // A GS that stopped recording before the revocation (and the tickets around it): the tail,
  // reported as information only.
  std::uint64_t revocation_seq = 0;
  for (const auto& e : *entries_) {
    if (e.header.kind == MessageKind::kRevocation) revocation_seq = e.header.seq;
  }
  r = run(session_->store,
          gs_store([&](const storage::Entry& e) { return e.header.seq + 2 < revocation_seq; }),
          session_->vs_key);
  EXPECT_TRUE(codes(r, Severity::kError).empty()) << audit::reconcile::to_text(r);
  EXPECT_TRUE(has(r, "gs_missing_issued_tail")) << audit::reconcile::to_text(r);
}

TEST_F(ReconcileTest, ForgedGsHeldMessagesProveNothing) {
  // The GS store claims a checkpoint and a revocation the VS never signed.
  const std::string gs = gs_store();
  {
    auto log = storage::Log::open(gs, storage::OpenMode::kReadWrite, storage::StoreRole::kGs);
    ASSERT_TRUE(log);
    const auto forger = crypto::SecretKey::generate();
    protocol::Checkpoint cp;
    cp.log_size = 3;
    cp.root = crypto::sha256(as_bytes("made up"));
    protocol::sign(cp, forger);
    storage::PendingEntry p;
    p.kind = MessageKind::kCheckpoint;
    p.direction = chains::Direction::kReceived;
    p.vs_time_ms = unix_time_ms();
    p.message = protocol::encode(cp);
    std::vector<storage::PendingEntry> pending{p};
    ASSERT_TRUE((*log)->append(pending));
  }
  const auto r = run(session_->store, gs, session_->vs_key);
  EXPECT_TRUE(codes(r, Severity::kError).empty()) << audit::reconcile::to_text(r);
  EXPECT_TRUE(has(r, "checkpoint_not_signed")) << audit::reconcile::to_text(r);
  // Without the key the same checkpoint cannot be told from a genuine one and is held against
  // the VS; the text says the signature was not checked.
  const auto unchecked = run(session_->store, gs, std::nullopt);
  EXPECT_TRUE(has(unchecked, "vs_log_rewritten"));
  EXPECT_NE(audit::reconcile::to_text(unchecked).find("signature not checked"), std::string::npos);
}

// A GS store whose JoinAccept names another session key (signed by a key that is not the VS's),
// its heartbeats signed with that key: the VS log's copies, signed with the key the VS logged,
// must not look forged.
TEST_F(ReconcileTest, ASessionKeyFromAJoinAcceptTheVsDidNotSignIsNotUsed) {
  const auto stranger = crypto::SecretKey::generate();
  const auto other_session_key = crypto::SecretKey::generate();
  std::vector<storage::Entry> forged = *entries_;
  for (auto& e : forged) {
    if (e.header.session_id != session_->session) continue;
    if (e.header.kind == MessageKind::kJoinAccept) {
      auto accept = protocol::decode<protocol::JoinAccept>(e.message);
      ASSERT_TRUE(accept);
      accept->session_key = other_session_key.public_key();
      protocol::sign(*accept, stranger);
      e.message = protocol::encode(*accept);
    } else if (e.header.kind == MessageKind::kHeartbeat) {
      auto heartbeat = protocol::decode<protocol::Heartbeat>(e.message);
      ASSERT_TRUE(heartbeat);
      protocol::sign(*heartbeat, other_session_key);
      e.message = protocol::encode(*heartbeat);
    }
  }
  const std::string gs = work_.file("forged-key.db");
  write_gs_store(forged, session_->session, gs);
  const auto r = run(session_->store, gs, session_->vs_key);
  const std::string text = audit::reconcile::to_text(r);
  EXPECT_TRUE(has(r, "differing_bytes")) << text;
  EXPECT_EQ(text.find("the VS log was rewritten"), std::string::npos) << text;
  EXPECT_NE(text.find("the GS store's copy is not genuine"), std::string::npos) << text;
}

TEST_F(ReconcileTest, UnreadableStoresAreUsageErrors) {
  EXPECT_EQ(audit_cli_status({"reconcile", session_->store, work_.file("missing.db")}), 2);
  EXPECT_EQ(audit_cli_status({"reconcile", session_->store}), 2);
  // A GS store that recorded nothing proves nothing either way: refused, not "agree".
  const std::string empty = work_.file("empty-gs.db");
  ASSERT_TRUE(storage::Log::open(empty, storage::OpenMode::kReadWrite, storage::StoreRole::kGs));
  std::string output;
  EXPECT_EQ(audit_cli_status({"reconcile", session_->store, empty}, &output), 2);
  EXPECT_NE(output.find("it holds no session"), std::string::npos) << output;
  EXPECT_EQ(audit_cli_status({"reconcile", "--help"}, &output), 0);
  EXPECT_NE(output.find("vs_log_cut"), std::string::npos);
}

// A VS killed while a GS message is on its way, and a receipt it logged but had not sent: the
// GS resumes after the restart, and the session goes on without either (PROTOCOL.md §8.15).
// Neither is an error. What the same gaps cannot excuse stays one: a message older than a
// heartbeat timeout, a gap with more messages on the same connection, and a receipt the GS's
// own GsResume says it held.
TEST(ReconcileAcrossAResume, WhatWasInFlightWhenTheVsWasKilledIsInformation) {
  ASSERT_TRUE(crypto::init().ok());
  TempDir dir;
  const auto identity = crypto::SecretKey::generate();
  const auto honest_identity = crypto::SecretKey::generate();
  const Hash32 build = crypto::sha256(as_bytes("honest build 1.0"));
  const std::vector allowed{identity.public_key(), honest_identity.public_key()};
  auto vs = std::make_unique<VsProcess>(dir, allowed, std::vector{build});
  // `gs` loses its receipt and a heartbeat in the kill; `holder` keeps its receipt.
  ScriptedGs gs(vs->port(), identity, build);
  ScriptedGs holder(vs->port(), honest_identity, build);
  gs.join();
  holder.join();
  const std::uint64_t receipts_before = gs.receipt_count;
  const Hash32 tip_before = gs.receipt_tip;
  const std::map<const ScriptedGs*, crypto::PublicKey> player_of{
      {&gs, crypto::SecretKey::generate().public_key()},
      {&holder, crypto::SecretKey::generate().public_key()}};
  for (ScriptedGs* g : {&gs, &holder}) {
    g->send_signed(g->make_heartbeat());
    g->send_signed(g->make_digest({player_at(player_of.at(g), 0)}, unix_time_ms()));
    ASSERT_TRUE(g->expect<protocol::ProtectedReceipt>()) << vs->process().output();
  }
  // The receipt was logged, and in this story lost with the VS: `gs` resumes without it.
  gs.receipt_count = receipts_before;
  gs.receipt_tip = tip_before;
  // Signed and recorded by the GS, never delivered.
  protocol::Heartbeat in_flight = gs.make_heartbeat();
  protocol::sign(in_flight, gs.session_key());
  ASSERT_EQ(::kill(vs->process().pid(), SIGKILL), 0);
  vs->process().wait(std::chrono::seconds(10));
  vs = std::make_unique<VsProcess>(dir, allowed, std::vector{build});
  for (ScriptedGs* g : {&gs, &holder}) {
    g->send_unsigned(g->reconnect_and_make_resume(vs->port()));
    ASSERT_TRUE(g->expect<protocol::ResumeAccept>()) << vs->process().output();
    g->send_signed(g->make_heartbeat());
    g->send_signed(g->make_digest({player_at(player_of.at(g), 100)}, unix_time_ms()));
    ASSERT_TRUE(g->expect<protocol::ProtectedReceipt>()) << vs->process().output();
  }
  ASSERT_EQ(vs->stop(), 0) << vs->process().output();

  std::vector<storage::Entry> entries = read_store(vs->store_path());
  const auto first_of = [&](protocol::SessionId session, MessageKind kind) -> std::uint64_t {
    for (const auto& e : entries) {
      if (e.header.session_id == session && e.header.kind == kind) return e.header.seq;
    }
    throw std::runtime_error("no such entry");
  };
  const std::uint64_t lost_receipt = first_of(gs.session_id(), MessageKind::kProtectedReceipt);
  const std::uint64_t held_receipt = first_of(holder.session_id(), MessageKind::kProtectedReceipt);
  const std::uint64_t resume_seq = first_of(gs.session_id(), MessageKind::kGsResume);
  // The GS store holds the lost heartbeat among what it sent, just before its GsResume, at
  // `sent_ms` on the GS's clock (the store writer adds 3 ms to the VS's time).
  const auto gs_store = [&](std::int64_t sent_ms_before_resume,
                            std::optional<std::uint64_t> also_missing) {
    std::vector<storage::Entry> with_lost = entries;
    const auto resume =
        std::find_if(with_lost.begin(), with_lost.end(),
                     [&](const storage::Entry& e) { return e.header.seq == resume_seq; });
    storage::Entry lost;
    lost.header = resume->header;
    lost.header.kind = MessageKind::kHeartbeat;
    lost.header.vs_time_ms =
        resume->header.vs_time_ms - static_cast<std::uint64_t>(sent_ms_before_resume);
    lost.message = protocol::encode(in_flight);
    with_lost.insert(resume, lost);
    std::string path = dir.file("gs-" + std::to_string(sent_ms_before_resume) + "-" +
                                std::to_string(also_missing.value_or(0)) + ".db");
    write_gs_store(with_lost, gs.session_id(), path, [&](const storage::Entry& e) {
      return e.header.seq != lost_receipt && e.header.seq != also_missing;
    });
    return path;
  };

  auto r = run(vs->store_path(), gs_store(50, std::nullopt), vs->public_key());
  std::string text = audit::reconcile::to_text(r);
  EXPECT_TRUE(codes(r, Severity::kError).empty()) << text;
  EXPECT_TRUE(has(r, "vs_missing_sent_before_resume")) << text;
  EXPECT_TRUE(has(r, "gs_missing_issued_before_resume")) << text;

  // Recorded an hour before the resume: not in flight, it was there to be read.
  r = run(vs->store_path(), gs_store(3'600'000, std::nullopt), vs->public_key());
  EXPECT_EQ(codes(r, Severity::kError), std::vector<std::string>{"vs_missing_sent"})
      << audit::reconcile::to_text(r);

  // Without the ResumeAccept, though the GS holds what the VS issued after it.
  r = run(vs->store_path(), gs_store(50, first_of(gs.session_id(), MessageKind::kResumeAccept)),
          vs->public_key());
  EXPECT_EQ(codes(r, Severity::kError), std::vector<std::string>{"gs_missing_issued"})
      << audit::reconcile::to_text(r);

  // The holder's store without the receipt its GsResume says it held.
  const std::string holder_store = dir.file("holder.db");
  write_gs_store(entries, holder.session_id(), holder_store,
                 [&](const storage::Entry& e) { return e.header.seq != held_receipt; });
  r = run(vs->store_path(), holder_store, vs->public_key());
  EXPECT_EQ(codes(r, Severity::kError), std::vector<std::string>{"gs_missing_issued"})
      << audit::reconcile::to_text(r);
}

// The real gsd's own store against the real vsd's: they agree; a cut VS log shows against the
// checkpoints the gsd kept.
TEST(ReconcileWithRealGsd, TheStoresAgreeAndACutShows) {
  ASSERT_TRUE(crypto::init().ok());
  TempDir dir;
  const auto identity = crypto::SecretKey::generate();
  ASSERT_TRUE(keyfile::write_key_pair(dir.file("gs.key"), identity).ok());
  VsOptions vs_options;
  vs_options.checkpoint_interval_ms = 150;
  VsProcess vs(dir, {identity.public_key()}, {sha256_of_file(program("gsd"))}, vs_options);
  std::string gs_store;
  {
    GsdProcess gsd(dir, vs, dir.file("gs.key"));
    gs_store = gsd.store_path();
    ScriptedClient client(gsd.port(), vs.public_key());
    client.handshake();
    for (int i = 0; i < 6; ++i) {
      client.send_nonce();
      client.send_input(client.make_input(100, 0));
      client.pump_for(std::chrono::milliseconds(200));
    }
    TempDir out;
    ChildProcess revoke({program("vsd"), "revoke", "--admin-socket", vs.admin_socket(), "--session",
                         std::to_string(client.session_id()), "--reason", "test"},
                        out.file("revoke.out"));
    ASSERT_EQ(revoke.wait(std::chrono::seconds(10)), 0) << revoke.output();
    ASSERT_TRUE(client.pump_until([&] { return client.revocation().has_value(); },
                                  std::chrono::seconds(5)));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(gsd.stop(), 0) << gsd.process().output();
  }
  ASSERT_EQ(vs.stop(), 0) << vs.process().output();

  auto r = run(vs.store_path(), gs_store, vs.public_key());
  const std::string text = audit::reconcile::to_text(r);
  EXPECT_TRUE(codes(r, Severity::kError).empty()) << text;
  EXPECT_TRUE(codes(r, Severity::kWarning).empty()) << text;
  EXPECT_GT(r.matched, 20u) << text;
  ASSERT_GE(r.checkpoints.size(), 2u) << text;
  for (const auto& c : r.checkpoints) EXPECT_EQ(c.status, "matches") << text;

  const std::uint64_t last_held = r.checkpoints.back().log_size;
  const std::string cut = copy_store(vs.store_path(), dir, "vs-cut.db");
  Insider(cut).cut_from(last_held - 2);
  r = run(cut, gs_store, vs.public_key());
  EXPECT_TRUE(has(r, "vs_log_cut")) << audit::reconcile::to_text(r);
  std::string output;
  EXPECT_EQ(audit_cli_status({"reconcile", cut, gs_store, "--vs-pubkey", to_hex(vs.public_key())},
                             &output),
            1)
      << output;
}

}  // namespace
}  // namespace gsvs::testing
