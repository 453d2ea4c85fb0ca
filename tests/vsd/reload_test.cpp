// Reloading the policy live against a real vsd (PROTOCOL.md §8.17): `vsd reload` and SIGHUP read
// the configuration file again; a changed allowlist is logged as a PolicyApplied and applied to
// new joins, a live session it no longer allows is revoked with policy_withdrawn, and a change
// of a fixed key or a file that does not parse is refused as a whole, the policy in force kept.
#include <gtest/gtest.h>

#include <csignal>
#include <functional>
#include <regex>
#include <string>

#include "protocol/clock.h"
#include "tests/support/vs_fixture.h"

namespace gsvs::testing {
namespace {

using namespace protocol;  // NOLINT(google-build-using-namespace)
using std::chrono::milliseconds;

class VsdReload : public ::testing::Test {
 protected:
  void SetUp() override {
    vs_ = std::make_unique<VsProcess>(
        dir_, std::vector<crypto::PublicKey>{identity_.public_key(), other_.public_key()},
        std::vector<Hash32>{build_a_});
  }
  // Rewrites the line of the config file that sets `key` as `line`.
  void set_config_line(const std::string& key, const std::string& line) {
    const std::string text = read_text(vs_->config_path());
    const std::regex current("(^|\n)" + key + " = [^\n]*");
    ASSERT_TRUE(std::regex_search(text, current)) << key;
    write_text(vs_->config_path(), std::regex_replace(text, current, "$1" + line));
  }
  void set_builds(const std::vector<Hash32>& builds) {
    std::string list;
    for (const auto& b : builds) list += (list.empty() ? "\"" : ", \"") + to_hex(b) + "\"";
    set_config_line("allowed_builds", "allowed_builds = [" + list + "]");
  }
  // Runs `vsd reload` on the admin socket: its exit code, and its output in `output`.
  int vsd_reload(std::string& output) {
    ChildProcess reload({program("vsd"), "reload", "--admin-socket", vs_->admin_socket()},
                        out_.file("reload.out"));
    const int code = reload.wait(std::chrono::seconds(10));
    output = reload.output();
    return code;
  }
  std::size_t count(MessageKind kind) const {
    std::size_t n = 0;
    for (const auto& e : vs_->entries()) n += e.header.kind == kind ? 1 : 0;
    return n;
  }
  // The ScriptedGs's join, refused with build_not_allowed.
  void expect_build_refused(const Hash32& build) {
    ScriptedGs gs(vs_->port(), other_, build);
    gs.send_join(gs.make_join_request());
    auto reject = gs.expect<JoinReject>();
    ASSERT_TRUE(reject) << vs_->process().output();
    EXPECT_EQ(reject->reason, static_cast<std::uint16_t>(JoinRejectReason::kBuildNotAllowed));
  }
  void expect_policy_withdrawn(ScriptedGs& gs, const std::string& removed) {
    auto revocation = gs.expect<Revocation>();
    ASSERT_TRUE(revocation) << vs_->process().output();
    EXPECT_TRUE(verify(*revocation, vs_->public_key()));
    EXPECT_EQ(revocation->reason, static_cast<std::uint16_t>(RevocationReason::kPolicyWithdrawn))
        << revocation->detail;
    EXPECT_NE(revocation->detail.find(removed), std::string::npos) << revocation->detail;
    // It cites the JoinAccept and the PolicyApplied that withdrew the build.
    const auto entries = vs_->entries();
    ASSERT_EQ(revocation->evidence.size(), 2U);
    EXPECT_EQ(entries.at(revocation->evidence[0]).header.kind, MessageKind::kJoinAccept);
    EXPECT_EQ(entries.at(revocation->evidence[1]).header.kind, MessageKind::kPolicyApplied);
  }
  void expect_store_verifies() {
    ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
    std::string output;
    EXPECT_EQ(vs_->audit_verify(output), 0) << output;
  }

  TempDir dir_;
  TempDir out_;
  crypto::SecretKey identity_ = crypto::SecretKey::generate();
  crypto::SecretKey other_ = crypto::SecretKey::generate();
  Hash32 build_a_ = crypto::sha256(as_bytes("build a"));
  Hash32 build_b_ = crypto::sha256(as_bytes("build b"));
  std::unique_ptr<VsProcess> vs_;
};

TEST_F(VsdReload, TheStartLogsThePolicyInForce) {
  const auto entries = vs_->entries();
  ASSERT_GE(entries.size(), 2U);
  EXPECT_EQ(entries[0].header.kind, MessageKind::kVsStart);
  ASSERT_EQ(entries[1].header.kind, MessageKind::kPolicyApplied);
  auto applied = decode<PolicyApplied>(entries[1].message);
  ASSERT_TRUE(applied) << applied.error();
  EXPECT_TRUE(verify(*applied, vs_->public_key()));
  EXPECT_EQ(applied->policy_seq, 1U);
  EXPECT_EQ(applied->policy.allowed_builds, std::vector<Hash32>{build_a_});
  EXPECT_EQ(applied->policy.allowed_gs.size(), 2U);
}

TEST_F(VsdReload, AddingABuildLetsANewGsJoin) {
  expect_build_refused(build_b_);
  set_builds({build_a_, build_b_});
  std::string output;
  ASSERT_EQ(vsd_reload(output), 0) << output << vs_->process().output();
  EXPECT_NE(output.find("policy #2 applied"), std::string::npos) << output;
  ScriptedGs gs(vs_->port(), other_, build_b_);
  const JoinAccept accept = gs.join();
  EXPECT_EQ(accept.sw_hash, build_b_);
  EXPECT_EQ(count(MessageKind::kPolicyApplied), 2U);
  // The same file again changes nothing and logs nothing.
  ASSERT_EQ(vsd_reload(output), 0) << output;
  EXPECT_NE(output.find("unchanged"), std::string::npos) << output;
  EXPECT_EQ(count(MessageKind::kPolicyApplied), 2U);
  expect_store_verifies();
}

TEST_F(VsdReload, RemovingABuildRevokesTheLiveSession) {
  ScriptedGs gs(vs_->port(), identity_, build_a_);
  gs.join();
  gs.send_signed(gs.make_heartbeat());
  set_builds({build_b_});
  std::string output;
  ASSERT_EQ(vsd_reload(output), 0) << output << vs_->process().output();
  EXPECT_NE(output.find("1 live session(s) revoked"), std::string::npos) << output;
  expect_policy_withdrawn(gs, "build " + short_hex(build_a_));
  expect_build_refused(build_a_);
  expect_store_verifies();
  // The investigator reads which policy removed what.
  ChildProcess explain({program("audit-cli"), "explain", vs_->store_path(), "--session",
                        std::to_string(gs.session_id()), "--vs-pubkey", to_hex(vs_->public_key())},
                       out_.file("explain.out"));
  EXPECT_EQ(explain.wait(std::chrono::seconds(30)), 0) << explain.output();
  EXPECT_NE(explain.output().find("revoked: policy withdrawn (build " + short_hex(build_a_) +
                                  "... removed by policy #2 at "),
            std::string::npos)
      << explain.output();
}

TEST_F(VsdReload, SighupDoesTheSameAsVsdReload) {
  ScriptedGs gs(vs_->port(), identity_, build_a_);
  gs.join();
  set_builds({build_b_});
  ::kill(vs_->process().pid(), SIGHUP);
  expect_policy_withdrawn(gs, "build " + short_hex(build_a_));
  EXPECT_TRUE(
      vs_->process().wait_for_output("SIGHUP: reload: policy #2 applied", std::chrono::seconds(5)))
      << vs_->process().output();
  expect_store_verifies();
}

// A change outside the policy, or a file that does not parse, refuses the whole reload: the
// policy in force stays, nothing is logged, and the live session goes on.
TEST_F(VsdReload, AFixedKeyOrABadFileIsRefusedAndNothingChanges) {
  ScriptedGs gs(vs_->port(), identity_, build_a_);
  gs.join();
  const std::string good = read_text(vs_->config_path());
  struct Case {
    const char* name;
    std::function<void()> edit;
    const char* named;  // what the refusal must name
  };
  const std::vector<Case> cases{
      {"a fixed key beside a policy change",
       [&] {
         set_builds({build_b_});
         set_config_line("threads", "threads = 3");
       },
       "config key 'threads'"},
      {"the store", [&] { set_config_line("store", "store = \"elsewhere.db\""); }, "'store'"},
      {"not TOML", [&] { write_text(vs_->config_path(), good + "allowed_builds = [\n"); },
       "vsd.toml"},
      {"an unknown key", [&] { write_text(vs_->config_path(), good + "no_such_key = 1\n"); },
       "no_such_key"},
      {"a value out of range",
       [&] { set_config_line("heartbeat_timeout_ms", "heartbeat_timeout_ms = 50"); },
       "heartbeat_timeout_ms"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    write_text(vs_->config_path(), good);
    c.edit();
    std::string output;
    EXPECT_NE(vsd_reload(output), 0) << output;
    EXPECT_NE(output.find("refused"), std::string::npos) << output;
    EXPECT_NE(output.find(c.named), std::string::npos) << output;
    gs.send_signed(gs.make_heartbeat());  // live within heartbeat_timeout_ms
  }
  EXPECT_EQ(count(MessageKind::kPolicyApplied), 1U);
  EXPECT_EQ(count(MessageKind::kRevocation), 0U);
  // SIGHUP with a bad file is refused the same way, in the log.
  ::kill(vs_->process().pid(), SIGHUP);
  EXPECT_TRUE(vs_->process().wait_for_output("SIGHUP: reload refused", std::chrono::seconds(5)))
      << vs_->process().output();
  gs.send_signed(gs.make_heartbeat());
  EXPECT_FALSE(gs.expect<Revocation>(milliseconds(500)));
  EXPECT_EQ(count(MessageKind::kPolicyApplied), 1U);
  write_text(vs_->config_path(), good);
  expect_store_verifies();
}

}  // namespace
}  // namespace gsvs::testing
