// What each admin command does: SHOW tables, SET of runtime limits, PAUSE/RESUME, KILL CLIENT,
// RELOAD, SHUTDOWN. Answers are text (or JSON) without the closing empty line.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <string>

#include "proxy/admin_format.h"

namespace sluice::proxy {

class server;

class admin_commands {
 public:
  explicit admin_commands(server& s) : server_(s) {}
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

  server& server_;
  struct stats_sample {
    std::chrono::steady_clock::time_point at;
    std::map<std::string, double> values;
  };
  std::deque<stats_sample> samples_;  // the last ~10 s
};

}  // namespace sluice::proxy
