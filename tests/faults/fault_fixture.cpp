// GoogleTest fixture of the fault tests: sluice in front of MariaDB under the bank-transfer load,
// one fault injected by the test, then the same checks and one report line for every fault.
#include "tests/faults/fault_fixture.h"

#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string_view>
#include <thread>

#include "tests/faults/ledger_audit.h"
#include "tests/support/admin_client.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

// Errors a client of MariaDB itself gets under this workload, fault or not.
const std::set<unsigned> always_allowed = {1213, 1205};

// The budget for serving again once the fault is over (the requirement).
constexpr long long recovery_budget_ms = 2000;

long long ms_between(steady_clock::time_point from, steady_clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

std::uint64_t pick_seed() {
  if (const char* fixed = std::getenv("SLUICE_FAULTS_SEED"); fixed != nullptr && *fixed != '\0')
    return std::strtoull(fixed, nullptr, 10);
  return std::random_device{}();
}

// A new client (its own user, so it does not queue behind the load's) runs SELECT 1.
bool select_one_works(std::uint16_t port, const std::string& user, const std::string& password) {
  client_options quick;
  quick.connect_timeout = 2s;
  quick.read_timeout = 2s;
  quick.write_timeout = 2s;
  mysql_client probe;
  if (!probe.connect("127.0.0.1", port, user, password, "", 0, quick)) return false;
  const query_result result = probe.query("SELECT 1");
  return result.ok && result.rows.size() == 1 && result.rows[0].at(0) == "1";
}

// "7003:12,7004:8", or "none".
template <typename Key>
std::string counts_text(const std::map<Key, std::size_t>& counts) {
  if (counts.empty()) return "none";
  std::ostringstream text;
  for (const auto& [key, count] : counts) {
    if (text.tellp() > 0) text << ',';
    text << key << ':' << count;
  }
  return text.str();
}

std::string cell_text(const json& cell) {
  return cell.is_string() ? cell.get<std::string>() : cell.dump();
}

}  // namespace

void fault_test::SetUp() {
  seed_ = pick_seed();
  std::cout << "[ faults ] seed=" << seed_ << " (set SLUICE_FAULTS_SEED to repeat it)" << std::endl;
  create_bank(server(), bank_);
}

void fault_test::TearDown() {
  if (load_) load_->stop();
  try {
    // A frozen or killed MariaDB would fail whatever runs next in this process.
    if (server().running()) {
      ::kill(server().pid(), SIGCONT);
    } else {
      server().start_again();
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << "could not bring MariaDB back after the test: " << e.what();
  }
  proxies_.clear();  // each sluice checks its own exit status
  integration_test::TearDown();
}

void fault_test::start_proxy(const config_overrides& overrides) {
  config_ = make_config({{"backend.max_connections", std::to_string(backend_cap)}});
  config_.apply(overrides);
  proxies_.push_back(std::make_unique<sluice_process>(config_));
}

sluice_process& fault_test::start_successor(const sluice_config& config) {
  config_ = config;
  proxies_.push_back(std::make_unique<sluice_process>(config_));
  return *proxies_.back();
}

void fault_test::start_load() {
  load_options options;
  options.port = config_.listen_port();
  options.database = mariadb_server::test_database;
  options.clients = client_count;
  options.bank = bank_;
  options.seed = seed_;
  // Long enough for a 5 s freeze plus the queue behind it; short enough that a hang fails.
  options.timeouts.connect_timeout = 5s;
  options.timeouts.read_timeout = 15s;
  options.timeouts.write_timeout = 15s;
  load_started_ = steady_clock::now();
  load_ = std::make_unique<transfer_load>(options);
  ASSERT_TRUE(load_->wait_for_acknowledged(300, 30s))
      << "the load did not get 300 transfers through within 30 s (" << load_->acknowledged() << ")";
  // The fault should hit a full pool.
  EXPECT_TRUE(
      wait_until([&] { return server().count_backend_connections() == backend_cap; }, 5s, 50ms))
      << "the pool never reached its cap of " << backend_cap << " under the load ("
      << server().count_backend_connections() << " backend connections)";
  std::this_thread::sleep_until(load_started_ + 1s);
}

void fault_test::fault_over() {
  const auto now = steady_clock::now();
  over_at_ = now;
  acknowledged_when_over_ = load_ ? load_->acknowledged() : 0;
  const auto port = config_.listen_port();
  recovery_ms_ = -1;
  while (ms_between(now, steady_clock::now()) < 15'000) {
    if (select_one_works(port, "other", "other-pw")) {
      recovery_ms_ = ms_between(now, steady_clock::now());
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
}

std::set<std::string> fault_test::backend_threads_on_server() {
  std::set<std::string> ids;
  for (const auto& row :
       server().query(std::string("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = '") +
                      mariadb_server::backend_user + "'"))
    ids.insert(row.at(0));
  return ids;
}

std::set<std::string> fault_test::backend_threads_in_sluice() {
  admin_client admin(config_.listen_port("admin"));
  std::set<std::string> ids;
  for (const auto& backend : json::parse(admin.command("SHOW SERVERS FORMAT JSON")))
    ids.insert(cell_text(backend.at("server_thread_id")));
  return ids;
}

int fault_test::backends_counted_by_pool() {
  admin_client admin(config_.listen_port("admin"));
  const json pool = json::parse(admin.command("SHOW POOLS FORMAT JSON")).at(0);
  return pool.at("sv_active").get<int>() + pool.at("sv_idle").get<int>() +
         pool.at("sv_opening").get<int>();
}

void fault_test::finish(const fault_allowance& allowance) {
  ASSERT_TRUE(load_) << "the test never started the load";
  ASSERT_TRUE(over_at_) << "the test never said when the fault was over";
  // Transfers must flow again after the fault: give them a little over a second.
  std::this_thread::sleep_until(std::max(*over_at_ + 2s, steady_clock::now() + 1s));
  const std::size_t acknowledged_after = load_->acknowledged() - acknowledged_when_over_;
  load_->stop();
  const long long run_ms = ms_between(load_started_, steady_clock::now());

  // Every client has left: what MariaDB has open must be exactly the connections sluice lists,
  // and as many as its pool counts, within the cap.
  const int cap = std::stoi(config_.get("backend", "max_connections"));
  std::set<std::string> on_server;
  std::set<std::string> in_sluice;
  int in_pool = -1;
  std::string admin_error;
  const bool settled = wait_until(
      [&] {
        try {
          on_server = backend_threads_on_server();
          in_sluice = backend_threads_in_sluice();
          in_pool = backends_counted_by_pool();
        } catch (const std::exception& e) {
          admin_error = e.what();
          return false;
        }
        return on_server == in_sluice && static_cast<int>(in_sluice.size()) == in_pool &&
               in_pool <= cap;
      },
      15s, 100ms);

  const std::vector<transfer_record> transfers = load_->transfers();
  const ledger_audit audit = audit_ledger(server(), bank_, transfers);

  std::map<unsigned, std::size_t> errors;
  std::map<unsigned, std::size_t> commit_errors;
  std::map<std::string, std::size_t> stages;  // where the fault's errors struck
  std::size_t inside_transactions = 0;
  long long first_commit_ms = -1;
  std::size_t abandoned = 0;
  for (const auto& t : transfers) {
    if (std::string_view(t.stage) == "abandoned") ++abandoned;
    if (t.outcome == transfer_outcome::acknowledged) {
      const long long ms = ms_between(*over_at_, t.ended_at);
      if (ms >= 0 && (first_commit_ms < 0 || ms < first_commit_ms)) first_commit_ms = ms;
      continue;
    }
    if (t.error_code == 0) continue;  // a wrong row count, counted by the audit
    ++errors[t.error_code];
    if (t.outcome == transfer_outcome::unknown) ++commit_errors[t.error_code];
    if (always_allowed.contains(t.error_code)) continue;
    ++stages[t.stage];
    if (std::string_view(t.stage) != "begin") ++inside_transactions;
  }
  const auto login_errors = load_->connect_errors();

  const bool alive = proxy().running();
  const bool serves = alive && select_one_works(config_.listen_port(), "app", "app-pw");

  std::ostringstream line;
  line << "fault=" << allowance.fault << " seed=" << seed_ << " acknowledged=" << audit.acknowledged
       << " lost=" << audit.lost << " duplicated=" << audit.duplicated
       << " unknown=" << audit.unknown << " unknown_applied=" << audit.unknown_applied
       << " failed=" << audit.failed << " abandoned=" << abandoned << " phantom=" << audit.phantom
       << " accounts_off=" << audit.accounts_off << " total=" << audit.total_balance << "/"
       << audit.expected_total << " errors=" << counts_text(errors)
       << " commit_errors=" << counts_text(commit_errors)
       << " fault_error_stages=" << counts_text(stages)
       << " login_errors=" << counts_text(login_errors) << " recovery_ms=" << recovery_ms_
       << " first_commit_ms=" << first_commit_ms << " acknowledged_after=" << acknowledged_after
       << " backends_server=" << on_server.size() << " backends_sluice=" << in_sluice.size()
       << " backends_pool=" << in_pool << " cap=" << cap << " run_ms=" << run_ms;
  std::cout << "[ faults ] " << line.str() << std::endl;
  auto statement_messages = load_->statement_messages();
  auto login_messages = load_->login_messages();
  for (const auto& [code, message] : statement_messages)
    std::cout << "[ faults ]   " << code << " at " << message << std::endl;
  for (const auto& [code, message] : login_messages)
    std::cout << "[ faults ]   " << code << " at login: " << message << std::endl;
  for (const auto& example : audit.examples) std::cout << "[ faults ]   " << example << std::endl;
  RecordProperty("report", line.str());

  EXPECT_EQ(audit.lost, 0u) << "acknowledged transfers missing from the ledger";
  EXPECT_EQ(audit.duplicated, 0u) << "transfers applied more than once";
  EXPECT_EQ(audit.phantom, 0u) << "transfers applied although COMMIT was never sent";
  EXPECT_GT(abandoned, 0u) << "no client abandoned a transaction: the rollback went untested";
  EXPECT_EQ(audit.strangers, 0u) << "ledger rows no client issued";
  EXPECT_EQ(audit.mismatched, 0u) << "ledger rows that differ from what the client sent";
  EXPECT_EQ(audit.accounts_off, 0u) << "transfers applied in part";
  EXPECT_EQ(audit.wrong_row_counts, 0u) << "an UPDATE changed other than one account";
  EXPECT_EQ(audit.total_balance, audit.expected_total) << "money created or destroyed";
  EXPECT_GT(audit.acknowledged, 0u);

  for (const auto& [code, count] : errors) {
    EXPECT_TRUE(always_allowed.contains(code) || allowance.statement_errors.contains(code))
        << count << " statements failed with " << code << ", not expected of fault "
        << allowance.fault << " (" << statement_messages[code] << ")";
  }
  if (allowance.open_transactions_finish) {
    EXPECT_EQ(inside_transactions, 0u)
        << "the fault broke transactions already open (" << counts_text(stages)
        << "): it should only refuse new ones";
  }
  for (const auto& [code, count] : login_errors) {
    EXPECT_TRUE(allowance.login_errors.contains(code))
        << count << " logins failed with " << code << ", not expected of fault " << allowance.fault
        << " (" << login_messages[code] << ")";
  }

  EXPECT_GE(recovery_ms_, 0) << "no SELECT 1 through sluice within 15 s of the fault's end";
  EXPECT_LE(recovery_ms_, recovery_budget_ms)
      << "SELECT 1 through sluice took too long after the fault's end";
  EXPECT_GT(acknowledged_after, 0u) << "no transfer was acknowledged after the fault";
  EXPECT_TRUE(alive) << "sluice is not running after the fault";
  EXPECT_TRUE(serves) << "sluice does not serve SELECT 1 after the run";
  EXPECT_TRUE(settled) << "backend connections did not settle within 15 s: MariaDB has "
                       << on_server.size() << ", sluice lists " << in_sluice.size()
                       << ", its pool counts " << in_pool << " (cap " << cap << ")"
                       << (admin_error.empty() ? "" : "; admin: " + admin_error);
}

}  // namespace sluice::test
