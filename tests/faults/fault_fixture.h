// GoogleTest fixture of the fault tests: sluice in front of MariaDB under the bank-transfer load,
// one fault injected by the test, then the same checks and one report line for every fault.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tests/faults/bank.h"
#include "tests/faults/transfer_load.h"
#include "tests/support/fixtures.h"

namespace sluice::test {

// What a fault may legitimately cost the clients, besides what any run may see (1213 deadlock
// and 1205 lock wait timeout, which a direct client of MariaDB sees too).
struct fault_allowance {
  std::string fault;                    // the name in the report line
  std::set<unsigned> statement_errors;  // errors of BEGIN, UPDATE, INSERT or COMMIT
  std::set<unsigned> login_errors;      // errors of a client's login to sluice
  // The fault may only fail a transfer's first statement (BEGIN): it promises that a
  // transaction already open finishes (a drain, a reload).
  bool open_transactions_finish = false;
};

class fault_test : public integration_test {
 protected:
  static constexpr int backend_cap = 8;
  static constexpr int client_count = 64;

  void SetUp() override;
  void TearDown() override;

  // Starts sluice (transaction pooling, cap 8) with `overrides`; the clients reach it.
  void start_proxy(const config_overrides& overrides = {});
  // Starts another sluice with `config`; from now on it is the one the checks look at (a
  // restart after a crash, or the successor of a draining sluice).
  sluice_process& start_successor(const sluice_config& config);
  sluice_process& proxy() { return *proxies_.back(); }
  sluice_config& config() { return config_; }

  // Starts the 64 clients and waits until transfers flow (the pool is at its cap).
  void start_load();
  // The fault is over (the backend or sluice is back): measures from now how long until a new
  // client gets SELECT 1 through sluice.
  void fault_over();
  // Lets the load run on, stops it, waits for the pool to settle, audits the ledger, prints the
  // report line and checks everything against `allowance`.
  void finish(const fault_allowance& allowance);

  // The thread ids of the backend account's connections on MariaDB, and of the backend
  // connections sluice's admin port lists (SHOW SERVERS).
  std::set<std::string> backend_threads_on_server();
  std::set<std::string> backend_threads_in_sluice();
  // What sluice's pool counts (SHOW POOLS: sv_active + sv_idle + sv_opening).
  int backends_counted_by_pool();

  std::uint64_t seed() const { return seed_; }

 private:
  bank_shape bank_;
  std::uint64_t seed_ = 0;
  sluice_config config_;
  std::vector<std::unique_ptr<sluice_process>> proxies_;
  std::unique_ptr<transfer_load> load_;
  steady_clock::time_point load_started_;
  std::optional<steady_clock::time_point> over_at_;
  std::size_t acknowledged_when_over_ = 0;
  long long recovery_ms_ = -1;
};

}  // namespace sluice::test
