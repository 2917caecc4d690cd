// Client threads that run bank transfers through sluice and record, per transfer, what its
// COMMIT answered: the record the ledger audit holds the database to.
#include "tests/faults/transfer_load.h"

#include <random>

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

// Transfer ids: the client's number in the high digits, its own counter below, so ids are
// unique across clients and readable in a report ("transfer 17000000042": client 16's 42nd).
constexpr std::int64_t ids_per_client = 1'000'000'000;

}  // namespace

transfer_load::transfer_load(load_options options)
    : options_(std::move(options)), logs_(options_.clients) {
  threads_.reserve(options_.clients);
  for (std::size_t i = 0; i < options_.clients; ++i)
    threads_.emplace_back([this, i] { run_client(i); });
}

void transfer_load::stop() {
  stop_ = true;
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

bool transfer_load::wait_for_acknowledged(std::size_t count,
                                          std::chrono::milliseconds timeout) const {
  const auto deadline = steady_clock::now() + timeout;
  while (acknowledged_ < count) {
    if (steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

std::vector<transfer_record> transfer_load::transfers() const {
  std::vector<transfer_record> all;
  for (const auto& log : logs_) all.insert(all.end(), log.transfers.begin(), log.transfers.end());
  return all;
}

std::map<unsigned, std::size_t> transfer_load::connect_errors() const {
  std::map<unsigned, std::size_t> all;
  for (const auto& log : logs_)
    for (const auto& [code, count] : log.connect_errors) all[code] += count;
  return all;
}

std::map<unsigned, std::string> transfer_load::statement_messages() const {
  std::map<unsigned, std::string> all;
  for (const auto& log : logs_)
    all.insert(log.statement_messages.begin(), log.statement_messages.end());
  return all;
}

std::map<unsigned, std::string> transfer_load::login_messages() const {
  std::map<unsigned, std::string> all;
  for (const auto& log : logs_) all.insert(log.login_messages.begin(), log.login_messages.end());
  return all;
}

void transfer_load::run_client(std::size_t index) {
  client_log& log = logs_[index];
  std::mt19937_64 random(options_.seed * 1000003 + index);
  std::uniform_int_distribution<int> account(1, options_.bank.accounts);
  std::uniform_int_distribution<int> amount(1, 100);
  std::uniform_int_distribution<int> per_mille(0, 999);
  mysql_client client;
  std::int64_t sequence = 0;
  while (!stop_) {
    if (!client.connected()) {
      if (!client.connect("127.0.0.1", options_.port, options_.user, options_.password,
                          options_.database, 0, options_.timeouts)) {
        const unsigned code = client.error_code();
        ++log.connect_errors[code];
        log.login_messages.try_emplace(code, client.error_message());
        std::this_thread::sleep_for(20ms);  // sluice is down: do not spin on refused connects
        continue;
      }
    }
    transfer_order order;
    order.id = static_cast<std::int64_t>(index + 1) * ids_per_client + ++sequence;
    order.from = account(random);
    do {
      order.to = account(random);
    } while (order.to == order.from);
    order.amount = amount(random);
    const bool abandon = per_mille(random) < options_.abandon_per_mille;
    transfer_record record = run_transfer(client, order, abandon, log);
    // After any error the client starts over on a new connection, as an application's pool
    // would: it cannot tell what state the old one is in.
    if (record.outcome != transfer_outcome::acknowledged)
      client.close();
    else
      ++acknowledged_;
    log.transfers.push_back(record);
  }
}

transfer_record transfer_load::run_transfer(mysql_client& client, const transfer_order& order,
                                            bool abandon, client_log& log) {
  transfer_record record;
  record.order = order;
  const auto step = [&](const std::string& sql, const char* stage, bool one_row) {
    const query_result result = client.query(sql);
    if (!result.ok) {
      record.error_code = result.error_code;
      record.stage = stage;
      log.statement_messages.try_emplace(result.error_code,
                                         std::string(stage) + ": " + result.message);
      return false;
    }
    if (one_row && result.affected_rows != 1) {
      record.wrong_row_count = true;
      record.stage = stage;
      return false;
    }
    return true;
  };
  const bool sent_all = step("BEGIN", "begin", false) &&
                        step(debit_statement(order), "debit", true) &&
                        step(credit_statement(order), "credit", true) &&
                        step(ledger_statement(order), "ledger", true);
  if (sent_all && abandon) {
    record.stage = "abandoned";  // the caller closes the connection with the transaction open
  } else if (sent_all) {
    record.outcome = step("COMMIT", "commit", false) ? transfer_outcome::acknowledged
                                                     : transfer_outcome::unknown;
  }
  record.ended_at = steady_clock::now();
  return record;
}

}  // namespace sluice::test
