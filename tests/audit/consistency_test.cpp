// audit-cli consistency and verify-consistency (AUDIT.md §3.8): the proof the store gives between
// two of its checkpoints is RFC 9162's over every entry hash, a GS holding the older signed
// checkpoint accepts it against the newer one with the VS key, and a forged proof, checkpoints in
// the wrong order or a checkpoint the VS did not sign are refused.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "protocol/merkle.h"
#include "storage/log.h"
#include "tests/audit/audit_fixture.h"

namespace gsvs::testing {
namespace {

std::vector<Hash32> all_entry_hashes() {
  auto log = storage::Log::open(generated_path(), storage::OpenMode::kReadOnly);
  EXPECT_TRUE(log.ok());
  std::vector<Hash32> hashes;
  EXPECT_TRUE((*log)
                  ->scan({},
                         [&](const storage::Entry& e) {
                           hashes.push_back(e.entry_hash);
                           return true;
                         })
                  .ok());
  return hashes;
}

class Consistency : public ::testing::Test {
 protected:
  // Runs `consistency` and writes its output and both checkpoints to files.
  nlohmann::json prove(std::uint64_t from, std::uint64_t to) {
    const auto run = run_audit_cli({"consistency", generated_path(), "--from", std::to_string(from),
                                    "--to", std::to_string(to)});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    auto doc = nlohmann::json::parse(run.out);
    write("proof.json", run.out);
    if (doc["old_checkpoint"].is_object()) {
      write("old.hex", doc["old_checkpoint"]["message_hex"].get<std::string>());
    }
    if (doc["new_checkpoint"].is_object()) {
      write("new.hex", doc["new_checkpoint"]["message_hex"].get<std::string>());
    }
    return doc;
  }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_.file(name)) << text;
  }
  CliResult check(const std::string& old_file, const std::string& new_file) {
    return run_audit_cli({"verify-consistency", "--old", dir_.file(old_file), "--new",
                          dir_.file(new_file), "--proof", dir_.file("proof.json"), "--vs-pubkey",
                          to_hex(generated_vs_key())});
  }
  TempDir dir_;
};

TEST_F(Consistency, TheProofIsRfc9162sOverEveryEntryHash) {
  const auto hashes = all_entry_hashes();
  const auto sizes = checkpoint_positions(generated_path());
  ASSERT_GE(sizes.size(), 3U);
  for (const auto& [from, to] : {std::pair{sizes[0], sizes[1]}, std::pair{sizes[1], sizes.back()},
                                 std::pair{std::uint64_t{1}, std::uint64_t{hashes.size()}},
                                 std::pair{std::uint64_t{7}, std::uint64_t{7}}}) {
    const auto doc = prove(from, to);
    std::vector<std::string> expected;
    for (const Hash32& hash : merkle::consistency_proof(std::span(hashes).first(to), from)) {
      expected.push_back(to_hex(hash));
    }
    EXPECT_EQ(doc["proof"].get<std::vector<std::string>>(), expected) << from << ".." << to;
    EXPECT_EQ(doc["old_root"], to_hex(merkle::root(std::span(hashes).first(from))));
  }
}

TEST_F(Consistency, ANewerSignedCheckpointIsShownToExtendAnOlderOne) {
  const auto sizes = checkpoint_positions(generated_path());
  prove(sizes[1], sizes[3]);
  const auto ok = check("old.hex", "new.hex");
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("CONSISTENT"), std::string::npos) << ok.out;
}

TEST_F(Consistency, AForgedProofOrSwappedCheckpointsAreRefused) {
  const auto sizes = checkpoint_positions(generated_path());
  auto doc = prove(sizes[1], sizes[3]);
  EXPECT_EQ(check("new.hex", "old.hex").exit_code, 1);  // the newer one given as the older
  auto first = doc["proof"][0].get<std::string>();
  first[0] = first[0] == '0' ? '1' : '0';
  doc["proof"][0] = first;
  write("proof.json", doc.dump());
  const auto forged = check("old.hex", "new.hex");
  EXPECT_EQ(forged.exit_code, 1) << forged.out;
  EXPECT_NE(forged.out.find("does not show"), std::string::npos) << forged.out;
  write("proof.json", R"({"proof": ["not hex"]})");
  EXPECT_EQ(check("old.hex", "new.hex").exit_code, 2);
}

TEST_F(Consistency, ACheckpointTheVsDidNotSignIsRefused) {
  const auto sizes = checkpoint_positions(generated_path());
  prove(sizes[1], sizes[2]);
  std::ifstream in(dir_.file("new.hex"));
  std::string hex;
  in >> hex;
  hex[hex.size() - 1] = hex.back() == '0' ? '1' : '0';  // the signature's last byte
  write("forged.hex", hex);
  const auto run = check("old.hex", "forged.hex");
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_NE(run.out.find("new checkpoint's signature"), std::string::npos) << run.out;
}

TEST_F(Consistency, SizesOutOfRangeAreUsageErrors) {
  for (const auto& [from, to] :
       {std::pair{"0", "5"}, std::pair{"9", "5"}, std::pair{"1", "999999999"}}) {
    const auto run = run_audit_cli({"consistency", generated_path(), "--from", from, "--to", to});
    EXPECT_EQ(run.exit_code, 2) << from << ".." << to;
    EXPECT_FALSE(run.err.empty());
  }
}

}  // namespace
}  // namespace gsvs::testing
