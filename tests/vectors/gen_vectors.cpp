// Writes the protocol test vectors: OUTDIR/messages.json, chains.json, session_rules.json and
// join_order.json.
//
//   build/tests/vectors/gen_vectors tests/vectors   (from the repository root, after a build)
//   cmake --build build --target update_vectors     (the same, into the source tree)
//
// The output depends only on fixed seeds and the protocol library, so running it twice gives
// the same bytes. The files are normative (tests/vectors/README.md): if they change, the wire
// format changed.
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "tests/vectors/join_order_samples.h"
#include "tests/vectors/samples.h"
#include "tests/vectors/segments_samples.h"
#include "tests/vectors/session_rules_samples.h"
#include "tests/vectors/store_samples.h"

namespace {

void write_json(const std::filesystem::path& path, const gsvs::test_samples::Json& doc) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot create " + path.string());
  out << doc.dump(2) << '\n';
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr,
                 "usage: %s OUTDIR\n  writes OUTDIR/messages.json, chains.json, "
                 "session_rules.json, join_order.json, segments.json and store.json\n",
                 argc > 0 ? argv[0] : "gen_vectors");
    return 2;
  }
  try {
    const std::filesystem::path dir(argv[1]);
    if (!std::filesystem::is_directory(dir)) {
      throw std::runtime_error(dir.string() + " is not a directory");
    }
    const gsvs::test_samples::Keys keys;
    write_json(dir / "messages.json", gsvs::test_samples::messages_document(keys));
    write_json(dir / "chains.json", gsvs::test_samples::chains_document(keys));
    write_json(dir / "session_rules.json", gsvs::test_samples::session_rules_document(keys));
    write_json(dir / "join_order.json", gsvs::test_samples::join_order_document());
    write_json(dir / "segments.json", gsvs::test_samples::segments_document(keys));
    write_json(dir / "store.json", gsvs::test_samples::store_document());
    std::printf(
        "wrote messages.json, chains.json, session_rules.json, join_order.json, segments.json "
        "and store.json in %s\n",
        dir.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gen_vectors: %s\n", e.what());
    return 1;
  }
}
