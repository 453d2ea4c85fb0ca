// audit-cli verify: intact stores pass (generated ones and one written by a real vsd), and every
// kind of tampering fails and names the right position. Tampering goes through the sqlite3 C API
// with the triggers dropped, as an insider holding the file would.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "audit-cli/common.h"
#include "audit-cli/session_model.h"
#include "audit-cli/verifier.h"
#include "protocol/chains.h"
#include "protocol/clock.h"
#include "protocol/keyfile.h"
#include "tests/audit/audit_fixture.h"
#include "tests/storage/store_fixture.h"
#include "tests/support/tamper.h"
#include "tests/support/vs_fixture.h"

namespace gsvs::testing {
namespace {

using namespace protocol;  // NOLINT(google-build-using-namespace)
namespace check = audit::check;

// A position of `kind` with entries after it (the generator's samples, in log order).
std::uint64_t sample(MessageKind kind, std::size_t index = 2) {
  const auto& samples = generated().samples.at(kind);
  return samples.at(std::min(index, samples.size() - 1));
}

// Decodes the message at `seq`, lets `edit` change it, signs it with `key` (a rogue signer
// holding a real key) and rewrites the chain from there on, as an insider would.
template <class M, class Edit>
void rewrite(const std::string& path, std::uint64_t seq, Edit edit, const crypto::SecretKey& key) {
  Tamper t(path);
  auto message = decode<M>(t.blob(seq, "message"));
  ASSERT_TRUE(message.ok()) << message.error();
  edit(*message);
  sign(*message, key);
  t.set_blob(seq, "message", encode(*message));
  t.rechain(seq);
}

// A rewrite by the VS key's holder.
template <class M, class Edit>
void rewrite_as_vs(const std::string& path, std::uint64_t seq, Edit edit) {
  rewrite<M>(path, seq, edit, generator_vs_key(kAuditSeed));
}

// Whether the run's first failure is at `first` and a finding of `check` covers `at`.
::testing::AssertionResult found(const VerifyRun& run, std::uint64_t first, std::string_view check,
                                 std::uint64_t at) {
  if (run.first_failure() == first && run.has(check, at)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected the first failure at " << first << " and "
                                       << check << " at " << at << "; found:\n"
                                       << run.describe();
}

class Verify : public ::testing::Test {
 protected:
  // A fresh copy of the generated store.
  std::string copy(const std::string& name = "copy.db") {
    std::string path = dir_.file(name);
    copy_store(generated_path(), path);
    return path;
  }

  TempDir dir_;
};

// ---- Intact stores ----------------------------------------------------------------------------

TEST_F(Verify, GeneratedStoreIsIntact) {
  const auto& store = generated();
  for (auto reason : {RevocationReason::kBadSignature, RevocationReason::kCounterRegression,
                      RevocationReason::kSwHashChanged, RevocationReason::kMissedHeartbeats,
                      RevocationReason::kSpeedViolation, RevocationReason::kReceiptTipMismatch,
                      RevocationReason::kOperator, RevocationReason::kMalformedMessage,
                      RevocationReason::kSessionMismatch, RevocationReason::kVsShutdown}) {
    ASSERT_NE(store.ended_by(reason), nullptr) << reason_name(reason);
  }
  auto run = verify(generated_path());
  ASSERT_TRUE(run.error.empty()) << run.error;
  EXPECT_EQ(run.sink.failures(), 0u) << run.describe();
  EXPECT_EQ(run.sink.warnings(), 0u) << run.describe();
  const auto& stats = run.result.stats;
  EXPECT_EQ(stats.entries, store.entries);
  EXPECT_EQ(stats.sessions, store.sessions.size());
  EXPECT_EQ(stats.live_sessions, 0u);
  EXPECT_EQ(stats.rejected_joins, store.join_reject_seqs.size());
  EXPECT_EQ(stats.signatures_unchecked, 0u);
  // Every entry carries at least one signature in this store (JoinRequests two; the malformed
  // frame none).
  EXPECT_GE(stats.signatures_checked, store.entries - 1);
  EXPECT_GT(stats.checkpoints, 10u);
}

// The generator signs half its receipts in batches (PROTOCOL.md §5.11.1), so the store above
// verified both versions; an edit inside a batched receipt's proof breaks its signature alone.
TEST_F(Verify, ABatchedReceiptWithAnEditedProofIsFoundByItsSignature) {
  const std::string path = copy();
  std::optional<std::uint64_t> batched;
  {
    Tamper t(path);
    bool alone = false;
    for (const auto seq : generated().samples.at(MessageKind::kProtectedReceipt)) {
      const Bytes message = t.blob(seq, "message");
      if (message.front() == kProtocolVersion) alone = true;
      if (message.front() == kBatchedReceiptVersion && !batched) batched = seq;
    }
    ASSERT_TRUE(batched.has_value()) << "no batched receipt among the samples";
    ASSERT_TRUE(alone) << "no receipt signed alone among the samples";
    Bytes message = t.blob(*batched, "message");
    message[116] ^= 1;  // the proof's first hash starts after leaf_index, leaf_count, the count
    t.set_blob(*batched, "message", message);
    t.rechain(*batched);
  }
  EXPECT_TRUE(found(verify(path), *batched, check::kSignature, *batched));
}

// verify_stored_signature checks a batch's signature once while its receipts come in a row; what
// it remembers must never make an edited receipt, a foreign signature or another key pass.
TEST(VerifyStoredSignature, EachReceiptOfABatchIsJudgedOnItsOwnBytes) {
  crypto::Seed seed;
  seed.bytes.fill(0x5A);
  const auto vs = crypto::SecretKey::from_seed(seed);
  seed.bytes.fill(0x5B);
  const auto other = crypto::SecretKey::from_seed(seed);
  std::vector<ProtectedReceipt> batch(4);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    batch[i].session_id = 10 + i;
    batch[i].receipt_index = i;
  }
  sign_receipt_batch(batch, vs);
  std::vector<Bytes> bytes;
  for (const auto& receipt : batch) bytes.push_back(encode(receipt));
  ASSERT_EQ(bytes[0].front(), kBatchedReceiptVersion);
  const auto edited = [&](std::size_t i, std::size_t at) {
    Bytes b = bytes[i];
    b.at(at) ^= 1;
    return b;
  };
  struct Case {
    const char* what;
    Bytes message;
    const crypto::PublicKey& key;
    bool valid;
  };
  const Case cases[] = {
      {"receipt 0", bytes[0], vs.public_key(), true},
      {"receipt 1, after 0 of its batch", bytes[1], vs.public_key(), true},
      {"receipt 2 with its session_id edited", edited(2, 3), vs.public_key(), false},
      {"receipt 2 with its signature edited", edited(2, bytes[2].size() - 1), vs.public_key(),
       false},
      {"receipt 2 as signed", bytes[2], vs.public_key(), true},
      {"receipt 3 under another key", bytes[3], other.public_key(), false},
      {"receipt 3 under the VS key again", bytes[3], vs.public_key(), true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(audit::verify_stored_signature(MessageKind::kProtectedReceipt, c.message, 0, c.key),
              c.valid)
        << c.what;
  }
}

// Everything a run reports but its thread count and duration.
std::string outcome_of(const VerifyRun& run) {
  const auto& st = run.result.stats;
  return run.describe() + "entries " + std::to_string(st.entries) + ", signatures " +
         std::to_string(st.signatures_checked) + "/" + std::to_string(st.signatures_unchecked) +
         ", checkpoints " + std::to_string(st.checkpoints) + ", sessions " +
         std::to_string(st.sessions) + "/" + std::to_string(st.live_sessions) + ", revocations " +
         std::to_string(st.revocations) + ", head " + to_hex(st.head_hash) + ", root " +
         to_hex(st.merkle_root) + "\n";
}

TEST_F(Verify, ResultDoesNotDependOnThreadsOrBatchSize) {
  const std::string path = copy();
  {
    Tamper t(path);
    t.flip_byte(sample(MessageKind::kHeartbeat), "message", 150);
    t.flip_byte(sample(MessageKind::kPlayTicket, 5), "message", 20);
    // A rewritten entry with the chain recomputed: caught by its signature and by the checkpoint
    // roots, which the workers' results must reach in log order.
    t.flip_byte(sample(MessageKind::kProtectedReceipt, 4), "message", 40);
    t.rechain(sample(MessageKind::kProtectedReceipt, 4));
  }
  // One worker, the default batch: the reference.
  audit::VerifyOptions reference_options;
  reference_options.threads = 1;
  const auto reference = verify(path, reference_options);
  ASSERT_TRUE(reference.error.empty()) << reference.error;
  ASSERT_EQ(reference.result.stats.threads, 1u);
  EXPECT_GT(reference.sink.failures(), 2u);
  // Each worker count from one to eight, each batch size (one entry; a prime that straddles
  // every checkpoint; about one checkpoint interval; the default) at least once, and unlike
  // counts on the same batch size.
  const std::size_t kDefault = audit::VerifyOptions{}.batch_entries;
  const std::vector<std::pair<unsigned, std::size_t>> runs{
      {1, 7}, {2, 1}, {2, kDefault}, {3, 197}, {4, 7}, {8, 197}, {8, kDefault}};
  for (const auto& [threads, batch] : runs) {
    SCOPED_TRACE(std::to_string(threads) + " threads, batches of " + std::to_string(batch));
    audit::VerifyOptions options;
    options.threads = threads;
    options.batch_entries = batch;
    const auto run = verify(path, options);
    EXPECT_EQ(run.result.stats.threads, threads);  // the options reached the verifier
    EXPECT_EQ(outcome_of(run), outcome_of(reference));
  }
}

// ---- Every column of a row, edited in place ---------------------------------------------------

struct ColumnEdit {
  const char* column;
  void (*edit)(Tamper& t, std::uint64_t seq);
};

TEST_F(Verify, AnEditedByteInAnyColumnIsFoundAtItsEntry) {
  const std::vector<ColumnEdit> edits{
      {"seq",
       [](Tamper& t, std::uint64_t seq) {
         t.set_integer(seq, "seq", 1'000'000 + static_cast<std::int64_t>(seq));
       }},
      {"kind", [](Tamper& t,
                  std::uint64_t seq) { t.set_integer(seq, "kind", t.integer(seq, "kind") ^ 1); }},
      {"direction",
       [](Tamper& t, std::uint64_t seq) {
         t.set_integer(seq, "direction", t.integer(seq, "direction") ^ 3);
       }},
      {"session_id",
       [](Tamper& t, std::uint64_t seq) {
         t.set_integer(seq, "session_id", t.integer(seq, "session_id") ^ 1);
       }},
      {"vs_time_ms",
       [](Tamper& t, std::uint64_t seq) {
         t.set_integer(seq, "vs_time_ms", t.integer(seq, "vs_time_ms") ^ 1);
       }},
      {"prev_hash", [](Tamper& t, std::uint64_t seq) { t.flip_byte(seq, "prev_hash", 7); }},
      {"entry_hash", [](Tamper& t, std::uint64_t seq) { t.flip_byte(seq, "entry_hash", 31); }},
      {"message", [](Tamper& t, std::uint64_t seq) { t.flip_byte(seq, "message", 30); }},
  };
  const std::uint64_t target = sample(MessageKind::kHeartbeat, 4);
  for (const auto& e : edits) {
    SCOPED_TRACE(e.column);
    const std::string path = copy(std::string(e.column) + ".db");
    {
      Tamper t(path);
      e.edit(t, target);
    }
    auto run = verify(path);
    ASSERT_TRUE(run.error.empty()) << run.error;
    EXPECT_GT(run.sink.failures(), 0u);
    EXPECT_EQ(run.first_failure(), target) << run.describe();
  }
}

// A store keeps each kind's name once, in message_kind (docs/STORE.md §3): a name edited there is
// found at every entry of the kind, the first one first.
TEST_F(Verify, AnEditedKindNameIsFoundAtEveryEntryOfTheKind) {
  const std::string path = copy("kind_name.db");
  {
    Tamper t(path);
    t.exec("UPDATE message_kind SET name = 'Heartbeet' WHERE kind = " +
           std::to_string(static_cast<unsigned>(MessageKind::kHeartbeat)));
  }
  auto run = verify(path);
  ASSERT_TRUE(run.error.empty()) << run.error;
  EXPECT_EQ(run.first_failure(), sample(MessageKind::kHeartbeat, 0)) << run.describe();
  for (const std::size_t n : {0U, 1U, 4U}) {
    EXPECT_TRUE(run.has(check::kKindName, sample(MessageKind::kHeartbeat, n))) << run.describe();
  }
  EXPECT_FALSE(run.has(check::kKindName, sample(MessageKind::kPlayTicket, 0))) << run.describe();
}

// A store of schema version 1 (made before version 3, with the kind's name in every row) verifies
// exactly as the same log in a version-3 store, and a name edited in one row is found at that row.
TEST_F(Verify, AVersion1StoreVerifiesAsItsVersion3TwinAndANameEditedInARowIsFoundThere) {
  const std::string twin = copy("v3.db");
  const std::string path = dir_.file("v1.db");
  ASSERT_TRUE(storage::testing::create_store(path, storage::SchemaLayout::kKindNameColumn).ok());
  {
    Tamper t(path);
    t.exec("ATTACH '" + twin +
           "' AS v3; INSERT INTO log_entry SELECT seq, kind, (SELECT name FROM v3.message_kind "
           "AS k WHERE k.kind = e.kind), direction, session_id, vs_time_ms, prev_hash, "
           "entry_hash, message FROM v3.log_entry AS e ORDER BY seq; DETACH v3;");
  }
  EXPECT_EQ(outcome_of(verify(path)), outcome_of(verify(twin)));

  const std::uint64_t target = sample(MessageKind::kHeartbeat, 4);
  {
    Tamper t(path);
    t.exec("UPDATE log_entry SET kind_name = 'Heartbeet' WHERE seq = " + std::to_string(target));
  }
  auto run = verify(path);
  ASSERT_TRUE(run.error.empty()) << run.error;
  EXPECT_EQ(run.first_failure(), target) << run.describe();
  EXPECT_TRUE(run.has(check::kKindName, target)) << run.describe();
}

// Rows the store cannot hand over as entries (a column of the wrong type or size) are each
// reported where they are, and the walk reads on to the end; so is a kind whose name is not text.
TEST_F(Verify, EveryUnreadableRowIsFoundAndTheWalkReadsOn) {
  const std::uint64_t short_hash = sample(MessageKind::kHeartbeat, 2);
  const std::uint64_t text_message = sample(MessageKind::kPlayTicket, 4);
  const std::uint64_t blob_name = sample(MessageKind::kProtectedReceipt, 2);
  const std::string path = copy();
  {
    Tamper t(path);
    t.exec(
        "PRAGMA ignore_check_constraints = ON;"
        "UPDATE log_entry SET prev_hash = substr(prev_hash, 1, 31) WHERE seq = " +
        std::to_string(short_hash) +
        ";"
        "UPDATE log_entry SET message = 'hello' WHERE seq = " +
        std::to_string(text_message) +
        ";"
        "UPDATE message_kind SET name = CAST(name AS BLOB) WHERE kind = " +
        std::to_string(static_cast<unsigned>(MessageKind::kProtectedReceipt)));
  }
  auto run = verify(path);
  ASSERT_TRUE(run.error.empty()) << run.error;
  EXPECT_TRUE(run.has(check::kRowUnreadable, short_hash)) << run.describe();
  EXPECT_TRUE(run.has(check::kRowUnreadable, text_message)) << run.describe();
  EXPECT_TRUE(run.has(check::kKindName, blob_name)) << run.describe();
  EXPECT_EQ(run.result.stats.entries, generated().entries);
}

// A page of the table that a failing disk overwrote: the rows it held are one finding, named as
// damaged, every entry after them is read and their hashes, links and VS signatures checked, and
// the protocol replay stops there with a warning rather than accuse the VS of what the lost rows
// held. (Before, the scan stopped there: exit 2, nothing after it checked.)
TEST_F(Verify, RowsOnADamagedPageAreOneFindingAndTheWalkReadsOn) {
  const std::string path = copy();
  const auto leaves = leaf_pages(path);
  ASSERT_GT(leaves.size(), 10U);
  const LeafPage& page = leaves[leaves.size() / 2];
  damage_page(path, page.pageno);
  auto run = verify(path);
  ASSERT_TRUE(run.error.empty()) << run.error;
  for (const auto& f : run.failures()) {
    // Only the damage itself, SQLite's word on the file, and the roots of the Checkpoints over it.
    EXPECT_TRUE(f.check == check::kRowUnreadable || f.check == check::kStoreFile ||
                f.check == check::kCheckpointRoot)
        << run.describe();
    if (f.check != check::kRowUnreadable) continue;
    EXPECT_EQ(f.seq, page.first_seq);
    EXPECT_EQ(f.last_seq, page.last_seq);
    EXPECT_EQ(f.count, page.last_seq - page.first_seq + 1);
    EXPECT_NE(f.found.find("entries " + std::to_string(page.first_seq) + " to " +
                           std::to_string(page.last_seq) + " on damaged pages of the file"),
              std::string::npos)
        << f.found;
  }
  EXPECT_TRUE(run.has(check::kRowUnreadable, page.first_seq)) << run.describe();
  // The replay stops there, a warning of its own (not counted as an unreadable row).
  EXPECT_TRUE(run.has(check::kNotFollowed, page.first_seq)) << run.describe();
  EXPECT_EQ(run.sink.by_check().at(std::string(check::kNotFollowed)), 1U) << run.describe();
  EXPECT_TRUE(run.has(check::kStoreFile, 0)) << run.describe();
  EXPECT_EQ(run.result.stats.entries, generated().entries);
}

// An index that disagrees with its table leaves every entry hash intact: SQLite's own check of
// the file finds it.
TEST_F(Verify, AnIndexThatDisagreesWithItsTableIsFoundByTheFileCheck) {
  const std::string path = copy();
  {
    Tamper t(path);
    // The partial index of the kinds looked up holds kind 11's rows; its definition now names
    // kind 12, as a damaged schema page could.
    t.exec(
        "PRAGMA writable_schema = ON;"
        "UPDATE sqlite_schema SET sql = replace(sql, 'kind = 11', 'kind = 12') "
        "WHERE name = 'log_entry_by_kind';");
  }
  auto run = verify(path);
  ASSERT_TRUE(run.error.empty()) << run.error;
  EXPECT_TRUE(run.has(check::kStoreFile, 0)) << run.describe();
  for (const auto& f : run.failures()) EXPECT_EQ(f.check, check::kStoreFile) << run.describe();
  EXPECT_EQ(run.result.stats.entries, generated().entries);
}

TEST_F(Verify, AnEditedMessageOfEveryKindIsFoundAtItsEntry) {
  for (const auto& [kind, positions] : generated().samples) {
    SCOPED_TRACE(std::string(kind_name(kind)));
    const std::uint64_t target = positions.at(positions.size() / 2);
    const std::string path = copy();
    {
      Tamper t(path);
      const auto size = t.blob(target, "message").size();
      t.flip_byte(target, "message", size / 2);
    }
    auto run = verify(path);
    EXPECT_TRUE(found(run, target, check::kEntryHash, target));
  }
}

// An insider who recomputes every hash after the edit leaves a consistent chain: the signature
// of the edited entry, and every later checkpoint's signed root, still give it away.
TEST_F(Verify, AnEditWithTheChainRecomputedIsFoundByItsSignatureAndTheCheckpoints) {
  for (const auto& [kind, positions] : generated().samples) {
    SCOPED_TRACE(std::string(kind_name(kind)));
    const std::uint64_t target = positions.at(positions.size() / 2);
    const std::string path = copy();
    {
      Tamper t(path);
      const auto size = t.blob(target, "message").size();
      t.flip_byte(target, "message", size - 10);  // inside the (last) signature
      t.rechain(target);
    }
    auto run = verify(path);
    EXPECT_EQ(run.first_failure(), target) << run.describe();
    EXPECT_FALSE(run.has(check::kEntryHash, target));
    if (kind != MessageKind::kCheckpoint) {
      EXPECT_TRUE(run.has(check::kCheckpointRoot, generated().last_checkpoint_seq))
          << run.describe();
    }
  }
}

// ---- Tampering found where it was done, by the check that should find it ----------------------

// One way of tampering with a copy of the generated store at `target`, a sample of `kind`; verify
// must put the first failure at the target and have a finding of `check` at `found_at(target)`.
struct TamperCase {
  const char* name;
  MessageKind kind;
  std::size_t sample_index;
  void (*tamper)(const std::string& path, std::uint64_t target);
  std::string_view check;
  std::uint64_t (*found_at)(std::uint64_t target);
  std::size_t most_findings = std::numeric_limits<std::size_t>::max();
};

std::uint64_t at_target(std::uint64_t target) { return target; }

// Shifts the tail from `target` up by one and puts a copy of an older heartbeat in the hole.
void insert_a_copied_heartbeat(Tamper& t, std::uint64_t target) {
  t.shift(target, +1);
  t.exec("INSERT INTO log_entry SELECT " + std::to_string(target) +
         ", kind, direction, session_id, vs_time_ms, prev_hash, entry_hash, message "
         "FROM log_entry WHERE seq = " +
         std::to_string(sample(MessageKind::kHeartbeat, 0)));
}

void delete_row(Tamper& t, std::uint64_t seq) {
  t.exec("DELETE FROM log_entry WHERE seq = " + std::to_string(seq));
}

const TamperCase kTamperCases[] = {
    // Rows removed, added, moved.
    {"DeletedRow", MessageKind::kProtectedReceipt, 3,
     [](const std::string& path, std::uint64_t target) {
       Tamper t(path);
       delete_row(t, target);
     },
     check::kSeqGap, at_target},
    // The renumbered tail is one finding, not thousands.
    {"DeletedRowWithTheRestRenumbered", MessageKind::kNonceBatch, 3,
     [](const std::string& path, std::uint64_t target) {
       Tamper t(path);
       delete_row(t, target);
       t.shift(target + 1, -1);
     },
     check::kRenumbered, [](std::uint64_t target) { return target + 100; }, 200},
    {"InsertedRow", MessageKind::kTranscriptDigest, 3,
     [](const std::string& path, std::uint64_t target) {
       Tamper t(path);
       insert_a_copied_heartbeat(t, target);
     },
     check::kRenumbered, [](std::uint64_t target) { return target + 50; }},
    {"InsertedRowWithTheChainRecomputed", MessageKind::kTranscriptDigest, 3,
     [](const std::string& path, std::uint64_t target) {
       Tamper t(path);
       insert_a_copied_heartbeat(t, target);
       t.rechain(target);
     },
     check::kCheckpointSize, [](std::uint64_t) { return generated().last_checkpoint_seq + 1; }},
    {"TwoReorderedRows", MessageKind::kPlayTicket, 3,
     [](const std::string& path, std::uint64_t target) {
       Tamper(path).swap_rows(target, target + 1);
     },
     check::kPrevHash, at_target},
    // Signatures: another receipt's valid VS signature pasted in, with the chain recomputed.
    {"ReplacedSignature", MessageKind::kProtectedReceipt, 4,
     [](const std::string& path, std::uint64_t target) {
       Tamper t(path);
       Bytes message = t.blob(target, "message");
       const Bytes donor = t.blob(sample(MessageKind::kProtectedReceipt, 1), "message");
       std::copy(donor.end() - 64, donor.end(), message.end() - 64);
       t.set_blob(target, "message", message);
       t.rechain(target);
     },
     check::kSignature, at_target},
    // What the VS had to refuse: a heartbeat whose signature fails, with no revocation after it
    // (the VS accepted a forgery).
    {"BadSignatureTheVsDidNotActOn", MessageKind::kHeartbeat, 5,
     [](const std::string& path, std::uint64_t target) {
       Tamper t(path);
       t.flip_byte(target, "message", 120);  // signature
       t.rechain(target);
     },
     check::kReaction, at_target},
    // What the VS signed, rewritten and re-signed by the VS key's holder.
    {"BrokenTicketChain", MessageKind::kPlayTicket, 6,
     [](const std::string& path, std::uint64_t target) {
       rewrite_as_vs<PlayTicket>(path, target,
                                 [](PlayTicket& t) { t.prev_ticket_hash.bytes[0] ^= 1; });
     },
     check::kTicket, at_target},
    {"ReceiptThatDoesNotExtendTheTip", MessageKind::kProtectedReceipt, 6,
     [](const std::string& path, std::uint64_t target) {
       rewrite_as_vs<ProtectedReceipt>(path, target,
                                       [](ProtectedReceipt& r) { r.receipt_tip.bytes[3] ^= 1; });
     },
     check::kReceipt, at_target},
    {"ReceiptNamingAnotherDigestSeq", MessageKind::kProtectedReceipt, 6,
     [](const std::string& path, std::uint64_t target) {
       rewrite_as_vs<ProtectedReceipt>(path, target,
                                       [](ProtectedReceipt& r) { r.digest_log_seq -= 1; });
     },
     check::kReceipt, at_target},
    {"ReceiptNamingAnotherDigestHash", MessageKind::kProtectedReceipt, 6,
     [](const std::string& path, std::uint64_t target) {
       rewrite_as_vs<ProtectedReceipt>(path, target,
                                       [](ProtectedReceipt& r) { r.digest_hash.bytes[9] ^= 1; });
     },
     check::kReceipt, at_target},
    {"CheckpointSigningTheWrongRoot", MessageKind::kCheckpoint, 3,
     [](const std::string& path, std::uint64_t target) {
       rewrite_as_vs<Checkpoint>(path, target, [](Checkpoint& c) { c.root.bytes[0] ^= 1; });
     },
     check::kCheckpointRoot, at_target},
};

class VerifyTamper : public Verify, public ::testing::WithParamInterface<TamperCase> {};

TEST_P(VerifyTamper, IsFoundWhereItWasDone) {
  const TamperCase& c = GetParam();
  const std::uint64_t target = sample(c.kind, c.sample_index);
  const std::string path = copy();
  c.tamper(path, target);
  ASSERT_FALSE(HasFatalFailure());
  const auto run = verify(path);
  ASSERT_TRUE(run.error.empty()) << run.error;
  EXPECT_TRUE(found(run, target, c.check, c.found_at(target)));
  EXPECT_LT(run.sink.kept().size(), c.most_findings) << run.describe();
}

INSTANTIATE_TEST_SUITE_P(Cases, VerifyTamper, ::testing::ValuesIn(kTamperCases),
                         [](const auto& tamper_case) {
                           return std::string(tamper_case.param.name);
                         });

// ---- Rows cut, and checkpoints held outside the store -----------------------------------------

TEST_F(Verify, ACutTailIsFoundOnlyAgainstACheckpointHeldOutside) {
  // Cut right after an earlier checkpoint: what is left is a consistent log on its own.
  const auto& checkpoints = generated().samples.at(MessageKind::kCheckpoint);
  const std::uint64_t keep = checkpoints.at(checkpoints.size() - 2) + 1;
  const std::string path = copy();
  {
    Tamper t(path);
    t.exec("DELETE FROM log_entry WHERE seq >= " + std::to_string(keep));
  }
  auto without = verify(path);
  EXPECT_EQ(without.sink.failures(), 0u) << without.describe();

  const std::string held = dir_.file("held.hex");
  write_text(held, to_hex(generated().last_checkpoint) + "\n");
  auto cp = audit::load_checkpoint(held);
  ASSERT_TRUE(cp.ok()) << cp.error();
  audit::VerifyOptions options;
  options.checkpoint = *cp;
  auto with = verify(path, options);
  EXPECT_TRUE(found(with, keep, check::kTruncated, keep));

  // The same checkpoint against the whole store: it matches.
  auto whole = verify(generated_path(), options);
  EXPECT_EQ(whole.sink.failures(), 0u) << whole.describe();
  EXPECT_TRUE(whole.result.external_checkpoint_matched);
}

TEST_F(Verify, ACheckpointHeldOutsideCatchesARewrittenStore) {
  const std::string held = dir_.file("held.bin");
  write_text(held,
             std::string(generated().last_checkpoint.begin(), generated().last_checkpoint.end()));
  auto cp = audit::load_checkpoint(held);
  ASSERT_TRUE(cp.ok()) << cp.error();
  EXPECT_EQ(cp->bytes, generated().last_checkpoint);
  const std::string path = copy();
  const std::uint64_t target = sample(MessageKind::kHeartbeat, 6);
  {
    Tamper t(path);
    t.flip_byte(target, "message", 20);
    t.rechain(target);
  }
  audit::VerifyOptions options;
  options.checkpoint = *cp;
  auto run = verify(path, options);
  EXPECT_TRUE(found(run, target, check::kExternalCheckpoint, cp->message.log_size));
}

TEST_F(Verify, CheckpointFilesAreReadAsHexRawOrJson) {
  const auto& bytes = generated().last_checkpoint;
  auto decoded = decode<Checkpoint>(bytes);
  ASSERT_TRUE(decoded.ok());
  const std::string hex_file = dir_.file("cp.hex");
  write_text(hex_file, "  " + to_hex(bytes).substr(0, 50) + "\n" + to_hex(bytes).substr(50) + "\n");
  const std::string json_file = dir_.file("cp.json");
  write_text(json_file, nlohmann::json{{"checkpoint", {{"message_hex", to_hex(bytes)}}}}.dump());
  const std::string fields_file = dir_.file("fields.json");
  write_text(fields_file, nlohmann::json{{"log_size", decoded->log_size},
                                         {"root", to_hex(decoded->root)},
                                         {"vs_time_ms", decoded->vs_time_ms},
                                         {"signature", to_hex(decoded->signatures[0])}}
                              .dump());
  const std::string report_file = dir_.file("report-like.json");
  write_text(
      report_file,
      nlohmann::json{{"checkpoints",
                      {{{"message_hex", to_hex(generated().last_checkpoint).replace(10, 2, "ff")}},
                       {{"message_hex", to_hex(bytes)}}}}}
          .dump());
  for (const auto& file : {hex_file, json_file, fields_file, report_file}) {
    auto cp = audit::load_checkpoint(file);
    ASSERT_TRUE(cp.ok()) << file << ": " << cp.error();
    EXPECT_EQ(cp->bytes, bytes) << file;
  }
  // A dispute report written by `audit-cli report` works as it is: its last checkpoint is used.
  const auto* session = generated().ended_by(RevocationReason::kSpeedViolation);
  ASSERT_NE(session, nullptr);
  const std::string report = dir_.file("dispute.json");
  auto made = run_audit_cli({"report", generated_path(), "--session", std::to_string(session->id),
                             "--vs-pubkey", to_hex(generated_vs_key()), "-o", report});
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err;
  auto from_report = run_audit_cli({"verify", generated_path(), "--vs-pubkey",
                                    to_hex(generated_vs_key()), "--checkpoint", report});
  EXPECT_EQ(from_report.exit_code, 0) << from_report.out << from_report.err;
  EXPECT_NE(from_report.out.find("matches the store"), std::string::npos) << from_report.out;

  const std::string junk = dir_.file("junk");
  write_text(junk, "not a checkpoint");
  EXPECT_FALSE(audit::load_checkpoint(junk).ok());
}

// ---- Signatures and keys ----------------------------------------------------------------------

TEST_F(Verify, ASwappedSessionKeyIsFoundAtTheJoinAccept) {
  const auto& sessions = generated().sessions;
  const auto& victim = sessions.at(2);
  const std::uint64_t target = victim.join_accept_seq;
  const std::string path = copy();
  {
    Tamper t(path);
    Bytes message = t.blob(target, "message");
    const auto other = sessions.at(3).session_key;
    std::copy(other.bytes.begin(), other.bytes.end(), message.begin() + 42);  // session_key
    t.set_blob(target, "message", message);
    t.rechain(target);
  }
  auto run = verify(path);
  EXPECT_TRUE(found(run, target, check::kSignature, target));
  // Under the swapped key, the session's own heartbeats no longer verify either.
  EXPECT_TRUE(run.has(check::kReaction, victim.join_accept_seq + 5) || run.sink.failures() > 10)
      << run.describe();
}

TEST_F(Verify, TheVsKeyBesideTheStoreIsUsedWithAWarningAndNoKeyFails) {
  const std::string path = copy();
  // Without a key and without a key file beside the store: VS signatures cannot be checked.
  {
    audit::FindingSink sink(0);
    audit::VerifyOptions options;
    auto result = audit::verify_store(path, options, sink);
    ASSERT_TRUE(result.ok()) << result.error();
    EXPECT_FALSE(result->vs_key.has_value());
    EXPECT_GT(sink.failures(), 0u);
    EXPECT_GT(result->stats.signatures_unchecked, 0u);
  }
  // A decoy key file and the real one beside the store: the real one is found, loudly.
  ASSERT_TRUE(keyfile::write_public_key(dir_.file("decoy.pub"),
                                        crypto::SecretKey::generate().public_key()));
  ASSERT_TRUE(keyfile::write_public_key(dir_.file("vs.key.pub"), generated_vs_key()));
  audit::FindingSink sink(0);
  auto result = audit::verify_store(path, audit::VerifyOptions{}, sink);
  ASSERT_TRUE(result.ok()) << result.error();
  ASSERT_TRUE(result->vs_key.has_value());
  EXPECT_EQ(result->vs_key->key, generated_vs_key());
  EXPECT_TRUE(result->vs_key_discovered);
  ASSERT_FALSE(result->warnings.empty());
  EXPECT_NE(result->warnings.front().find("NOT PINNED"), std::string::npos);
  EXPECT_EQ(sink.failures(), 0u);
}

TEST_F(Verify, AWrongPinnedVsKeyFailsEveryVsSignature) {
  audit::VerifyOptions options;
  options.vs_key = audit::KeySource{crypto::SecretKey::generate().public_key(), "wrong"};
  auto run = verify(generated_path(), options);
  EXPECT_GT(run.sink.by_check().at(std::string(check::kSignature)), 1000u);
  ASSERT_FALSE(run.result.warnings.empty());
  EXPECT_NE(run.result.warnings.back().find("verifies none"), std::string::npos);
}

// ---- What the VS had to refuse, and what it did instead ---------------------------------------

// A correctly signed heartbeat whose gs_counter goes back, accepted without a revocation.
TEST_F(Verify, ACounterRegressionTheVsDidNotActOnIsAFailure) {
  const std::uint64_t target = sample(MessageKind::kHeartbeat, 6);
  const std::string path = copy();
  const auto session = static_cast<SessionId>(Tamper(path).integer(target, "session_id"));
  rewrite<Heartbeat>(
      path, target, [](Heartbeat& hb) { hb.gs_counter = 1; },
      generator_session_key(kAuditSeed, session));
  auto run = verify(path);
  ASSERT_TRUE(found(run, target, check::kReaction, target));
  bool named = false;
  for (const auto& f : run.failures()) {
    if (f.seq == target && f.detail.find("is not above the last accepted") != std::string::npos) {
      named = true;
    }
  }
  EXPECT_TRUE(named) << run.describe();
}

// The VS signs a speed_violation whose evidence shows no violation: an unfair revocation.
TEST_F(Verify, ARevocationWhoseEvidenceShowsNoFaultIsAFailure) {
  const auto* speeding = generated().ended_by(RevocationReason::kSpeedViolation);
  ASSERT_NE(speeding, nullptr);
  const std::uint64_t target = speeding->revocation_seq;
  const std::string path = copy();
  // Cite the session's first two digests instead: an honest step.
  std::vector<std::uint64_t> honest;
  {
    Tamper t(path);
    for (std::uint64_t seq = speeding->join_accept_seq; honest.size() < 2; ++seq) {
      if (t.integer(seq, "kind") == 6 &&
          t.integer(seq, "session_id") == static_cast<std::int64_t>(speeding->id)) {
        honest.push_back(seq);
      }
    }
  }
  rewrite_as_vs<Revocation>(path, target, [&](Revocation& r) { r.evidence = honest; });
  auto run = verify(path);
  EXPECT_TRUE(found(run, speeding->evidence.at(1), check::kEvidence, target));
  // The digest that did cross the limit went uncited.
  EXPECT_TRUE(run.has(check::kReaction, speeding->evidence.at(1))) << run.describe();
}

TEST_F(Verify, EvidenceOfTheWrongKindIsAFailure) {
  const auto* tip = generated().ended_by(RevocationReason::kReceiptTipMismatch);
  ASSERT_NE(tip, nullptr);
  const std::string path = copy();
  rewrite_as_vs<Revocation>(path, tip->revocation_seq,
                            [&](Revocation& r) { r.evidence.push_back(tip->join_accept_seq); });
  auto run = verify(path);
  EXPECT_TRUE(found(run, tip->revocation_seq, check::kEvidence, tip->revocation_seq));
}

TEST_F(Verify, AMissedHeartbeatsRevocationCitingAnOldHeartbeatIsAFailure) {
  const auto* silent = generated().ended_by(RevocationReason::kMissedHeartbeats);
  ASSERT_NE(silent, nullptr);
  const std::string path = copy();
  std::uint64_t older = 0;
  {
    Tamper t(path);
    for (std::uint64_t seq = silent->join_accept_seq + 1; seq < silent->evidence.at(0); ++seq) {
      if (t.integer(seq, "kind") == 5 &&
          t.integer(seq, "session_id") == static_cast<std::int64_t>(silent->id)) {
        older = seq;
        break;
      }
    }
  }
  ASSERT_NE(older, 0u);
  rewrite_as_vs<Revocation>(path, silent->revocation_seq,
                            [&](Revocation& r) { r.evidence = {older}; });
  auto run = verify(path);
  EXPECT_TRUE(found(run, silent->revocation_seq, check::kEvidence, silent->revocation_seq));
}

TEST_F(Verify, AWrongClientBindingIsFoundAtTheTicket) {
  // A ticket that binds nonces: one with nonce_count > 0.
  const std::string path = copy();
  std::uint64_t target = 0;
  {
    Tamper t(path);
    for (auto seq : generated().samples.at(MessageKind::kPlayTicket)) {
      auto ticket = decode<PlayTicket>(t.blob(seq, "message"));
      if (ticket && ticket->nonce_count > 1) target = seq;
    }
  }
  ASSERT_NE(target, 0u);
  rewrite_as_vs<PlayTicket>(path, target, [](PlayTicket& t) { t.nonce_count -= 1; });
  auto run = verify(path);
  EXPECT_TRUE(found(run, target, check::kTicket, target));
}

TEST_F(Verify, AJoinAcceptForARequestThatFailsItsSignatureIsAFailure) {
  const auto& session = generated().sessions.at(4);
  const std::string path = copy();
  {
    Tamper t(path);
    t.flip_byte(session.join_request_seq, "message", 150);  // identity signature
    // The VS's accept must name the request's hash: re-sign it for the edited bytes.
  }
  const Bytes request = [&] {
    Tamper t(path);
    return t.blob(session.join_request_seq, "message");
  }();
  rewrite_as_vs<JoinAccept>(path, session.join_accept_seq, [&](JoinAccept& a) {
    a.join_request_hash = chains::message_hash(request);
  });
  {
    Tamper t(path);
    t.rechain(session.join_request_seq);
  }
  auto run = verify(path);
  EXPECT_TRUE(found(run, session.join_request_seq, check::kSignature, session.join_request_seq));
}

// ---- A store written by the real vsd ------------------------------------------------------------

TEST(VerifyRealVsd, AStoreWithRevocationsOfSeveralKindsIsIntact) {
  TempDir dir;
  std::vector<crypto::SecretKey> identities;
  std::vector<crypto::PublicKey> allowed;
  for (int i = 0; i < 8; ++i) {
    identities.push_back(crypto::SecretKey::generate());
    allowed.push_back(identities.back().public_key());
  }
  const Hash32 build = crypto::sha256(as_bytes("honest build 1.0"));
  // The session still live at the stop is revoked there (vs_shutdown), as a seventh kind.
  VsOptions revoking_at_stop;
  revoking_at_stop.extra = "revoke_on_stop = true\n";
  auto vs = std::make_unique<VsProcess>(dir, allowed, std::vector<Hash32>{build}, revoking_at_stop);
  const auto player = crypto::SecretKey::generate().public_key();
  auto revoked = [](ScriptedGs& gs) {
    auto r = gs.expect<Revocation>(std::chrono::seconds(5));
    EXPECT_TRUE(r.has_value());
    gs.socket().wait_closed(std::chrono::seconds(3));
  };
  {  // bad signature
    ScriptedGs gs(vs->port(), identities[0], build);
    gs.join();
    auto hb = gs.make_heartbeat();
    sign(hb, gs.session_key());
    hb.signatures[0].bytes[0] ^= 0x80;
    gs.send_unsigned(hb);
    revoked(gs);
  }
  {  // counter regression
    ScriptedGs gs(vs->port(), identities[1], build);
    gs.join();
    gs.set_counter(10);
    gs.send_signed(gs.make_heartbeat());
    gs.set_counter(3);
    gs.send_signed(gs.make_heartbeat());
    revoked(gs);
  }
  {  // speed violation after honest digests and receipts
    ScriptedGs gs(vs->port(), identities[2], build);
    gs.join();
    const auto t0 = unix_time_ms();
    gs.send_signed(gs.make_digest({player_at(player, 0)}, t0));
    ASSERT_TRUE(gs.expect<ProtectedReceipt>());
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    gs.send_signed(gs.make_heartbeat());
    gs.send_signed(gs.make_digest({player_at(player, 1500)}, t0 + 250));
    ASSERT_TRUE(gs.expect<ProtectedReceipt>());
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    gs.send_signed(gs.make_digest({player_at(player, 60000)}, t0 + 500));
    revoked(gs);
  }
  {  // sw_hash changed
    ScriptedGs gs(vs->port(), identities[3], build);
    gs.join();
    auto hb = gs.make_heartbeat();
    hb.sw_hash = crypto::sha256(as_bytes("patched"));
    gs.send_signed(hb);
    revoked(gs);
  }
  {  // receipt tip mismatch
    ScriptedGs gs(vs->port(), identities[4], build);
    gs.join();
    gs.send_signed(gs.make_digest({player_at(player, 0)}, unix_time_ms()));
    ASSERT_TRUE(gs.expect<ProtectedReceipt>());
    auto hb = gs.make_heartbeat();
    hb.receipt_tip.bytes[0] ^= 0xff;
    gs.send_signed(hb);
    revoked(gs);
  }
  {  // malformed frame
    ScriptedGs gs(vs->port(), identities[5], build);
    gs.join();
    gs.socket().send_frame(Bytes{1, 5, 0, 0, 0});
    revoked(gs);
  }
  {  // a rejected join: an allowed identity with a build not allowed (a stranger is not answered
     // and leaves nothing in the log, PROTOCOL.md §8.3)
    ScriptedGs gs(vs->port(), identities[0], crypto::sha256(as_bytes("unlisted build")));
    gs.send_join(gs.make_join_request());
    ASSERT_TRUE(gs.expect<JoinReject>());
  }
  // An honest session, live until the VS stops (vs_shutdown).
  ScriptedGs live(vs->port(), identities[6], build);
  live.join();
  live.send_signed(live.make_heartbeat());
  NonceBatch batch;
  batch.session_id = live.session_id();
  batch.gs_counter = live.next_counter();
  batch.nonces = {crypto::random_fixed<32>(), crypto::random_fixed<32>()};
  live.send_signed(batch);
  live.send_signed(live.make_digest({player_at(player, 0)}, unix_time_ms()));
  ASSERT_TRUE(live.expect<ProtectedReceipt>());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  live.send_signed(live.make_heartbeat());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(vs->stop(), 0) << vs->process().output();

  audit::VerifyOptions options;
  options.vs_key = audit::KeySource{vs->public_key(), "vsd"};
  auto run = verify(vs->store_path(), options);
  ASSERT_TRUE(run.error.empty()) << run.error;
  EXPECT_EQ(run.sink.failures(), 0u) << run.describe();
  EXPECT_EQ(run.result.stats.sessions, 7u);
  EXPECT_EQ(run.result.stats.revocations, 7u);
  EXPECT_EQ(run.result.stats.rejected_joins, 1u);

  // And through the program, as an investigator runs it.
  auto cli = run_audit_cli({"verify", vs->store_path(), "--vs-pubkey", to_hex(vs->public_key())});
  EXPECT_EQ(cli.exit_code, 0) << cli.out << cli.err;
  EXPECT_NE(cli.out.find("INTACT"), std::string::npos) << cli.out;

  // The real VS's own words about the speed violation (session 3) match the recomputation under
  // the limits its JoinAccept signed, number for number.
  auto explained = run_audit_cli({"explain", vs->store_path(), "--session", "3", "--vs-pubkey",
                                  to_hex(vs->public_key()), "--json"});
  EXPECT_EQ(explained.exit_code, 0) << explained.out << explained.err;
  auto doc = nlohmann::json::parse(explained.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << explained.out;
  EXPECT_EQ(doc["revocation"]["reason"], "speed_violation");
  EXPECT_EQ(doc["support"], "supported");
  EXPECT_EQ(doc["detail_matches"], true) << doc.dump(2);
  for (int session = 1; session <= 7; ++session) {
    auto r = run_audit_cli({"explain", vs->store_path(), "--session", std::to_string(session),
                            "--vs-pubkey", to_hex(vs->public_key())});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  }
}

// ---- The program ------------------------------------------------------------------------------

TEST_F(Verify, ExitCodes) {
  const std::string key = to_hex(generated_vs_key());
  auto intact = run_audit_cli({"verify", generated_path(), "--vs-pubkey", key});
  EXPECT_EQ(intact.exit_code, 0) << intact.out << intact.err;

  const std::string broken = copy("broken.db");
  {
    Tamper t(broken);
    t.flip_byte(sample(MessageKind::kHeartbeat), "message", 40);
  }
  auto failed = run_audit_cli({"verify", broken, "--vs-pubkey", key});
  EXPECT_EQ(failed.exit_code, 1) << failed.out << failed.err;
  EXPECT_NE(failed.out.find("FAILED"), std::string::npos) << failed.out;

  auto missing = run_audit_cli({"verify", dir_.file("nothing-here.db"), "--vs-pubkey", key});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("no such file"), std::string::npos) << missing.err;

  const std::string text = dir_.file("notes.txt");
  write_text(text, "these are not the droids\n");
  auto not_store = run_audit_cli({"verify", text, "--vs-pubkey", key});
  EXPECT_EQ(not_store.exit_code, 2) << not_store.out << not_store.err;

  auto bad_key = run_audit_cli({"verify", generated_path(), "--vs-pubkey", "xyz"});
  EXPECT_EQ(bad_key.exit_code, 2);
  auto no_store = run_audit_cli({"verify"});
  EXPECT_EQ(no_store.exit_code, 2);
  auto unknown = run_audit_cli({"verify", generated_path(), "--frobnicate"});
  EXPECT_EQ(unknown.exit_code, 2);
  auto help = run_audit_cli({"verify", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--checkpoint"), std::string::npos);
}

TEST_F(Verify, JsonIsOnlyJsonOnStdout) {
  const std::string broken = copy("broken.db");
  const std::uint64_t target = sample(MessageKind::kTranscriptDigest);
  {
    Tamper t(broken);
    t.flip_byte(target, "entry_hash", 0);
  }
  auto cli = run_audit_cli({"verify", broken, "--vs-pubkey", to_hex(generated_vs_key()), "--json",
                            "--max-findings", "0"});
  EXPECT_EQ(cli.exit_code, 1) << cli.err;
  auto doc = nlohmann::json::parse(cli.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << cli.out;
  EXPECT_EQ(doc["intact"], false);
  EXPECT_EQ(doc["entries"], generated().entries);
  ASSERT_FALSE(doc["findings"].empty());
  EXPECT_EQ(doc["findings"][0]["seq"], target);
  EXPECT_EQ(doc["findings"][0]["check"], std::string(check::kEntryHash));
  EXPECT_EQ(doc["findings"][0]["kind"], "TranscriptDigest");
  EXPECT_TRUE(doc["findings"][1]["seq"] == target + 1);  // the next link
  EXPECT_EQ(doc["vs_public_key"]["pinned"], true);
}

}  // namespace
}  // namespace gsvs::testing
