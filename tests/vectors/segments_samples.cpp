#include "tests/vectors/segments_samples.h"

#include "protocol/merkle.h"

namespace gsvs::test_samples {

namespace {

constexpr std::uint64_t kSegment0Entries = 5;
constexpr std::uint64_t kFirstTimeMs = 1'700'000'000'000;

Json entry_json(const chains::LogEntryHeader& header, ByteView message, const Hash32& entry_hash) {
  return Json{{"seq", header.seq},
              {"kind", static_cast<unsigned>(header.kind)},
              {"direction", static_cast<unsigned>(header.direction)},
              {"session_id", header.session_id},
              {"vs_time_ms", header.vs_time_ms},
              {"prev_hash_hex", to_hex(header.prev_entry_hash)},
              {"message_hex", to_hex(message)},
              {"entry_hash_hex", to_hex(entry_hash)}};
}

std::string frontier_hex(const std::vector<Hash32>& frontier) {
  std::string out;
  for (const Hash32& hash : frontier) out += to_hex(hash);
  return out;
}

}  // namespace

std::vector<SegmentSample> segment_sample_entries() {
  std::vector<SegmentSample> out;
  for (std::uint64_t i = 0; i < kSegment0Entries + 1; ++i) {
    const std::uint64_t seq = i < kSegment0Entries ? i : kSegment0Entries + 1;
    SegmentSample sample;
    sample.header.seq = seq;
    sample.header.kind =
        i % 2 == 0 ? protocol::MessageKind::kHeartbeat : protocol::MessageKind::kProtectedReceipt;
    sample.header.direction =
        i % 2 == 0 ? chains::Direction::kReceived : chains::Direction::kIssued;
    sample.header.session_id = 1;
    sample.header.vs_time_ms = kFirstTimeMs + 100 * seq;
    const Hash32 bytes = labelled("gsvs test vector segment entry " + std::to_string(seq));
    sample.message.assign(bytes.bytes.begin(), bytes.bytes.end());
    out.push_back(std::move(sample));
  }
  return out;
}

Json segments_document(const Keys& keys) {
  std::vector<SegmentSample> entries = segment_sample_entries();
  merkle::Accumulator tree;
  Hash32 previous;
  Json segment0 = Json::array();
  for (std::uint64_t i = 0; i < kSegment0Entries; ++i) {
    entries[i].header.prev_entry_hash = previous;
    previous = chains::log_entry_hash(entries[i].header, entries[i].message);
    tree.append(previous);
    segment0.push_back(entry_json(entries[i].header, entries[i].message, previous));
  }
  // The seal: a checkpoint over the five entries, the segment's last entry.
  protocol::Checkpoint checkpoint;
  checkpoint.log_size = kSegment0Entries;
  checkpoint.root = tree.root();
  checkpoint.vs_time_ms = kSealTimeMs;
  protocol::sign(checkpoint, keys.vs());
  const Bytes seal_bytes = protocol::encode(checkpoint);
  chains::LogEntryHeader seal_header;
  seal_header.seq = kSegment0Entries;
  seal_header.kind = protocol::MessageKind::kCheckpoint;
  seal_header.direction = chains::Direction::kIssued;
  seal_header.session_id = 0;
  seal_header.vs_time_ms = kSealTimeMs;
  seal_header.prev_entry_hash = previous;
  const Hash32 seal_hash = chains::log_entry_hash(seal_header, seal_bytes);
  const std::vector<Hash32> frontier = tree.frontier();
  tree.append(seal_hash);

  // Segment 1's first entry links to the seal.
  SegmentSample& first = entries.back();
  first.header.prev_entry_hash = seal_hash;
  const Hash32 first_hash = chains::log_entry_hash(first.header, first.message);
  tree.append(first_hash);

  Json doc = Json::object();
  doc["description"] =
      "A segmented VS store (docs/STORE.md §10): segment 0 holds entries 0..4 and the seal, "
      "entry 5, a Checkpoint signed by the vs key over the 5 entries before it; segment 1's meta "
      "records the seal and the frontier at it, and its first entry (seq 6) has the seal's "
      "entry_hash as prev_hash. The Merkle root over all 7 entries continues from the frontier.";
  doc["keys"] = keys_json(keys);
  doc["segment_0_entries"] = std::move(segment0);
  doc["seal"] = entry_json(seal_header, seal_bytes, seal_hash);
  doc["seal"]["checkpoint"] = {{"log_size", checkpoint.log_size},
                               {"root_hex", to_hex(checkpoint.root)},
                               {"vs_time_ms", checkpoint.vs_time_ms}};
  doc["frontier_at_seal"] = {{"size", kSegment0Entries},
                             {"hashes_hex", Json::array()},
                             {"concatenated_hex", frontier_hex(frontier)}};
  for (const Hash32& hash : frontier) doc["frontier_at_seal"]["hashes_hex"].push_back(to_hex(hash));
  doc["segment_1_meta"] = {{"segment_index", "1"},
                           {"first_seq", std::to_string(kSegment0Entries + 1)},
                           {"seal_seq", std::to_string(kSegment0Entries)},
                           {"seal_entry_hash", to_hex(seal_hash)},
                           {"seal_frontier", frontier_hex(frontier)},
                           {"seal_message", to_hex(seal_bytes)}};
  doc["segment_1_first_entry"] = entry_json(first.header, first.message, first_hash);
  doc["merkle_root_over_7_entries_hex"] = to_hex(tree.root());
  return doc;
}

}  // namespace gsvs::test_samples
