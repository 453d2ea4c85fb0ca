// Checks dispute reports against docs/report.schema.json with python3-jsonschema, which applies
// every rule of JSON Schema draft 2020-12, through tests/audit/validate_report.py.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gsvs::testing {

struct NamedReport {
  std::string name;  // names the report in the violations, e.g. "speed-all-entries"
  std::string text;  // the report's JSON
};

// Every violation of the schema among `reports`, one line each ("name: $.path: what is wrong"),
// from one run of the validator; empty when every report matches. When the validator cannot run
// (python3-jsonschema missing, the schema itself invalid) the result says why, so that a test
// expecting no violations fails.
std::string schema_violations(const std::vector<NamedReport>& reports);

// For EXPECT_TRUE(matches_schema({{"speed", text}})): fails with the violations.
::testing::AssertionResult matches_schema(const std::vector<NamedReport>& reports);

}  // namespace gsvs::testing
