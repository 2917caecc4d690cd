// The running daemon: client listener, pool, Prometheus exposer, admin port, reload and drain.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "metrics/sluice_metrics.h"
#include "proxy/admin_commands.h"
#include "proxy/admin_server.h"
#include "proxy/asio_types.h"
#include "proxy/backend_pool.h"
#include "proxy/config.h"
#include "proxy/http_endpoint.h"
#include "proxy/server_context.h"

namespace sluice::proxy {

class server {
 public:
  // `on_stopped` runs once everything is closed after a drain (main stops waiting for signals).
  server(asio::io_context& io, config settings, std::string config_path,
         std::function<void()> on_stopped);
  ~server();
  // Binds the listeners (throws on failure: a start-up error) and starts serving.
  void start();
  // Stop accepting, let running statements and open transactions finish within `timeout`, then
  // close everything.
  void drain(std::chrono::milliseconds timeout);
  void drain() { drain(settings_.shutdown_timeout); }
  // Re-reads the configuration file; a bad file is refused and the old settings stay.
  // Returns an error text, or empty on success.
  std::string reload();
  // Applies changed runtime settings (limits, users, log level, pool mode).
  void apply(const config& next);

  const config& settings() const noexcept { return settings_; }
  server_context& context() noexcept { return context_; }
  backend_pool& pool() noexcept { return pool_; }
  metrics::sluice_metrics& metrics() noexcept { return metrics_; }
  bool draining() const noexcept { return context_.draining; }
  const health_state& health() const noexcept { return health_; }

 private:
  awaitable<void> accept_loop();
  awaitable<void> wait_for_drain(std::chrono::milliseconds timeout);
  void schedule_refresh();
  void refresh_gauges();
  void enforce_timeouts();
  void apply_shares();

  asio::io_context& io_;
  config settings_;
  std::string config_path_;
  std::function<void()> on_stopped_;
  metrics::sluice_metrics metrics_;
  backend_pool pool_;
  server_context context_;
  tcp::acceptor acceptor_;
  health_state health_;
  std::unique_ptr<http_endpoint> http_;
  admin_commands commands_;
  std::unique_ptr<admin_server> admin_;
  asio::steady_timer refresh_timer_;
};

}  // namespace sluice::proxy
