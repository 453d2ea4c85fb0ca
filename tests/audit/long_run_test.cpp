// bench/long_run.sh in small (docs/PERFORMANCE.md, "Long run"): the store generator writes a
// segmented store through the writer vsd appends with, rotating at tiny segments; vsd's start
// check takes it; the oldest segments are pruned by policy; and `audit-cli verify` over the
// directory finds nothing and lists the pruned range as pruned by policy. So the path of the long
// run is exercised at every test run, not only when someone runs the benchmark. Then what is
// asked of such a store: its Merkle root on a read-only open, and a consistency proof between two
// checkpoints after the pruned range.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "storage/log.h"
#include "storage/segment_files.h"
#include "tests/audit/audit_fixture.h"

namespace gsvs::testing {
namespace {

constexpr std::uint64_t kSeed = 11;
constexpr std::uint64_t kLongRunSegmentBytes = 64 * 1024;

struct PrunedStore {
  TempDir dir;
  std::string path;
  GeneratedStore generated;
  std::size_t segments = 0;  // before pruning
  std::size_t pruned = 0;
  Hash32 merkle_root;  // over every entry, before pruning
  std::string error;   // what failed, for the tests to report
};

// Generates the store, checks it as vsd's start does, and prunes its oldest segments by policy:
// segments sealed before segment 3 was created, i.e. segments 0 to 2 (segment i is sealed when
// segment i + 1 is created). Should two segments be created in the same millisecond, the cut
// moves to the next segment that was created later.
void make_pruned_store(PrunedStore& store) {
  store.path = store.dir.file("vs");
  StoreGeneratorOptions options;
  options.seed = kSeed;
  options.min_entries = 2000;
  options.checkpoint_every = 200;
  options.segment_max_bytes = kLongRunSegmentBytes;
  options.pardon_quarantines = true;  // as bench/long_run.sh's store: retention may retire them
  auto generated = generate_store(store.path + "/", options);
  if (!generated) {
    store.error = generated.error();
    return;
  }
  store.generated = std::move(*generated);
  const crypto::PublicKey vs_key = store.generated.vs_public_key;
  {
    auto opened =
        storage::Log::open(store.path, storage::OpenMode::kReadWrite, storage::StoreRole::kVs,
                           storage::OpenOptions{vs_key, storage::Verify::kFull});
    if (!opened) {
      store.error = opened.error();
      return;
    }
    store.merkle_root = (*opened)->merkle_root();
  }
  auto files = storage::list_segment_files(store.path);
  if (!files) {
    store.error = files.error();
    return;
  }
  std::vector<std::uint64_t> created;
  for (const auto& [index, file] : *files) {
    auto meta = storage::read_segment_file_meta(store.path + "/" + file);
    if (!meta) {
      store.error = meta.error();
      return;
    }
    created.push_back(meta->created_at_ms);
  }
  store.segments = created.size();
  std::size_t kept = 3;
  while (kept + 1 < created.size() && created[kept] == created[kept + 1]) ++kept;
  if (kept + 1 >= created.size()) {
    store.error = "too few segments to prune some and keep two: " + std::to_string(created.size());
    return;
  }
  storage::RetireOptions policy;
  policy.vs_public_key = vs_key;
  policy.sealed_before_ms = created[kept] + 1;
  policy.now_ms = created.back();
  auto pruned = storage::retire_sealed_segments(store.path, policy);
  if (!pruned) {
    store.error = pruned.error();
    return;
  }
  store.pruned = pruned->size();
  if (store.pruned != kept) store.error = "pruned " + std::to_string(store.pruned) + " segments";
}

// Made once for the test binary, never modified after.
const PrunedStore& pruned_store() {
  static const std::unique_ptr<PrunedStore> store = [] {
    auto made = std::make_unique<PrunedStore>();
    make_pruned_store(*made);
    return made;
  }();
  return *store;
}

class LongRun : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(store().error.empty()) << store().error; }
  static const PrunedStore& store() { return pruned_store(); }
  static std::string vs_key() { return to_hex(store().generated.vs_public_key); }
  [[nodiscard]] std::string write(const std::string& name, const std::string& text) const {
    std::string path = files_.file(name);
    std::ofstream(path) << text;
    return path;
  }
  TempDir files_;
};

TEST_F(LongRun, AGeneratedSegmentedStorePrunedByPolicyVerifiesWithNoFinding) {
  EXPECT_GE(store().segments, 6u) << "the store should span several segments";
  const auto cli = run_audit_cli({"verify", store().path, "--vs-pubkey", vs_key(), "--json",
                                  "--no-progress", "--threads", "2"});
  ASSERT_EQ(cli.exit_code, 0) << cli.out << cli.err;
  const auto doc = nlohmann::json::parse(cli.out);
  EXPECT_EQ(doc["intact"], true);
  EXPECT_EQ(doc["failures"], 0) << doc["findings"].dump();
  EXPECT_EQ(doc["warnings"], 0) << doc["findings"].dump();
  const auto& retired = doc["segments"]["retired"];
  ASSERT_EQ(retired.size(), store().pruned);
  for (const auto& segment : retired) EXPECT_EQ(segment["disposition"], "pruned");
  EXPECT_EQ(retired.front()["first_seq"], 0);
  const std::uint64_t first_read = doc["first_seq"];
  EXPECT_EQ(retired.back()["seal_seq"].get<std::uint64_t>() + 1, first_read);
  EXPECT_EQ(first_read + doc["entries"].get<std::uint64_t>(), store().generated.entries);
}

// A read-only open of the pruned directory gives the root of the whole log: the tree resumes from
// the frontier the first remaining segment records at its seal.
TEST_F(LongRun, AReadOnlyOpenOfThePrunedStoreGivesTheWholeLogsMerkleRoot) {
  auto log = storage::Log::open(store().path, storage::OpenMode::kReadOnly);
  ASSERT_TRUE(log.ok()) << log.error();
  ASSERT_GT((*log)->segments().front().first_seq, 0u);
  EXPECT_EQ((*log)->merkle_root(), store().merkle_root);
}

// A GS holding a checkpoint signed after the pruned range asks for a proof that a newer one
// extends it: the proof rests on the frontier the first remaining segment's seal records, and
// verify-consistency accepts it with the VS key alone. From the first entry present on, every
// checkpoint pair works, the very first size (the seal's tree) included.
TEST_F(LongRun, AConsistencyProofAfterThePrunedRangeVerifies) {
  auto log = storage::Log::open(store().path, storage::OpenMode::kReadOnly);
  ASSERT_TRUE(log.ok()) << log.error();
  const std::uint64_t first = (*log)->segments().front().first_seq;
  ASSERT_GT(first, 0u);
  const auto sizes = checkpoint_positions(store().path, first);
  ASSERT_GE(sizes.size(), 3u);
  for (const auto& [from, to] : {std::pair{sizes[0], sizes[1]}, std::pair{sizes[0], sizes.back()},
                                 std::pair{sizes[1], sizes.back()}}) {
    const auto proved = run_audit_cli(
        {"consistency", store().path, "--from", std::to_string(from), "--to", std::to_string(to)});
    ASSERT_EQ(proved.exit_code, 0) << from << ".." << to << ": " << proved.err;
    const auto doc = nlohmann::json::parse(proved.out);
    ASSERT_TRUE(doc["old_checkpoint"].is_object() && doc["new_checkpoint"].is_object());
    const auto checked = run_audit_cli(
        {"verify-consistency", "--old",
         write("old.hex", doc["old_checkpoint"]["message_hex"].get<std::string>()), "--new",
         write("new.hex", doc["new_checkpoint"]["message_hex"].get<std::string>()), "--proof",
         write("proof.json", proved.out), "--vs-pubkey", vs_key()});
    EXPECT_EQ(checked.exit_code, 0) << from << ".." << to << ": " << checked.out << checked.err;
  }
}

// A proof from a size inside the pruned range needs hashes nothing kept: refused, naming the
// retired entries and the smallest size that works.
TEST_F(LongRun, AConsistencyProofFromInsideThePrunedRangeIsRefusedSayingWhy) {
  auto log = storage::Log::open(store().path, storage::OpenMode::kReadOnly);
  ASSERT_TRUE(log.ok()) << log.error();
  const std::uint64_t first = (*log)->segments().front().first_seq;
  const auto run = run_audit_cli({"consistency", store().path, "--from", std::to_string(first - 1),
                                  "--to", std::to_string((*log)->size())});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("entries 0.." + std::to_string(first - 1) + " were retired"),
            std::string::npos)
      << run.err;
  EXPECT_NE(run.err.find("a size of at least " + std::to_string(first)), std::string::npos)
      << run.err;
}

}  // namespace
}  // namespace gsvs::testing
