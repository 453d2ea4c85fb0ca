// Integer options take plain decimal numbers only (app::decimal_integers): CLI11 alone reads them
// as strtoll does with base 0, so `vsd revoke --session 010` revoked session 8.
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "app/config_file.h"
#include "app/program.h"
#include "tests/support/process.h"

namespace gsvs::testing {
namespace {

struct Parsed {
  std::optional<std::uint64_t> count;  // --count, unsigned
  std::optional<std::int32_t> offset;  // --offset, signed
  std::string error;
};

// `args` as a program's command line, against an app with an unsigned and a signed option (the
// unsigned one in a subcommand, as `vsd revoke --session` is).
Parsed parse(std::vector<std::string> args) {
  CLI::App app;
  std::uint64_t count = 0;
  std::int32_t offset = 0;
  double speed = 0;
  bool verbose = false;
  auto* sub = app.add_subcommand("sub");
  sub->add_option("--count", count);
  app.add_option("--offset", offset);
  app.add_option("--speed", speed);
  app.add_flag("--verbose", verbose);
  app::decimal_integers(app);
  Parsed parsed;
  try {
    app.parse(std::vector<std::string>(args.rbegin(), args.rend()));  // CLI11 takes them last first
  } catch (const CLI::ParseError& e) {
    parsed.error = e.what();
    return parsed;
  }
  if (sub->count("--count") > 0) parsed.count = count;
  if (app.count("--offset") > 0) parsed.offset = offset;
  return parsed;
}

struct UnsignedCase {
  const char* text;
  std::optional<std::uint64_t> value;  // nullopt: refused
};

TEST(DecimalIntegers, UnsignedOptionsTakeDigitsWithoutALeadingZero) {
  const UnsignedCase cases[] = {
      {"0", 0},     {"7", 7},
      {"10", 10},   {"18446744073709551615", UINT64_MAX},  // the largest still fits
      {"010", {}},                                         // octal 8 to CLI11
      {"08", {}},                // not octal either: was "could not convert"
      {"0x10", {}},              // hex 16 to CLI11
      {"00", {}},   {"-1", {}},  // 18446744073709551615 to CLI11
      {"+5", {}},   {" 5", {}},
      {"5 ", {}},   {"1e3", {}},
      {"", {}},     {"18446744073709551616", {}},
  };
  for (const auto& c : cases) {
    const Parsed parsed = parse({"sub", "--count", c.text});
    EXPECT_EQ(parsed.count, c.value) << "'" << c.text << "': " << parsed.error;
    if (!c.value) {
      EXPECT_NE(parsed.error.find("--count"), std::string::npos) << parsed.error;
    }
  }
}

TEST(DecimalIntegers, SignedOptionsTakeAMinusSign) {
  const std::pair<const char*, std::optional<std::int32_t>> cases[] = {
      {"-5", -5}, {"0", 0}, {"-0", 0}, {"42", 42}, {"-010", {}}, {"--5", {}}, {"-", {}},
  };
  for (const auto& [text, value] : cases) {
    const Parsed parsed = parse({"--offset", text});
    EXPECT_EQ(parsed.offset, value) << "'" << text << "': " << parsed.error;
  }
}

TEST(DecimalIntegers, TheErrorSaysWhatToWrite) {
  const Parsed parsed = parse({"sub", "--count", "010"});
  EXPECT_NE(parsed.error.find("Value 010 is not a plain decimal integer"), std::string::npos)
      << parsed.error;
  EXPECT_NE(parsed.error.find("no leading zero"), std::string::npos) << parsed.error;
  EXPECT_NE(parsed.error.find("reads as octal"), std::string::npos) << parsed.error;
  // A value with no leading zero is not told about octal.
  const Parsed negative = parse({"sub", "--count", "-1"});
  EXPECT_NE(negative.error.find("Value -1 is not a plain decimal integer"), std::string::npos)
      << negative.error;
  EXPECT_EQ(negative.error.find("octal"), std::string::npos) << negative.error;
}

// The check runs before the option's own range check, which would read "010" as 8 and say that
// 010 is out of a range that holds 10.
TEST(DecimalIntegers, TheCheckComesBeforeARangeCheck) {
  for (const char* text : {"010", "1e2"}) {
    CLI::App app;
    std::uint32_t period = 0;
    app.add_option("--period", period)->check(CLI::Range(10, 600000));
    app::decimal_integers(app);
    std::string error;
    try {
      app.parse(std::vector<std::string>{text, "--period"});
    } catch (const CLI::ParseError& e) {
      error = e.what();
    }
    EXPECT_NE(error.find("is not a plain decimal integer"), std::string::npos) << error;
  }
}

TEST(DecimalIntegers, OtherTypesAndTheHelpAreUnchanged) {
  CLI::App app;
  double speed = 0;
  std::uint32_t port = 0;
  app.add_option("--speed", speed);
  app.add_option("--port", port)->check(CLI::Range(1, 65535));
  app::decimal_integers(app);
  app.parse(std::vector<std::string>{"08.5", "--speed"});
  EXPECT_DOUBLE_EQ(speed, 8.5);
  // The check adds no description: the help shows the type and range as before.
  EXPECT_EQ(app.get_option("--port")->get_type_name(), "UINT:INT in [1 - 65535]");
}

// Each program refuses a leading zero on its command line with exit code 2, before it acts.
TEST(DecimalIntegers, EveryProgramRefusesALeadingZero) {
  TempDir dir;
  const std::vector<std::vector<std::string>> commands = {
      {program("vsd"), "revoke", "--admin-socket", dir.file("none.sock"), "--session", "010",
       "--reason", "test"},
      {program("vsd"), "run", "--ticket_period_ms", "0250"},
      {program("gsd"), "run", "--max_frame_bytes", "065536"},
      {program("client"), "run", "--gs", "127.0.0.1:1", "--vs-pubkey", std::string(64, 'a'),
       "--key", dir.file("none.key"), "--duration-s", "010"},
      {program("audit-cli"), "report", dir.file("none.db"), "--session", "010"},
  };
  int run = 0;
  for (const auto& argv : commands) {
    SCOPED_TRACE(argv[0] + " " + argv[1]);
    ChildProcess child(argv, dir.file("out" + std::to_string(++run)));
    EXPECT_EQ(child.wait(std::chrono::seconds(20)), app::kExitUsage) << child.output();
    EXPECT_NE(child.output().find("is not a plain decimal integer"), std::string::npos)
        << child.output();
  }
}

}  // namespace
}  // namespace gsvs::testing
