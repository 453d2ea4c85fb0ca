// Checks tests/vectors/segments.json three ways: the document rebuilt must be the file; the seal,
// the frontier, the link and the root must follow from the file alone (the formulas of
// docs/STORE.md §10 and PROTOCOL.md §6.6); and storage/ must write exactly those rows and meta.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "protocol/merkle.h"
#include "storage/log.h"
#include "tests/storage/store_fixture.h"
#include "tests/vectors/segments_samples.h"

namespace gsvs::test_samples {
namespace {

constexpr std::string_view kRegenerateSegments =
    "if the change is intended, regenerate with: gen_vectors tests/vectors (see "
    "tests/vectors/README.md) and update docs/STORE.md §10";

chains::LogEntryHeader header_of(const Json& entry) {
  chains::LogEntryHeader header;
  header.seq = entry.at("seq").get<std::uint64_t>();
  header.kind = static_cast<protocol::MessageKind>(entry.at("kind").get<unsigned>());
  header.direction = static_cast<chains::Direction>(entry.at("direction").get<unsigned>());
  header.session_id = entry.at("session_id").get<std::uint64_t>();
  header.vs_time_ms = entry.at("vs_time_ms").get<std::uint64_t>();
  header.prev_entry_hash = *fixed_from_hex<32>(entry.at("prev_hash_hex").get<std::string>());
  return header;
}

Hash32 hash_of(const Json& hex) { return *fixed_from_hex<32>(hex.get<std::string>()); }

TEST(SegmentsVectors, FileIsWhatTheGeneratorWrites) {
  const Keys keys;
  EXPECT_EQ(load_vectors_file("segments.json").dump(1), segments_document(keys).dump(1))
      << kRegenerateSegments;
}

TEST(SegmentsVectors, SealLinkAndRootFollowFromTheFileAlone) {
  const Json file = load_vectors_file("segments.json");
  const auto vs_key =
      *fixed_from_hex<32>(file.at("keys").at(0).at("public_key_hex").get<std::string>());
  merkle::Accumulator tree;
  Hash32 previous;
  for (const Json& entry : file.at("segment_0_entries")) {
    const auto header = header_of(entry);
    EXPECT_EQ(header.prev_entry_hash, previous);
    previous = chains::log_entry_hash(header, bytes_from_hex(entry.at("message_hex")));
    EXPECT_EQ(previous, hash_of(entry.at("entry_hash_hex")));
    tree.append(previous);
  }
  // The seal signs the root over the entries before it, and the recorded frontier gives it.
  const Json& seal = file.at("seal");
  const Bytes seal_bytes = bytes_from_hex(seal.at("message_hex"));
  auto checkpoint = protocol::decode<protocol::Checkpoint>(seal_bytes);
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.error();
  EXPECT_TRUE(protocol::verify(*checkpoint, vs_key));
  EXPECT_EQ(checkpoint->log_size, header_of(seal).seq);
  EXPECT_EQ(checkpoint->root, tree.root());
  std::vector<Hash32> frontier;
  for (const Json& hex : file.at("frontier_at_seal").at("hashes_hex"))
    frontier.push_back(hash_of(hex));
  EXPECT_EQ(frontier, tree.frontier());
  auto resumed = merkle::Accumulator::from_frontier(checkpoint->log_size, frontier);
  ASSERT_TRUE(resumed.has_value());
  EXPECT_EQ(resumed->root(), checkpoint->root);
  const Hash32 seal_hash = chains::log_entry_hash(header_of(seal), seal_bytes);
  EXPECT_EQ(seal_hash, hash_of(seal.at("entry_hash_hex")));
  EXPECT_EQ(header_of(seal).prev_entry_hash, previous);
  // The link: segment 1's first entry chains to the seal, and the tree goes on from the frontier.
  const Json& first = file.at("segment_1_first_entry");
  EXPECT_EQ(header_of(first).prev_entry_hash, seal_hash);
  EXPECT_EQ(header_of(first).seq, header_of(seal).seq + 1);
  const Hash32 first_hash =
      chains::log_entry_hash(header_of(first), bytes_from_hex(first.at("message_hex")));
  EXPECT_EQ(first_hash, hash_of(first.at("entry_hash_hex")));
  resumed->append(seal_hash);
  resumed->append(first_hash);
  EXPECT_EQ(resumed->root(), hash_of(file.at("merkle_root_over_7_entries_hex")));
  EXPECT_EQ(file.at("segment_1_meta").at("seal_entry_hash").get<std::string>(), to_hex(seal_hash));
}

// storage/ writes the same seal, link and meta: a store rotated after the five entries.
TEST(SegmentsVectors, StorageWritesTheSameSealAndLink) {
  const Keys keys;
  const Json file = segments_document(keys);
  storage::testing::TempDir dir;
  const std::string store = dir.file("vs");
  {
    auto log =
        storage::Log::open(store + "/", storage::OpenMode::kReadWrite, storage::StoreRole::kVs,
                           storage::OpenOptions{keys.vs().public_key()});
    ASSERT_TRUE(log.ok()) << log.error();
    storage::BatchWriter::Options options;
    options.segment_max_bytes = 1;  // seal after the first submit
    options.seal = [&keys](std::uint64_t size, const Hash32& root) {
      protocol::Checkpoint checkpoint;
      checkpoint.log_size = size;
      checkpoint.root = root;
      checkpoint.vs_time_ms = kSealTimeMs;
      protocol::sign(checkpoint, keys.vs());
      return storage::PendingEntry{protocol::MessageKind::kCheckpoint, chains::Direction::kIssued,
                                   0, kSealTimeMs, protocol::encode(checkpoint)};
    };
    storage::BatchWriter writer(std::move(*log), options);
    const auto samples = segment_sample_entries();
    std::vector<storage::PendingEntry> first_five;
    for (std::size_t i = 0; i + 1 < samples.size(); ++i) {
      const auto& h = samples[i].header;
      first_five.push_back({h.kind, h.direction, h.session_id, h.vs_time_ms, samples[i].message});
    }
    ASSERT_TRUE(writer.submit(std::move(first_five), {}).ok());
    const auto& h = samples.back().header;
    ASSERT_TRUE(
        writer
            .submit({{h.kind, h.direction, h.session_id, h.vs_time_ms, samples.back().message}}, {})
            .ok());
    ASSERT_TRUE(writer.flush().ok());
  }
  auto log = storage::Log::open(store, storage::OpenMode::kReadOnly);
  ASSERT_TRUE(log.ok()) << log.error();
  auto seal = (*log)->get(5);
  ASSERT_TRUE(seal.ok()) << seal.error();
  EXPECT_EQ(to_hex(seal->message), file.at("seal").at("message_hex").get<std::string>());
  EXPECT_EQ(to_hex(seal->entry_hash), file.at("seal").at("entry_hash_hex").get<std::string>());
  auto first = (*log)->get(6);
  ASSERT_TRUE(first.ok()) << first.error();
  EXPECT_EQ(to_hex(first->entry_hash),
            file.at("segment_1_first_entry").at("entry_hash_hex").get<std::string>());
  ASSERT_GE((*log)->segments().size(), 2U);
  EXPECT_EQ((*log)->segments()[1].first_seq, 6U);
  storage::testing::RawDb segment1(store + "/segment-00000001.db", SQLITE_OPEN_READONLY);
  ASSERT_TRUE(segment1.ok());
  for (const auto& [key, value] : file.at("segment_1_meta").items()) {
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(segment1.get(), "SELECT value FROM meta WHERE key = ?1", -1, &stmt,
                                 nullptr),
              SQLITE_OK);
    sqlite3_bind_text(stmt, 1, key.c_str(), -1, SQLITE_TRANSIENT);
    ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW) << key;
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0))),
              value.get<std::string>())
        << key;
    sqlite3_finalize(stmt);
  }
}

}  // namespace
}  // namespace gsvs::test_samples
