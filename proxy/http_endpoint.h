// sluice's HTTP side: /metrics for Prometheus, /ready and /live for orchestrators. It runs on a
// thread of its own and reads only thread-safe state (metrics, atomics), so a scrape never waits
// on the event loop and keeps working while sluice drains.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "proxy/asio_types.h"
#include "proxy/config.h"

namespace prometheus {
class Registry;
}

namespace sluice::proxy {

// Written by the event loop, read by the HTTP thread.
struct health_state {
  std::atomic<bool> ready{false};                  // a backend connection exists or was just made
  std::atomic<std::int64_t> loop_heartbeat_ms{0};  // steady clock, updated as the loop turns

  static std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  // The loop is alive when it turned within this much time.
  static constexpr std::int64_t live_within_ms = 2000;
  bool live() const { return now_ms() - loop_heartbeat_ms.load() < live_within_ms; }
};

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

 private:
  awaitable<void> accept_loop();
  awaitable<void> serve(tcp::socket socket);
  std::string respond(std::string_view path) const;

  endpoint listen_;
  std::shared_ptr<prometheus::Registry> registry_;
  const health_state& health_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::size_t connections_ = 0;
  std::thread thread_;
};

}  // namespace sluice::proxy
