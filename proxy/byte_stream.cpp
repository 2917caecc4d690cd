// The TLS upgrade of a byte stream and its waits.
#include "proxy/byte_stream.h"

#include <sys/socket.h>

namespace sluice::proxy {

awaitable<error_code> byte_stream::start_tls(SSL* ssl, std::span<const std::uint8_t> received) {
  tls_ = std::make_unique<tls_stream>(ssl);
  tls_->add_received(received);
  co_return co_await tls_->handshake(socket_);
}

void byte_stream::send_now(std::span<const std::uint8_t> bytes) noexcept {
  if (!socket_.is_open()) return;
  if (tls_) {
    tls_->send_now(socket_, bytes);
    return;
  }
  [[maybe_unused]] const auto sent =
      ::send(socket_.native_handle(), bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
}

awaitable<error_code> wait_readable_tls(byte_stream& stream) {
  tls_stream* tls = stream.tls();
  if (tls->has_buffered_input()) co_return error_code{};
  tls->release_buffers();
  co_return co_await wait_readable(stream.socket());
}

}  // namespace sluice::proxy
