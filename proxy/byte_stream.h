// A connection's bytes: the TCP socket itself, or TLS over it once a handshake upgraded it. The
// choice is one `if` per operation and no call in between: for a plaintext stream, write_all,
// read_some and wait_readable below return socket_io's own awaitables for the socket, so the
// forwarding path costs exactly what it cost before TLS existed (no virtual call, no extra
// coroutine frame, no allocation, no system call).
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <span>
#include <utility>

#include "proxy/asio_types.h"
#include "proxy/peer_wait.h"
#include "proxy/socket_io.h"
#include "proxy/tls_stream.h"

namespace sluice::proxy {

class byte_stream {
 public:
  explicit byte_stream(tcp::socket socket) : socket_(std::move(socket)) {}

  // The TCP socket under the stream: for peeks that only look for an end of stream, cancel,
  // close and addresses. Never for the connection's bytes once it is encrypted.
  tcp::socket& socket() noexcept { return socket_; }
  const tcp::socket& socket() const noexcept { return socket_; }
  bool encrypted() const noexcept { return tls_ != nullptr; }
  tls_stream* tls() noexcept { return tls_.get(); }
  const tls_stream* tls() const noexcept { return tls_.get(); }

  // Upgrades to TLS with `ssl` (SSL_new of a context, in accept or connect state) and runs the
  // handshake. `received`: bytes already read that belong to TLS (see tls_stream::add_received).
  // On failure the stream stays unusable and tls()->failure() says why.
  awaitable<error_code> start_tls(SSL* ssl, std::span<const std::uint8_t> received = {});

  // Best effort and never waits: the bytes go out now if the socket takes them (encrypted if
  // the stream is), else they are dropped.
  void send_now(std::span<const std::uint8_t> bytes) noexcept;

  bool is_open() const noexcept { return socket_.is_open(); }
  void close() noexcept {
    error_code ignored;
    socket_.close(ignored);
  }

 private:
  tcp::socket socket_;
  std::unique_ptr<tls_stream> tls_;
};

inline awaitable<error_code> write_all(byte_stream& stream, std::span<const std::uint8_t> bytes,
                                       peer_wait* stalled = nullptr) {
  if (tls_stream* tls = stream.tls()) return tls->write_all(stream.socket(), bytes, stalled);
  return write_all(stream.socket(), bytes, stalled);
}

inline awaitable<std::pair<error_code, std::size_t>> read_some(byte_stream& stream,
                                                               std::span<std::uint8_t> buffer) {
  if (tls_stream* tls = stream.tls()) return tls->read_some(stream.socket(), buffer);
  return read_some(stream.socket(), buffer);
}

// Waits until the stream has bytes to read, taking none. TLS: at once when some are buffered
// above the socket, else the stream's empty buffers are given back for the wait.
awaitable<error_code> wait_readable_tls(byte_stream& stream);
inline awaitable<error_code> wait_readable(byte_stream& stream) {
  if (stream.encrypted()) return wait_readable_tls(stream);
  return wait_readable(stream.socket());
}

}  // namespace sluice::proxy
