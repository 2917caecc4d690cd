// The listening side of sluice: accepts clients, owns the pool, and drains on SIGTERM/SIGINT.
#pragma once

#include <functional>
#include <memory>

#include "proxy/asio_types.h"
#include "proxy/backend_pool.h"
#include "proxy/config.h"
#include "proxy/server_context.h"

namespace sluice::proxy {

class server {
 public:
  server(asio::io_context& io, config settings);
  // Binds the listener (throws on failure: a start-up error) and starts accepting.
  void start();
  // Stop accepting, let running statements and open transactions finish within
  // shutdown_timeout, then close everything. The io_context runs out of work afterwards.
  void drain(std::function<void()> on_drained);

 private:
  awaitable<void> accept_loop();
  awaitable<void> wait_for_drain(std::function<void()> on_drained);

  asio::io_context& io_;
  config settings_;
  backend_pool pool_;
  server_context context_;
  tcp::acceptor acceptor_;
};

}  // namespace sluice::proxy
