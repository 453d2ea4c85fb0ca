#include "tests/support/schema_validation.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "tests/support/process.h"

namespace gsvs::testing {

std::string schema_violations(const std::vector<NamedReport>& reports) {
  if (reports.empty()) throw std::invalid_argument("schema_violations: no reports to check");
  TempDir dir;
  // GSVS_PYTHON3 is the interpreter CMake found (tests/support/CMakeLists.txt).
  std::vector<std::string> argv{GSVS_PYTHON3, source_file("tests/audit/validate_report.py"),
                                source_file("docs/report.schema.json")};
  for (const auto& report : reports) {
    // The report's name, as the validator prints it, is a file in a fresh directory.
    const std::string path = dir.path() + "/" + report.name;
    write_text(path, report.text);
    argv.push_back(path);
  }
  ChildProcess validator(argv, dir.file("validator.out"));
  const int code = validator.wait(std::chrono::seconds(120));
  std::string output = validator.output();
  for (auto at = output.find(dir.path() + "/"); at != std::string::npos;
       at = output.find(dir.path() + "/", at)) {
    output.erase(at, dir.path().size() + 1);
  }
  if (code == 0) return "";
  if (code == 1 && !output.empty()) return output;
  return "the schema validator did not run to the end (exit " + std::to_string(code) +
         "): " + output;
}

::testing::AssertionResult matches_schema(const std::vector<NamedReport>& reports) {
  const std::string violations = schema_violations(reports);
  if (violations.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << violations;
}

}  // namespace gsvs::testing
