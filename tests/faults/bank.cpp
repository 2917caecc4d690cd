// The bank the fault tests move money in: accounts with a known total and a ledger row per
// committed transfer, so that every balance can be recomputed from the ledger.
#include "tests/faults/bank.h"

#include "tests/support/mariadb_server.h"

namespace sluice::test {

void create_bank(mariadb_server& server, const bank_shape& shape) {
  const std::string db = mariadb_server::test_database;
  server.run_sql("DROP TABLE IF EXISTS " + db + ".accounts, " + db + ".ledger; CREATE TABLE " + db +
                 ".accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL) ENGINE=InnoDB; "
                 "CREATE TABLE " +
                 db +
                 ".ledger (seq BIGINT AUTO_INCREMENT PRIMARY KEY, transfer_id BIGINT NOT NULL, "
                 "from_id INT NOT NULL, to_id INT NOT NULL, amount INT NOT NULL, "
                 "KEY (transfer_id)) ENGINE=InnoDB; "
                 "INSERT INTO " +
                 db + ".accounts (id, balance) SELECT seq, " +
                 std::to_string(shape.initial_balance) + " FROM " + db + ".seq_1_to_" +
                 std::to_string(shape.accounts));
}

std::string debit_statement(const transfer_order& t) {
  return "UPDATE accounts SET balance = balance - " + std::to_string(t.amount) +
         " WHERE id = " + std::to_string(t.from);
}

std::string credit_statement(const transfer_order& t) {
  return "UPDATE accounts SET balance = balance + " + std::to_string(t.amount) +
         " WHERE id = " + std::to_string(t.to);
}

std::string ledger_statement(const transfer_order& t) {
  return "INSERT INTO ledger (transfer_id, from_id, to_id, amount) VALUES (" +
         std::to_string(t.id) + ", " + std::to_string(t.from) + ", " + std::to_string(t.to) + ", " +
         std::to_string(t.amount) + ")";
}

}  // namespace sluice::test
