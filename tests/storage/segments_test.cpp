// Segmented stores (docs/STORE.md §10): rotation, the seal and the link, one chain and one Merkle
// tree across files, the fast open, and each kind of damage named with its file and position.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "protocol/merkle.h"
#include "storage/log.h"
#include "storage/segment_files.h"
#include "tests/storage/store_fixture.h"

namespace gsvs::storage {
namespace {

namespace fs = std::filesystem;
using testing::checkpoint_entry;
using testing::RawDb;
using testing::rotating_options;
using testing::sample_entry;
using testing::segmented_options;
using testing::TempDir;
using testing::test_vs_key;

constexpr std::uint64_t kSegmentBytes = 16 * 1024;

std::string segment_file(const std::string& dir, int index) {
  std::string name = std::to_string(index);
  name.insert(0, 8 - name.size(), '0');
  return dir + "/segment-" + name + ".db";
}

std::vector<std::string> segment_files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("segment-") && name.ends_with(".db")) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::unique_ptr<Log>> open_rw(const std::string& dir, Verify verify = Verify::kFast) {
  return Log::open(dir, OpenMode::kReadWrite, StoreRole::kVs, segmented_options(verify));
}

// Writes `count` sample entries through a rotating writer, with a checkpoint every
// `checkpoint_every` entries.
void fill(const std::string& dir, std::uint64_t count, std::uint64_t checkpoint_every = 50) {
  auto log = open_rw(dir);
  ASSERT_TRUE(log.ok()) << log.error();
  BatchWriter writer(std::move(*log), rotating_options(kSegmentBytes));
  std::uint64_t next_checkpoint = writer.size() + checkpoint_every;
  const std::uint64_t end = writer.size() + count;
  while (writer.size() < end) {
    const std::uint64_t seq = writer.size();
    auto placed = writer.submit({sample_entry(seq)}, {});
    EXPECT_TRUE(placed.ok()) << placed.error();
    if (seq >= next_checkpoint) {
      auto checkpoint = writer.submit_at_head(
          [](std::uint64_t size, const Hash32& root) {
            return std::vector<PendingEntry>{checkpoint_entry(test_vs_key(), size, root)};
          },
          {});
      EXPECT_TRUE(checkpoint.ok()) << checkpoint.error();
      next_checkpoint += checkpoint_every;
    }
  }
  EXPECT_TRUE(writer.flush().ok());
}

std::vector<Hash32> all_hashes(const Log& log) {
  std::vector<Hash32> hashes;
  std::uint64_t expected = 0;
  EXPECT_TRUE(log.scan({},
                       [&](const Entry& e) {
                         EXPECT_EQ(e.header.seq, expected);
                         ++expected;
                         hashes.push_back(e.entry_hash);
                         return true;
                       })
                  .ok());
  return hashes;
}

// Lets a test edit a sealed row, as an insider with the file and the sqlite3 shell can.
void edit_row(const std::string& file, std::uint64_t seq) {
  RawDb db(file);
  ASSERT_TRUE(db.ok());
  ASSERT_EQ(db.exec("DROP TRIGGER log_entry_no_update"), SQLITE_OK) << db.error();
  ASSERT_EQ(db.exec("UPDATE log_entry SET session_id = session_id + 1 WHERE seq = " +
                    std::to_string(seq)),
            SQLITE_OK)
      << db.error();
}

// A segment opened alone starts its tree from the seal it records: exactly the tree over every
// entry before it, which is all a Merkle proof past it needs. A frontier that does not fit its
// seal is an error naming the file.
TEST(Segments, TreeBeforeTheFirstSegmentReadIsTheTreeOfEverythingBefore) {
  TempDir dir;
  const std::string store = dir.file("vs");
  fill(store + "/", 600);
  auto whole = Log::open(store, OpenMode::kReadOnly);
  ASSERT_TRUE(whole.ok()) << whole.error();
  const auto hashes = all_hashes(**whole);
  auto from_zero = (*whole)->tree_before_first();
  ASSERT_TRUE(from_zero.ok()) << from_zero.error();
  EXPECT_EQ(from_zero->size(), 0U);
  const auto segments = (*whole)->segments();
  ASSERT_GE(segments.size(), 3U) << "the writer did not rotate";
  for (std::uint64_t index = 1; index < segments.size(); ++index) {
    auto alone = Log::open(store, SegmentRange{index, index});
    ASSERT_TRUE(alone.ok()) << alone.error();
    auto tree = (*alone)->tree_before_first();
    ASSERT_TRUE(tree.ok()) << tree.error();
    const std::uint64_t first = segments[index].first_seq;
    EXPECT_EQ(tree->size(), first);
    EXPECT_EQ(tree->root(), merkle::root(std::span(hashes).first(first))) << index;
  }

  {
    RawDb raw(segment_file(store, 1));
    ASSERT_TRUE(raw.ok());
    ASSERT_EQ(raw.exec("DROP TRIGGER meta_no_update; UPDATE meta SET value = '' WHERE key = "
                       "'seal_frontier'"),
              SQLITE_OK)
        << raw.error();
  }
  auto edited = Log::open(store, SegmentRange{1, 1});
  ASSERT_TRUE(edited.ok()) << edited.error();
  auto tree = (*edited)->tree_before_first();
  ASSERT_FALSE(tree.ok());
  EXPECT_NE(tree.error().find("segment-00000001.db"), std::string::npos) << tree.error();
  EXPECT_NE(tree.error().find("meta.seal_frontier"), std::string::npos) << tree.error();
  EXPECT_EQ((*edited)->merkle_root(), Hash32{});  // the root of no tree of this log
}

TEST(Segments, RotationKeepsOneChainAndOneTreeAcrossFiles) {
  TempDir dir;
  const std::string store = dir.file("vs/");
  fill(store, 600);
  const auto files = segment_files(dir.file("vs"));
  ASSERT_GE(files.size(), 3U) << "the writer did not rotate";

  auto log = open_rw(store, Verify::kFull);
  ASSERT_TRUE(log.ok()) << log.error();
  const std::uint64_t size = (*log)->size();
  EXPECT_GE(size, 600U);
  const auto segments = (*log)->segments();
  ASSERT_EQ(segments.size(), files.size());
  EXPECT_EQ(segments.front().first_seq, 0U);

  auto reader = Log::open(dir.file("vs"), OpenMode::kReadOnly);
  ASSERT_TRUE(reader.ok()) << reader.error();
  const auto hashes = all_hashes(**reader);
  ASSERT_EQ(hashes.size(), size);
  EXPECT_EQ((*reader)->size(), size);
  EXPECT_EQ((*reader)->head_hash(), hashes.back());
  EXPECT_EQ((*reader)->merkle_root(), merkle::root(hashes));
  EXPECT_EQ((*log)->merkle_root(), merkle::root(hashes));
  EXPECT_EQ((*log)->head_hash(), hashes.back());

  // Each segment but the last ends with a seal: a Checkpoint signed over the entries before it,
  // and the next segment's first entry links to it.
  for (std::size_t i = 1; i < segments.size(); ++i) {
    auto seal = (*reader)->get(segments[i].first_seq - 1);
    ASSERT_TRUE(seal.ok()) << seal.error();
    ASSERT_EQ(seal->header.kind, protocol::MessageKind::kCheckpoint);
    auto checkpoint = protocol::decode<protocol::Checkpoint>(seal->message);
    ASSERT_TRUE(checkpoint.ok());
    EXPECT_TRUE(protocol::verify(*checkpoint, test_vs_key().public_key()));
    EXPECT_EQ(checkpoint->log_size, seal->header.seq);
    EXPECT_EQ(checkpoint->root,
              merkle::root(std::span<const Hash32>(hashes.data(), seal->header.seq)));
    auto first = (*reader)->get(segments[i].first_seq);
    if (first.ok()) {
      EXPECT_EQ(first->header.prev_entry_hash, seal->entry_hash);
    }
  }

  // A filtered scan across the files.
  std::vector<std::uint64_t> seen;
  ASSERT_TRUE((*reader)
                  ->scan(testing::make_filter(100, 400),
                         [&](const Entry& e) {
                           seen.push_back(e.header.seq);
                           return true;
                         })
                  .ok());
  ASSERT_EQ(seen.size(), 300U);
  EXPECT_EQ(seen.front(), 100U);
  EXPECT_EQ(seen.back(), 399U);
}

TEST(Segments, ASealedSegmentIsOneFileWhileTheWriterRuns) {
  TempDir dir;
  const std::string store = dir.file("vs");
  auto log = open_rw(store + "/");
  ASSERT_TRUE(log.ok()) << log.error();
  BatchWriter writer(std::move(*log), rotating_options(kSegmentBytes));
  while (!fs::exists(segment_file(store, 2))) {
    ASSERT_TRUE(writer.submit({sample_entry(writer.size())}, {}).ok());
    ASSERT_TRUE(writer.flush().ok());
  }
  ASSERT_TRUE(writer.submit({sample_entry(writer.size())}, {}).ok());
  ASSERT_TRUE(writer.flush().ok());
  // Closed at rotation, its WAL folded back: a plain copy of the file is the whole segment.
  EXPECT_FALSE(fs::exists(segment_file(store, 0) + "-wal"));
  EXPECT_FALSE(fs::exists(segment_file(store, 1) + "-wal"));
  EXPECT_TRUE(fs::exists(segment_file(store, 2) + "-wal"));
}

TEST(Segments, AppendsGoOnAfterAReopen) {
  TempDir dir;
  const std::string store = dir.file("vs/");
  fill(store, 300);
  fill(store, 300);
  auto log = open_rw(store, Verify::kFull);
  ASSERT_TRUE(log.ok()) << log.error();
  auto reader = Log::open(dir.file("vs"), OpenMode::kReadOnly);
  ASSERT_TRUE(reader.ok()) << reader.error();
  const auto hashes = all_hashes(**reader);
  EXPECT_EQ(hashes.size(), (*log)->size());
  EXPECT_EQ((*log)->merkle_root(), merkle::root(hashes));
}

TEST(Segments, FastOpenStartsAtTheNewestCheckpointAndFullOpenReadsEverything) {
  TempDir dir;
  const std::string store = dir.file("vs/");
  fill(store, 600, 20);
  const auto files = segment_files(dir.file("vs"));
  ASSERT_GE(files.size(), 2U);
  const std::string active = dir.file("vs/" + files.back());
  std::uint64_t first_active = 0;
  std::uint64_t newest_checkpoint = 0;
  {
    RawDb db(active);
    first_active = static_cast<std::uint64_t>(db.query_int("SELECT MIN(seq) FROM log_entry"));
    newest_checkpoint =
        static_cast<std::uint64_t>(db.query_int("SELECT MAX(seq) FROM checkpoint_frontier"));
  }
  ASSERT_GT(newest_checkpoint, first_active) << "no checkpoint in the active segment";
  // An edit before the newest checkpoint: the VS start does not hash it again (the audit does,
  // and so does a full open); an edit after it stops the start.
  edit_row(active, first_active);
  EXPECT_TRUE(open_rw(store).ok());
  auto full = open_rw(store, Verify::kFull);
  ASSERT_FALSE(full.ok());
  EXPECT_NE(full.error().find(files.back() + ": entry " + std::to_string(first_active) +
                              ": entry_hash does not match its contents"),
            std::string::npos)
      << full.error();
}

TEST(Segments, AnEditAfterTheNewestCheckpointStopsTheStart) {
  TempDir dir;
  const std::string store = dir.file("vs/");
  fill(store, 600, 20);
  const auto files = segment_files(dir.file("vs"));
  const std::string active = dir.file("vs/" + files.back());
  std::uint64_t last = 0;
  {
    RawDb db(active);
    last = static_cast<std::uint64_t>(db.query_int("SELECT MAX(seq) FROM log_entry"));
  }
  edit_row(active, last);
  auto log = open_rw(store);
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.error().find(files.back() + ": entry " + std::to_string(last) +
                             ": entry_hash does not match its contents"),
            std::string::npos)
      << log.error();
}

// Damage to sealed segments and to the set of files, each named with the file and the position.
struct Damage {
  const char* name;
  void (*apply)(const std::string& dir);
  Verify verify;
  const char* expected;  // in the error of a read-write open: the file and the position
  const char* reason;    // ... and what is wrong there
};

// Edits a row in the middle of sealed segment 1.
void edit_inside_segment_1(const std::string& dir) {
  RawDb db(segment_file(dir, 1));
  const auto first = db.query_int("SELECT MIN(seq) FROM log_entry");
  edit_row(segment_file(dir, 1), static_cast<std::uint64_t>(first + 2));
}

const Damage kDamages[] = {
    {"edited sealed row, full open", edit_inside_segment_1, Verify::kFull,
     "segment-00000001.db: entry ", "entry_hash does not match its contents (edited?)"},
    {"edited seal",
     [](const std::string& dir) {
       RawDb db(segment_file(dir, 1));
       const auto seal = db.query_int("SELECT MAX(seq) FROM log_entry");
       edit_row(segment_file(dir, 1), static_cast<std::uint64_t>(seal));
     },
     Verify::kFast, "segment-00000001.db: entry ", "the seal does not match the one"},
    {"missing middle segment", [](const std::string& dir) { fs::remove(segment_file(dir, 1)); },
     Verify::kFast,
     "segment-00000001.db is missing: the next segment after segment-00000000.db is "
     "segment-00000002.db",
     "deleted or moved?"},
    {"two segments swapped",
     [](const std::string& dir) {
       fs::rename(segment_file(dir, 1), dir + "/swap");
       fs::rename(segment_file(dir, 2), segment_file(dir, 1));
       fs::rename(dir + "/swap", segment_file(dir, 2));
     },
     Verify::kFast, "segment-00000001.db: meta.segment_index is 2, not the 1 its name says",
     "renamed or swapped?"},
    {"rows cut from the end of a sealed segment",
     [](const std::string& dir) {
       RawDb db(segment_file(dir, 0));
       ASSERT_EQ(db.exec("DROP TRIGGER log_entry_no_delete"), SQLITE_OK);
       ASSERT_EQ(db.exec("DELETE FROM log_entry WHERE seq = (SELECT MAX(seq) FROM log_entry)"),
                 SQLITE_OK);
     },
     Verify::kFast, "segment-00000000.db: entry ", "rows added after the seal or cut from it?"},
    {"first segment replaced by a store of its own",
     [](const std::string& dir) {
       fs::remove(segment_file(dir, 0));
       auto other = Log::open(segment_file(dir, 0), OpenMode::kReadWrite);
       ASSERT_TRUE(other.ok());
     },
     Verify::kFast, "segment-00000000.db: a single-file store (schema version 3)",
     "does not belong in the directory"},
};

// check_seal_row and check_seal_link, which a read-write open and the audit share, as a table:
// each row changes one thing about an intact seal and the first entry after it.
struct SealRowCase {
  const char* name;
  void (*change)(std::uint64_t& last_seq, std::optional<Entry>& row, chains::LogEntryHeader& next);
  const char* error;  // in the error of check_seal_row, or of check_seal_link; empty: both pass
};

const SealRowCase kSealRowCases[] = {
    {"intact", [](std::uint64_t&, std::optional<Entry>&, chains::LogEntryHeader&) {}, ""},
    {"a row after the seal",
     [](std::uint64_t& last, std::optional<Entry>&, chains::LogEntryHeader&) { ++last; },
     "entry 8: the segment's last row, but segment-00000002.db records its seal as entry 7"},
    {"no row at the seal",
     [](std::uint64_t&, std::optional<Entry>& row, chains::LogEntryHeader&) { row.reset(); },
     "entry 7: the seal does not match the one segment-00000002.db records"},
    {"the seal logged as received",
     [](std::uint64_t&, std::optional<Entry>& row, chains::LogEntryHeader&) {
       row->header.direction = chains::Direction::kReceived;
     },
     "the seal does not match"},
    {"the seal's message edited",
     [](std::uint64_t&, std::optional<Entry>& row, chains::LogEntryHeader&) {
       row->message.back() ^= 1;
     },
     "the seal does not match"},
    {"the next segment linked elsewhere",
     [](std::uint64_t&, std::optional<Entry>&, chains::LogEntryHeader& next) {
       next.prev_entry_hash.bytes[0] ^= 1;
     },
     "entry 8: prev_hash of the segment's first entry is not the entry_hash of the seal it "
     "records, entry 7"},
};

TEST(Segments, SealRowAndLinkChecks) {
  for (const SealRowCase& c : kSealRowCases) {
    SCOPED_TRACE(c.name);
    Entry seal_row;
    seal_row.header.seq = 7;
    seal_row.header.kind = protocol::MessageKind::kCheckpoint;
    seal_row.header.direction = chains::Direction::kIssued;
    seal_row.message = Bytes{1, 10, 2, 3};
    seal_row.entry_hash = chains::log_entry_hash(seal_row.header, seal_row.message);
    const SegmentMeta::Seal seal{7, seal_row.entry_hash, {}, seal_row.message};
    chains::LogEntryHeader next;
    next.seq = 8;
    next.prev_entry_hash = seal.entry_hash;
    std::uint64_t last_seq = 7;
    std::optional<Entry> row = seal_row;
    c.change(last_seq, row, next);
    const Status sealed = check_seal_row(last_seq, row, seal, "segment-00000002.db");
    const Status linked = check_seal_link(next, seal);
    const std::string error = !sealed ? sealed.error() : !linked ? linked.error() : "";
    if (std::string_view(c.error).empty()) {
      EXPECT_EQ(error, "");
    } else {
      EXPECT_NE(error.find(c.error), std::string::npos) << error;
    }
  }
}

// Applies the damage and expects a read-write open to refuse the store, naming it.
void expect_open_refused(const std::string& store, const Damage& damage) {
  damage.apply(store);
  auto log = open_rw(store, damage.verify);
  ASSERT_FALSE(log.ok()) << damage.name;
  EXPECT_NE(log.error().find(damage.expected), std::string::npos)
      << damage.name << ": " << log.error();
  EXPECT_NE(log.error().find(damage.reason), std::string::npos)
      << damage.name << ": " << log.error();
}

std::string damage_test_name(const ::testing::TestParamInfo<Damage>& info) {
  std::string name = info.param.name;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

class SegmentDamage : public ::testing::TestWithParam<Damage> {};

TEST_P(SegmentDamage, IsReportedWithTheFileAndThePosition) {
  TempDir dir;
  const std::string store = dir.file("vs");
  fill(store + "/", 900);
  ASSERT_GE(segment_files(store).size(), 4U);
  expect_open_refused(store, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Segments, SegmentDamage, ::testing::ValuesIn(kDamages), damage_test_name);

TEST(Segments, AnotherVsKeyDoesNotAcceptTheSeals) {
  TempDir dir;
  const std::string store = dir.file("vs");
  fill(store + "/", 600);
  crypto::Seed seed;
  seed.bytes[0] = 99;
  const auto other = crypto::SecretKey::from_seed(seed);
  auto log = Log::open(store, OpenMode::kReadWrite, StoreRole::kVs,
                       OpenOptions{other.public_key(), Verify::kFast});
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.error().find("segment-00000001.db: the seal it records"), std::string::npos)
      << log.error();
  EXPECT_NE(log.error().find("does not verify with the VS key"), std::string::npos) << log.error();
}

// A rotation that cannot make the next segment (a directory stands where its file goes, as a
// full disk or a permission would stop it) stops the writer. The entries committed with the seal
// are durable all the same, and their submits are told so: only what comes after is refused.
TEST(Segments, AFailedRotationRefusesWhatFollowsNotWhatIsDurable) {
  TempDir dir;
  const std::string store = dir.file("vs");
  ASSERT_TRUE(open_rw(store + "/").ok());
  const std::string blocked = store + "/segment-00000001.db.tmp";
  // Not empty: the writer removes a leftover file or empty directory of that name first.
  ASSERT_TRUE(fs::create_directory(blocked));
  { std::ofstream(blocked + "/in-the-way") << "x"; }
  std::vector<std::uint64_t> placed;
  std::vector<std::uint64_t> told_durable;
  std::string refusal;
  {
    auto log = open_rw(store);
    ASSERT_TRUE(log.ok()) << log.error();
    BatchWriter writer(std::move(*log), rotating_options(kSegmentBytes));
    for (int i = 0; i < 10000 && refusal.empty(); ++i) {
      const std::uint64_t seq = writer.size();
      auto submitted = writer.submit({sample_entry(seq)}, [&told_durable, seq](const Status& s) {
        if (s) told_durable.push_back(seq);  // the writer thread; read after the writer is gone
      });
      if (!submitted) {
        refusal = submitted.error();
        break;
      }
      placed.push_back(seq);
      // One commit a submit, so the rotation follows the entry that filled the segment.
      EXPECT_TRUE(writer.flush().ok());
    }
  }
  ASSERT_FALSE(refusal.empty()) << "the writer never rotated";
  EXPECT_NE(refusal.find("the next segment could not be started after a durable seal"),
            std::string::npos)
      << refusal;
  EXPECT_NE(refusal.find("segment-00000001.db"), std::string::npos) << refusal;
  EXPECT_EQ(told_durable, placed);
  ASSERT_EQ(fs::remove_all(blocked), 2U);
  auto reopened = open_rw(store);
  ASSERT_TRUE(reopened.ok()) << reopened.error();
  EXPECT_EQ((*reopened)->size(), placed.back() + 2);  // the last entry, then the seal
}

TEST(Segments, ARotationCutShortByACrashIsCleanedUp) {
  TempDir dir;
  const std::string store = dir.file("vs");
  fill(store + "/", 300);
  const auto before = segment_files(store);
  // What a crash between creating the next file and renaming it into place leaves.
  { RawDb half(store + "/segment-00000099.db.tmp", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE); }
  auto log = open_rw(store);
  ASSERT_TRUE(log.ok()) << log.error();
  EXPECT_FALSE(fs::exists(store + "/segment-00000099.db.tmp"));
  EXPECT_EQ(segment_files(store), before);
}

TEST(Segments, OpenRulesAndErrors) {
  TempDir dir;
  // A read-write open without the VS key cannot check seals.
  auto keyless = Log::open(dir.file("a/"), OpenMode::kReadWrite);
  ASSERT_FALSE(keyless.ok());
  EXPECT_NE(keyless.error().find("needs the VS public key"), std::string::npos);
  // A GS keeps a single file.
  auto gs = Log::open(dir.file("b/"), OpenMode::kReadWrite, StoreRole::kGs, segmented_options());
  ASSERT_FALSE(gs.ok());
  EXPECT_NE(gs.error().find("a GS keeps its record in a single file"), std::string::npos);
  // A read-only open never creates anything.
  auto missing = Log::open(dir.file("c/"), OpenMode::kReadOnly);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("no such directory"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir.file("c")));
  // A segment opened as if it were a store of its own is refused, naming what to open instead.
  fill(dir.file("d/"), 10);
  auto single = Log::open(segment_file(dir.file("d"), 0), OpenMode::kReadOnly);
  ASSERT_FALSE(single.ok());
  EXPECT_NE(single.error().find("open the directory that holds it"), std::string::npos);
  // A second writer is refused while the first holds the directory's lock.
  auto first = open_rw(dir.file("d"));
  ASSERT_TRUE(first.ok()) << first.error();
  auto second = open_rw(dir.file("d"));
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().find("in use by another writer"), std::string::npos) << second.error();
}

TEST(Segments, ASingleFileStoreKeepsWorking) {
  TempDir dir;
  const std::string file = dir.file("vs.db");
  {
    auto log = Log::open(file, OpenMode::kReadWrite, StoreRole::kVs, segmented_options());
    ASSERT_TRUE(log.ok()) << log.error();
    // The writer's rotation options do not apply to a single file: it never rotates.
    BatchWriter writer(std::move(*log), rotating_options(1024));
    for (std::uint64_t i = 0; i < 200; ++i) ASSERT_TRUE(writer.submit({sample_entry(i)}, {}).ok());
    ASSERT_TRUE(writer.flush().ok());
  }
  auto log = Log::open(file, OpenMode::kReadWrite);
  ASSERT_TRUE(log.ok()) << log.error();
  EXPECT_EQ((*log)->size(), 200U);
  ASSERT_EQ((*log)->segments().size(), 1U);
  EXPECT_TRUE(fs::is_regular_file(file));
}

// ---- Retention (docs/STORE.md §10.6) ----

constexpr std::uint64_t kEverySealed = std::numeric_limits<std::uint64_t>::max();

RetireOptions retire_options(std::optional<std::string> archive_dir = std::nullopt,
                             std::uint64_t sealed_before_ms = kEverySealed) {
  return RetireOptions{
      test_vs_key().public_key(), std::move(archive_dir), sealed_before_ms, 1'700'000'000'000, {}};
}

// When a segment was created, which is when the one before it was sealed.
std::uint64_t created_at_ms(const std::string& file) {
  RawDb db(file);
  return static_cast<std::uint64_t>(
      db.query_int("SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'created_at_ms'"));
}

std::string read_bytes(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(Retention, PrunedSegmentsAreRecordedAndTheRestStillVerifies) {
  TempDir dir;
  const std::string store = dir.file("vs");
  fill(store + "/", 900);
  const auto before = segment_files(store);
  ASSERT_GE(before.size(), 4U);
  Hash32 root;
  std::uint64_t size = 0;
  {
    auto log = open_rw(store);
    ASSERT_TRUE(log.ok()) << log.error();
    root = (*log)->merkle_root();
    size = (*log)->size();
  }

  auto retired = retire_sealed_segments(store, retire_options());
  ASSERT_TRUE(retired.ok()) << retired.error();
  ASSERT_EQ(retired->size(), before.size() - 1) << "every sealed segment, never the active one";
  EXPECT_EQ(segment_files(store), std::vector<std::string>{before.back()});

  auto index = read_seal_index(store);
  ASSERT_TRUE(index.ok()) << index.error();
  ASSERT_EQ(index->size(), retired->size());
  EXPECT_EQ(index->front().first_seq, 0U);
  for (std::size_t i = 0; i < index->size(); ++i) {
    EXPECT_EQ((*index)[i].index, i);
    EXPECT_EQ((*index)[i].disposition, RetiredSegment::Disposition::kPruned);
    EXPECT_EQ((*index)[i].at_ms, 1'700'000'000'000U);
  }

  // The remaining log resumes from the first present segment's record of the last seal: same
  // size, same root, and it appends on, in a fast and in a full open.
  for (const Verify verify : {Verify::kFast, Verify::kFull}) {
    auto log = open_rw(store, verify);
    ASSERT_TRUE(log.ok()) << log.error();
    EXPECT_EQ((*log)->size(), size);
    EXPECT_EQ((*log)->merkle_root(), root);
  }
  fill(store, 100);
  auto log = open_rw(store, Verify::kFull);
  ASSERT_TRUE(log.ok()) << log.error();
  EXPECT_GE((*log)->size(), size + 100);
}

TEST(Retention, ArchivedSegmentsAreByteForByteCopiesAndOnlyTheOldOnesGo) {
  TempDir dir;
  const std::string store = dir.file("vs");
  const std::string archive = dir.file("archive");
  fill(store + "/", 900);
  const auto before = segment_files(store);
  ASSERT_GE(before.size(), 4U);
  std::vector<std::string> contents;
  for (const std::string& file : before) contents.push_back(read_bytes(store + "/" + file));

  // Nothing was sealed before time 0: nothing moves.
  auto none = retire_sealed_segments(store, retire_options(archive, 0));
  ASSERT_TRUE(none.ok()) << none.error();
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(segment_files(store), before);
  EXPECT_FALSE(fs::exists(store + "/seal-index.tsv"));

  // Sealed before segment 2 was created: segments 0 and 1.
  const std::uint64_t third_created = created_at_ms(segment_file(store, 2));
  auto moved = retire_sealed_segments(store, retire_options(archive, third_created + 1));
  ASSERT_TRUE(moved.ok()) << moved.error();
  ASSERT_EQ(moved->size(), 2U);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_FALSE(fs::exists(store + "/" + before[i]));
    EXPECT_EQ(read_bytes(archive + "/" + before[i]), contents[i]) << before[i];
    EXPECT_EQ((*moved)[i].disposition, RetiredSegment::Disposition::kArchived);
    EXPECT_EQ((*moved)[i].archived_to, archive);
  }
  EXPECT_TRUE(fs::exists(segment_file(store, 2)));
  auto log = open_rw(store, Verify::kFull);
  ASSERT_TRUE(log.ok()) << log.error();
}

// What the VS reads at its start stays (RetireOptions::keep_from_seq): a segment holding any
// entry from the bound on is kept, however old, and one whose bound cannot be read keeps all.
TEST(Retention, NothingFromTheEntryToKeepOnIsRetired) {
  TempDir dir;
  const std::string store = dir.file("vs");
  fill(store + "/", 900);
  const auto before = segment_files(store);
  ASSERT_GE(before.size(), 4U);
  std::uint64_t third_first = 0;
  {
    auto log = open_rw(store);
    ASSERT_TRUE(log.ok()) << log.error();
    third_first = (*log)->segments()[2].first_seq;
  }
  RetireOptions unreadable = retire_options();
  unreadable.keep_from_seq = []() -> Result<std::uint64_t> { return Error{"cannot read it"}; };
  auto refused = retire_sealed_segments(store, unreadable);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error(), "cannot read it");
  EXPECT_EQ(segment_files(store), before);

  // The bound inside segment 1 (its last entry, the seal): only segment 0 goes.
  RetireOptions keeping = retire_options();
  keeping.keep_from_seq = [&]() -> Result<std::uint64_t> { return third_first - 1; };
  auto retired = retire_sealed_segments(store, keeping);
  ASSERT_TRUE(retired.ok()) << retired.error();
  ASSERT_EQ(retired->size(), 1U);
  EXPECT_EQ(retired->front().index, 0U);
  EXPECT_TRUE(fs::exists(segment_file(store, 1)));
}

TEST(Retention, IsRefusedWhileTheWriterHoldsTheStore) {
  TempDir dir;
  const std::string store = dir.file("vs");
  fill(store + "/", 600);
  auto writer = open_rw(store);
  ASSERT_TRUE(writer.ok()) << writer.error();
  auto retired = retire_sealed_segments(store, retire_options());
  ASSERT_FALSE(retired.ok());
  EXPECT_NE(retired.error().find("pid"), std::string::npos) << retired.error();
  EXPECT_EQ(segment_files(store).size(), (*writer)->segments().size());
}

// What may be done to a pruned store, and what its open says.
const Damage kRetentionDamages[] = {
    {"a pruned segment put back",
     [](const std::string& dir) { fs::copy_file(segment_file(dir, 2), segment_file(dir, 0)); },
     Verify::kFast,
     "segment-00000000.db: the seal index records it as pruned, yet it is still here",
     "interrupted archive or prune?"},
    {"a segment missing without a record",
     [](const std::string& dir) { fs::remove(segment_file(dir, 2)); }, Verify::kFast,
     "segment-00000002.db is missing", "deleted or moved?"},
    {"an index record out of order",
     [](const std::string& dir) {
       std::ofstream(dir + "/seal-index.tsv", std::ios::app)
           << "segment-00000002.db\t999\t1000\t" << std::string(64, '0') << "\tpruned\t1\t\n";
     },
     Verify::kFast, "seal-index.tsv: line 4: segment-00000002.db from entry 999 does not follow",
     "(edited?)"},
    {"the index records another seal",
     [](const std::string& dir) {
       std::string text = read_bytes(dir + "/seal-index.tsv");
       const std::size_t hash = text.rfind("\tpruned") - 64;
       text[hash] = text[hash] == '0' ? '1' : '0';
       std::ofstream(dir + "/seal-index.tsv", std::ios::trunc) << text;
     },
     Verify::kFast, "segment-00000002.db: the seal it records, entry ",
     "that the seal index records (index or segments edited?)"},
    {"the first segment left relinked",
     [](const std::string& dir) {
       RawDb db(segment_file(dir, 2));
       ASSERT_EQ(db.exec("DROP TRIGGER log_entry_no_update"), SQLITE_OK) << db.error();
       ASSERT_EQ(db.exec("UPDATE log_entry SET prev_hash = zeroblob(32) WHERE seq = "
                         "(SELECT MIN(seq) FROM log_entry)"),
                 SQLITE_OK)
           << db.error();
     },
     Verify::kFast, "segment-00000002.db: entry ",
     "prev_hash of the segment's first entry is not the entry_hash of the seal it records"},
    {"an index line that does not parse",
     [](const std::string& dir) {
       std::ofstream(dir + "/seal-index.tsv", std::ios::app) << "segment-00000002.db\tx\n";
     },
     Verify::kFast, "seal-index.tsv: line 4: has 2 fields, not 7", "(edited?)"},
};

class RetentionDamage : public ::testing::TestWithParam<Damage> {};

TEST_P(RetentionDamage, IsReportedWithTheFile) {
  TempDir dir;
  const std::string store = dir.file("vs");
  fill(store + "/", 900);
  ASSERT_GE(segment_files(store).size(), 4U);
  const std::uint64_t third_created = created_at_ms(segment_file(store, 2));
  auto retired = retire_sealed_segments(store, retire_options(std::nullopt, third_created + 1));
  ASSERT_TRUE(retired.ok()) << retired.error();
  ASSERT_EQ(retired->size(), 2U);
  expect_open_refused(store, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Retention, RetentionDamage, ::testing::ValuesIn(kRetentionDamages),
                         damage_test_name);

}  // namespace
}  // namespace gsvs::storage

namespace gsvs::storage {
namespace {

// What the audit reads of each file on its own (storage/segment_files.h) and a read-only open of
// some segments only, on a store whose first segments are pruned.
TEST(SegmentFiles, MetaOfEachFileAndARangeOpenReadOnlyWhatTheyName) {
  TempDir dir;
  const std::string store = dir.file("vs");
  fill(store + "/", 900);
  const auto files = list_segment_files(store);
  ASSERT_TRUE(files.ok()) << files.error();
  ASSERT_GE(files->size(), 4U);
  EXPECT_EQ(files->begin()->second, segment_file_name(0));
  EXPECT_EQ(segment_index_of("segment-00000012.db"), 12U);
  EXPECT_FALSE(segment_index_of("segment-12.db").has_value());

  auto zero = read_segment_file_meta(segment_file(store, 0));
  ASSERT_TRUE(zero.ok()) << zero.error();
  EXPECT_EQ(zero->first_seq, 0U);
  EXPECT_FALSE(zero->seal.has_value());
  auto two = read_segment_file_meta(segment_file(store, 2));
  ASSERT_TRUE(two.ok()) << two.error();
  ASSERT_TRUE(two->seal.has_value());
  EXPECT_EQ(two->seal->seq + 1, two->first_seq);

  auto range = Log::open(store, SegmentRange{1, 2});
  ASSERT_TRUE(range.ok()) << range.error();
  const auto segments = (*range)->segments();
  ASSERT_EQ(segments.size(), 2U);
  EXPECT_EQ(segments.front().file, segment_file_name(1));
  EXPECT_EQ((*range)->size(),
            two->first_seq +
                static_cast<std::uint64_t>(
                    RawDb(segment_file(store, 2)).query_int("SELECT COUNT(*) FROM log_entry")));

  // After pruning, the first present segment alone and the directory open read-only.
  auto retired = retire_sealed_segments(store, retire_options());
  ASSERT_TRUE(retired.ok()) << retired.error();
  const std::uint64_t active = retired->size();
  EXPECT_TRUE(Log::open(store, OpenMode::kReadOnly).ok());
  EXPECT_TRUE(Log::open(store, SegmentRange{active, active}).ok());

  // Errors name what is wrong.
  auto none = Log::open(store, SegmentRange{0, 0});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().find("holds none of the segments segment-00000000.db"), std::string::npos)
      << none.error();
  auto backwards = Log::open(store, SegmentRange{3, 1});
  ASSERT_FALSE(backwards.ok());
  EXPECT_NE(backwards.error().find("first after last"), std::string::npos) << backwards.error();
  auto not_a_dir = Log::open(segment_file(store, static_cast<int>(active)), SegmentRange{0, 0});
  EXPECT_FALSE(not_a_dir.ok());
  auto bad = read_segment_file_meta(dir.file("nothing.db"));
  EXPECT_FALSE(bad.ok());
}

}  // namespace
}  // namespace gsvs::storage
