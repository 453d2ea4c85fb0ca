// Checks tests/vectors/store.json: storage/ still creates exactly this schema and stores the log
// exactly so; the rows' hashes and links follow from the file alone (docs/STORE.md §4); and a
// kind keeps its name, whatever kinds are added later.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "protocol/chains.h"
#include "protocol/messages.h"
#include "tests/vectors/store_samples.h"

namespace gsvs::test_samples {
namespace {

constexpr std::string_view kRegenerateStore =
    "if the change is intended, it is a new schema version: regenerate with gen_vectors "
    "tests/vectors (see tests/vectors/README.md) and update docs/STORE.md §2";

// The document without message_kind, which grows as protocol/ gains kinds (checked apart).
Json without_kinds(Json doc) {
  doc.erase("message_kind");
  return doc;
}

TEST(StoreVectors, StorageCreatesTheSchemaAndRowsOfTheFile) {
  const Json file = load_vectors_file("store.json");
  const Json made = store_document();
  EXPECT_EQ(without_kinds(file).dump(1), without_kinds(made).dump(1)) << kRegenerateStore;
}

TEST(StoreVectors, EveryKindKeepsItsNameAndEveryKnownKindIsNamed) {
  const Json file = load_vectors_file("store.json");
  const Json document = store_document();
  std::map<unsigned, std::string> made;
  for (const Json& row : document.at("message_kind")) {
    made[row.at("kind").get<unsigned>()] = row.at("name").get<std::string>();
  }
  for (const Json& row : file.at("message_kind")) {
    const auto kind = row.at("kind").get<unsigned>();
    EXPECT_EQ(made[kind], row.at("name").get<std::string>()) << "kind " << kind;
  }
  ASSERT_EQ(made.size(), protocol::kMaxMessageKind);
  for (const auto& [kind, name] : made) {
    EXPECT_EQ(name, protocol::kind_name(static_cast<protocol::MessageKind>(kind)));
  }
}

TEST(StoreVectors, HashesAndLinksFollowFromTheRowsAlone) {
  const Json file = load_vectors_file("store.json");
  Hash32 previous;
  for (const Json& row : file.at("log_entry")) {
    chains::LogEntryHeader header;
    header.seq = row.at("seq").get<std::uint64_t>();
    header.kind = static_cast<protocol::MessageKind>(row.at("kind").get<unsigned>());
    header.direction = static_cast<chains::Direction>(row.at("direction").get<unsigned>());
    header.session_id = row.at("session_id").get<std::uint64_t>();
    header.vs_time_ms = row.at("vs_time_ms").get<std::uint64_t>();
    header.prev_entry_hash = *fixed_from_hex<32>(row.at("prev_hash").get<std::string>());
    EXPECT_EQ(header.prev_entry_hash, previous) << "entry " << header.seq;
    previous = chains::log_entry_hash(header, bytes_from_hex(row.at("message")));
    EXPECT_EQ(to_hex(previous), row.at("entry_hash").get<std::string>()) << "entry " << header.seq;
    EXPECT_FALSE(row.contains("kind_name")) << "version 3 rows carry no kind name";
  }
  for (const Json& row : file.at("log_entry_readable")) {
    const Json& stored = file.at("log_entry").at(row.at("seq").get<std::size_t>());
    EXPECT_EQ(
        row.at("kind_name").get<std::string>(),
        protocol::kind_name(static_cast<protocol::MessageKind>(stored.at("kind").get<unsigned>())));
  }
}

}  // namespace
}  // namespace gsvs::test_samples
