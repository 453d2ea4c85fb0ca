#include "net/refusal_window.h"

#include <algorithm>
#include <utility>

namespace gsvs::net {

namespace {

// Distinct sources remembered per window: enough to tell one flooder from many, bounded so that
// a flood from many addresses cannot grow the set without limit.
constexpr std::size_t kMaxSourcesCounted = 4096;

}  // namespace

RefusalWindow::RefusalWindow(std::vector<std::string> kinds)
    : kinds_(std::move(kinds)), window_counts_(kinds_.size(), 0) {}

bool RefusalWindow::count(std::size_t kind, const std::string& source, Clock::time_point now) {
  const bool first = in_window_ == 0;
  if (first) window_start_ = now;
  ++window_counts_.at(kind);
  ++in_window_;
  ++total_;
  if (window_sources_.size() < kMaxSourcesCounted) window_sources_.insert(source);
  return first;
}

std::optional<std::string> RefusalWindow::take_summary(const std::string& before,
                                                       Clock::time_point now) {
  std::optional<std::string> line;
  if (in_window_ >= 2) {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now - window_start_).count();
    const std::size_t sources = window_sources_.size();
    std::string text = std::to_string(in_window_) + " connections closed before " + before +
                       " in " + std::to_string(ms) + " ms, from " +
                       (sources >= kMaxSourcesCounted ? "at least " : "") +
                       std::to_string(sources) + (sources == 1 ? " address" : " addresses") + ":";
    const char* separator = " ";
    for (std::size_t kind = 0; kind < kinds_.size(); ++kind) {
      if (window_counts_[kind] == 0) continue;
      text += separator + std::to_string(window_counts_[kind]) + " " + kinds_[kind];
      separator = ", ";
    }
    line = std::move(text);
  }
  if (in_window_ != 0) {
    std::fill(window_counts_.begin(), window_counts_.end(), 0);
    in_window_ = 0;
    window_sources_.clear();
  }
  return line;
}

}  // namespace gsvs::net
