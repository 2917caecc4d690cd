// The byte-level test client.
#include "tests/support/raw_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include "protocol/auth_scramble.h"
#include "protocol/auth_switch.h"
#include "protocol/constants.h"
#include "protocol/frame.h"
#include "protocol/handshake.h"
#include "protocol/response_scanner.h"

namespace sluice::test {
namespace {

namespace cap = protocol::capability;

int connect_loopback(std::uint16_t port, const std::string& bind_address) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  if (!bind_address.empty()) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, bind_address.c_str(), &local.sin_addr);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
      ::close(fd);
      throw std::runtime_error("cannot bind to " + bind_address);
    }
  }
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(port);
  remote.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&remote), sizeof remote) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
  }
  return fd;
}

}  // namespace

std::uint16_t raw_packet::error_code() const {
  return payload.size() >= 3 ? static_cast<std::uint16_t>(payload[1] | (payload[2] << 8)) : 0;
}

std::string raw_packet::error_message() const {
  if (payload.size() < 3) return {};
  const std::size_t start = payload.size() >= 9 && payload[3] == '#' ? 9 : 3;
  return std::string(payload.begin() + static_cast<std::ptrdiff_t>(start), payload.end());
}

std::string raw_packet::sql_state() const {
  if (payload.size() < 9 || payload[3] != '#') return {};
  return std::string(payload.begin() + 4, payload.begin() + 9);
}

raw_client::raw_client(std::uint16_t port, const std::string& bind_address)
    : fd_(connect_loopback(port, bind_address)) {}

raw_client::~raw_client() {
  if (tls_) SSL_free(tls_);
  if (tls_context_) SSL_CTX_free(tls_context_);
  if (fd_ >= 0) ::close(fd_);
}

bool raw_client::send_bytes(std::span<const std::uint8_t> bytes) {
  while (!bytes.empty()) {
    if (tls_) {
      const int n = SSL_write(tls_, bytes.data(), static_cast<int>(bytes.size()));
      if (n <= 0) return false;
      bytes = bytes.subspan(static_cast<std::size_t>(n));
      continue;
    }
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes = bytes.subspan(static_cast<std::size_t>(n));
  }
  return true;
}

std::size_t raw_client::send_until_stuck(std::span<const std::uint8_t> bytes,
                                         std::chrono::milliseconds stall) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n =
        ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) break;
    pollfd p{fd_, POLLOUT, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(stall.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0 || (p.revents & (POLLERR | POLLHUP))) break;
  }
  return sent;
}

long raw_client::receive_some(std::uint8_t* out, std::size_t n,
                              std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    const bool buffered = tls_ && SSL_pending(tls_) > 0;
    if (!buffered) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return -2;
      pollfd p{fd_, POLLIN, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
      if (ready < 0 && errno == EINTR) continue;
      if (ready == 0) return -2;
      if (ready < 0) return -1;
    }
    if (tls_) {
      // A record may be only partly here: SSL_read then blocks for the rest (SO_RCVTIMEO bounds
      // it), or reports that it needs more, and the loop waits again.
      const int got = SSL_read(tls_, out, static_cast<int>(n));
      if (got > 0) return got;
      const int kind = SSL_get_error(tls_, got);
      if (kind == SSL_ERROR_WANT_READ) continue;
      ERR_clear_error();
      return kind == SSL_ERROR_ZERO_RETURN || kind == SSL_ERROR_SYSCALL ? 0 : -1;
    }
    const ssize_t got = ::recv(fd_, out, n, 0);
    if (got < 0 && errno == EINTR) continue;
    return got;
  }
}

std::optional<raw_packet> raw_client::request_tls() {
  auto greeting_packet = read_packet();
  if (!greeting_packet || greeting_packet->is_err()) return greeting_packet;
  auto greeting = protocol::decode_handshake_v10(greeting_packet->payload);
  if (!greeting) return std::nullopt;
  connection_id_ = greeting->connection_id;
  greeting_sequence_id_ = greeting_packet->sequence_id;
  scramble_ = greeting->auth_plugin_data.substr(0, 20);
  protocol::ssl_request request;
  request.capabilities = cap::long_password | cap::long_flag | cap::protocol_41 | cap::ssl |
                         cap::transactions | cap::secure_connection | cap::plugin_auth |
                         cap::multi_results;
  request.max_packet_size = 1u << 24;
  request.character_set = 45;
  std::vector<std::uint8_t> payload;
  protocol::encode_ssl_request(request, payload);
  if (!send_packet(static_cast<std::uint8_t>(greeting_sequence_id_ + 1), payload))
    return std::nullopt;
  ++greeting_sequence_id_;  // the handshake response comes after the SSLRequest
  return greeting_packet;
}

bool raw_client::start_tls(const std::string& ca_file, std::chrono::milliseconds timeout) {
  tls_context_ = SSL_CTX_new(TLS_client_method());
  if (!ca_file.empty()) {
    SSL_CTX_load_verify_locations(tls_context_, ca_file.c_str(), nullptr);
    SSL_CTX_set_verify(tls_context_, SSL_VERIFY_PEER, nullptr);
  }
  // Blocking calls with a bound, so a server that stalls fails the test instead of hanging it.
  timeval bound{};
  bound.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  bound.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &bound, sizeof bound);
  tls_ = SSL_new(tls_context_);
  SSL_set_fd(tls_, fd_);
  if (SSL_connect(tls_) == 1) return true;
  const unsigned long error = ERR_get_error();
  const char* reason = error ? ERR_reason_error_string(error) : nullptr;
  tls_error_ = reason ? reason : "the connection ended during the TLS handshake";
  ERR_clear_error();
  SSL_free(tls_);
  tls_ = nullptr;
  return false;
}

std::string raw_client::peer_certificate_serial() const {
  if (!tls_) return "";
  X509* certificate = SSL_get1_peer_certificate(tls_);
  if (!certificate) return "";
  std::string out;
  if (BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(certificate), nullptr)) {
    if (char* hex = BN_bn2hex(serial)) {
      out = hex;
      OPENSSL_free(hex);
    }
    BN_free(serial);
  }
  X509_free(certificate);
  return out;
}

bool raw_client::send_packet(std::uint8_t sequence_id, std::span<const std::uint8_t> payload) {
  std::vector<std::uint8_t> framed;
  protocol::append_packets(framed, payload, sequence_id);
  return send_bytes(framed);
}

bool raw_client::send_command(std::uint8_t command, std::string_view body,
                              std::uint8_t sequence_id) {
  std::vector<std::uint8_t> payload;
  payload.push_back(command);
  payload.insert(payload.end(), body.begin(), body.end());
  return send_packet(sequence_id, payload);
}

bool raw_client::read_exact(std::uint8_t* out, std::size_t n,
                            std::chrono::steady_clock::time_point deadline) {
  while (n > 0) {
    const long got = receive_some(out, n, deadline);
    if (got <= 0) return false;
    out += got;
    n -= static_cast<std::size_t>(got);
  }
  return true;
}

std::optional<raw_packet> raw_client::read_packet(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::uint8_t header[4];
  if (!read_exact(header, 4, deadline)) return std::nullopt;
  raw_packet packet;
  const std::size_t length = header[0] | (header[1] << 8) | (header[2] << 16);
  packet.sequence_id = header[3];
  packet.payload.resize(length);
  if (length > 0 && !read_exact(packet.payload.data(), length, deadline)) return std::nullopt;
  return packet;
}

bool raw_client::closed_by_peer(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::uint8_t scratch[4096];
  for (;;) {
    const long got = receive_some(scratch, sizeof scratch, deadline);
    if (got == -2) return false;
    if (got <= 0) return true;
  }
}

std::optional<raw_packet> raw_client::login(const std::string& user, const std::string& password,
                                            const raw_login_options& options) {
  auto reply = send_handshake_response(user, password, options);
  while (reply && reply->is_auth_switch()) reply = answer_auth_switch(*reply, password);
  return reply;
}

std::optional<raw_packet> raw_client::send_handshake_response(const std::string& user,
                                                              const std::string& password,
                                                              const raw_login_options& options) {
  std::uint32_t capabilities = cap::long_password | cap::long_flag | cap::protocol_41 |
                               cap::transactions | cap::secure_connection | cap::plugin_auth |
                               cap::multi_results | options.extra_capabilities;
  if (options.tls) {
    auto greeting_packet = request_tls();
    if (!greeting_packet || greeting_packet->is_err()) return greeting_packet;
    if (!start_tls(options.tls_ca_file)) return std::nullopt;
    capabilities |= cap::ssl;
  } else {
    auto greeting_packet = read_packet();
    if (!greeting_packet) return std::nullopt;
    if (greeting_packet->is_err()) return greeting_packet;
    auto greeting = protocol::decode_handshake_v10(greeting_packet->payload);
    if (!greeting) return std::nullopt;
    connection_id_ = greeting->connection_id;
    greeting_sequence_id_ = greeting_packet->sequence_id;
    scramble_ = greeting->auth_plugin_data.substr(0, 20);
  }
  protocol::handshake_response_41 response;
  response.capabilities = capabilities;
  if (!options.database.empty()) response.capabilities |= cap::connect_with_db;
  response.max_packet_size = 1u << 24;
  response.character_set = options.collation;
  response.username = user;
  response.database = options.database;
  response.auth_plugin_name = options.auth_plugin;
  if (options.auth_token)
    response.auth_response = *options.auth_token;
  else if (options.send_token)
    response.auth_response = protocol::native_password_token(password, scramble_);
  std::vector<std::uint8_t> payload;
  protocol::encode_handshake_response_41(response, payload);
  if (!send_packet(static_cast<std::uint8_t>(greeting_sequence_id_ + 1), payload))
    return std::nullopt;
  return read_packet();
}

std::optional<raw_packet> raw_client::answer_auth_switch(const raw_packet& request,
                                                         const std::string& password) {
  auto decoded = protocol::decode_auth_switch_request(request.payload);
  if (!decoded) return std::nullopt;
  const std::string token =
      protocol::native_password_token(password, decoded->plugin_data.substr(0, 20));
  const std::vector<std::uint8_t> answer(token.begin(), token.end());
  if (!send_packet(static_cast<std::uint8_t>(request.sequence_id + 1), answer)) return std::nullopt;
  return read_packet();
}

raw_client::query_answer raw_client::query(const std::string& sql) {
  query_answer answer;
  if (!send_command(static_cast<std::uint8_t>(protocol::command::query), sql)) {
    answer.error = raw_packet{0, {0xFF, 0, 0}};
    return answer;
  }
  // Reads packets until the response ends, as sluice's own scanner sees it.
  protocol::response_scanner scanner(cap::protocol_41 | cap::transactions);
  scanner.start(protocol::response_scanner::shape::query);
  std::vector<std::uint8_t> framed;
  while (scanner.current() == protocol::response_scanner::state::reading) {
    auto packet = read_packet();
    if (!packet) {
      answer.error = raw_packet{0, {0xFF, 0, 0}};
      return answer;
    }
    const std::size_t start = framed.size();
    protocol::append_packets(framed, packet->payload, packet->sequence_id);
    scanner.feed(std::span<const std::uint8_t>(framed).subspan(start));
    if (packet->is_err() && start == 0) {
      answer.error = std::move(*packet);
      return answer;
    }
  }
  auto rows = protocol::decode_text_resultset(framed);
  if (rows) answer.rows = std::move(*rows);
  return answer;
}

}  // namespace sluice::test
