#include "app/config_file.h"

#include <toml++/toml.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>
#include <vector>

#include "protocol/regular_file.h"

namespace gsvs::app {

namespace {

// Configuration files are a few dozen lines, but vsd's allowed_gs may list as many identities as
// a logged policy holds (60,000, protocol/messages.h), 67 bytes each: 4 MB. Beyond 8 MiB the file
// is a wrong path.
constexpr std::size_t kMaxConfigBytes = 8 * 1024 * 1024;

// The TOML value an option takes, from the type CLI11 declared for it.
enum class ValueKind { kBoolean, kUnsigned, kInteger, kNumber, kText };

ValueKind value_kind(const CLI::Option& option) {
  if (option.get_expected_min() == 0) return ValueKind::kBoolean;  // a flag
  const std::string declared = option.get_type_name();             // "UINT:INT in [1 - 9]"
  const std::string type = declared.substr(0, declared.find(':'));
  if (type == "UINT") return ValueKind::kUnsigned;
  if (type == "INT") return ValueKind::kInteger;
  if (type == "FLOAT") return ValueKind::kNumber;
  if (type == "BOOLEAN") return ValueKind::kBoolean;
  return ValueKind::kText;
}

std::string describe(ValueKind kind) {
  switch (kind) {
    case ValueKind::kBoolean:
      return "true or false";
    case ValueKind::kUnsigned:
      return "a non-negative integer";
    case ValueKind::kInteger:
      return "an integer";
    case ValueKind::kNumber:
      return "a number";
    case ValueKind::kText:
      return "a string in double quotes";
  }
  return "a value";
}

std::string where(const std::string& path, const toml::source_region& region) {
  return path + ":" + std::to_string(region.begin.line) + ":" + std::to_string(region.begin.column);
}

std::string type_of(const toml::node& node) {
  std::ostringstream out;
  out << node.type();
  return out.str();
}

// The text CLI11 would have read on the command line for this TOML value.
Result<std::string> option_text(const toml::node& node, ValueKind kind) {
  const auto wrong_type = [&] {
    const std::string type = type_of(node);
    const bool vowel = std::string_view("aeiou").find(type.front()) != std::string_view::npos;
    return Error{"expects " + describe(kind) + ", not " +
                 (type == "array" ? "a list" : (vowel ? "an " : "a ") + type)};
  };
  switch (kind) {
    case ValueKind::kBoolean:
      if (const auto* b = node.as_boolean()) return std::string(b->get() ? "true" : "false");
      return wrong_type();
    case ValueKind::kUnsigned:
    case ValueKind::kInteger:
      if (const auto* i = node.as_integer()) {
        if (kind == ValueKind::kUnsigned && i->get() < 0) {
          return Error{"expects " + describe(kind) + ", not " + std::to_string(i->get())};
        }
        return std::to_string(i->get());
      }
      return wrong_type();
    case ValueKind::kNumber:
      if (const auto* i = node.as_integer()) return std::to_string(i->get());
      if (const auto* f = node.as_floating_point()) {
        if (!std::isfinite(f->get())) return Error{"expects a finite number, not nan or inf"};
        char buffer[32];
        auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, f->get());
        return std::string(buffer, end);
      }
      return wrong_type();
    case ValueKind::kText:
      if (const auto* s = node.as_string()) return s->get();
      return wrong_type();
  }
  return wrong_type();
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// " (did you mean 'x'?)" for a key a typo or two away from a real one.
std::string suggestion(const CLI::App& app, const std::string& key) {
  std::string best;
  std::size_t best_distance = 3;
  for (const CLI::Option* option : app.get_options()) {
    if (!option->get_configurable()) continue;
    for (const std::string& name : option->get_lnames()) {
      const std::size_t distance = edit_distance(key, name);
      if (distance < best_distance) {
        best_distance = distance;
        best = name;
      }
    }
  }
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

// CLI11 starts its messages with the option's name ("--x: Value 2 not in range 10 to 60"); the
// caller names the key already.
std::string without_option_name(std::string message, const CLI::Option& option) {
  const std::string prefix = option.get_name() + ": ";
  if (message.starts_with(prefix)) message.erase(0, prefix.size());
  return message;
}

// Digits only (after a '-' where the option is signed), no leading zero but in "0" itself, and
// within 64 bits: CLI11 takes a 64-bit option's overflow as its largest value (strtoull's
// saturation); a narrower option's own range CLI11 does check.
CLI::Validator decimal_integer(bool is_signed) {
  return CLI::Validator(
      [is_signed](std::string& input) -> std::string {
        std::string_view digits = input;
        if (is_signed && digits.starts_with('-')) digits.remove_prefix(1);
        const bool plain = !digits.empty() && std::all_of(digits.begin(), digits.end(), [](char c) {
          return c >= '0' && c <= '9';
        }) && (digits.size() == 1 || digits.front() != '0');
        if (!plain) {
          const bool base_prefix = digits.size() > 1 && digits.front() == '0';
          return "Value " + input + " is not a plain decimal integer: write digits only" +
                 (is_signed ? " (a '-' before them where negative)" : "") +
                 ", with no leading zero" +
                 (base_prefix ? " (such a value reads as octal or hex: 010 as 8, 0x10 as 16)" : "");
        }
        const char* end = input.data() + input.size();
        std::int64_t signed_value = 0;
        std::uint64_t unsigned_value = 0;
        const auto read = is_signed ? std::from_chars(input.data(), end, signed_value)
                                    : std::from_chars(input.data(), end, unsigned_value);
        if (read.ec != std::errc()) return "Value " + input + " is out of range";
        return {};
      },
      "");  // no description: --help and value_kind read the type name, which stays "UINT"/"INT"
}

}  // namespace

void decimal_integers(CLI::App& app) {
  for (CLI::Option* option : app.get_options()) {
    if (option->get_expected_min() == 0) continue;  // a flag
    const ValueKind kind = value_kind(*option);
    if (kind == ValueKind::kUnsigned || kind == ValueKind::kInteger) {
      // First, before a range check that would read "010" as 8 and name 010 in its message.
      option->transform(decimal_integer(kind == ValueKind::kInteger));
    }
  }
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) decimal_integers(*sub);
}

Status apply_config_file(CLI::App& app, const std::string& path) {
  auto file = read_regular_file(path, kMaxConfigBytes);
  if (!file) return Error{"config file: " + file.error()};
  toml::table root;
  try {
    root = toml::parse(file->contents, path);
  } catch (const toml::parse_error& e) {
    return Error{where(path, e.source()) + ": " + std::string(e.description())};
  }
  // In file order, so the first error reported is the first in the file.
  std::vector<std::pair<const toml::key*, toml::node*>> entries;
  for (auto&& [key, node] : root) entries.emplace_back(&key, &node);
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const auto& x = a.first->source().begin;
    const auto& y = b.first->source().begin;
    return x.line != y.line ? x.line < y.line : x.column < y.column;
  });
  for (const auto& [key, node] : entries) {
    const std::string name(key->str());
    const std::string at = where(path, key->source());
    if (node->is_table() || node->is_array_of_tables()) {
      return Error{at + ": '" + name +
                   "' is a section or a dotted key; this file has none: write every key at the "
                   "top level (key = value)"};
    }
    CLI::Option* option = app.get_option_no_throw("--" + name);
    if (option == nullptr || !option->get_configurable()) {
      return Error{at + ": unknown key '" + name + "'" + suggestion(app, name)};
    }
    if (!option->empty()) continue;  // the command line wins
    const ValueKind kind = value_kind(*option);
    const std::string value_at = where(path, node->source()) + ": key '" + name + "'";
    std::vector<std::string> inputs;
    if (option->get_items_expected_max() > 1) {
      const toml::array* list = node->as_array();
      if (list == nullptr) {
        return Error{value_at + " expects a list of " + describe(kind) + ", not a " +
                     type_of(*node) + " (write [\"a\", \"b\"])"};
      }
      for (const toml::node& element : *list) {
        auto text = option_text(element, kind);
        if (!text) {
          return Error{where(path, element.source()) + ": key '" + name + "' " + text.error()};
        }
        inputs.push_back(*text);
      }
      if (inputs.empty()) continue;  // an empty list: the default, which is empty
    } else {
      auto text = option_text(*node, kind);
      if (!text) return Error{value_at + " " + text.error()};
      inputs.push_back(*text);
    }
    try {
      if (option->get_expected_min() == 0) {
        option->add_result(option->get_flag_value(name, inputs.front()));
      } else {
        option->add_result(inputs);
      }
      option->run_callback();
    } catch (const CLI::Error& e) {
      return Error{value_at + ": " + without_option_name(e.what(), *option)};
    }
  }
  return {};
}

CLI::Option* add_config_file_option(CLI::App& app) {
  auto* option = app.add_option_function<std::string>(
      "--config",
      [&app](const std::string& path) {
        Status read = apply_config_file(app, path);
        if (!read) throw CLI::ConfigError(read.error());
      },
      "Configuration file (TOML): every option below is also a key, by its long name");
  option->configurable(false);
  option->type_name("FILE");
  return option;
}

CLI::Validator finite_range(double min, double max) {
  std::ostringstream description;
  description << "FLOAT in [" << min << " - " << max << "]";
  return CLI::Validator(
      [min, max](std::string& input) -> std::string {
        double value = 0;
        const char* end = input.data() + input.size();
        auto [stop, ec] = std::from_chars(input.data(), end, value);
        if (ec != std::errc() || stop != end || !std::isfinite(value) || value < min ||
            value > max) {
          std::ostringstream out;
          out << "Value " << input << " not in range " << min << " to " << max
              << " (a finite number)";
          return out.str();
        }
        return {};
      },
      description.str());
}

}  // namespace gsvs::app
