// Conformance cases of the VS's session rules (docs/PROTOCOL.md §8.5 to §8.7): short sessions of
// real signed messages, each judged by rules::SessionRules as vsd judges it live. The generator
// (gen_vectors.cpp) writes them to session_rules.json; vectors_tests rebuilds the document and
// replays every case from the file alone. tests/vectors/README.md describes the layout.
#pragma once

#include <cstdint>
#include <optional>

#include "rules/session_rules.h"
#include "tests/vectors/samples.h"

namespace gsvs::test_samples {

// The session_rules.json document: the keys section, the cases, one object each.
Json session_rules_document(const Keys& keys);

// One case replayed through rules::SessionRules from bytes, positions and VS times alone, the
// way vsd meets them. Each call returns the event as session_rules.json records it: its inputs
// and the outcome the rules compute. The generator writes what it returns; the test feeds it a
// file's inputs and requires the file's events back. Throws std::invalid_argument on input that
// no VS would take as given: a JoinAccept, receipt or ticket that does not decode or verify
// under `vs_key`, or a receipt or ticket other than the one the rules call for.
class CaseReplay {
 public:
  CaseReplay(const Bytes& join_accept, std::uint64_t position, std::uint64_t vs_time_ms,
             const crypto::PublicKey& vs_key);

  [[nodiscard]] Json join_accept_event() const;
  // A frame the GS sent on the session's connection, logged at `position`. Its kind byte must
  // name a kind: a frame without one never reaches the rules (PROTOCOL.md §8.5).
  Json receive(const Bytes& frame, std::uint64_t position, std::uint64_t vs_time_ms);
  // The receipt the last accepted TranscriptDigest calls for (nullopt: none is due).
  [[nodiscard]] std::optional<rules::ReceiptTerms> receipt_due() const;
  Json receipt(const Bytes& receipt, std::uint64_t position);
  Json ticket(const Bytes& ticket, std::uint64_t position);
  // The VS's watchdog looking at the session at `now_ms`.
  Json liveness_check(std::uint64_t now_ms);

  [[nodiscard]] const rules::SessionRules& rules() const { return rules_; }

 private:
  Bytes join_accept_;
  std::uint64_t join_position_;
  crypto::PublicKey vs_key_;
  rules::SessionRules rules_;
  // The last accepted digest, until its receipt is issued.
  std::optional<rules::ReceiptTerms> receipt_due_;
  Hash32 due_digest_hash_;
  std::uint64_t due_gs_counter_ = 0;
  std::uint64_t due_position_ = 0;
  std::uint64_t due_vs_time_ms_ = 0;
};

}  // namespace gsvs::test_samples
