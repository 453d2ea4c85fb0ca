// The verifier's read stage, on the verifying thread ahead of the signature workers: the chain
// (seq, entry_hash, prev_hash), the kind/direction/kind_name columns, decoding, each
// Checkpoint's position and root, and the signature jobs of every row.
#include <string>

#include "audit-cli/scan.h"
#include "audit-cli/verifier_pipeline.h"

namespace gsvs::audit::detail {

namespace {

std::string direction_label(chains::Direction direction) {
  switch (direction) {
    case chains::Direction::kReceived:
      return "received (1)";
    case chains::Direction::kIssued:
      return "issued (2)";
  }
  return "invalid (" + std::to_string(static_cast<unsigned>(direction)) + ")";
}

}  // namespace

void Verifier::unreadable(std::uint64_t seq, const std::string& reason) {
  Item item;
  item.readable = false;
  item.entry.header.seq = seq;
  if (seq > next_seq_) {
    Finding gap = finding(item, check::kSeqGap, "entry " + std::to_string(next_seq_),
                          "the next row is entry " + std::to_string(seq),
                          "rows deleted (or renumbered) here");
    gap.seq = next_seq_;
    gap.last_seq = seq - 1;
    gap.count = seq - next_seq_;
    gap.kind.reset();
    item.early.push_back(std::move(gap));
  }
  Finding f = finding(item, check::kRowUnreadable,
                      "a row with integer, blob and 32-byte hash "
                      "columns as docs/STORE.md §2 defines",
                      reason, "the row cannot be checked; its neighbours' links are not either");
  f.kind.reset();
  item.early.push_back(std::move(f));
  ++result_.stats.entries;
  next_seq_ = seq + 1;
  prev_stored_.reset();
  recomputed_tree_.append(Hash32{});  // keeps positions aligned; roots after it will differ
  filling_->items.push_back(std::move(item));
  if (filling_->items.size() >= options_.batch_entries) dispatch();
}

void Verifier::read(const storage::Entry& entry) {
  ++result_.stats.entries;
  filling_->items.emplace_back();
  Item& item = filling_->items.back();
  item.entry = entry;
  item.position = entry.header.seq;
  const auto& h = item.entry.header;
  const Hash32 recomputed = chains::log_entry_hash(h, item.entry.message);
  check_chain(item, recomputed);
  check_columns(item);

  auto decoded = protocol::decode_any(item.entry.message);
  if (decoded) {
    item.message = std::move(decoded).value();
  } else {
    item.decode_error = decoded.error();
  }
  const std::uint8_t kind = static_cast<std::uint8_t>(h.kind);
  if (item.message) {
    const auto actual = static_cast<std::uint8_t>(protocol::peek_kind(item.entry.message).value());
    if (actual != kind) {
      item.early.push_back(finding(item, check::kKind, "kind " + kind_label(kind),
                                   "a message of kind " + kind_label(actual)));
      item.message.reset();
      item.decode_error = "the message is a " + kind_label(actual);
    }
  }
  // What follows holds for the VS's own entries; a received frame of a VS-only kind is the GS's.
  const bool issued = h.direction == chains::Direction::kIssued;
  if (!item.message && issued_kind(kind) && issued) {
    item.early.push_back(finding(item, check::kDecode, "a well-formed " + kind_label(kind),
                                 "bytes that do not decode: " + item.decode_error,
                                 "the VS only logs what it encoded itself"));
  }
  if (item.message && issued && kind == kind_code(MessageKind::kJoinAccept)) {
    const auto& accept = std::get<protocol::JoinAccept>(*item.message);
    session_keys_.try_emplace(accept.session_id, accept.session_key);
  }
  if (item.message && issued && kind == kind_code(MessageKind::kCheckpoint)) {
    check_checkpoint_position(item, recomputed_tree_.root());
  }
  if (options_.checkpoint && recomputed_tree_.size() == options_.checkpoint->message.log_size) {
    result_.external_checkpoint_matched =
        recomputed_tree_.root() == options_.checkpoint->message.root;
  }
  plan_signatures(item, static_cast<std::uint32_t>(filling_->items.size() - 1), *filling_);
  recomputed_tree_.append(recomputed);
  result_.stats.head_hash = item.entry.entry_hash;
  if (filling_->items.size() >= options_.batch_entries) dispatch();
}

void Verifier::check_chain(Item& item, const Hash32& recomputed) {
  const auto& h = item.entry.header;
  if (h.seq > next_seq_) {
    Finding gap = finding(item, check::kSeqGap, "entry " + std::to_string(next_seq_),
                          "the next row is entry " + std::to_string(h.seq),
                          std::to_string(h.seq - next_seq_) +
                              (h.seq - next_seq_ == 1 ? " entry" : " entries") +
                              " missing: rows deleted here, or a row's seq edited");
    gap.seq = next_seq_;
    gap.last_seq = h.seq - 1;
    gap.count = h.seq - next_seq_;
    gap.kind.reset();
    gap.session_id = 0;
    item.early.push_back(std::move(gap));
    after_gap_ = true;
  }
  next_seq_ = h.seq + 1;

  if (recomputed != item.entry.entry_hash) {
    // A row renumbered by an insertion or deletion before it still hashes as its old position.
    std::optional<std::int64_t> shift;
    for (const std::int64_t delta : {-1, 1, -2, 2, -3, 3}) {
      const auto old_seq = static_cast<std::int64_t>(h.seq) + delta;
      if (old_seq < 0) continue;
      chains::LogEntryHeader moved = h;
      moved.seq = static_cast<std::uint64_t>(old_seq);
      if (chains::log_entry_hash(moved, item.entry.message) == item.entry.entry_hash) {
        shift = -delta;
        break;
      }
    }
    if (shift) {
      item.position = static_cast<std::uint64_t>(static_cast<std::int64_t>(h.seq) - *shift);
      item.early.push_back(finding(
          item, check::kRenumbered, "rows at the positions they were hashed at",
          "a row hashed at position " + std::to_string(static_cast<std::int64_t>(h.seq) - *shift) +
              " (renumbered by " + (*shift > 0 ? "+" : "") + std::to_string(*shift) + ")",
          *shift > 0 ? "an entry was inserted before these rows"
                     : "an entry was deleted before "
                       "these rows"));
    } else {
      item.early.push_back(finding(item, check::kEntryHash, "entry_hash " + to_hex(recomputed),
                                   "entry_hash " + to_hex(item.entry.entry_hash),
                                   "the row's columns (seq, kind, direction, session_id, "
                                   "vs_time_ms, prev_hash, message) were edited"));
    }
  }
  if (h.seq == 0) {
    if (!h.prev_entry_hash.is_zero()) {
      item.early.push_back(finding(item, check::kPrevHash, "prev_hash of 32 zero bytes",
                                   "prev_hash " + to_hex(h.prev_entry_hash)));
    }
  } else if (prev_stored_ && !after_gap_ && h.prev_entry_hash != *prev_stored_) {
    item.early.push_back(finding(item, check::kPrevHash,
                                 "prev_hash " + to_hex(*prev_stored_) + " (entry_hash of entry " +
                                     std::to_string(h.seq - 1) + ")",
                                 "prev_hash " + to_hex(h.prev_entry_hash),
                                 "a row edited, removed, inserted or reordered here"));
  }
  after_gap_ = false;
  prev_stored_ = item.entry.entry_hash;
}

void Verifier::check_columns(Item& item) {
  const auto& h = item.entry.header;
  const auto kind = static_cast<std::uint8_t>(h.kind);
  if (!known_kind(kind)) {
    item.early.push_back(finding(item, check::kKind,
                                 "kind 1.." + std::to_string(protocol::kMaxMessageKind),
                                 "kind " + std::to_string(kind)));
  }
  if (h.direction != chains::Direction::kReceived && h.direction != chains::Direction::kIssued) {
    item.early.push_back(
        finding(item, check::kDirection, "direction 1 or 2", direction_label(h.direction)));
  } else if (known_kind(kind)) {
    const auto expected =
        issued_kind(kind) ? chains::Direction::kIssued : chains::Direction::kReceived;
    // A GS can send a frame of any kind; one of a VS-only kind is logged as received, in its
    // session, as evidence of a malformed_message revocation (PROTOCOL.md §8.5).
    const bool sent_by_gs =
        issued_kind(kind) && h.direction == chains::Direction::kReceived && h.session_id != 0;
    if (h.direction != expected && !sent_by_gs) {
      item.early.push_back(
          finding(item, check::kDirection,
                  "direction " + direction_label(expected) + " for a " + kind_label(kind),
                  "direction " + direction_label(h.direction)));
    }
  }
  const auto& name = item.entry.kind_name;
  const std::string expected = known_kind(kind) ? kind_label(kind) : std::string();
  if (!name || (known_kind(kind) && *name != expected)) {
    item.early.push_back(finding(
        item, check::kKindName, "kind_name '" + expected + "'",
        name ? "kind_name '" + *name + "'" : "no text kind_name",
        "kind_name is not covered by the entry hash, but it is what a reader of the store sees"));
  }
}

void Verifier::check_checkpoint_position(Item& item, const Hash32& root_before) {
  const auto& cp = std::get<protocol::Checkpoint>(*item.message);
  const auto seq = item.entry.header.seq;
  ++result_.stats.checkpoints;
  if (cp.log_size != seq) {
    item.early.push_back(
        finding(item, check::kCheckpointSize, "log_size equal to the checkpoint's own position",
                "log_size " + std::to_string(cp.log_size) + " at position " + std::to_string(seq),
                "entries were inserted or deleted before it"));
    return;
  }
  if (cp.root != root_before) {
    item.early.push_back(finding(item, check::kCheckpointRoot,
                                 "root over the recomputed entry hashes before it",
                                 "a signed root that differs (" + short_hex(cp.root) + "... vs " +
                                     short_hex(root_before) + "...)",
                                 "an earlier entry differs from what the VS signed"));
  }
}

}  // namespace gsvs::audit::detail
