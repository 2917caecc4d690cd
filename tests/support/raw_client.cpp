// The byte-level test client.
#include "tests/support/raw_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
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
  if (fd_ >= 0) ::close(fd_);
}

bool raw_client::send_bytes(std::span<const std::uint8_t> bytes) {
  while (!bytes.empty()) {
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
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    const ssize_t got = ::recv(fd_, out, n, 0);
    if (got < 0 && errno == EINTR) continue;
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
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    const ssize_t got = ::recv(fd_, scratch, sizeof scratch, 0);
    if (got < 0 && errno == EINTR) continue;
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
  auto greeting_packet = read_packet();
  if (!greeting_packet) return std::nullopt;
  if (greeting_packet->is_err()) return greeting_packet;
  auto greeting = protocol::decode_handshake_v10(greeting_packet->payload);
  if (!greeting) return std::nullopt;
  connection_id_ = greeting->connection_id;
  protocol::handshake_response_41 response;
  response.capabilities = cap::long_password | cap::long_flag | cap::protocol_41 |
                          cap::transactions | cap::secure_connection | cap::plugin_auth |
                          cap::multi_results | options.extra_capabilities;
  if (!options.database.empty()) response.capabilities |= cap::connect_with_db;
  response.max_packet_size = 1u << 24;
  response.character_set = options.collation;
  response.username = user;
  response.database = options.database;
  response.auth_plugin_name = options.auth_plugin;
  const std::string scramble = greeting->auth_plugin_data.substr(0, 20);
  if (options.send_token)
    response.auth_response = protocol::native_password_token(password, scramble);
  std::vector<std::uint8_t> payload;
  protocol::encode_handshake_response_41(response, payload);
  if (!send_packet(static_cast<std::uint8_t>(greeting_packet->sequence_id + 1), payload))
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
