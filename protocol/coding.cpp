#include "protocol/coding.h"

namespace gsvs::coding {

void Reader::fail(std::string reason) {
  if (error_.empty()) error_ = std::move(reason);
}

ByteView Reader::raw(std::size_t count, std::string_view what) {
  if (failed()) return {};
  if (count > input_.size() - pos_) {
    fail("truncated: " + std::string(what) + " needs " + std::to_string(count) +
         " bytes at offset " + std::to_string(pos_) + ", " + std::to_string(input_.size() - pos_) +
         " left");
    return {};
  }
  ByteView out = input_.subspan(pos_, count);
  pos_ += count;
  return out;
}

std::uint64_t Reader::get_le(unsigned width, std::string_view what) {
  auto view = raw(width, what);
  if (view.empty()) return 0;
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < view.size(); ++i) v |= static_cast<std::uint64_t>(view[i]) << (8 * i);
  return v;
}

void Reader::expect_end() {
  if (!failed() && pos_ != input_.size()) {
    fail("trailing bytes: " + std::to_string(input_.size() - pos_) + " after offset " +
         std::to_string(pos_));
  }
}

}  // namespace gsvs::coding
