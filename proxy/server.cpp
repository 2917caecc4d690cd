// Accept loop and graceful drain.
#include "proxy/server.h"

#include "proxy/client_session.h"
#include "proxy/log.h"

namespace sluice::proxy {
namespace {

backend_login login_of(const config& c) {
  return {c.backend, c.backend_user, c.backend_password, c.connect_timeout};
}

}  // namespace

server::server(asio::io_context& io, config settings)
    : io_(io),
      settings_(std::move(settings)),
      pool_(io.get_executor(), "default", login_of(settings_), settings_.pool),
      acceptor_(io) {
  context_.settings = &settings_;
  context_.pool = &pool_;
}

void server::start() {
  const tcp::endpoint endpoint(asio::ip::make_address(settings_.listen.host),
                               settings_.listen.port);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  pool_.start();
  asio::co_spawn(io_, accept_loop(), asio::detached);
  log(log_level::info, "", "listening on ", settings_.listen.host, ":", settings_.listen.port,
      " backend=", settings_.backend.host, ":", settings_.backend.port,
      " max_connections=", settings_.pool.max_connections,
      " pool_mode=", settings_.pool_mode == pool_mode::transaction ? "transaction" : "session");
}

awaitable<void> server::accept_loop() {
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

void server::drain(std::function<void()> on_drained) {
  if (context_.draining) return;
  context_.draining = true;
  log(log_level::info, "", "drain started clients=", context_.sessions.size(),
      " timeout_ms=", settings_.shutdown_timeout.count());
  error_code ignored;
  acceptor_.close(ignored);
  for (client_session* s : context_.sessions) s->close_if_idle();
  asio::co_spawn(io_, wait_for_drain(std::move(on_drained)), asio::detached);
}

awaitable<void> server::wait_for_drain(std::function<void()> on_drained) {
  const auto deadline = pool::clock::now() + settings_.shutdown_timeout;
  asio::steady_timer tick(io_);
  while (!context_.sessions.empty() && pool::clock::now() < deadline) {
    for (client_session* s : context_.sessions) s->close_if_idle();
    tick.expires_after(std::chrono::milliseconds(20));
    co_await tick.async_wait(use_nothrow);
  }
  if (!context_.sessions.empty()) {
    log(log_level::warn, "", "drain timeout: closing ", context_.sessions.size(), " clients");
    for (client_session* s : context_.sessions) s->force_close();
    while (!context_.sessions.empty()) {
      tick.expires_after(std::chrono::milliseconds(10));
      co_await tick.async_wait(use_nothrow);
    }
  }
  pool_.shutdown();
  log(log_level::info, "", "drain finished");
  on_drained();
}

}  // namespace sluice::proxy
