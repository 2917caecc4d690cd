// The client side of a session on the wire: its socket and frame reader, what it negotiated, where
// it comes from, the packets sluice answers it with itself, and the waits the upkeep round bounds
// (a client that does not send what the protocol requires, or does not read what it asked for).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "proxy/asio_types.h"
#include "proxy/byte_stream.h"
#include "proxy/errors.h"
#include "proxy/frame_reader.h"
#include "proxy/peer_wait.h"

namespace sluice::proxy {

class client_connection {
 public:
  client_connection(tcp::socket socket, frame_budget* budget);

  // The TCP socket, for end-of-stream peeks while the client waits (never for its bytes).
  tcp::socket& socket() noexcept { return stream_.socket(); }
  // Whether the client's bytes go through TLS (after an SSLRequest and a handshake).
  bool encrypted() const noexcept { return stream_.encrypted(); }
  const tls_stream* tls() const noexcept { return stream_.tls(); }
  const std::string& address() const noexcept { return address_; }  // the peer's IP
  const std::string& peer() const noexcept { return peer_; }        // IP:port
  std::uint32_t capabilities = 0;                                   // negotiated at login

  // The next command frame; between commands the client owes nothing (no deadline), but once a
  // frame began, its rest is owed (client_read_timeout).
  awaitable<error_code> next_command(frame& out, std::size_t max_payload);
  // A frame the protocol says the client must send now: an auth reply, LOCAL INFILE data
  // (client_read_timeout).
  awaitable<error_code> next_required(frame& out, std::size_t max_payload);
  // The command just read goes on in further frames (its last frame so far was 0xFFFFFF bytes).
  bool command_continues() const noexcept { return command_continues_; }
  // The command's next frame; message_size once the whole command exceeds `max_command` bytes
  // ([sluice] max_allowed_packet counts the whole command, not its first frame).
  awaitable<error_code> next_continuation(frame& out, std::size_t max_command);
  // Reads and drops the rest of a command sluice answers itself, so that none of its frames is
  // ever read as a command of its own.
  awaitable<error_code> discard_continuation(std::size_t max_command);
  // The client's answer to an authentication request (login timeout).
  awaitable<error_code> next_auth_reply(frame& out, std::size_t max_payload);
  std::size_t buffered() const noexcept { return reader_.buffered(); }
  // Gives an idle client's read buffer back until it sends again.
  bool release_buffer_while_idle() { return reader_.release_while_idle(stream_); }
  // After the client's SSLRequest: the TLS handshake with `ssl` (a new SSL in accept state),
  // taking over whatever of it was already read. On failure tls()->failure() says why.
  awaitable<error_code> start_tls(SSL* ssl);
  std::size_t buffer_capacity() const noexcept { return reader_.capacity(); }

  // Bytes to the client (a response streamed from a backend, or sluice's own packets).
  awaitable<error_code> write(std::span<const std::uint8_t> bytes);
  awaitable<bool> send_payload(std::uint8_t sequence_id, std::span<const std::uint8_t> payload);
  awaitable<bool> send_ok(std::uint8_t sequence_id, std::uint16_t status_flags);
  awaitable<bool> send_eof(std::uint8_t sequence_id, std::uint16_t status_flags);
  awaitable<bool> send_error(std::uint8_t sequence_id, const error_reply& error);

  // Waits the upkeep round bounds.
  const peer_wait& owed_read() const noexcept { return owed_read_; }
  const peer_wait& owed_write() const noexcept { return owed_write_; }
  const peer_wait& owed_auth() const noexcept { return owed_auth_; }

  void close() noexcept;
  bool is_open() const noexcept { return stream_.is_open(); }

 private:
  byte_stream stream_;
  std::string address_;
  std::string peer_;
  frame_reader reader_;
  peer_wait owed_read_;
  peer_wait owed_write_;
  peer_wait owed_auth_;
  bool command_continues_ = false;
  std::size_t command_bytes_ = 0;
  std::vector<std::uint8_t> out_;  // small packets sluice writes itself
};

}  // namespace sluice::proxy
