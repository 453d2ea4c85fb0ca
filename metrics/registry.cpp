#include "metrics/registry.h"

#include <charconv>
#include <cmath>
#include <stdexcept>
#include <variant>

namespace gsvs::metrics {

namespace {

enum Type : int { kCounter, kGauge, kHistogram };

constexpr std::string_view type_name(int type) {
  switch (type) {
    case kCounter:
      return "counter";
    case kGauge:
      return "gauge";
    default:
      return "histogram";
  }
}

// [a-zA-Z_:][a-zA-Z0-9_:]* for metric names; label names take no ':' and never begin with "__",
// which Prometheus keeps for itself.
bool valid_name(std::string_view name, bool is_label) {
  if (name.empty()) return false;
  if (is_label && name.starts_with("__")) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!(letter || (c == ':' && !is_label) || (digit && i > 0))) return false;
  }
  return true;
}

void append_labels(std::string& out, const Labels& labels, std::string_view le = {}) {
  if (labels.empty() && le.empty()) return;
  out += '{';
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out += ',';
    first = false;
    out += name;
    out += "=\"";
    out += escape_label_value(value);
    out += '"';
  }
  if (!le.empty()) {
    if (!first) out += ',';
    out += "le=\"";
    out += le;
    out += '"';
  }
  out += '}';
}

void append_sample(std::string& out, std::string_view name, std::string_view suffix,
                   const Labels& labels, std::string_view value, std::string_view le = {}) {
  out += name;
  out += suffix;
  append_labels(out, labels, le);
  out += ' ';
  out += value;
  out += '\n';
}

}  // namespace

struct Registry::Family {
  using Value = std::variant<std::unique_ptr<Counter>, std::unique_ptr<Gauge>,
                             std::unique_ptr<Histogram>, std::function<double()>>;
  struct Series {
    Labels labels;
    Value value;
  };
  std::string name;
  std::string help;
  int type = kCounter;
  std::vector<Series> series;

  void render(std::string& out) const {
    out += "# HELP " + name + " " + escape_help(help) + "\n";
    out += "# TYPE " + name + " " + std::string(type_name(type)) + "\n";
    for (const Series& s : series) {
      if (const auto* counter = std::get_if<std::unique_ptr<Counter>>(&s.value)) {
        append_sample(out, name, "", s.labels, std::to_string((*counter)->value()));
      } else if (const auto* gauge = std::get_if<std::unique_ptr<Gauge>>(&s.value)) {
        append_sample(out, name, "", s.labels, format_value((*gauge)->value()));
      } else if (const auto* read = std::get_if<std::function<double()>>(&s.value)) {
        append_sample(out, name, "", s.labels, format_value((*read)()));
      } else {
        const Histogram& histogram = *std::get<std::unique_ptr<Histogram>>(s.value);
        const Histogram::Snapshot snap = histogram.snapshot();
        const auto& bounds = histogram.upper_bounds();
        for (std::size_t i = 0; i < bounds.size(); ++i) {
          append_sample(out, name, "_bucket", s.labels, std::to_string(snap.cumulative[i]),
                        format_value(bounds[i]));
        }
        append_sample(out, name, "_bucket", s.labels, std::to_string(snap.cumulative.back()),
                      "+Inf");
        append_sample(out, name, "_sum", s.labels, format_value(snap.sum));
        append_sample(out, name, "_count", s.labels, std::to_string(snap.cumulative.back()));
      }
    }
  }
};

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1])) {
      throw std::invalid_argument("histogram bounds must be finite and strictly increasing");
    }
  }
}

void Histogram::observe(double value) noexcept {
  std::size_t bucket = 0;
  // A handful of bounds: a linear scan is as fast as a binary search, and NaN ends at +Inf.
  while (bucket < bounds_.size() && !(value <= bounds_[bucket])) ++bucket;
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot snap;
  snap.cumulative.reserve(bounds_.size() + 1);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    snap.cumulative.push_back(total);
  }
  snap.sum = sum_.load(std::memory_order_relaxed);
  return snap;
}

Registry::Registry() = default;
Registry::~Registry() = default;

Registry::Family& Registry::family(std::string_view name, std::string_view help, int type,
                                   const Labels& labels) {
  if (!valid_name(name, false)) {
    throw std::invalid_argument("metric name '" + std::string(name) + "' is not valid");
  }
  if (type == kCounter && !name.ends_with("_total")) {
    throw std::invalid_argument("counter '" + std::string(name) + "' must end in _total");
  }
  for (const auto& [label, value] : labels) {
    if (!valid_name(label, true) || (type == kHistogram && label == "le")) {
      throw std::invalid_argument("metric '" + std::string(name) + "': label name '" + label +
                                  "' is not valid");
    }
  }
  for (const auto& existing : families_) {
    if (existing->name != name) continue;
    if (existing->type != type || existing->help != help) {
      throw std::invalid_argument("metric '" + std::string(name) +
                                  "' registered again with another type or help");
    }
    for (const auto& series : existing->series) {
      if (series.labels == labels) {
        throw std::invalid_argument("metric '" + std::string(name) +
                                    "' registered twice with the same labels");
      }
    }
    return *existing;
  }
  auto made = std::make_unique<Family>();
  made->name = std::string(name);
  made->help = std::string(help);
  made->type = type;
  families_.push_back(std::move(made));
  return *families_.back();
}

Counter& Registry::counter(std::string_view name, std::string_view help, Labels labels) {
  const std::lock_guard lock(mutex_);
  Family& f = family(name, help, kCounter, labels);
  auto counter = std::make_unique<Counter>();
  Counter& out = *counter;
  f.series.push_back({std::move(labels), std::move(counter)});
  return out;
}

Gauge& Registry::gauge(std::string_view name, std::string_view help, Labels labels) {
  const std::lock_guard lock(mutex_);
  Family& f = family(name, help, kGauge, labels);
  auto gauge = std::make_unique<Gauge>();
  Gauge& out = *gauge;
  f.series.push_back({std::move(labels), std::move(gauge)});
  return out;
}

Histogram& Registry::histogram(std::string_view name, std::string_view help,
                               std::vector<double> upper_bounds, Labels labels) {
  auto histogram = std::make_unique<Histogram>(std::move(upper_bounds));
  const std::lock_guard lock(mutex_);
  Family& f = family(name, help, kHistogram, labels);
  Histogram& out = *histogram;
  f.series.push_back({std::move(labels), std::move(histogram)});
  return out;
}

void Registry::gauge_function(std::string_view name, std::string_view help,
                              std::function<double()> read, Labels labels) {
  const std::lock_guard lock(mutex_);
  Family& f = family(name, help, kGauge, labels);
  f.series.push_back({std::move(labels), std::move(read)});
}

std::string Registry::render() const {
  const std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& f : families_) f->render(out);
  return out;
}

namespace {
// Backslash and line feed always; the double quote only where it would end a label value.
std::string escape(std::string_view text, bool in_quotes) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\\' || (c == '"' && in_quotes)) {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}
}  // namespace

std::string escape_label_value(std::string_view value) { return escape(value, true); }

std::string escape_help(std::string_view help) { return escape(help, false); }

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Whole numbers below 2^53 (byte counts, timestamps) in full rather than as 1.5e+09.
  constexpr double kExactIntegers = 9007199254740992.0;
  if (std::trunc(value) == value && std::fabs(value) < kExactIntegers) {
    return std::to_string(static_cast<std::int64_t>(value));
  }
  char buffer[64];
  const auto [end, error] = std::to_chars(std::begin(buffer), std::end(buffer), value);
  if (error != std::errc{}) return "NaN";  // cannot happen with 64 bytes for a double
  return {std::begin(buffer), end};
}

}  // namespace gsvs::metrics
