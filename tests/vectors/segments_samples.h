// The vectors of a segmented store's seal and link (docs/STORE.md §10): a log of five entries in
// segment 0, the seal that ends it (a VS-signed Checkpoint over them), the frontier at the seal,
// the meta rows of segment 1, and segment 1's first entry, whose prev_hash is the seal's entry
// hash. gen_vectors writes segments.json; vectors_tests replays it from the file alone and
// against a store written by storage/.
#pragma once

#include <cstdint>
#include <vector>

#include "protocol/chains.h"
#include "tests/vectors/samples.h"

namespace gsvs::test_samples {

// The entries of the sample log, in order (seq 0..4 in segment 0, seq 6 in segment 1); the seal
// is seq 5. Their fields are fixed; the messages are labelled() bytes.
struct SegmentSample {
  chains::LogEntryHeader header;
  Bytes message;
};
std::vector<SegmentSample> segment_sample_entries();
// The seal: a Checkpoint over the five entries, signed by keys.vs(), at this VS time.
inline constexpr std::uint64_t kSealTimeMs = 1'700'000'000'500;

Json segments_document(const Keys& keys);

}  // namespace gsvs::test_samples
