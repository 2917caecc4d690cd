// The running daemon, which wires the layers together: the client listener and sessions (proxy),
// the backend pool, the admin port and the HTTP endpoint (admin), the upkeep round; and which
// reloads the configuration and drains on a signal.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "admin/admin_commands.h"
#include "admin/admin_server.h"
#include "admin/http_endpoint.h"
#include "config/config.h"
#include "metrics/sluice_metrics.h"
#include "proxy/account_directory.h"
#include "proxy/asio_types.h"
#include "proxy/backend_pool.h"
#include "proxy/health.h"
#include "proxy/listener.h"
#include "proxy/proxy_context.h"
#include "proxy/tls_context.h"
#include "proxy/upkeep.h"

namespace sluice {

class daemon {
 public:
  // `on_stopped` runs once everything is closed after a drain (main stops waiting for signals).
  daemon(asio::io_context& io, config settings, std::string config_path,
         std::function<void()> on_stopped);
  ~daemon();
  // Binds the listeners (throws on failure: a start-up error) and starts serving.
  void start();
  // Stop accepting, let running statements and open transactions finish within `timeout`, then
  // close everything.
  void drain(std::chrono::milliseconds timeout);
  void drain() { drain(settings_.shutdown_timeout); }
  // Re-reads the configuration file; a bad file is refused and the old settings stay.
  // Returns an error text, or empty on success.
  std::string reload();
  // Applies changed settings; restart-only keys keep their running values (and a warning says so).
  void apply(const config& next);

 private:
  awaitable<void> wait_for_drain(std::chrono::milliseconds timeout);
  void schedule_upkeep();
  void apply_shares();
  // Builds the TLS contexts from `next` (the certificate files are read again); a side whose
  // files do not load keeps its running context, and `next` keeps that side's running settings.
  void apply_tls(config& next);

  asio::io_context& io_;
  config settings_;
  std::string config_path_;
  std::function<void()> on_stopped_;
  metrics::sluice_metrics metrics_;
  proxy::tls_contexts tls_;  // before pool_: its logins point at it
  proxy::backend_pool pool_;
  // [auth] mode server: the server's accounts (absent in mode config).
  std::unique_ptr<proxy::account_directory> accounts_;
  proxy::health_state health_;
  proxy::proxy_context context_;
  proxy::listener listener_;
  proxy::upkeep upkeep_;
  std::unique_ptr<admin::http_endpoint> http_;
  admin::admin_commands commands_;
  std::unique_ptr<admin::admin_server> admin_;
  asio::steady_timer upkeep_timer_;
};

}  // namespace sluice
