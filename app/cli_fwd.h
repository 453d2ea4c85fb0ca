// Forward declarations of the CLI11 types that headers name. CLI11 2.3 (Debian 12) is header-only:
// <CLI/App.hpp> brings the whole library's function bodies into every unit that includes it,
// 3 s of compiling and about 13 s of clang-tidy each (performance-unnecessary-value-param alone
// walks every CLI11 function). Headers include this; the .cpp files that build or parse a command
// line include <CLI/App.hpp>.
#pragma once

namespace CLI {
class App;
class Option;
class Validator;
}  // namespace CLI
