// Periodic maintenance of the client side (as PgBouncer's janitor.c): every round, the health
// probes' view, the gauges of clients and backends, and the timeouts and deadlines that close
// clients (login, client_read, client_write, client_idle, idle_in_transaction) or kill their
// statements (query). Checked on this round rather than with a timer per statement: nothing is
// paid on the forwarding path, and a quarter second is precision enough.
#pragma once

#include <chrono>

#include "proxy/proxy_context.h"

namespace sluice::proxy {

class upkeep {
 public:
  static constexpr auto interval = std::chrono::milliseconds(250);
  // An idle client's read buffer is given back after this long without a command.
  static constexpr auto release_buffers_after = std::chrono::seconds(1);

  explicit upkeep(proxy_context& context) : context_(context) {}
  void round();

 private:
  void refresh_health();
  void refresh_gauges();
  void enforce_timeouts();

  proxy_context& context_;
};

}  // namespace sluice::proxy
