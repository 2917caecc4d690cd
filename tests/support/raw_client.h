// A MySQL client at the byte level, for tests that must send what no library sends (a chosen
// collation id, a lying length, a wrong sequence id, a command that never ends) and see exactly
// what comes back. Blocking sockets with deadlines; built on sluice's own codec.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "protocol/text_resultset.h"

struct ssl_ctx_st;
struct ssl_st;

namespace sluice::test {

struct raw_packet {
  std::uint8_t sequence_id = 0;
  std::vector<std::uint8_t> payload;
  bool is_ok() const { return !payload.empty() && payload[0] == 0x00; }
  bool is_err() const { return !payload.empty() && payload[0] == 0xFF; }
  std::uint16_t error_code() const;  // of an ERR packet
  std::string error_message() const;
  std::string sql_state() const;  // of an ERR packet ("" if it carries none)
  bool is_auth_switch() const { return !payload.empty() && payload[0] == 0xFE; }
};

struct raw_login_options {
  std::uint8_t collation = 45;
  std::string database;
  std::string auth_plugin = "mysql_native_password";
  // Capabilities asked for besides the ones every 4.1 client sends.
  std::uint32_t extra_capabilities = 0;
  bool send_token = true;  // false: an empty auth response (the server then asks again)
  // These bytes as the auth response instead of a mysql_native_password token.
  std::optional<std::string> auth_token;
  // An SSLRequest and a TLS handshake (trusting `tls_ca_file`, any server when empty) before the
  // handshake response, which then goes over TLS.
  bool tls = false;
  std::string tls_ca_file;
};

class raw_client {
 public:
  // Connects to 127.0.0.1:port (from `bind_address` when given); throws when nothing listens.
  explicit raw_client(std::uint16_t port, const std::string& bind_address = "");
  ~raw_client();
  raw_client(const raw_client&) = delete;
  raw_client& operator=(const raw_client&) = delete;

  int fd() const { return fd_; }
  // Bytes as they are (no framing); false when the peer closed.
  bool send_bytes(std::span<const std::uint8_t> bytes);
  bool send_packet(std::uint8_t sequence_id, std::span<const std::uint8_t> payload);
  // Bytes as they are, for as long as the peer takes them: stops when nothing more could be sent
  // for `stall` (the peer stopped reading and the buffers between are full) or the peer closed.
  // Returns how many were sent; never blocks longer than `stall` without progress.
  std::size_t send_until_stuck(std::span<const std::uint8_t> bytes,
                               std::chrono::milliseconds stall = std::chrono::milliseconds(300));
  bool send_command(std::uint8_t command, std::string_view body, std::uint8_t sequence_id = 0);
  // The next packet, or nullopt when the peer closed or `timeout` passed.
  std::optional<raw_packet> read_packet(
      std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Whether the peer closed the connection within `timeout` (what it sent first is dropped).
  bool closed_by_peer(std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // The greeting and a mysql_native_password login (answering an auth switch); the final OK or
  // ERR packet, or nullopt when the connection failed.
  std::optional<raw_packet> login(const std::string& user, const std::string& password,
                                  const raw_login_options& options = {});
  // The first steps of login(), for tests of what the server answers at each: reads the greeting
  // and sends the handshake response; returns the server's first answer as it came (OK, ERR, an
  // AuthSwitchRequest), or nullopt when the connection failed.
  std::optional<raw_packet> send_handshake_response(const std::string& user,
                                                    const std::string& password,
                                                    const raw_login_options& options = {});
  // Reads the greeting and sends an SSLRequest in place of the handshake response; the greeting,
  // or nullopt when the connection failed. start_tls() is the next step.
  std::optional<raw_packet> request_tls();
  // The TLS handshake over the connection (blocking, bounded by `timeout`), trusting `ca_file`
  // (any certificate when empty); false with tls_error() saying why. Every later send and read
  // goes over TLS.
  bool start_tls(const std::string& ca_file = "",
                 std::chrono::milliseconds timeout = std::chrono::seconds(10));
  std::string tls_error() const { return tls_error_; }
  // The serial number of the server's certificate (hex digits), once TLS started.
  std::string peer_certificate_serial() const;
  // Answers the AuthSwitchRequest `request` with a mysql_native_password token of `password`;
  // the server's next packet, or nullopt.
  std::optional<raw_packet> answer_auth_switch(const raw_packet& request,
                                               const std::string& password);
  // COM_QUERY and its whole text result set, or the ERR (as an error packet) it got.
  struct query_answer {
    std::optional<raw_packet> error;
    std::vector<protocol::text_row> rows;
  };
  query_answer query(const std::string& sql);
  // The greeting's connection id and scramble (after login()).
  std::uint32_t connection_id() const { return connection_id_; }

 private:
  bool read_exact(std::uint8_t* out, std::size_t n, std::chrono::steady_clock::time_point deadline);
  // One recv (or SSL_read): bytes read, 0 at the end of stream, -1 on an error; waits at most
  // until `deadline` for bytes to come (-2 when it passed).
  long receive_some(std::uint8_t* out, std::size_t n,
                    std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::uint32_t connection_id_ = 0;
  std::uint8_t greeting_sequence_id_ = 0;
  std::string scramble_;
  ssl_ctx_st* tls_context_ = nullptr;
  ssl_st* tls_ = nullptr;
  std::string tls_error_;
};

}  // namespace sluice::test
