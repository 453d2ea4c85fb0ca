// seed_corpus VECTORS_DIR CORPUS_DIR
//
// Writes seed inputs for the fuzz targets into CORPUS_DIR: every message encoding of
// VECTORS_DIR/messages.json and the embedded messages of chains.json, framed streams in the
// input layout of fuzz_framing, the public keys as text, and Merkle proofs in the layout of
// fuzz_merkle_proofs. Every target gets the same seeds; each finds its own way through them.
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "protocol/bytes.h"
#include "protocol/coding.h"
#include "protocol/framing.h"

namespace {

using gsvs::Bytes;
using Json = nlohmann::json;

Json load(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  return Json::parse(in);
}

Bytes hex(const Json& j) {
  auto bytes = gsvs::from_hex(j.get<std::string>());
  if (!bytes) throw std::runtime_error("not hex: " + j.dump());
  return *bytes;
}

class Corpus {
 public:
  explicit Corpus(std::filesystem::path dir) : dir_(std::move(dir)) {}

  void write(const std::string& name, const Bytes& contents) {
    std::ofstream out(dir_ / name, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(contents.data()),
              static_cast<std::streamsize>(contents.size()));
    if (!out) throw std::runtime_error("cannot write " + (dir_ / name).string());
    ++count_;
  }
  void write(const std::string& name, const std::string& text) {
    write(name, Bytes(text.begin(), text.end()));
  }
  [[nodiscard]] int count() const { return count_; }

 private:
  std::filesystem::path dir_;
  int count_ = 0;
};

// fuzz_framing's layout: chunk byte, limit byte, stream.
Bytes framed_stream(std::uint8_t chunk, std::uint8_t limit, const std::vector<Bytes>& payloads) {
  Bytes out{chunk, limit};
  for (const auto& p : payloads) {
    auto f = gsvs::framing::frame(p);
    out.insert(out.end(), f.begin(), f.end());
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: seed_corpus VECTORS_DIR CORPUS_DIR\n");
    return 2;
  }
  try {
    const std::filesystem::path vectors(argv[1]);
    std::filesystem::create_directories(argv[2]);
    Corpus corpus(argv[2]);
    const Json messages = load(vectors / "messages.json");

    std::vector<Bytes> encodings;
    for (const auto& m : messages.at("messages")) {
      encodings.push_back(hex(m.at("encoding_hex")));
      corpus.write("msg_" + m.at("kind").get<std::string>(), encodings.back());
    }
    for (const auto& k : messages.at("keys")) {
      corpus.write("key_" + std::to_string(corpus.count()),
                   k.at("public_key_hex").get<std::string>() + "\n");
      std::string upper = k.at("seed_hex").get<std::string>();
      for (auto& c : upper) c = static_cast<char>(c >= 'a' && c <= 'f' ? c - 'a' + 'A' : c);
      corpus.write("key_" + std::to_string(corpus.count()), upper);
    }

    corpus.write("framed_all", framed_stream(6, 0, encodings));
    corpus.write("framed_bytewise", framed_stream(0, 0, {encodings.at(1), encodings.at(4)}));
    corpus.write("framed_small_limit", framed_stream(255, 4, encodings));
    Bytes zero_length = framed_stream(3, 0, {encodings.back()});
    zero_length.insert(zero_length.end(), {0, 0, 0, 0});
    corpus.write("framed_zero_length", zero_length);

    const auto chains_path = vectors / "chains.json";
    if (std::filesystem::exists(chains_path)) {
      const Json chains = load(chains_path);
      int n = 0;
      auto embedded = [&](const Json& j) { corpus.write("chain_" + std::to_string(n++), hex(j)); };
      for (const auto& s : chains.at("receipt_tip").at("steps")) {
        embedded(s.at("digest_hex"));
        embedded(s.at("receipt_hex"));
      }
      for (const auto& s : chains.at("inputs_hash").at("steps")) embedded(s.at("client_input_hex"));
      for (const auto& t : chains.at("tickets").at("tickets")) embedded(t.at("ticket_hex"));
      embedded(chains.at("log_entries").at("checkpoint").at("checkpoint_hex"));

      // fuzz_merkle_proofs, raw mode: the client_binding inclusion proofs of the batch.
      const auto& binding = chains.at("client_binding");
      const auto batch = binding.at("nonces_hex").size();
      for (const auto& p : binding.at("proofs")) {
        gsvs::coding::Writer w;
        w.u8(0);
        w.u64(p.at("index").get<std::uint64_t>());
        w.u64(batch);
        w.u64(0);
        w.u64(0);
        w.raw(hex(binding.at("leaf_hashes_hex").at(p.at("index").get<std::size_t>())));
        w.raw(hex(binding.at("root_hex")));
        w.raw(hex(binding.at("root_hex")));
        for (const auto& h : p.at("proof_hex")) w.raw(hex(h));
        corpus.write("merkle_inclusion_" + p.at("index").dump(), w.bytes());
      }
    }
    // fuzz_merkle_proofs, honest mode: 5 leaves, index 2, old size 3.
    corpus.write("merkle_honest", Bytes{1, 4, 2, 2, 7});

    std::printf("seed_corpus: wrote %d files to %s\n", corpus.count(), argv[2]);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "seed_corpus: %s\n", e.what());
    return 1;
  }
}
