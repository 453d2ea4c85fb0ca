// A range of a log copied on its own (docs/STORE.md §11.4): the copy starts after the newest
// checkpoint before `from` that seals the entries before it, records what it leaves out in its
// seal index, and opens as vsd opens a store, with the size, head and root of the source's prefix.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "storage/log.h"
#include "tests/storage/store_fixture.h"

namespace gsvs::storage::testing {
namespace {

class CopyRangeTest : public ::testing::Test {
 protected:
  // 100 entries and a checkpoint that seals them, three times, then 50 more.
  void SetUp() override {
    auto log = open_log(dir_.file("vs.db"));
    ASSERT_NE(log, nullptr);
    for (int block = 0; block < 3; ++block) {
      ASSERT_TRUE(log->append(sample_entries(log->size(), 100)));
      seals_.push_back(log->size());
      ASSERT_TRUE(log->append(std::vector<PendingEntry>{
          checkpoint_entry(test_vs_key(), log->size(), log->merkle_root())}));
    }
    ASSERT_TRUE(log->append(sample_entries(log->size(), 50)));
  }

  TempDir dir_;
  std::vector<std::uint64_t> seals_;  // the seq of each checkpoint
  const crypto::PublicKey key_ = test_vs_key().public_key();
};

TEST_F(CopyRangeTest, StartsAfterTheSealBeforeFromAndVerifiesOnItsOwn) {
  auto source = open_log(dir_.file("vs.db"), OpenMode::kReadOnly);
  const std::uint64_t until = seals_[2] + 5;
  auto copied =
      copy_to_sqlite(*source, dir_.file("range") + "/", CopyRange{seals_[1] + 10, until}, key_);
  ASSERT_TRUE(copied.ok()) << copied.error();
  EXPECT_EQ(copied->first_seq, seals_[1] + 1);
  EXPECT_EQ(copied->entries, until);

  auto prefix =
      copy_to_sqlite(*source, dir_.file("prefix.db"), CopyRange{std::nullopt, until}, key_);
  ASSERT_TRUE(prefix.ok()) << prefix.error();
  auto copy = Log::open(dir_.file("range"), OpenMode::kReadWrite, StoreRole::kVs,
                        segmented_options(Verify::kFull));
  ASSERT_TRUE(copy.ok()) << copy.error();
  EXPECT_EQ((*copy)->size(), until);
  EXPECT_EQ((*copy)->head_hash(), prefix->head_hash);
  EXPECT_EQ((*copy)->merkle_root(), prefix->merkle_root);
  auto index = read_seal_index(dir_.file("range"));
  ASSERT_TRUE(index.ok()) << index.error();
  ASSERT_EQ(index->size(), 1U);
  EXPECT_EQ((*index)[0].disposition, RetiredSegment::Disposition::kLeftOut);
  EXPECT_EQ((*index)[0].first_seq, 0U);
  EXPECT_EQ((*index)[0].seal_seq, seals_[1]);

  // With no seal before `from`, the copy starts at entry 0, as one file.
  auto early = copy_to_sqlite(*source, dir_.file("early.db"), CopyRange{50, std::nullopt}, key_);
  ASSERT_TRUE(early.ok()) << early.error();
  EXPECT_EQ(early->first_seq, 0U);
}

TEST_F(CopyRangeTest, RefusesWhatCannotBeCopiedOnItsOwnWithTheReason) {
  auto source = open_log(dir_.file("vs.db"), OpenMode::kReadOnly);
  const struct {
    const char* name;
    std::string destination;
    CopyRange range;
    bool with_key;
    const char* error;
  } refused[] = {
      {"no key", dir_.file("a") + "/", {seals_[0] + 1, std::nullopt}, false, "VS public key"},
      {"a file", dir_.file("b.db"), {seals_[0] + 1, std::nullopt}, true, "give a new directory"},
      {"from after until", dir_.file("c") + "/", {200, 100}, true, "is not before --until"},
  };
  for (const auto& c : refused) {
    auto result = copy_to_sqlite(*source, c.destination, c.range,
                                 c.with_key ? std::optional(key_) : std::nullopt);
    ASSERT_FALSE(result.ok()) << c.name;
    EXPECT_NE(result.error().find(c.error), std::string::npos) << c.name << ": " << result.error();
  }
}

}  // namespace
}  // namespace gsvs::storage::testing
