// A small JSON Schema (draft 2020-12) checker for the keywords docs/report.schema.json uses:
// type, const, enum, properties, required, additionalProperties (false), items, $ref to
// "#/$defs/...", oneOf, pattern, minimum, maximum. No schema library is needed for that much.
#pragma once

#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

namespace gsvs::testing {

class SchemaCheck {
 public:
  explicit SchemaCheck(const nlohmann::json& schema) : root_(schema) {}

  // Every violation, as "path: what".
  std::vector<std::string> check(const nlohmann::json& value) {
    errors_.clear();
    walk(root_, value, "$");
    return errors_;
  }

 private:
  using json = nlohmann::json;

  static bool has_type(const json& v, const std::string& type) {
    if (type == "object") return v.is_object();
    if (type == "array") return v.is_array();
    if (type == "string") return v.is_string();
    if (type == "boolean") return v.is_boolean();
    if (type == "null") return v.is_null();
    if (type == "integer") return v.is_number_integer();
    if (type == "number") return v.is_number();
    return false;
  }

  // libstdc++'s std::regex recurses per character: long hex strings are checked by hand.
  static bool matches(const std::string& text, const std::string& pattern) {
    if (pattern == "^([0-9a-f]{2})*$") {
      return text.size() % 2 == 0 &&
             text.find_first_not_of("0123456789abcdef") == std::string::npos;
    }
    return std::regex_search(text, std::regex(pattern));
  }

  const json& resolve(const json& schema) const {
    if (!schema.contains("$ref")) return schema;
    const std::string ref = schema["$ref"];
    const std::string prefix = "#/$defs/";
    if (ref.rfind(prefix, 0) != 0) throw std::runtime_error("unsupported $ref " + ref);
    return root_["$defs"].at(ref.substr(prefix.size()));
  }

  void walk(const json& raw_schema, const json& v, const std::string& path) {
    const json& s = resolve(raw_schema);
    if (s.contains("oneOf")) {
      int matches = 0;
      for (const auto& option : s["oneOf"]) {
        std::vector<std::string> saved = std::move(errors_);
        errors_.clear();
        walk(option, v, path);
        matches += errors_.empty();
        errors_ = std::move(saved);
      }
      if (matches != 1)
        errors_.push_back(path + ": matches " + std::to_string(matches) + " of oneOf");
    }
    if (s.contains("type")) {
      bool ok = false;
      if (s["type"].is_string()) {
        ok = has_type(v, s["type"]);
      } else {
        for (const auto& t : s["type"]) ok |= has_type(v, t);
      }
      if (!ok) {
        errors_.push_back(path + ": not of type " + s["type"].dump());
        return;
      }
    }
    if (s.contains("const") && v != s["const"])
      errors_.push_back(path + ": not " + s["const"].dump());
    if (s.contains("enum")) {
      bool found = false;
      for (const auto& e : s["enum"]) found |= e == v;
      if (!found) errors_.push_back(path + ": " + v.dump() + " not in " + s["enum"].dump());
    }
    if (v.is_string() && s.contains("pattern") &&
        !matches(v.get<std::string>(), s["pattern"].get<std::string>())) {
      errors_.push_back(path + ": does not match " + s["pattern"].get<std::string>());
    }
    if (v.is_number() && s.contains("minimum") && v.get<double>() < s["minimum"].get<double>()) {
      errors_.push_back(path + ": below the minimum");
    }
    if (v.is_number() && s.contains("maximum") && v.get<double>() > s["maximum"].get<double>()) {
      errors_.push_back(path + ": above the maximum");
    }
    if (v.is_object()) {
      if (s.contains("required")) {
        for (const auto& key : s["required"]) {
          if (!v.contains(key.get<std::string>()))
            errors_.push_back(path + "." + key.get<std::string>() + ": missing");
        }
      }
      const json properties = s.value("properties", json::object());
      for (const auto& [key, child] : v.items()) {
        if (properties.contains(key)) {
          walk(properties[key], child, path + "." + key);
        } else if (s.contains("additionalProperties") && s["additionalProperties"] == false) {
          errors_.push_back(path + "." + key + ": not allowed by the schema");
        }
      }
    }
    if (v.is_array() && s.contains("items")) {
      for (std::size_t i = 0; i < v.size(); ++i) {
        walk(s["items"], v[i], path + "[" + std::to_string(i) + "]");
      }
    }
  }

  const json& root_;
  std::vector<std::string> errors_;
};

}  // namespace gsvs::testing
