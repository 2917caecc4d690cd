// TLS over one non-blocking TCP socket. OpenSSL encrypts and decrypts in memory (a BIO of ours
// that appends to and takes from two buffers), and the ciphertext moves through socket_io's
// direct reads and writes: TLS adds no reactor work of its own, a stalled peer shows in the same
// peer_wait marks the upkeep round reads, and what is buffered is always known (a pipelining
// client's next command may sit here rather than in the kernel).
//
// One operation at a time, as every sluice connection is used: a read and a write never run at
// once on the same stream.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "proxy/asio_types.h"
#include "proxy/peer_wait.h"

namespace sluice::proxy {

class tls_stream {
 public:
  // Takes `ssl` (SSL_new on a context, its accept or connect state already set) and owns it.
  explicit tls_stream(SSL* ssl);
  ~tls_stream();
  tls_stream(const tls_stream&) = delete;
  tls_stream& operator=(const tls_stream&) = delete;

  // Bytes of the TLS stream that arrived before TLS started, read together with the plaintext
  // before it (a client's ClientHello right behind its SSLRequest).
  void add_received(std::span<const std::uint8_t> bytes);

  // The TLS handshake; on failure, failure() says why in words fit for a log line.
  awaitable<error_code> handshake(tcp::socket& socket);
  // As socket_io's write_all: every byte, `stalled` marked while the peer does not read.
  awaitable<error_code> write_all(tcp::socket& socket, std::span<const std::uint8_t> bytes,
                                  peer_wait* stalled);
  // As socket_io's read_some: at least one byte of plaintext, or an error (a close_notify and a
  // bare end of stream are both asio::error::eof).
  awaitable<std::pair<error_code, std::size_t>> read_some(tcp::socket& socket,
                                                          std::span<std::uint8_t> buffer);

  // Received bytes not handed out yet, as ciphertext or as decrypted plaintext: a wait on the
  // socket would not see them.
  bool has_buffered_input() const noexcept;
  // Frees the ciphertext buffers and OpenSSL's record buffers while nothing is in them (an idle
  // client); they come back with the next read or write.
  void release_buffers() noexcept;
  // Encrypts and sends `bytes` at once if the socket takes them, else drops them; never waits
  // (COM_QUIT to a backend that is being closed).
  void send_now(tcp::socket& socket, std::span<const std::uint8_t> bytes) noexcept;

  SSL* native() noexcept { return ssl_; }
  const SSL* native() const noexcept { return ssl_; }
  // Why the last operation failed: OpenSSL's reason, and the certificate check's when it failed.
  const std::string& failure() const noexcept { return failure_; }

 private:
  friend struct tls_stream_bio;

  awaitable<error_code> receive(tcp::socket& socket);
  awaitable<error_code> flush(tcp::socket& socket, peer_wait* stalled);
  error_code failed(int ssl_result);

  SSL* ssl_;
  std::vector<std::uint8_t> in_;  // ciphertext received: [in_begin_, in_end_) not yet decrypted
  std::size_t in_begin_ = 0;
  std::size_t in_end_ = 0;
  std::vector<std::uint8_t> out_;  // ciphertext OpenSSL produced, not yet written
  std::string failure_;
};

}  // namespace sluice::proxy
