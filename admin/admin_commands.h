// What each admin command does: SHOW tables, SET of runtime limits, PAUSE/RESUME, KILL CLIENT,
// RELOAD, SHUTDOWN. Answers are text (or JSON) without the closing empty line.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "admin/admin_format.h"
#include "config/config.h"
#include "proxy/proxy_context.h"

namespace sluice::admin {

// What admin commands may ask of the daemon that runs them.
struct daemon_control {
  std::function<std::string()> reload;  // the error, or empty when the new file is in force
  // Stops accepting and drains within `timeout` (nullopt: [sluice] shutdown_timeout).
  std::function<void(std::optional<std::chrono::milliseconds> timeout)> drain;
  std::function<void(const config& next)> apply;  // runtime settings changed by SET
};

class admin_commands {
 public:
  admin_commands(proxy::proxy_context& context, daemon_control control)
      : context_(context), control_(std::move(control)) {}
  std::string run(const admin_command& cmd);
  // Called about every 250 ms: keeps the samples SHOW STATS computes its rates from.
  void sample();

 private:
  std::string show(const admin_table& table, bool json) const;
  admin_table pools() const;
  admin_table clients() const;
  admin_table servers() const;
  admin_table stats() const;
  admin_table limits() const;
  admin_table settings_table() const;
  std::string set(const admin_command& cmd);
  std::string kill_client(const admin_command& cmd);
  std::map<std::string, double> totals() const;

  proxy::proxy_context& context_;
  daemon_control control_;
  struct stats_sample {
    std::chrono::steady_clock::time_point at;
    std::map<std::string, double> values;
  };
  std::deque<stats_sample> samples_;  // the last ~10 s
};

}  // namespace sluice::admin
