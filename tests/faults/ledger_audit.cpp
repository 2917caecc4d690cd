// Holds the bank's tables to what the clients were told: no acknowledged transfer lost or
// doubled, nothing applied that was never committed, no transfer applied in part.
#include "tests/faults/ledger_audit.h"

#include <unordered_map>

#include "tests/support/mariadb_server.h"

namespace sluice::test {
namespace {

constexpr std::size_t max_examples = 12;

struct ledger_entry {
  std::size_t rows = 0;
  transfer_order first;
};

const char* outcome_name(transfer_outcome o) {
  switch (o) {
    case transfer_outcome::acknowledged:
      return "acknowledged";
    case transfer_outcome::unknown:
      return "unknown";
    case transfer_outcome::failed:
      return "failed";
  }
  return "?";
}

std::string describe(const transfer_record& r) {
  std::string text = "transfer " + std::to_string(r.order.id) + " (" +
                     std::to_string(r.order.amount) + " from " + std::to_string(r.order.from) +
                     " to " + std::to_string(r.order.to) + ", " + outcome_name(r.outcome);
  if (r.outcome != transfer_outcome::acknowledged)
    text += " at " + std::string(r.stage) + " with " + std::to_string(r.error_code);
  return text + ")";
}

}  // namespace

ledger_audit audit_ledger(mariadb_server& server, const bank_shape& shape,
                          const std::vector<transfer_record>& transfers) {
  ledger_audit audit;
  const auto note = [&](const std::string& line) {
    if (audit.examples.size() < max_examples) audit.examples.push_back(line);
  };
  const std::string db = mariadb_server::test_database;

  std::unordered_map<std::int64_t, ledger_entry> ledger;
  std::vector<std::int64_t> expected(static_cast<std::size_t>(shape.accounts) + 1,
                                     shape.initial_balance);
  for (const auto& row :
       server.query("SELECT transfer_id, from_id, to_id, amount FROM " + db + ".ledger")) {
    ++audit.ledger_rows;
    const transfer_order t{std::stoll(row.at(0)), std::stoi(row.at(1)), std::stoi(row.at(2)),
                           std::stoi(row.at(3))};
    auto& entry = ledger[t.id];
    if (entry.rows++ == 0) entry.first = t;
    if (t.from >= 1 && t.from <= shape.accounts && t.to >= 1 && t.to <= shape.accounts) {
      expected[static_cast<std::size_t>(t.from)] -= t.amount;
      expected[static_cast<std::size_t>(t.to)] += t.amount;
    } else {
      note("ledger row of transfer " + row.at(0) + " names an account that does not exist");
      ++audit.mismatched;
    }
  }

  std::unordered_map<std::int64_t, const transfer_record*> issued;
  issued.reserve(transfers.size());
  for (const auto& r : transfers) {
    issued[r.order.id] = &r;
    if (r.wrong_row_count) {
      ++audit.wrong_row_counts;
      note(describe(r) + ": an UPDATE changed other than one row");
    }
    const auto found = ledger.find(r.order.id);
    const std::size_t rows = found == ledger.end() ? 0 : found->second.rows;
    if (rows > 1) {
      ++audit.duplicated;
      note(describe(r) + ": " + std::to_string(rows) + " ledger rows");
    }
    if (rows > 0) {
      const transfer_order& l = found->second.first;
      if (l.from != r.order.from || l.to != r.order.to || l.amount != r.order.amount) {
        ++audit.mismatched;
        note(describe(r) + ": the ledger has " + std::to_string(l.amount) + " from " +
             std::to_string(l.from) + " to " + std::to_string(l.to));
      }
    }
    switch (r.outcome) {
      case transfer_outcome::acknowledged:
        ++audit.acknowledged;
        if (rows == 0) {
          ++audit.lost;
          note(describe(r) + ": acknowledged but not in the ledger");
        }
        break;
      case transfer_outcome::unknown:
        ++audit.unknown;
        if (rows > 0) ++audit.unknown_applied;
        break;
      case transfer_outcome::failed:
        ++audit.failed;
        if (rows > 0) {
          ++audit.phantom;
          note(describe(r) + ": never committed, yet in the ledger");
        }
        break;
    }
  }
  for (const auto& [id, entry] : ledger) {
    if (issued.contains(id)) continue;
    audit.strangers += entry.rows;
    note("ledger row of transfer " + std::to_string(id) + " that no client issued");
  }

  audit.expected_total = shape.total();
  for (const auto& row : server.query("SELECT id, balance FROM " + db + ".accounts")) {
    const int id = std::stoi(row.at(0));
    const std::int64_t balance = std::stoll(row.at(1));
    audit.total_balance += balance;
    if (id < 1 || id > shape.accounts) continue;
    const std::int64_t want = expected[static_cast<std::size_t>(id)];
    if (balance != want) {
      ++audit.accounts_off;
      note("account " + row.at(0) + ": balance " + row.at(1) + ", initial + ledger " +
           std::to_string(want) + " (off by " + std::to_string(balance - want) + ")");
    }
  }
  return audit;
}

}  // namespace sluice::test
