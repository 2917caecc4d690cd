// The client listener: accepts connections and starts a session coroutine for each.
#pragma once

#include "config/config.h"
#include "proxy/asio_types.h"
#include "proxy/proxy_context.h"

namespace sluice::proxy {

class listener {
 public:
  listener(asio::io_context& io, proxy_context& context);
  // Binds (throws on failure: a start-up error) and starts accepting.
  void start(const endpoint& where, bool reuse_port);
  // Stops accepting (the drain); sessions already accepted go on.
  void stop();

 private:
  awaitable<void> accept_loop();

  asio::io_context& io_;
  proxy_context& context_;
  tcp::acceptor acceptor_;
};

}  // namespace sluice::proxy
