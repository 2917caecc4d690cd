// Accepting clients.
#include "proxy/listener.h"

#include <boost/asio/io_context.hpp>

#include "proxy/client_commands.h"
#include "proxy/log.h"
#include "proxy/socket_io.h"

namespace sluice::proxy {

listener::listener(asio::io_context& io, proxy_context& context)
    : io_(io), context_(context), acceptor_(io) {}

void listener::start(const endpoint& where, bool reuse_port) {
  listen_on(acceptor_, where, reuse_port);
  asio::co_spawn(io_, accept_loop(), asio::detached);
}

void listener::stop() {
  error_code ignored;
  acceptor_.close(ignored);
}

awaitable<void> listener::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_nothrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || context_.draining) co_return;
      // Out of file descriptors and the like: log, pause briefly, keep serving.
      log(log_level::error, "", "accept failed: ", ec.message());
      asio::steady_timer pause(io_, std::chrono::milliseconds(100));
      co_await pause.async_wait(use_nothrow);
      continue;
    }
    asio::co_spawn(io_, serve_client(std::move(socket), context_), asio::detached);
  }
}

}  // namespace sluice::proxy
