// TLS with OpenSSL on memory, its ciphertext moved by socket_io.
#include "proxy/tls_stream.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/ssl/error.hpp>
#include <climits>
#include <cstring>

#include "proxy/socket_io.h"

namespace sluice::proxy {
namespace {

// Room for one whole record as it comes off the wire (16 KiB of data and the cipher's
// expansion) and more: a bulk transfer takes about one read per record or two.
constexpr std::size_t input_capacity = 32 * 1024;
// Plaintext encrypted per SSL_write: the ciphertext of one relay buffer goes out in one write.
constexpr std::size_t write_chunk = 64 * 1024;

}  // namespace

// The BIO OpenSSL reads ciphertext from and writes ciphertext to: the stream's two buffers.
struct tls_stream_bio {
  static int write(BIO* bio, const char* data, int size) {
    auto* self = static_cast<tls_stream*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    try {
      self->out_.insert(self->out_.end(), data, data + size);
    } catch (...) {  // no exception may cross OpenSSL's C frames
      return -1;
    }
    return size;
  }

  static int read(BIO* bio, char* out, int size) {
    auto* self = static_cast<tls_stream*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    const std::size_t have = self->in_end_ - self->in_begin_;
    if (have == 0) {
      BIO_set_retry_read(bio);  // the stream reads the socket, then OpenSSL asks again
      return -1;
    }
    const std::size_t n = std::min(have, static_cast<std::size_t>(size));
    std::memcpy(out, self->in_.data() + self->in_begin_, n);
    self->in_begin_ += n;
    return static_cast<int>(n);
  }

  static long control(BIO*, int command, long, void*) {
    return command == BIO_CTRL_FLUSH ? 1 : 0;  // nothing to flush: the stream writes out_
  }

  static int create(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
  }

  static BIO_METHOD* method() {
    static BIO_METHOD* const made = [] {
      BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sluice tls_stream");
      BIO_meth_set_write(m, write);
      BIO_meth_set_read(m, read);
      BIO_meth_set_ctrl(m, control);
      BIO_meth_set_create(m, create);
      return m;
    }();
    return made;
  }
};

tls_stream::tls_stream(SSL* ssl) : ssl_(ssl) {
  BIO* bio = BIO_new(tls_stream_bio::method());
  BIO_set_data(bio, this);
  SSL_set_bio(ssl_, bio, bio);  // one BIO both ways: SSL takes its one reference
}

tls_stream::~tls_stream() {
  SSL_free(ssl_);
}

void tls_stream::add_received(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return;
  in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(in_begin_));
  in_.resize(in_end_ - in_begin_);
  in_.insert(in_.end(), bytes.begin(), bytes.end());
  in_begin_ = 0;
  in_end_ = in_.size();
}

error_code tls_stream::failed(int ssl_result) {
  const int kind = SSL_get_error(ssl_, ssl_result);
  const unsigned long first = ERR_peek_error();
  if (kind == SSL_ERROR_SSL && first != 0) {
    const char* reason = ERR_reason_error_string(first);
    failure_ = reason ? reason : "TLS error";
  } else if (kind == SSL_ERROR_ZERO_RETURN) {
    failure_ = "the peer ended TLS";
  } else {
    failure_ = "TLS error (kind " + std::to_string(kind) + ")";
  }
  // The certificate check's own words ("hostname mismatch", "certificate has expired", ...).
  const long verified = SSL_get_verify_result(ssl_);
  if (verified != X509_V_OK)
    failure_ += std::string(": ") + X509_verify_cert_error_string(verified);
  ERR_clear_error();
  return error_code(static_cast<int>(ERR_GET_REASON(first)), asio::error::get_ssl_category());
}

awaitable<error_code> tls_stream::receive(tcp::socket& socket) {
  if (in_begin_ == in_end_) in_begin_ = in_end_ = 0;
  if (in_.size() < input_capacity) in_.resize(input_capacity);
  if (in_end_ == in_.size()) {
    std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
    in_end_ -= in_begin_;
    in_begin_ = 0;
  }
  const std::span<std::uint8_t> space(in_.data() + in_end_, in_.size() - in_end_);
  auto [ec, n] = co_await proxy::read_some(socket, space);
  if (ec) co_return ec;
  in_end_ += n;
  co_return error_code{};
}

awaitable<error_code> tls_stream::flush(tcp::socket& socket, peer_wait* stalled) {
  const std::span<const std::uint8_t> pending(out_);
  const error_code ec = co_await proxy::write_all(socket, pending, stalled);
  out_.clear();
  co_return ec;
}

awaitable<error_code> tls_stream::handshake(tcp::socket& socket) {
  for (;;) {
    ERR_clear_error();
    const int result = SSL_do_handshake(ssl_);
    const int kind = result == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl_, result);
    error_code failure;
    if (kind != SSL_ERROR_NONE && kind != SSL_ERROR_WANT_READ) failure = failed(result);
    // The handshake's records go out first, and so does the alert that tells the peer why it
    // failed.
    if (!out_.empty()) {
      const error_code sent = co_await flush(socket, nullptr);
      if (sent && !failure) {
        failure_ = "sending the handshake: " + sent.message();
        co_return sent;
      }
    }
    if (failure) co_return failure;
    if (kind == SSL_ERROR_NONE) co_return error_code{};
    if (const error_code got = co_await receive(socket)) {
      failure_ = got == asio::error::eof ? "the peer closed the connection during the handshake"
                                         : "reading the handshake: " + got.message();
      co_return got;
    }
  }
}

awaitable<error_code> tls_stream::write_all(tcp::socket& socket,
                                            std::span<const std::uint8_t> bytes,
                                            peer_wait* stalled) {
  while (!bytes.empty()) {
    const std::size_t chunk = std::min(bytes.size(), write_chunk);
    ERR_clear_error();
    const int n = SSL_write(ssl_, bytes.data(), static_cast<int>(chunk));
    if (n <= 0) co_return failed(n);
    bytes = bytes.subspan(static_cast<std::size_t>(n));
    if (const error_code ec = co_await flush(socket, stalled)) co_return ec;
  }
  co_return error_code{};
}

awaitable<std::pair<error_code, std::size_t>> tls_stream::read_some(
    tcp::socket& socket, std::span<std::uint8_t> buffer) {
  const int want = static_cast<int>(std::min<std::size_t>(buffer.size(), INT_MAX));
  for (;;) {
    ERR_clear_error();
    const int n = SSL_read(ssl_, buffer.data(), want);
    const int kind = n > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl_, n);
    error_code failure;
    if (kind == SSL_ERROR_ZERO_RETURN) {
      failure = asio::error::eof;  // close_notify: the peer is done, like a FIN
    } else if (kind != SSL_ERROR_NONE && kind != SSL_ERROR_WANT_READ) {
      failure = failed(n);
    }
    // Reading can produce records of its own (a TLS 1.3 KeyUpdate answer, a session ticket
    // acknowledgement): they go out before anything else does.
    if (!out_.empty()) {
      const error_code sent = co_await flush(socket, nullptr);
      if (sent && !failure) failure = sent;
    }
    if (failure) co_return std::pair{failure, std::size_t{0}};
    if (kind == SSL_ERROR_NONE) co_return std::pair{error_code{}, static_cast<std::size_t>(n)};
    if (const error_code got = co_await receive(socket)) co_return std::pair{got, std::size_t{0}};
  }
}

bool tls_stream::has_buffered_input() const noexcept {
  return in_begin_ != in_end_ || SSL_pending(ssl_) > 0;
}

void tls_stream::release_buffers() noexcept {
  if (in_begin_ == in_end_) {
    std::vector<std::uint8_t>().swap(in_);
    in_begin_ = in_end_ = 0;
  }
  if (out_.empty()) std::vector<std::uint8_t>().swap(out_);
  SSL_free_buffers(ssl_);  // OpenSSL's own record buffers; refused while they hold data
}

void tls_stream::send_now(tcp::socket& socket, std::span<const std::uint8_t> bytes) noexcept {
  ERR_clear_error();
  if (SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size())) > 0 && !out_.empty()) {
    [[maybe_unused]] const auto sent =
        ::send(socket.native_handle(), out_.data(), out_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  }
  ERR_clear_error();
  out_.clear();
}

}  // namespace sluice::proxy
