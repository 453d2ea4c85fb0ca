// The verifier's read stage, on the verifying thread ahead of the signature workers: the chain
// (seq, entry_hash, prev_hash: chain_check.h), the kind/direction/kind_name columns, decoding, each
// Checkpoint's position and root, and the signature jobs of every row.
#include <string>

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
  chain_.unreadable(seq, reason, item.early);
  ++result_.stats.entries;
  recomputed_tree_.append(Hash32{});  // keeps positions aligned; roots after it will differ
  filling_->items.push_back(std::move(item));
  if (filling_->items.size() >= options_.batch_entries) dispatch();
}

void Verifier::damaged(std::uint64_t first, std::optional<std::uint64_t> last,
                       const std::string& reason) {
  for (std::uint64_t seq = first; seq <= last.value_or(first); ++seq) {
    Item item;
    item.readable = false;
    item.damaged = seq == first;
    item.entry.header.seq = seq;
    if (seq == first) chain_.damaged(first, last, reason, item.early);
    ++result_.stats.entries;
    recomputed_tree_.append(Hash32{});  // keeps positions aligned; roots after it will differ
    filling_->items.push_back(std::move(item));
    if (filling_->items.size() >= options_.batch_entries) dispatch();
  }
}

void Verifier::read(const storage::Entry& entry) {
  ++result_.stats.entries;
  filling_->items.emplace_back();
  Item& item = filling_->items.back();
  item.entry = entry;
  const auto& h = item.entry.header;
  const auto [recomputed, position] = chain_.read(item.entry, item.early);
  item.position = position;
  check_columns(item);

  auto decoded = protocol::decode_any(item.entry.message);
  if (decoded) {
    item.message = std::move(decoded).value();
  } else {
    item.decode_error = decoded.error();
  }
  if (item.message) {
    if (auto other_kind = check_message_kind(item.entry, *item.message)) {
      item.decode_error = "the message is a " + kind_label(protocol::kind_of(*item.message));
      item.early.push_back(std::move(*other_kind));
      item.message.reset();
    }
  }
  // What follows holds for the VS's own entries; a received frame of a VS-only kind is the GS's.
  const bool issued = h.direction == chains::Direction::kIssued;
  if (!item.message && issued && vs_logged(h.kind) == chains::Direction::kIssued) {
    item.early.push_back(finding(item, check::kDecode, "a well-formed " + kind_label(h.kind),
                                 "bytes that do not decode: " + item.decode_error,
                                 "the VS only logs what it encoded itself"));
  }
  if (item.message && issued && h.kind == MessageKind::kJoinAccept) {
    const auto& accept = std::get<protocol::JoinAccept>(*item.message);
    session_keys_.try_emplace(accept.session_id, accept.session_key);
  }
  if (item.message && issued && h.kind == MessageKind::kCheckpoint) {
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

void Verifier::check_columns(Item& item) {
  const auto& h = item.entry.header;
  const bool known = protocol::is_known(h.kind);
  if (!known) {
    item.early.push_back(finding(item, check::kKind,
                                 "kind 1.." + std::to_string(protocol::kMaxMessageKind),
                                 "kind " + std::to_string(kind_code(h.kind))));
  }
  if (h.direction != chains::Direction::kReceived && h.direction != chains::Direction::kIssued) {
    item.early.push_back(
        finding(item, check::kDirection, "direction 1 or 2", direction_label(h.direction)));
  } else if (known) {
    // What the VS does not log of its own can only be a frame it received.
    const auto expected = vs_logged(h.kind).value_or(chains::Direction::kReceived);
    // A GS can send a frame of any kind; one of a VS-only kind is logged as received, in its
    // session, as evidence of a malformed_message revocation (PROTOCOL.md §8.5).
    const bool sent_by_gs = h.direction == chains::Direction::kReceived && h.session_id != 0;
    if (h.direction != expected && !sent_by_gs) {
      item.early.push_back(
          finding(item, check::kDirection,
                  "direction " + direction_label(expected) + " for a " + kind_label(h.kind),
                  "direction " + direction_label(h.direction)));
    }
  }
  if (auto kind_name = check_kind_name(item.entry)) item.early.push_back(std::move(*kind_name));
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
