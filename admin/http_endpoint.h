// sluice's HTTP side: /metrics for Prometheus, /ready and /live for orchestrators. It runs on a
// thread of its own and reads only thread-safe state (metrics, atomics), so a scrape never waits
// on the event loop and keeps working while sluice drains. Probes must get through a flood of
// silent or slow connections: each connection has short deadlines, and when every slot is taken a
// new connection closes the oldest one.
#pragma once

#include <chrono>
#include <list>
#include <memory>
#include <string>
#include <thread>

#include "config/config.h"
#include "proxy/asio_types.h"
#include "proxy/health.h"

namespace prometheus {
class Registry;
}

namespace sluice::admin {

using proxy::health_state;

class http_endpoint {
 public:
  http_endpoint(endpoint listen, std::shared_ptr<prometheus::Registry> registry,
                const health_state& health);
  ~http_endpoint();
  http_endpoint(const http_endpoint&) = delete;
  http_endpoint& operator=(const http_endpoint&) = delete;

  // Binds (throws on failure: a start-up error) and starts the thread.
  void start();

  static constexpr std::size_t max_request = 8192;
  static constexpr std::size_t max_connections = 32;
  // A request must arrive within this, and its answer be taken within the second.
  static constexpr auto request_timeout = std::chrono::seconds(2);
  static constexpr auto response_timeout = std::chrono::seconds(10);

 private:
  awaitable<void> accept_loop();
  awaitable<void> serve(tcp::socket socket);
  std::string respond(std::string_view path) const;

  struct slot {
    tcp::socket* socket;
    bool evicted = false;
  };

  endpoint listen_;
  std::shared_ptr<prometheus::Registry> registry_;
  const health_state& health_;
  // Before io_: destroying io_ destroys pending connection coroutines, which unregister here.
  std::list<slot*> open_;  // oldest first
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
};

}  // namespace sluice::admin
