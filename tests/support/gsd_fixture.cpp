#include "tests/support/gsd_fixture.h"

#include <algorithm>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "protocol/chains.h"
#include "protocol/clock.h"
#include "protocol/merkle.h"

namespace gsvs::testing {

using namespace protocol;  // NOLINT(google-build-using-namespace)
using std::chrono::milliseconds;

Hash32 sha256_of_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  crypto::Sha256 hash;
  std::vector<char> chunk(1 << 16);
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    const auto got = static_cast<std::size_t>(in.gcount());
    if (got > 0) hash.update(ByteView(reinterpret_cast<const std::uint8_t*>(chunk.data()), got));
  }
  return hash.finish();
}

// ---- GsdProcess -------------------------------------------------------------------------------

GsdProcess::GsdProcess(const TempDir& dir, const VsProcess& vs, const std::string& key_path,
                       GsdOptions o, const std::string& name)
    : port_(free_port()), store_(dir.file(name + ".db")), config_(dir.file(name + ".toml")) {
  if (o.vs_ports.empty()) o.vs_ports.push_back(vs.port());
  std::string vs_list;
  for (const std::uint16_t p : o.vs_ports) {
    vs_list += (vs_list.empty() ? "" : ",") + std::string("127.0.0.1:") + std::to_string(p);
  }
  if (o.vs_keys.empty()) o.vs_keys.push_back(vs.public_key());
  std::string vs_keys;
  for (const crypto::PublicKey& key : o.vs_keys) {
    vs_keys += (vs_keys.empty() ? "" : ",") + to_hex(key);
  }
  write_text(config_,
             "vs = \"" + vs_list + "\"\n" + "vs_public_key = \"" + vs_keys + "\"\n" + "key = \"" +
                 key_path + "\"\n" + "listen = \"127.0.0.1:" + std::to_string(port_) + "\"\n" +
                 "store = \"" + store_ + "\"\n" +
                 "digest_interval_ms = " + std::to_string(o.digest_interval_ms) + "\n" +
                 "input_grace_ms = " + std::to_string(o.input_grace_ms) + "\n" +
                 "max_players = " + std::to_string(o.max_players) + "\n" +
                 "reconnect_backoff_min_ms = " + std::to_string(o.reconnect_backoff_min_ms) + "\n" +
                 "reconnect_backoff_max_ms = " + std::to_string(o.reconnect_backoff_max_ms) + "\n" +
                 "handshake_timeout_ms = 2000\n" + o.extra);
  std::vector<std::string> argv{program(o.program), "run", "--config", config_};
  argv.insert(argv.end(), o.extra_args.begin(), o.extra_args.end());
  process_ = std::make_unique<ChildProcess>(argv, dir.file(name + ".out"));
  if (o.wait_until_listening &&
      !process_->wait_for_output("listening for clients on", std::chrono::seconds(20))) {
    throw std::runtime_error(o.program + " did not start serving:\n" + process_->output());
  }
}

std::size_t GsdProcess::count(const std::string& text) const {
  return count_of(process_->output(), text);
}

bool GsdProcess::wait_for_count(const std::string& text, std::size_t times,
                                std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (count(text) >= times) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return count(text) >= times;
}

// ---- ScriptedClient ---------------------------------------------------------------------------

ScriptedClient::ScriptedClient(std::uint16_t port, const crypto::PublicKey& vs_key)
    : ScriptedClient(port, vs_key, crypto::SecretKey::generate()) {}

ScriptedClient::ScriptedClient(std::uint16_t port, const crypto::PublicKey& vs_key,
                               crypto::SecretKey key)
    : socket_(port), vs_key_(vs_key), key_(std::move(key)) {}

Nonce32 ScriptedClient::read_challenge() {
  auto frame = socket_.read_frame();
  if (!frame) throw std::runtime_error("no ClientChallenge (timeout or connection closed)");
  auto challenge = decode<ClientChallenge>(*frame);
  if (!challenge) throw std::runtime_error("ClientChallenge does not decode: " + challenge.error());
  return challenge->challenge;
}

Bytes ScriptedClient::send_hello() {
  ClientHello hello;
  hello.client_key = key_.public_key();
  hello.client_nonce = crypto::random_fixed<32>();
  hello.gs_challenge = read_challenge();
  hello.client_time_ms = unix_time_ms();
  sign(hello, key_);
  hello_nonce_ = hello.client_nonce;
  nonces_.push_back(hello.client_nonce);
  Bytes bytes = encode(hello);
  socket_.send_frame(bytes);
  return bytes;
}

std::string ScriptedClient::check_server_hello(milliseconds timeout) {
  auto frame = socket_.read_frame(timeout);
  if (!frame) return "no ServerHello (timeout or connection closed)";
  auto hello = decode<ServerHello>(*frame);
  if (!hello) return "ServerHello does not decode: " + hello.error();
  auto accept = decode<JoinAccept>(hello->join_accept);
  if (!accept) return "embedded JoinAccept does not decode: " + accept.error();
  if (!verify(*accept, vs_key_)) return "JoinAccept is not signed by the pinned VS key";
  if (!verify(*hello, accept->session_key)) {
    return "ServerHello is not signed by the JoinAccept's session key";
  }
  if (hello->session_id != accept->session_id) return "ServerHello names another session";
  if (hello->client_key != key_.public_key()) return "ServerHello echoes another client key";
  if (hello->client_nonce != hello_nonce_) return "ServerHello echoes another nonce";
  accept_ = *accept;
  last_ticket_hash_ = chains::message_hash(hello->join_accept);
  last_ticket_seq_ = 0;
  return "";
}

void ScriptedClient::handshake() {
  send_hello();
  std::string problem = check_server_hello();
  if (!problem.empty()) throw std::runtime_error("handshake failed: " + problem);
}

Nonce32 ScriptedClient::send_nonce() {
  ClientNonce nonce;
  nonce.nonce = crypto::random_fixed<32>();
  nonces_.push_back(nonce.nonce);
  socket_.send_frame(encode(nonce));
  return nonce.nonce;
}

ClientInput ScriptedClient::make_input(std::int32_t dx_mm, std::int32_t dy_mm) {
  ClientInput input;
  input.client_key = key_.public_key();
  input.session_id = accept_.session_id;
  if (!tickets_.empty()) {
    input.ticket_seq = tickets_.back().ticket.ticket_seq;
    input.ticket_hash = chains::message_hash(tickets_.back().bytes);
  }
  input.client_seq = ++client_seq_;
  input.client_time_ms = unix_time_ms();
  input.move_x_mm = dx_mm;
  input.move_y_mm = dy_mm;
  sign(input, key_);
  return input;
}

void ScriptedClient::send_input(const ClientInput& input) { socket_.send_frame(encode(input)); }

void ScriptedClient::sign_and_send(ClientInput input) {
  sign(input, key_);
  send_input(input);
}

bool ScriptedClient::pump_until(const std::function<bool()>& done, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    const auto left =
        std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    auto frame = socket_.read_frame(left);
    if (!frame) return done();
    handle(*frame);
  }
  return true;
}

void ScriptedClient::pump_for(milliseconds duration) {
  pump_until([] { return false; }, duration);
}

std::optional<InputReject> ScriptedClient::next_reject(milliseconds timeout) {
  if (!pump_until([this] { return rejects_.size() > rejects_taken_; }, timeout)) {
    return std::nullopt;
  }
  return rejects_[rejects_taken_++];
}

void ScriptedClient::handle(const Bytes& frame) {
  auto kind = peek_kind(frame);
  if (!kind) {
    problems_.push_back("undecodable frame: " + kind.error());
    return;
  }
  switch (*kind) {
    case MessageKind::kTicketForward: {
      auto forward = decode<TicketForward>(frame);
      if (!forward) {
        problems_.push_back("TicketForward does not decode: " + forward.error());
        return;
      }
      on_ticket_forward(*forward);
      return;
    }
    case MessageKind::kInputReject: {
      auto reject = decode<InputReject>(frame);
      if (!reject) {
        problems_.push_back("InputReject does not decode: " + reject.error());
        return;
      }
      rejects_.push_back(*reject);
      return;
    }
    case MessageKind::kRevocation:
      revocation_ = frame;
      return;
    default:
      problems_.push_back("unexpected " + std::string(kind_name(*kind)) + " from the GS");
  }
}

void ScriptedClient::on_ticket_forward(const TicketForward& forward) {
  auto ticket = decode<PlayTicket>(forward.ticket);
  if (!ticket) {
    problems_.push_back("forwarded ticket does not decode: " + ticket.error());
    return;
  }
  if (!verify(*ticket, vs_key_)) {
    problems_.emplace_back("forwarded ticket is not signed by the VS");
    return;
  }
  if (ticket->session_id != accept_.session_id) {
    problems_.push_back("forwarded ticket is for session " + std::to_string(ticket->session_id));
    return;
  }
  // The first ticket after the handshake is the anchor; ticket 1 must chain to the JoinAccept.
  const bool anchor = tickets_.empty();
  if (!anchor || ticket->ticket_seq == 1) {
    if (ticket->ticket_seq != last_ticket_seq_ + 1 && !(anchor && ticket->ticket_seq == 1)) {
      problems_.push_back("ticket " + std::to_string(ticket->ticket_seq) + " after ticket " +
                          std::to_string(last_ticket_seq_));
    }
    if (ticket->prev_ticket_hash != last_ticket_hash_) {
      problems_.push_back("ticket " + std::to_string(ticket->ticket_seq) + " does not chain");
    }
  }
  ReceivedTicket received;
  received.bytes = forward.ticket;
  received.ticket = *ticket;
  received.has_proof = forward.has_proof == 1;
  received.received_at = std::chrono::steady_clock::now();
  received.received_wall_ms = unix_time_ms();
  if (received.has_proof) {
    received.proven_nonce = forward.nonce;
    const bool mine = std::find(nonces_.begin(), nonces_.end(), forward.nonce) != nonces_.end();
    received.proof_valid =
        mine && client_binding::verify(forward.nonce, forward.leaf_index, ticket->nonce_count,
                                       forward.proof, ticket->client_binding);
  }
  last_ticket_seq_ = ticket->ticket_seq;
  last_ticket_hash_ = chains::message_hash(forward.ticket);
  tickets_.push_back(std::move(received));
}

}  // namespace gsvs::testing
