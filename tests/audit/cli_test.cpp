// The audit-cli program's own options (its subcommands have their tests beside this one).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "app/program.h"
#include "tests/audit/audit_fixture.h"
#include "tests/support/process.h"
#include "tests/support/vs_fixture.h"

namespace gsvs::testing {
namespace {

TEST(AuditCli, Version) {
  TempDir dir;
  ChildProcess version({program("audit-cli"), "--version"}, dir.file("version.out"));
  EXPECT_EQ(version.wait(std::chrono::seconds(20)), 0) << version.output();
  EXPECT_EQ(version.output(), "audit-cli " + std::string(app::project_version()) + "\n");
}

// A store's path is quoted in the JSON outputs, and a path need not be UTF-8: each command still
// prints one JSON document, with U+FFFD for the byte JSON cannot hold.
TEST(AuditCli, JsonOutputsQuoteAPathThatIsNotUtf8) {
  TempDir dir;
  const std::string path = dir.file("caf\xE9.db");
  std::filesystem::copy_file(generated_path(), path);
  const auto sizes = checkpoint_positions(generated_path());
  ASSERT_GE(sizes.size(), 2u);
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"verify", path, "--json"},
           {"sessions", path, "--json"},
           {"explain", path, "--session", "1", "--json"},
           {"timeline", path, "--session", "1", "--format", "json"},
           {"consistency", path, "--from", std::to_string(sizes[0]), "--to",
            std::to_string(sizes[1])}}) {
    SCOPED_TRACE(args.front());
    const auto r = run_audit_cli(args);
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.exit_code << r.err;
    const auto doc = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_FALSE(doc.is_discarded()) << r.out << r.err;
  }
  const auto verified = nlohmann::json::parse(run_audit_cli({"verify", path, "--json"}).out);
  EXPECT_NE(verified.dump().find("caf\xEF\xBF\xBD.db"), std::string::npos) << verified.dump();
}

// What a store or a report says comes from others: an operator's reason, a VS's detail, a report
// anyone can write. In text output it is escaped, so that it cannot recolour, overwrite or forge
// a line of the investigator's terminal (escape sequences, a carriage return, a newline, a
// right-to-left override); the JSON outputs keep it as it was.
TEST(AuditCli, TextOutputsEscapeWhatTheStoreSays) {
  TempDir dir;
  const auto identity = crypto::SecretKey::generate();
  const Hash32 build = crypto::sha256(as_bytes("build"));
  const std::string right_to_left_override{'\xe2', '\x80', '\xae'};  // U+202E, as UTF-8
  const std::string reason = "evil\x1b[31mRED\x1b[0m\rOVER\nFAKE LINE" + right_to_left_override;
  std::string store;
  crypto::PublicKey public_key;
  {
    VsProcess vs(dir, {identity.public_key()}, {build});
    ScriptedGs gs(vs.port(), identity, build);
    gs.join();
    std::string output;
    ASSERT_EQ(vs.admin({"revoke", "--session", std::to_string(gs.session_id()), "--reason", reason},
                       output),
              0)
        << output;
    ASSERT_TRUE(gs.expect<protocol::Revocation>()) << vs.process().output();
    ASSERT_EQ(vs.stop(), 0) << vs.process().output();
    store = vs.store_path();
    public_key = vs.public_key();
  }
  const std::string report = dir.file("report.json");
  ASSERT_EQ(run_audit_cli({"report", store, "--session", "1", "-o", report}).exit_code, 0);
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"explain", store, "--session", "1"},
           {"verify-report", report, "--vs-pubkey", to_hex(public_key)}}) {
    SCOPED_TRACE(args.front());
    const auto r = run_audit_cli(args);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find(R"(evil\x1B[31mRED\x1B[0m\rOVER\nFAKE LINE\u{202E})"), std::string::npos)
        << r.out;
    EXPECT_EQ(r.out.find('\x1b'), std::string::npos);
    EXPECT_EQ(r.out.find('\r'), std::string::npos);
    EXPECT_EQ(r.out.find("\nFAKE LINE"), std::string::npos);
    EXPECT_EQ(r.out.find(right_to_left_override), std::string::npos);
  }
  const auto json = run_audit_cli({"explain", store, "--session", "1", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto document = nlohmann::json::parse(json.out);
  EXPECT_EQ(document["revocation"]["detail"], "operator: " + reason);
  EXPECT_NE(document["explanation"].get<std::string>().find(reason), std::string::npos)
      << document["explanation"];
}

// More signature-checking threads than any machine has are refused before a thread starts.
TEST(AuditCli, VerifyThreadsAreBounded) {
  const auto r = run_audit_cli({"verify", generated_path(), "--threads", "100000"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--threads"), std::string::npos) << r.err;
}

// Every file an option names is read by the one bounded reader (protocol/regular_file.h): a
// FIFO is refused without being waited on, and so are a directory and a file over the option's
// bound, each with exit code 2 and a message naming the path and what it is.
struct FileOption {
  const char* name;
  std::size_t max_bytes;
  // The command line with `file` in the option's place (`files`: a valid proof and checkpoints).
  std::vector<std::string> (*args)(const std::string& file, const TempDir& files);
};

const FileOption kFileOptions[] = {
    {"verify --checkpoint", std::size_t{1} << 20,
     [](const std::string& file, const TempDir&) -> std::vector<std::string> {
       return {"verify",       generated_path(),
               "--vs-pubkey",  to_hex(generated_vs_key()),
               "--checkpoint", file};
     }},
    {"verify-consistency --proof", std::size_t{1} << 20,
     [](const std::string& file, const TempDir& files) -> std::vector<std::string> {
       return {"verify-consistency",
               "--old",
               files.file("old.hex"),
               "--new",
               files.file("new.hex"),
               "--proof",
               file,
               "--vs-pubkey",
               to_hex(generated_vs_key())};
     }},
    {"verify-report FILE", std::size_t{1} << 30,
     [](const std::string& file, const TempDir&) -> std::vector<std::string> {
       return {"verify-report", file, "--vs-pubkey", to_hex(generated_vs_key())};
     }},
};

TEST(AuditCli, FileOptionsReadOnlyRegularFilesWithinTheirBound) {
  TempDir files;
  const auto sizes = checkpoint_positions(generated_path());
  ASSERT_GE(sizes.size(), 2u);
  const auto proof = run_audit_cli({"consistency", generated_path(), "--from",
                                    std::to_string(sizes[0]), "--to", std::to_string(sizes[1])});
  ASSERT_EQ(proof.exit_code, 0) << proof.err;
  const auto doc = nlohmann::json::parse(proof.out);
  std::ofstream(files.file("old.hex")) << doc["old_checkpoint"]["message_hex"].get<std::string>();
  std::ofstream(files.file("new.hex")) << doc["new_checkpoint"]["message_hex"].get<std::string>();

  const std::string fifo = files.file("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string directory = files.file("directory");
  std::filesystem::create_directory(directory);
  for (const FileOption& option : kFileOptions) {
    const std::string large = files.file("large");
    { const std::ofstream create(large); }
    std::filesystem::resize_file(large, option.max_bytes + 1);  // sparse: nothing is written
    for (const auto& [file, says] :
         {std::pair{fifo, "is a FIFO"}, std::pair{directory, "is a directory"},
          std::pair{large, "is too large"}}) {
      std::vector<std::string> argv{program("audit-cli")};
      for (std::string& arg : option.args(file, files)) argv.push_back(std::move(arg));
      ChildProcess run(argv, files.file("run.out"));
      EXPECT_EQ(run.wait(std::chrono::seconds(30)), 2) << option.name << " " << file;
      EXPECT_NE(run.output().find(file + " " + says), std::string::npos)
          << option.name << ": " << run.output();
    }
  }
}

}  // namespace
}  // namespace gsvs::testing
