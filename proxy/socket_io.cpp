// Direct non-blocking socket I/O with reactor waits as the fallback.
#include "proxy/socket_io.h"

#include <sys/socket.h>

namespace sluice::proxy {
namespace {

bool would_block(const error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

}  // namespace

void listen_on(tcp::acceptor& acceptor, const endpoint& where, bool reuse_port) {
  const tcp::endpoint endpoint(asio::ip::make_address(where.host), where.port);
  acceptor.open(endpoint.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  if (reuse_port) {
    using reuse_port_option = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
    acceptor.set_option(reuse_port_option(true));
  }
  acceptor.bind(endpoint);
  acceptor.listen(asio::socket_base::max_listen_connections);
}

void prepare_socket(tcp::socket& socket) {
  error_code ignored;
  socket.non_blocking(true, ignored);
  socket.set_option(tcp::no_delay(true), ignored);
}

awaitable<error_code> write_all(tcp::socket& socket, std::span<const std::uint8_t> bytes,
                                peer_wait* stalled) {
  while (!bytes.empty()) {
    error_code ec;
    const std::size_t n = socket.write_some(asio::buffer(bytes.data(), bytes.size()), ec);
    if (would_block(ec)) {
      if (stalled) stalled->begin();
      auto [wait_ec] = co_await socket.async_wait(tcp::socket::wait_write, use_nothrow);
      if (wait_ec) {
        if (stalled) stalled->end();
        co_return wait_ec;
      }
      continue;
    }
    if (ec) {
      if (stalled) stalled->end();
      co_return ec;
    }
    // Progress: a client that reads slowly but steadily is not stalled.
    if (stalled && n > 0) stalled->end();
    bytes = bytes.subspan(n);
  }
  if (stalled) stalled->end();
  co_return error_code{};
}

awaitable<std::pair<error_code, std::size_t>> read_some(tcp::socket& socket,
                                                        std::span<std::uint8_t> buffer) {
  // async_read_some may read at once when the reactor saw the socket become readable, and
  // otherwise queues without re-arming epoll (unlike async_wait, which always does).
  auto [ec, n] =
      co_await socket.async_read_some(asio::buffer(buffer.data(), buffer.size()), use_nothrow);
  co_return std::pair{ec, n};
}

awaitable<error_code> wait_readable(tcp::socket& socket) {
  std::uint8_t byte = 0;
  auto [ec, n] =
      co_await socket.async_receive(asio::buffer(&byte, 1), tcp::socket::message_peek, use_nothrow);
  if (!ec && n == 0) ec = asio::error::eof;
  co_return ec;
}

}  // namespace sluice::proxy
