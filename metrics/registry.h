// Counters, gauges and histograms with labels, rendered in the Prometheus text exposition format
// (version 0.0.4) for the daemons' /metrics endpoint (metrics/http_server.h).
//
// Cost and threading: a metric is registered once, at start-up (that allocates and takes the
// registry's lock), and the reference it returns stays valid for the registry's life. Counting
// through that reference is one relaxed atomic operation: no lock, no allocation, from any
// thread. render() takes the lock and reads every value; gauge functions run on the thread that
// renders.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gsvs::metrics {

// Label names and values of one series, in the order they are rendered.
using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(std::uint64_t by = 1) noexcept { value_.fetch_add(by, std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t value() const noexcept {
    return value_.load(std::memory_order_relaxed);
  }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void set(double value) noexcept { value_.store(value, std::memory_order_relaxed); }
  void add(double by) noexcept { value_.fetch_add(by, std::memory_order_relaxed); }
  [[nodiscard]] double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Histogram {
 public:
  // `upper_bounds`: finite and strictly increasing; the +Inf bucket is implied.
  explicit Histogram(std::vector<double> upper_bounds);
  // Counts `value` in the first bucket whose bound is at least it (+Inf for NaN).
  void observe(double value) noexcept;

  struct Snapshot {
    std::vector<std::uint64_t> cumulative;  // per bound, then +Inf; the last is the count
    double sum = 0.0;
  };
  // Read bucket by bucket while others may observe: the buckets are made cumulative from the
  // values read, so they never decrease and +Inf equals the count rendered.
  [[nodiscard]] Snapshot snapshot() const;
  [[nodiscard]] const std::vector<double>& upper_bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1 (+Inf last)
  std::atomic<double> sum_{0.0};
};

// The families of one program, in registration order. Registration errors are programming
// errors (an invalid or reused name, a counter not named *_total): they throw
// std::invalid_argument at start-up.
class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Series of a family with the same name join it: the help and type must match, the label set
  // must be new.
  Counter& counter(std::string_view name, std::string_view help, Labels labels = {});
  Gauge& gauge(std::string_view name, std::string_view help, Labels labels = {});
  Histogram& histogram(std::string_view name, std::string_view help,
                       std::vector<double> upper_bounds, Labels labels = {});
  // A gauge whose value `read` gives when the registry renders, on the rendering thread: for
  // what the program already knows (a map's size, a file's size), with no cost until a scrape.
  void gauge_function(std::string_view name, std::string_view help, std::function<double()> read,
                      Labels labels = {});

  // Every family: # HELP, # TYPE, then its series.
  [[nodiscard]] std::string render() const;

 private:
  struct Family;
  Family& family(std::string_view name, std::string_view help, int type, const Labels& labels);

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Family>> families_;
};

// Counters of one family, one per code of an enum whose codes run from 1 to `last`, labelled
// `label` = the name protocol/ gives the code (reason_name, kind_name): no second table of names.
// inc() of a code outside 1..last counts nothing.
template <class Code>
class CounterPerCode {
 public:
  using NameOf = std::string_view (*)(Code);
  // One counter per code from 1 to `last` that is_known(Code) (found by argument-dependent
  // lookup, as protocol/ defines it for each code): a code left unassigned has no name of its
  // own, and is not counted.
  CounterPerCode(Registry& registry, std::string_view name, std::string_view help,
                 const std::string& label, Code last, NameOf name_of) {
    const auto count = static_cast<std::size_t>(last);
    for (std::size_t number = 1; number <= count; ++number) {
      const auto code = static_cast<Code>(number);
      counters_.push_back(is_known(code)
                              ? &registry.counter(name, help, {{label, std::string(name_of(code))}})
                              : nullptr);
    }
  }
  void inc(Code code) noexcept {
    if (Counter* counter = counter_of(code)) counter->inc();
  }
  [[nodiscard]] std::uint64_t value(Code code) const noexcept {
    const Counter* counter = counter_of(code);
    return counter != nullptr ? counter->value() : 0;
  }

 private:
  [[nodiscard]] Counter* counter_of(Code code) const noexcept {
    const auto index = static_cast<std::size_t>(code);
    return index >= 1 && index <= counters_.size() ? counters_[index - 1] : nullptr;
  }
  std::vector<Counter*> counters_;  // null for a code that is not known
};

// The exposition format's escaping (0.0.4): in label values backslash, double quote and line
// feed; in help text backslash and line feed.
std::string escape_label_value(std::string_view value);
std::string escape_help(std::string_view help);
// A sample value: a whole number below 2^53 in full, any other the shortest text that reads back
// as `value`; NaN, +Inf and -Inf as Prometheus writes them.
std::string format_value(double value);

}  // namespace gsvs::metrics
