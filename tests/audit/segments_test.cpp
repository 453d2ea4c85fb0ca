// audit-cli over a segmented store (docs/STORE.md §10, AUDIT.md "Segmented stores"): the
// generated store rewritten as segments sealed at its own checkpoints verifies as it did in one
// file; segments retired by policy are reported as such; a tampered, missing or swapped segment
// and every kind of edited seal index are findings naming the file (and the index line); one
// segment or a range verifies from its own meta.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "audit-cli/verifier.h"
#include "storage/log.h"
#include "tests/audit/audit_fixture.h"
#include "tests/support/tamper.h"

namespace gsvs::testing {
namespace {

namespace fs = std::filesystem;
namespace check = audit::check;

constexpr std::uint64_t kSegmentBytes = 96 * 1024;

std::string segment_name(int index) {
  std::string digits = std::to_string(index);
  digits.insert(0, 8 - digits.size(), '0');
  return "segment-" + digits + ".db";
}

// Rewrites the generated store as a segmented store in `dir`, entry for entry: the writer rotates
// at about kSegmentBytes, and each seal is the generated store's own Checkpoint at that position
// (each submit ends just before one), so seqs, hashes and every checkpoint stay as they were.
void write_segmented(const std::string& dir) {
  auto source = storage::Log::open(generated_path(), storage::OpenMode::kReadOnly);
  ASSERT_TRUE(source.ok()) << source.error();
  std::vector<storage::Entry> entries;
  ASSERT_TRUE((*source)
                  ->scan({},
                         [&](const storage::Entry& e) {
                           entries.push_back(e);
                           return true;
                         })
                  .ok());
  auto pending = [&](std::uint64_t seq) {
    const storage::Entry& e = entries.at(seq);
    return storage::PendingEntry{e.header.kind, e.header.direction, e.header.session_id,
                                 e.header.vs_time_ms, e.message};
  };
  auto log = storage::Log::open(dir + "/", storage::OpenMode::kReadWrite, storage::StoreRole::kVs,
                                storage::OpenOptions{generated_vs_key(), storage::Verify::kFast});
  ASSERT_TRUE(log.ok()) << log.error();
  storage::BatchWriter::Options options;
  options.segment_max_bytes = kSegmentBytes;
  std::uint64_t sealed_at = std::numeric_limits<std::uint64_t>::max();
  options.seal = [&](std::uint64_t size, const Hash32&) {
    sealed_at = size;
    return pending(size);  // the generated Checkpoint at the head: a seal of this log
  };
  storage::BatchWriter writer(std::move(*log), options);
  std::vector<storage::PendingEntry> chunk;
  for (std::uint64_t seq = 0; seq < entries.size(); ++seq) {
    if (seq == sealed_at) continue;  // already written, as the seal
    const bool checkpoint = entries[seq].header.kind == protocol::MessageKind::kCheckpoint;
    if (checkpoint && !chunk.empty()) {
      ASSERT_TRUE(writer.submit(std::move(chunk), {}).ok());
      chunk.clear();
      // The submit may have rotated: the seal callback then set sealed_at to this very seq.
      // cppcheck-suppress identicalConditionAfterEarlyExit
      if (seq == sealed_at) continue;
    }
    chunk.push_back(pending(seq));
  }
  if (!chunk.empty()) {
    ASSERT_TRUE(writer.submit(std::move(chunk), {}).ok());
  }
  ASSERT_TRUE(writer.flush().ok());
  ASSERT_EQ(writer.size(), entries.size()) << "a seal was not one of the generated checkpoints";
}

const std::string& segmented_path() {
  static TempDir dir;
  static const std::string path = [] {
    std::string store = dir.file("vs");
    write_segmented(store);
    return store;
  }();
  return path;
}

void copy_dir(const std::string& from, const std::string& to) {
  fs::copy(from, to, fs::copy_options::recursive);
}

bool names(const VerifyRun& run, std::string_view check, const std::string& file,
           std::optional<std::uint64_t> seq = std::nullopt,
           std::optional<std::uint64_t> line = std::nullopt) {
  const auto failures = run.failures();
  return std::any_of(failures.begin(), failures.end(), [&](const audit::Finding& f) {
    return f.check == check && f.file == file && (!seq || f.seq == *seq) &&
           (!line || f.line == line);
  });
}

class SegmentedStoreAudit : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = dir_.file("vs");
    copy_dir(segmented_path(), store_);
    for (const auto& entry : fs::directory_iterator(store_)) {
      const std::string name = entry.path().filename().string();
      if (name.starts_with("segment-") && name.ends_with(".db")) ++segments_;
    }
    ASSERT_GE(segments_, 5) << "the store should span several segments";
    fs::copy_file(file(1), dir_.file("keep-1.db"));  // for putting a retired segment back
  }

 public:
  [[nodiscard]] std::string file(int index) const { return store_ + "/" + segment_name(index); }
  // Retires segments 0..count-1 (sealed before segment `count` was created) by policy.
  void prune(std::size_t count) {
    storage::RetireOptions options;
    options.vs_public_key = generated_vs_key();
    options.sealed_before_ms = meta_number(file(static_cast<int>(count)), "created_at_ms") + 1;
    options.now_ms = 1'800'000'000'000;
    auto retired = storage::retire_sealed_segments(store_, options);
    ASSERT_TRUE(retired.ok()) << retired.error();
    ASSERT_EQ(retired->size(), count);
  }
  static std::uint64_t meta_number(const std::string& path, const std::string& key) {
    sqlite3* db = nullptr;
    std::uint64_t value = 0;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
      sqlite3_stmt* stmt = nullptr;
      const std::string sql = "SELECT value FROM meta WHERE key = '" + key + "'";
      if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
          sqlite3_step(stmt) == SQLITE_ROW) {
        value = std::stoull(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
      }
      sqlite3_finalize(stmt);
    }
    sqlite3_close_v2(db);
    return value;
  }
  [[nodiscard]] std::uint64_t first_seq(int index) const {
    return meta_number(file(index), "first_seq");
  }
  void edit(std::size_t line, const std::string& from, const std::string& to) {
    const std::string path = store_ + "/seal-index.tsv";
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    ASSERT_LT(line - 1, lines.size());
    const auto at = lines[line - 1].find(from);
    ASSERT_NE(at, std::string::npos);
    lines[line - 1].replace(at, from.size(), to);
    std::ofstream out(path, std::ios::trunc);
    for (const auto& l : lines) out << l << "\n";
  }

  TempDir dir_;
  std::string store_;
  int segments_ = 0;
};

TEST_F(SegmentedStoreAudit, TheDirectoryVerifiesAsTheSingleFileDid) {
  auto run = verify(store_);
  ASSERT_TRUE(run.error.empty()) << run.error;
  EXPECT_EQ(run.sink.failures(), 0u) << run.describe();
  EXPECT_EQ(run.result.stats.entries, generated().entries);
  ASSERT_TRUE(run.result.segments.has_value());
  EXPECT_EQ(run.result.segments->files.size(), static_cast<std::size_t>(segments_));
  EXPECT_TRUE(run.result.segments->retired.empty());
}

TEST_F(SegmentedStoreAudit, APrunedRangeIsReportedAsPrunedByPolicyAndTheRestVerifies) {
  prune(2);
  ASSERT_FALSE(fs::exists(file(0)));
  auto run = verify(store_);
  ASSERT_TRUE(run.error.empty()) << run.error;
  EXPECT_EQ(run.sink.failures(), 0u) << run.describe();
  ASSERT_TRUE(run.result.segments.has_value());
  ASSERT_EQ(run.result.segments->retired.size(), 2u);
  EXPECT_EQ(run.result.segments->retired[1].index_line, 3u);
  EXPECT_EQ(run.result.stats.first_seq, first_seq(2));
  EXPECT_EQ(run.result.stats.first_seq + run.result.stats.entries, generated().entries);

  const auto cli = run_audit_cli({"verify", store_, "--vs-pubkey", to_hex(generated_vs_key())});
  EXPECT_EQ(cli.exit_code, 0) << cli.out << cli.err;
  EXPECT_NE(cli.out.find("pruned by policy entries 0.."), std::string::npos) << cli.out;
  EXPECT_NE(cli.out.find("segment-00000001.db, seal-index.tsv line 3"), std::string::npos)
      << cli.out;
  const auto as_json = run_audit_cli(
      {"verify", store_, "--vs-pubkey", to_hex(generated_vs_key()), "--json", "--no-progress"});
  const auto doc = nlohmann::json::parse(as_json.out);
  EXPECT_EQ(doc["segments"]["retired"][0]["disposition"], "pruned");
  EXPECT_EQ(doc["segments"]["retired"][1]["file"], "segment-00000001.db");
}

TEST_F(SegmentedStoreAudit, ATamperedSealedSegmentIsNamedWithItsFileAndSeq) {
  const std::uint64_t seq = first_seq(1) + 3;
  {
    Tamper t(file(1));
    t.flip_byte(seq, "message", 0);
  }
  auto run = verify(store_);
  EXPECT_TRUE(names(run, check::kEntryHash, segment_name(1), seq)) << run.describe();
  const auto cli = run_audit_cli({"verify", store_, "--vs-pubkey", to_hex(generated_vs_key())});
  EXPECT_EQ(cli.exit_code, 1);
  EXPECT_NE(cli.out.find("segment-00000001.db: entry " + std::to_string(seq)), std::string::npos)
      << cli.out;
}

TEST_F(SegmentedStoreAudit, AMissingMiddleSegmentIsNamed) {
  fs::remove(file(2));
  auto run = verify(store_);
  EXPECT_TRUE(names(run, check::kSegmentMissing, segment_name(2))) << run.describe();
}

TEST_F(SegmentedStoreAudit, SwappedSegmentsAreNamed) {
  fs::rename(file(1), store_ + "/swap");
  fs::rename(file(2), file(1));
  fs::rename(store_ + "/swap", file(2));
  auto run = verify(store_);
  EXPECT_TRUE(names(run, check::kSegmentMeta, segment_name(1))) << run.describe();
  EXPECT_TRUE(names(run, check::kSegmentMeta, segment_name(2))) << run.describe();
}

struct IndexEdit {
  const char* name;
  void (*apply)(SegmentedStoreAudit& test, const std::string& store);
  std::uint64_t line;  // the seal index line the finding names
};

class EditedSealIndex : public SegmentedStoreAudit,
                        public ::testing::WithParamInterface<IndexEdit> {};

TEST_P(EditedSealIndex, IsAFindingNamingTheIndexLine) {
  prune(2);
  GetParam().apply(*this, store_);
  auto run = verify(store_);
  ASSERT_TRUE(run.error.empty()) << run.error;
  EXPECT_TRUE(names(run, check::kSealIndex, "seal-index.tsv", std::nullopt, GetParam().line))
      << GetParam().name << "\n"
      << run.describe();
}

// Each edit of an index that records segments 0 and 1 as pruned.
const IndexEdit kIndexEdits[] = {
    {"a record whose seal is not the one the next segment binds",
     [](SegmentedStoreAudit& test, const std::string& store) {
       std::ifstream in(store + "/seal-index.tsv");
       std::string header, first, second;
       std::getline(in, header);
       std::getline(in, first);
       std::getline(in, second);
       in.close();
       // The seal hash of line 3 replaced by that of line 2.
       const auto hash_of = [](const std::string& line) {
         std::istringstream fields(line);
         std::string field;
         for (int i = 0; i < 4; ++i) std::getline(fields, field, '\t');
         return field;
       };
       test.edit(3, hash_of(second), hash_of(first));
     },
     3},
    {"records out of order",
     [](SegmentedStoreAudit& test, const std::string&) {
       test.edit(2, "segment-00000000.db", "segment-00000001.db");
     },
     2},
    {"a segment present and recorded as pruned",
     [](SegmentedStoreAudit&, const std::string& store) {
       fs::copy_file(store + "/../keep-1.db", store + "/segment-00000001.db");
     },
     3},
};

template <class Case>
std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string name = info.param.name;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(SegmentedStoreAudit, EditedSealIndex, ::testing::ValuesIn(kIndexEdits),
                         case_name<IndexEdit>);

// A seal or a link between two segments broken: the finding names the file, and what is wrong
// is said as vsd says it at start (storage/segment_files.h), the check being the same one.
struct BoundaryDamage {
  const char* name;
  void (*apply)(SegmentedStoreAudit& test);
  std::string_view check;
  int file;           // the segment the finding names
  const char* found;  // in its `found`
};

const BoundaryDamage kBoundaryDamages[] = {
    {"the seal row edited",
     [](SegmentedStoreAudit& test) {
       Tamper t(test.file(1));
       t.flip_byte(test.first_seq(2) - 1, "message", 2);
     },
     check::kSegmentSeal, 1, "the seal does not match the one segment-00000002.db records"},
    {"the first row of a segment linked elsewhere",
     [](SegmentedStoreAudit& test) {
       Tamper(test.file(2)).flip_byte(test.first_seq(2), "prev_hash", 0);
     },
     check::kSegmentLink, 2,
     "prev_hash of the segment's first entry is not the entry_hash of the seal it records"},
    {"the meta's seal edited",
     [](SegmentedStoreAudit& test) {
       Tamper t(test.file(3));
       t.exec("DROP TRIGGER meta_no_update");
       t.exec("UPDATE meta SET value = '" + std::to_string(test.first_seq(3) + 1) +
              "' WHERE key = 'first_seq'");
     },
     check::kSegmentSeal, 3, "does not follow its seal"},
};

void PrintTo(const BoundaryDamage& damage, std::ostream* out) { *out << damage.name; }

class BrokenBoundary : public SegmentedStoreAudit,
                       public ::testing::WithParamInterface<BoundaryDamage> {};

TEST_P(BrokenBoundary, IsNamedAsVsdNamesIt) {
  const BoundaryDamage& damage = GetParam();
  damage.apply(*this);
  auto run = verify(store_);
  ASSERT_TRUE(run.error.empty()) << run.error;
  const auto failures = run.failures();
  EXPECT_TRUE(std::any_of(failures.begin(), failures.end(), [&](const audit::Finding& f) {
    return f.check == damage.check && f.file == segment_name(damage.file) &&
           f.found.find(damage.found) != std::string::npos;
  })) << run.describe();
}

INSTANTIATE_TEST_SUITE_P(SegmentedStoreAudit, BrokenBoundary, ::testing::ValuesIn(kBoundaryDamages),
                         case_name<BoundaryDamage>);

TEST_F(SegmentedStoreAudit, AFirstSegmentDeletedWithoutARecordIsMissing) {
  fs::remove(file(0));
  auto run = verify(store_);
  EXPECT_TRUE(names(run, check::kSegmentMissing, segment_name(0))) << run.describe();
}

TEST_F(SegmentedStoreAudit, OneSegmentVerifiesFromItsOwnMeta) {
  const auto cli =
      run_audit_cli({"verify", file(2), "--vs-pubkey", to_hex(generated_vs_key()), "--json"});
  EXPECT_EQ(cli.exit_code, 0) << cli.out << cli.err;
  const auto doc = nlohmann::json::parse(cli.out);
  EXPECT_EQ(doc["first_seq"], first_seq(2));
  EXPECT_EQ(doc["entries"], first_seq(3) - first_seq(2));
  EXPECT_EQ(doc["segments"]["files"].size(), 1u);
  EXPECT_EQ(doc["segments"]["not_checked"].size(), 2u);
}

TEST_F(SegmentedStoreAudit, ARangeVerifiesAndReadsNothingElse) {
  // Only segments 1..3 are here to read: the others are gone from this copy.
  const std::uint64_t end = first_seq(4);
  for (int index : {0, 4}) fs::remove(file(index));
  auto run = verify(store_, [] {
    audit::VerifyOptions options;
    options.segments = "1..3";
    return options;
  }());
  ASSERT_TRUE(run.error.empty()) << run.error;
  EXPECT_EQ(run.sink.failures(), 0u) << run.describe();
  EXPECT_EQ(run.result.stats.first_seq, first_seq(1));
  EXPECT_EQ(run.result.stats.entries, end - first_seq(1));
}

TEST_F(SegmentedStoreAudit, ARangeWithATamperedSegmentNamesIt) {
  const std::uint64_t seq = first_seq(3) + 1;
  {
    Tamper t(file(3));
    t.flip_byte(seq, "message", 1);
  }
  const auto cli = run_audit_cli(
      {"verify", store_, "--segments", "2..3", "--vs-pubkey", to_hex(generated_vs_key())});
  EXPECT_EQ(cli.exit_code, 1);
  EXPECT_NE(cli.out.find("segment-00000003.db: entry " + std::to_string(seq)), std::string::npos)
      << cli.out;
}

TEST_F(SegmentedStoreAudit, AReportReadsOnlyTheSegmentsItsSessionTouches) {
  // A session from a middle segment to one before the active one.
  const auto& sessions = generated().sessions;
  const auto session = std::find_if(sessions.begin(), sessions.end(), [&](const auto& s) {
    return s.join_request_seq >= first_seq(2) && s.revocation_seq < first_seq(segments_ - 1);
  });
  ASSERT_NE(session, sessions.end());
  auto report = [&](const std::string& store, const std::string& out) {
    const auto run = run_audit_cli({"report", store, "--session", std::to_string(session->id), "-o",
                                    out, "--vs-pubkey", to_hex(generated_vs_key())});
    EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
    std::ifstream in(out, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  const std::string whole = report(store_, dir_.file("whole.json"));
  const std::string single = report(generated_path(), dir_.file("single.json"));
  EXPECT_EQ(whole, single) << "the same report as from the single file";

  // A copy holding only the segments the session touches gives the same report.
  const std::string touched = dir_.file("touched");
  copy_dir(store_, touched);
  for (int index = 0; index < segments_; ++index) {
    const std::uint64_t begin = first_seq(index);
    const std::uint64_t end = index + 1 < segments_ ? first_seq(index + 1) : generated().entries;
    if (end <= session->join_request_seq || begin > session->revocation_seq) {
      fs::remove(touched + "/" + segment_name(index));
    }
  }
  ASSERT_FALSE(fs::exists(touched + "/" + segment_name(0)));
  EXPECT_EQ(report(touched, dir_.file("touched.json")), whole);
  const auto checked = run_audit_cli(
      {"verify-report", dir_.file("touched.json"), "--vs-pubkey", to_hex(generated_vs_key())});
  EXPECT_EQ(checked.exit_code, 0) << checked.out << checked.err;
}

}  // namespace
}  // namespace gsvs::testing
