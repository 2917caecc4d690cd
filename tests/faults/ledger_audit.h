// Holds the bank's tables to what the clients were told: no acknowledged transfer lost or
// doubled, nothing applied that was never committed, no transfer applied in part.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/faults/bank.h"
#include "tests/faults/transfer_load.h"

namespace sluice::test {

class mariadb_server;

struct ledger_audit {
  std::size_t acknowledged = 0;
  std::size_t unknown = 0;
  std::size_t unknown_applied = 0;  // of the unknown, how many the ledger holds (either is fine)
  std::size_t failed = 0;
  std::size_t wrong_row_counts = 0;  // an UPDATE that changed other than one row

  std::size_t lost = 0;        // acknowledged, not in the ledger
  std::size_t duplicated = 0;  // in the ledger more than once
  std::size_t phantom = 0;     // failed before its COMMIT was sent, yet in the ledger
  std::size_t strangers = 0;   // ledger rows no client issued
  std::size_t mismatched = 0;  // ledger row's accounts or amount differ from the client's
  std::size_t ledger_rows = 0;
  // Accounts whose balance is not initial + credits - debits of the ledger: some transfer was
  // applied in part (an update without its ledger row, or a ledger row without its updates).
  std::size_t accounts_off = 0;
  std::int64_t total_balance = 0;
  std::int64_t expected_total = 0;

  // The first problems found, one line each, for the report.
  std::vector<std::string> examples;

  bool clean() const {
    return lost == 0 && duplicated == 0 && phantom == 0 && strangers == 0 && mismatched == 0 &&
           accounts_off == 0 && wrong_row_counts == 0 && total_balance == expected_total;
  }
};

// Reads accounts and ledger (as root, straight from MariaDB) and compares them with `transfers`.
ledger_audit audit_ledger(mariadb_server& server, const bank_shape& shape,
                          const std::vector<transfer_record>& transfers);

}  // namespace sluice::test
