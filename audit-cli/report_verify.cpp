// verify(): the report file against the document its own evidence gives.
#include <algorithm>

#include "audit-cli/message_json.h"
#include "audit-cli/report_format.h"

namespace gsvs::audit::report {

namespace {

using nlohmann::json;

// ---- Comparing the file with the document the evidence gives ----------------------------------

class Comparator {
 public:
  explicit Comparator(const json& expected_root) : root_(expected_root) {}

  void compare(const json& expected, const json& actual, const std::string& path) {
    if (malformed_) return;
    if (expected.is_null() || actual.is_null()) {
      if (expected != actual) differ(path, expected, actual);
      return;
    }
    if (category(expected) != category(actual)) {
      malformed_ = path + ": expected " + std::string(category(expected));
      return;
    }
    if (expected.is_object()) {
      for (const auto& [key, value] : expected.items()) {
        auto it = actual.find(key);
        if (it == actual.end()) {
          malformed_ = field_path(path, key) + ": missing";
          return;
        }
        compare(value, *it, field_path(path, key));
      }
      for (const auto& [key, value] : actual.items()) {
        if (!expected.contains(key)) {
          malformed_ = field_path(path, key) + ": not a field of " + std::string(kFormatName) +
                       " version " + root_.value("format_version", json(kFormatVersion)).dump();
          return;
        }
      }
      return;
    }
    if (expected.is_array()) {
      const std::size_t common = std::min(expected.size(), actual.size());
      for (std::size_t i = 0; i < common; ++i) {
        compare(expected[i], actual[i], path + "[" + std::to_string(i) + "]");
      }
      if (expected.size() != actual.size()) {
        add(path, "the report has " + std::to_string(actual.size()) +
                      " items, the evidence gives " + std::to_string(expected.size()));
      }
      return;
    }
    if (expected != actual) differ(path, expected, actual);
  }

  [[nodiscard]] const std::optional<std::string>& malformed() const { return malformed_; }
  std::vector<Problem>& differences() { return differences_; }

 private:
  static std::string_view category(const json& v) {
    if (v.is_object()) return "an object";
    if (v.is_array()) return "an array";
    if (v.is_string()) return "a string";
    if (v.is_boolean()) return "true or false";
    if (v.is_number()) return "a number";
    return "null";
  }
  static std::string shorten(const json& v) {
    std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
    if (s.size() > 90) {
      s.resize(87);
      s += "...";
    }
    return s;
  }
  void differ(const std::string& path, const json& expected, const json& actual) {
    if (expected.is_string() && actual.is_string()) {
      // Long texts: show where they part.
      const auto& a = actual.get_ref<const std::string&>();
      const auto& e = expected.get_ref<const std::string&>();
      const auto at = static_cast<std::size_t>(
          std::mismatch(a.begin(), a.end(), e.begin(), e.end()).first - a.begin());
      if (at > 40) {
        const std::size_t from = at - 20;
        add(path, "differs from character " + std::to_string(at) + ": the report says \"..." +
                      shorten(json(a.substr(from))).substr(1) + ", the evidence gives \"..." +
                      shorten(json(e.substr(from))).substr(1));
        return;
      }
    }
    add(path, "the report says " + shorten(actual) + ", the evidence gives " + shorten(expected));
  }
  void add(const std::string& path, std::string what) {
    if (differences_.size() >= kMaxDifferences) return;
    differences_.push_back(Problem{with_entry_context(path), std::move(what)});
  }
  // "entries[3].decoded.tick" -> "entries[3] (seq 17, TranscriptDigest): decoded.tick"
  std::string with_entry_context(const std::string& path) const {
    if (path.rfind("entries[", 0) != 0) return path;
    const auto close = path.find(']');
    if (close == std::string::npos) return path;
    const auto index = std::stoull(path.substr(8, close - 8));
    const auto& entries = root_["entries"];
    if (index >= entries.size()) return path;
    const auto& e = entries[index];
    std::string where = path.substr(0, close + 1) + " (seq " + e["seq"].dump() + ", " +
                        e["kind_name"].get<std::string>() + ")";
    if (close + 1 < path.size()) where += ": " + path.substr(close + 2);
    return where;
  }

  static constexpr std::size_t kMaxDifferences = 1000;
  const json& root_;
  std::optional<std::string> malformed_;
  std::vector<Problem> differences_;
};

// The report `document` as version 1 wrote it: no paced-clock numbers in its movement steps.
void as_version_1(json& document) {
  document["format_version"] = 1;
  const auto verdict = document.find("verdict");
  if (verdict == document.end() || !verdict->is_object()) return;
  const auto facts = verdict->find("facts");
  if (facts == verdict->end() || !facts->is_object()) return;
  const auto strip = [](json& step) {
    if (!step.is_object()) return;
    for (const char* added : {"elapsed_paced_ms", "accumulated_paced_excess_mm", "late"}) {
      step.erase(added);
    }
  };
  if (auto violation = facts->find("violation"); violation != facts->end()) strip(*violation);
  if (auto steps = facts->find("player_steps"); steps != facts->end() && steps->is_array()) {
    for (auto& step : *steps) strip(step);
  }
}

}  // namespace

std::string serialize(const nlohmann::json& document) { return json_text(document) + "\n"; }

Verification verify(std::string_view text, const crypto::PublicKey& vs_key) {
  Verification out;
  auto parsed = parse(text);
  if (!parsed) {
    out.status = CheckStatus::kMalformed;
    out.problems.push_back(Problem{"report", parsed.error()});
    return out;
  }
  const Evidence& evidence = parsed->evidence;
  if (evidence.vs_public_key && *evidence.vs_public_key != vs_key) {
    out.problems.push_back(Problem{"vs_public_key", "the report was made for VS key " +
                                                        to_hex(*evidence.vs_public_key) +
                                                        ", not the key given, " + to_hex(vs_key)});
  }
  out.analysis = analyze(evidence, vs_key);
  if (!evidence.vs_public_key) {
    out.analysis.notes.insert(out.analysis.notes.begin(),
                              "the report names no VS key; its VS signatures were checked "
                              "against the key given");
  }
  if (parsed->document.value("format_version", kFormatVersion) == 1) {
    as_version_1(out.analysis.document);
  }
  Comparator comparator(out.analysis.document);
  comparator.compare(out.analysis.document, parsed->document, "");
  if (comparator.malformed()) {
    out.status = CheckStatus::kMalformed;
    out.problems = {Problem{"report", *comparator.malformed()}};
    return out;
  }
  out.problems.insert(out.problems.end(), out.analysis.problems.begin(),
                      out.analysis.problems.end());
  auto& differences = comparator.differences();
  out.problems.insert(out.problems.end(), differences.begin(), differences.end());
  // Same content, other bytes (whitespace, escapes, key order, number spelling): the file is not
  // the one the report command wrote. Only worth a look when the content itself checked out.
  if (out.problems.empty()) {
    const std::string canonical = serialize(out.analysis.document);
    if (canonical != text) {
      const auto departs =
          std::mismatch(text.begin(), text.end(), canonical.begin(), canonical.end()).first;
      const auto line = 1 + std::count(text.begin(), departs, '\n');
      out.problems.push_back(Problem{
          "file", "byte " + std::to_string(departs - text.begin()) + " (line " +
                      std::to_string(line) +
                      ") departs from the report's fixed layout (2-space indentation, sorted "
                      "keys, no escapes beyond JSON's, one final newline): the file was altered "
                      "after it was written"});
    }
  }
  out.status = out.problems.empty() ? CheckStatus::kOk : CheckStatus::kFailed;
  return out;
}

}  // namespace gsvs::audit::report
