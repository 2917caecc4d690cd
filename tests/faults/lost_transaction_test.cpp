// A transaction whose backend session dies half-way: what the client does next must not be
// committed as if it were the whole transaction. Run against MariaDB itself as the control.
#include <string>

#include "tests/faults/bank.h"
#include "tests/support/fixtures.h"

namespace sluice::test {
namespace {

class LostTransactionTest : public target_test {
 protected:
  void SetUp() override {
    target_test::SetUp();
    create_bank(server(), shape_);
  }

  std::string ledger_rows() {
    return server()
        .query(std::string("SELECT COUNT(*) FROM ") + mariadb_server::test_database + ".ledger")
        .at(0)
        .at(0);
  }
  std::string balance(int account) {
    return server()
        .query(std::string("SELECT balance FROM ") + mariadb_server::test_database +
               ".accounts WHERE id = " + std::to_string(account))
        .at(0)
        .at(0);
  }

  bank_shape shape_{10, 1000};
};

// A client that carries on after an error inside its transaction (as it may after a duplicate
// key, which leaves the transaction open) and then commits. On MariaDB itself the session is
// gone with its connection: every later statement fails (2013, then 2006), COMMIT included, and
// nothing is applied. Through a proxy the client's connection survives the backend's, so the
// proxy must keep that promise itself: nothing sent after the loss may be committed on its own,
// and COMMIT must not answer OK.
TEST_P(LostTransactionTest, StatementsAfterTheSessionDiedAreNotCommittedAlone) {
  auto client = connect_app(mariadb_server::test_database);
  const transfer_order t{1, 1, 2, 10};
  ASSERT_TRUE(client->query("BEGIN").ok);
  const query_result debit = client->query(debit_statement(t));
  ASSERT_TRUE(debit.ok) << debit.describe();
  const std::string session = client->scalar("SELECT CONNECTION_ID()");
  server().run_sql("KILL " + session);

  const query_result credit = client->query(credit_statement(t));
  const query_result ledger = client->query(ledger_statement(t));
  const query_result commit = client->query("COMMIT");
  RecordProperty("credit", credit.describe());
  RecordProperty("ledger", ledger.describe());
  RecordProperty("commit", commit.describe());

  EXPECT_FALSE(credit.ok) << "the credit ran although the transaction's session was killed";
  EXPECT_FALSE(commit.ok) << "COMMIT answered OK for a transaction whose debit was rolled back "
                             "(credit: "
                          << credit.describe() << ", ledger: " << ledger.describe() << ")";
  EXPECT_EQ(ledger_rows(), "0") << "the ledger row was committed without its transfer's debit";
  EXPECT_EQ(balance(1), "1000");
  EXPECT_EQ(balance(2), "1000");
}

INSTANTIATE_TEST_SUITE_P(Target, LostTransactionTest,
                         ::testing::Values(target::direct, target::sluice), target_name);

}  // namespace
}  // namespace sluice::test
