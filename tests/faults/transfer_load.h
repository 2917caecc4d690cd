// Client threads that run bank transfers through sluice and record, per transfer, what its
// COMMIT answered: the record the ledger audit holds the database to.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/faults/bank.h"
#include "tests/support/client.h"

namespace sluice::test {

using steady_clock = std::chrono::steady_clock;

// What a client knows about a transfer once it is over.
enum class transfer_outcome {
  acknowledged,  // COMMIT answered OK: the transfer must be in the ledger exactly once
  unknown,       // COMMIT was sent and answered with an error or not at all: all or nothing
  failed,        // an earlier statement failed, COMMIT never sent: it must not be applied
};

struct transfer_record {
  transfer_order order;
  transfer_outcome outcome = transfer_outcome::failed;
  unsigned error_code = 0;  // what ended it unless acknowledged
  // The statement that failed (begin, debit, credit, ledger, commit), or "abandoned".
  const char* stage = "";
  bool wrong_row_count = false;  // an UPDATE changed other than one row: the test is broken
  steady_clock::time_point ended_at;
};

struct load_options {
  std::uint16_t port = 0;
  std::string user = "app";
  std::string password = "app-pw";
  std::string database;
  std::size_t clients = 64;
  bank_shape bank;
  std::uint64_t seed = 0;
  // Transfers (per thousand) whose client disconnects after the ledger INSERT instead of
  // committing, like an application that dies mid-transaction: sluice must roll them back.
  int abandon_per_mille = 20;
  client_options timeouts;
};

class transfer_load {
 public:
  // Starts the clients at once; each reconnects after any error and goes on.
  explicit transfer_load(load_options options);
  ~transfer_load() { stop(); }
  transfer_load(const transfer_load&) = delete;
  transfer_load& operator=(const transfer_load&) = delete;

  // Lets each client finish the transfer it is in, then joins them.
  void stop();

  std::size_t acknowledged() const { return acknowledged_; }
  // Polls until `count` transfers are acknowledged in all (true) or `timeout` passes (false).
  bool wait_for_acknowledged(std::size_t count, std::chrono::milliseconds timeout) const;

  // After stop(): every transfer of every client.
  std::vector<transfer_record> transfers() const;
  // After stop(): failed logins by error code.
  std::map<unsigned, std::size_t> connect_errors() const;
  // After stop(): the first message seen per error code, of statements and of logins.
  std::map<unsigned, std::string> statement_messages() const;
  std::map<unsigned, std::string> login_messages() const;

 private:
  struct client_log {
    std::vector<transfer_record> transfers;
    std::map<unsigned, std::size_t> connect_errors;
    std::map<unsigned, std::string> statement_messages;
    std::map<unsigned, std::string> login_messages;
  };

  void run_client(std::size_t index);
  transfer_record run_transfer(mysql_client& client, const transfer_order& order, bool abandon,
                               client_log& log);

  load_options options_;
  std::vector<client_log> logs_;  // one per client, written only by its thread until joined
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> acknowledged_{0};
};

}  // namespace sluice::test
