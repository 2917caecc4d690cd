// Pins and the state sluice replays instead of pinning, one hazard per test: each pinning
// statement shows its reason in SHOW CLIENTS, the client keeps its state while pinned, the pin is
// released by the statement that undoes it, and no other client ever sees the state. With a cap
// of two backends, clients that run at the same time look at every backend. Also LAST_INSERT_ID()
// in every form and KILL of sluice connection ids. Every test runs against MariaDB directly too
// (the control that proves the test right); the SHOW CLIENTS checks apply only through sluice.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/admin_client.h"
#include "tests/support/client.h"
#include "tests/support/fixtures.h"
#include "tests/support/threads.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using json = nlohmann::json;
using steady = std::chrono::steady_clock;

constexpr unsigned no_such_table = 1146;
constexpr unsigned lock_wait_timeout = 1205;
constexpr unsigned unknown_prepared_statement = 1243;
constexpr unsigned read_only_transaction = 1792;
constexpr unsigned query_interrupted = 1317;
constexpr unsigned unknown_thread = 1094;
constexpr unsigned not_owner_of_thread = 1095;
constexpr unsigned server_gone = 2006;
constexpr unsigned server_lost = 2013;

const std::string db = mariadb_server::test_database;

// Counts wrong observations from many client threads, keeping the first few for the report.
class mismatch_log {
 public:
  void check(const std::string& who, const std::string& what,
             const std::optional<std::string>& actual, const std::string& expected) {
    if (actual == expected) return;
    ++count_;
    std::lock_guard lock(mutex_);
    if (samples_.size() < 20)
      samples_.push_back(who + ": " + what + " = '" + actual.value_or("NULL") + "', expected '" +
                         expected + "'");
  }
  int count() const { return count_; }
  std::string report() const {
    std::lock_guard lock(mutex_);
    std::string text = std::to_string(count_.load()) + " mismatches, first ones:\n";
    for (const auto& s : samples_) text += s + "\n";
    return text;
  }

 private:
  std::atomic<int> count_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> samples_;
};

class PinsTest : public target_test {
 protected:
  void SetUp() override {
    if (through_sluice()) {
      const sluice_config config = make_config(sluice_overrides());
      admin_port_ = config.listen_port("admin");
      start_sluice(config);
      // The harness waits for the client port; the admin port opens just after it.
      ASSERT_TRUE(wait_until([&] { return port_accepts(admin_port_); }, 5s));
    } else {
      create_client_accounts_on_backend(server());
    }
    std::string sql =
        "CREATE OR REPLACE TABLE sluice_test.pins_rows (id INT PRIMARY KEY, v INT NOT NULL);"
        "INSERT INTO sluice_test.pins_rows SELECT seq, 0 FROM sluice_test.seq_1_to_10;"
        "CREATE OR REPLACE TABLE sluice_test.pins_big (id INT PRIMARY KEY);"
        "INSERT INTO sluice_test.pins_big SELECT seq FROM sluice_test.seq_1_to_25;"
        "CREATE OR REPLACE TABLE sluice_test.pins_ai (id BIGINT AUTO_INCREMENT PRIMARY KEY,"
        " client VARCHAR(16) NOT NULL, seq INT NOT NULL DEFAULT 0);";
    server().run_sql(sql);
  }

  config_overrides sluice_overrides() const override {
    // Two backends: two clients inside transactions at the same time hold one each, and a
    // pinned client leaves one backend to everybody else.
    return {{"backend.max_connections", "2"}, {"queue.timeout", "10s"}};
  }

  std::unique_ptr<mysql_client> connect() { return connect_app(db); }

  // The client's row of SHOW CLIENTS (sluice only), or null when it is not listed.
  json client_row(unsigned long id) {
    admin_client admin(admin_port_);
    const json rows = json::parse(admin.command("SHOW CLIENTS FORMAT JSON"));
    for (const auto& r : rows) {
      const json& rid = r.at("id");
      if ((rid.is_number_integer() && rid.get<unsigned long>() == id) ||
          (rid.is_string() && rid.get<std::string>() == std::to_string(id)))
        return r;
    }
    return nullptr;
  }

  // The pin reason SHOW CLIENTS gives for the client ("" when not pinned).
  std::string pinned_reason(unsigned long id) {
    const json row = client_row(id);
    return row.is_null() ? "<client " + std::to_string(id) + " not listed>"
                         : row.at("pinned").get<std::string>();
  }

  // Through sluice: SHOW CLIENTS says the client is pinned for `reason` (waits up to 3 s).
  ::testing::AssertionResult pinned(mysql_client& client, const std::string& reason) {
    if (!through_sluice()) return ::testing::AssertionSuccess();
    std::string seen;
    if (wait_until([&] { return (seen = pinned_reason(client.thread_id())) == reason; }, 3s))
      return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "client " << client.thread_id() << " pinned '" << seen
                                         << "', expected '" << reason << "'";
  }

  // Through sluice: the client is not pinned and holds no backend (waits up to 3 s: a statement
  // that left warnings may keep its backend 200 ms for SHOW WARNINGS).
  ::testing::AssertionResult released(mysql_client& client) {
    if (!through_sluice()) return ::testing::AssertionSuccess();
    json row;
    const bool ok = wait_until(
        [&] {
          row = client_row(client.thread_id());
          return !row.is_null() && row.at("pinned") == "" && row.at("backend") == "";
        },
        3s);
    if (ok) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "client " << client.thread_id()
                                         << " is not released: SHOW CLIENTS row " << row.dump();
  }

  // Runs `check` on two fresh clients that are inside transactions at the same time: with two
  // backends they hold one each, so between them they look at every backend a client may have
  // left state on. (Directly they are just two more connections.)
  void on_every_backend(const std::function<void(mysql_client&, int)>& check) {
    std::unique_ptr<mysql_client> clients[2];
    std::string backend[2];
    for (int i = 0; i < 2; ++i) {
      clients[i] = connect();
      clients[i]->execute("BEGIN");
      backend[i] = clients[i]->scalar("SELECT CONNECTION_ID()");
    }
    EXPECT_NE(backend[0], backend[1]) << "the two checking clients share a backend";
    for (int i = 0; i < 2; ++i) {
      SCOPED_TRACE("checking client " + std::to_string(i) + " on backend " + backend[i]);
      check(*clients[i], i);
    }
    for (auto& c : clients) c->execute("COMMIT");
  }

  std::uint16_t admin_port_ = 0;
};

// ---- User variables ----------------------------------------------------------------------

TEST_P(PinsTest, UserVariablesSetToLiteralsAreReplayedAndNeverPin) {
  auto a = connect();
  a->execute("SET @a = 5");
  a->execute("SET @s = 'sluice''s'");
  a->execute("SET @n = NULL");
  a->execute("SET @t = TRUE");
  EXPECT_TRUE(released(*a));

  for (int round = 0; round < 2; ++round) {
    // Other clients see none of it, and leave values of their own on both backends.
    on_every_backend([&](mysql_client& other, int i) {
      EXPECT_EQ(other.query("SELECT @a, @s, @n, @t").rows,
                (std::vector<row>{{std::nullopt, std::nullopt, std::nullopt, std::nullopt}}));
      other.execute("SET @a = " + std::to_string(100 + i));
      other.execute("SET @s = 'other'");
      other.execute("SET @n = 'not null'");
      other.execute("SET @t = FALSE");
    });
    EXPECT_EQ(a->query("SELECT @a, @s, @n, @t").rows,
              (std::vector<row>{{"5", "sluice's", std::nullopt, "1"}}));
    EXPECT_EQ(a->scalar("SELECT @a + 1"), "6");
    EXPECT_TRUE(released(*a));
  }
}

TEST_P(PinsTest, VariableAssignedInSelectPinsUntilSetToALiteral) {
  auto a = connect();
  EXPECT_EQ(a->scalar("SELECT @b := 1"), "1");
  EXPECT_TRUE(pinned(*a, "user_variable"));
  EXPECT_EQ(a->scalar("SELECT @b"), "1");
  {
    auto other = connect();
    EXPECT_EQ(other->scalar_or_null("SELECT @b"), std::nullopt);
  }
  EXPECT_TRUE(pinned(*a, "user_variable"));

  a->execute("SET @b = 2");
  ASSERT_TRUE(released(*a));
  on_every_backend([&](mysql_client& other, int i) {
    EXPECT_EQ(other.scalar_or_null("SELECT @b"), std::nullopt);
    other.execute("SET @b = " + std::to_string(100 + i));
  });
  EXPECT_EQ(a->scalar("SELECT @b"), "2");
  EXPECT_TRUE(released(*a));
}

TEST_P(PinsTest, EveryUnreplayableVariableMustBeSetToALiteralBeforeTheRelease) {
  auto a = connect();
  a->execute("SELECT COUNT(*) INTO @c FROM pins_rows");
  EXPECT_TRUE(pinned(*a, "user_variable"));
  a->execute("SET @d = CONCAT('x', @c)");
  EXPECT_EQ(a->query("SELECT @c, @d").rows, (std::vector<row>{{"10", "x10"}}));

  a->execute("SET @c = 10");  // @d still holds a value sluice cannot replay
  EXPECT_TRUE(pinned(*a, "user_variable"));
  EXPECT_EQ(a->query("SELECT @c, @d").rows, (std::vector<row>{{"10", "x10"}}));

  a->execute("SET @d = 'x10'");
  ASSERT_TRUE(released(*a));
  on_every_backend([&](mysql_client& other, int i) {
    EXPECT_EQ(other.query("SELECT @c, @d").rows, (std::vector<row>{{std::nullopt, std::nullopt}}));
    other.execute("SET @c = " + std::to_string(i));
  });
  EXPECT_EQ(a->query("SELECT @c, @d").rows, (std::vector<row>{{"10", "x10"}}));
  EXPECT_TRUE(released(*a));
}

// ---- Temporary tables, table locks, named locks, text prepared statements ----------------

TEST_P(PinsTest, TemporaryTablesPinUntilTheLastOneIsDropped) {
  auto a = connect();
  a->execute("CREATE TEMPORARY TABLE pins_tmp1 (v INT)");
  EXPECT_TRUE(pinned(*a, "temporary_table"));
  a->execute("INSERT INTO pins_tmp1 VALUES (1)");
  a->execute("CREATE TEMPORARY TABLE pins_tmp2 (v INT)");
  a->execute("INSERT INTO pins_tmp2 VALUES (2), (2)");
  {
    auto other = connect();
    EXPECT_EQ(other->query("SELECT v FROM pins_tmp1").error_code, no_such_table);
  }

  a->execute("DROP TEMPORARY TABLE pins_tmp1");
  EXPECT_TRUE(pinned(*a, "temporary_table"));
  EXPECT_EQ(a->query("SELECT v FROM pins_tmp1").error_code, no_such_table);
  EXPECT_EQ(a->scalar("SELECT SUM(v) FROM pins_tmp2"), "4");
  EXPECT_TRUE(pinned(*a, "temporary_table"));

  a->execute("DROP TABLE IF EXISTS pins_tmp2");
  ASSERT_TRUE(released(*a));
  on_every_backend([&](mysql_client& other, int) {
    EXPECT_EQ(other.query("SELECT v FROM pins_tmp1").error_code, no_such_table);
    EXPECT_EQ(other.query("SELECT v FROM pins_tmp2").error_code, no_such_table);
  });
  EXPECT_EQ(a->query("SELECT v FROM pins_tmp2").error_code, no_such_table);
  EXPECT_TRUE(released(*a));
}

TEST_P(PinsTest, LockTablesPinsUntilUnlockTables) {
  auto a = connect();
  auto other = connect();
  other->execute("SET SESSION lock_wait_timeout = 1");

  a->execute("LOCK TABLES pins_rows WRITE");
  EXPECT_TRUE(pinned(*a, "table_lock"));
  EXPECT_EQ(a->query("UPDATE pins_rows SET v = 7 WHERE id = 1").affected_rows, 1u);
  EXPECT_EQ(other->query("SELECT v FROM pins_rows WHERE id = 1").error_code, lock_wait_timeout);
  EXPECT_EQ(a->scalar("SELECT v FROM pins_rows WHERE id = 1"), "7");
  EXPECT_TRUE(pinned(*a, "table_lock"));

  a->execute("UNLOCK TABLES");
  ASSERT_TRUE(released(*a));
  EXPECT_EQ(other->scalar("SELECT v FROM pins_rows WHERE id = 1"), "7");
  on_every_backend([&](mysql_client& checker, int) {
    // A backend still under LOCK TABLES refuses tables it did not lock (1100).
    const query_result big = checker.query("SELECT COUNT(*) FROM pins_big");
    EXPECT_TRUE(big.ok) << big.describe();
    EXPECT_EQ(checker.scalar("SELECT v FROM pins_rows WHERE id = 1"), "7");
  });
  EXPECT_EQ(a->scalar("SELECT COUNT(*) FROM pins_big"), "25");
  EXPECT_TRUE(released(*a));
}

TEST_P(PinsTest, FlushTablesWithReadLockPinsUntilUnlockTables) {
  auto a = connect();
  auto other = connect();
  other->execute("SET SESSION lock_wait_timeout = 1");

  a->execute("FLUSH TABLES WITH READ LOCK");
  EXPECT_TRUE(pinned(*a, "table_lock"));
  EXPECT_EQ(other->query("UPDATE pins_rows SET v = 8 WHERE id = 2").error_code, lock_wait_timeout);
  EXPECT_EQ(a->scalar("SELECT COUNT(*) FROM pins_rows"), "10");

  a->execute("UNLOCK TABLES");
  ASSERT_TRUE(released(*a));
  const query_result update = other->query("UPDATE pins_rows SET v = 8 WHERE id = 2");
  EXPECT_TRUE(update.ok) << update.describe();
  on_every_backend([&](mysql_client& checker, int i) {
    const query_result write =
        checker.query("UPDATE pins_rows SET v = 20 WHERE id = " + std::to_string(3 + i));
    EXPECT_TRUE(write.ok) << write.describe();
  });
  EXPECT_TRUE(released(*a));
}

TEST_P(PinsTest, NamedLockTakenTwicePinsUntilReleasedTwice) {
  auto a = connect();
  auto other = connect();
  EXPECT_EQ(a->scalar("SELECT GET_LOCK('pins_lock', 5)"), "1");
  EXPECT_TRUE(pinned(*a, "named_lock"));
  EXPECT_EQ(a->scalar("SELECT GET_LOCK('pins_lock', 5)"), "1");
  EXPECT_EQ(other->scalar("SELECT IS_FREE_LOCK('pins_lock')"), "0");

  EXPECT_EQ(a->scalar("SELECT RELEASE_LOCK('pins_lock')"), "1");
  EXPECT_TRUE(pinned(*a, "named_lock"));
  EXPECT_EQ(other->scalar("SELECT IS_FREE_LOCK('pins_lock')"), "0");

  EXPECT_EQ(a->scalar("SELECT RELEASE_LOCK('pins_lock')"), "1");
  ASSERT_TRUE(released(*a));
  EXPECT_EQ(other->scalar("SELECT IS_FREE_LOCK('pins_lock')"), "1");
  on_every_backend([&](mysql_client& checker, int) {
    EXPECT_EQ(checker.scalar("SELECT IS_FREE_LOCK('pins_lock')"), "1");
    EXPECT_EQ(checker.scalar("SELECT GET_LOCK('pins_lock', 0)"), "1");
    EXPECT_EQ(checker.scalar("SELECT RELEASE_LOCK('pins_lock')"), "1");
  });
  // Nobody holds it any more: RELEASE_LOCK of a lock that does not exist is NULL.
  EXPECT_EQ(a->scalar_or_null("SELECT RELEASE_LOCK('pins_lock')"), std::nullopt);
  EXPECT_TRUE(released(*a));
}

TEST_P(PinsTest, ReleaseAllLocksReleasesThePin) {
  auto a = connect();
  auto other = connect();
  EXPECT_EQ(a->scalar("SELECT GET_LOCK('pins_a', 5)"), "1");
  EXPECT_EQ(a->scalar("SELECT GET_LOCK('pins_b', 5)"), "1");
  EXPECT_EQ(a->scalar("SELECT GET_LOCK('pins_a', 5)"), "1");
  EXPECT_TRUE(pinned(*a, "named_lock"));
  EXPECT_EQ(other->query("SELECT IS_FREE_LOCK('pins_a'), IS_FREE_LOCK('pins_b')").rows,
            (std::vector<row>{{"0", "0"}}));

  EXPECT_EQ(a->scalar("SELECT RELEASE_ALL_LOCKS()"), "3");
  ASSERT_TRUE(released(*a));
  EXPECT_EQ(other->query("SELECT IS_FREE_LOCK('pins_a'), IS_FREE_LOCK('pins_b')").rows,
            (std::vector<row>{{"1", "1"}}));
  on_every_backend([&](mysql_client& checker, int) {
    EXPECT_EQ(checker.query("SELECT IS_FREE_LOCK('pins_a'), IS_FREE_LOCK('pins_b')").rows,
              (std::vector<row>{{"1", "1"}}));
  });
}

TEST_P(PinsTest, TextPrepareStatementPinsUntilEveryOneIsDeallocated) {
  auto a = connect();
  a->execute("PREPARE pins_s1 FROM 'SELECT ? + 1'");
  EXPECT_TRUE(pinned(*a, "prepared_statement"));
  a->execute("SET @x = 41");
  EXPECT_EQ(a->scalar("EXECUTE pins_s1 USING @x"), "42");
  a->execute("PREPARE pins_s2 FROM 'SELECT COUNT(*) FROM pins_rows'");

  a->execute("DEALLOCATE PREPARE pins_s1");
  EXPECT_TRUE(pinned(*a, "prepared_statement"));
  EXPECT_EQ(a->scalar("EXECUTE pins_s2"), "10");
  EXPECT_EQ(a->query("EXECUTE pins_s1").error_code, unknown_prepared_statement);
  EXPECT_TRUE(pinned(*a, "prepared_statement"));

  a->execute("DROP PREPARE pins_s2");
  ASSERT_TRUE(released(*a));
  on_every_backend([&](mysql_client& other, int) {
    EXPECT_EQ(other.query("EXECUTE pins_s1").error_code, unknown_prepared_statement);
    EXPECT_EQ(other.query("EXECUTE pins_s2").error_code, unknown_prepared_statement);
  });
  // @x was set to a literal: it stays the client's after the release.
  EXPECT_EQ(a->scalar("SELECT @x"), "41");
  EXPECT_EQ(a->query("EXECUTE pins_s2").error_code, unknown_prepared_statement);
}

TEST_P(PinsTest, XaTransactionPinsUntilXaCommit) {
  auto a = connect();
  auto other = connect();
  a->execute("XA START 'pins_xa'");
  EXPECT_TRUE(pinned(*a, "xa_transaction"));
  a->execute("INSERT INTO pins_ai (client) VALUES ('xa')");
  a->execute("XA END 'pins_xa'");
  a->execute("XA PREPARE 'pins_xa'");
  EXPECT_TRUE(pinned(*a, "xa_transaction"));
  EXPECT_EQ(other->scalar("SELECT COUNT(*) FROM pins_ai WHERE client = 'xa'"), "0");
  a->execute("XA COMMIT 'pins_xa'");
  ASSERT_TRUE(released(*a));
  EXPECT_EQ(other->scalar("SELECT COUNT(*) FROM pins_ai WHERE client = 'xa'"), "1");
  on_every_backend([&](mysql_client& checker, int i) {
    const query_result insert =
        checker.query("INSERT INTO pins_ai (client) VALUES ('checker" + std::to_string(i) + "')");
    EXPECT_TRUE(insert.ok) << insert.describe();
  });
  EXPECT_EQ(a->scalar("SELECT COUNT(*) FROM pins_ai"), "3");
}

TEST_P(PinsTest, HandlerPinsUntilItIsClosed) {
  constexpr unsigned unknown_handler_table = 1109;
  auto a = connect();
  a->execute("HANDLER pins_rows OPEN");
  EXPECT_TRUE(pinned(*a, "handler"));
  EXPECT_EQ(a->query("HANDLER pins_rows READ `PRIMARY` FIRST").rows,
            (std::vector<row>{{"1", "0"}}));
  {
    auto other = connect();
    EXPECT_EQ(other->query("HANDLER pins_rows READ `PRIMARY` NEXT").error_code,
              unknown_handler_table);
  }
  EXPECT_EQ(a->query("HANDLER pins_rows READ `PRIMARY` NEXT").rows, (std::vector<row>{{"2", "0"}}));
  a->execute("HANDLER pins_rows CLOSE");
  ASSERT_TRUE(released(*a));
  on_every_backend([&](mysql_client& checker, int) {
    EXPECT_EQ(checker.query("HANDLER pins_rows READ `PRIMARY` NEXT").error_code,
              unknown_handler_table);
  });
  EXPECT_EQ(a->query("HANDLER pins_rows READ `PRIMARY` NEXT").error_code, unknown_handler_table);
}

TEST_P(PinsTest, ProcedureThatSetsAVariablePinsUntilReset) {
  server().run_sql(
      "CREATE OR REPLACE PROCEDURE sluice_test.pins_set_variable() SET @from_procedure = 42");
  auto a = connect();
  a->execute("CALL pins_set_variable()");
  EXPECT_TRUE(pinned(*a, "session_state"));
  EXPECT_EQ(a->scalar("SELECT @from_procedure"), "42");
  {
    auto other = connect();
    EXPECT_EQ(other->scalar_or_null("SELECT @from_procedure"), std::nullopt);
  }
  EXPECT_EQ(a->scalar("SELECT @from_procedure"), "42");
  EXPECT_TRUE(pinned(*a, "session_state"));

  ASSERT_EQ(mysql_reset_connection(a->handle()), 0) << a->error_message();
  EXPECT_TRUE(released(*a));
  EXPECT_EQ(a->scalar_or_null("SELECT @from_procedure"), std::nullopt);
  on_every_backend([&](mysql_client& checker, int) {
    EXPECT_EQ(checker.scalar_or_null("SELECT @from_procedure"), std::nullopt);
  });
}

// ---- FOUND_ROWS, transactions, session variables ----------------------------------------

TEST_P(PinsTest, FoundRowsIsTheClientsOwnWhileOthersAreBusy) {
  // Other clients count a 25-row table with SQL_CALC_FOUND_ROWS all the time.
  std::vector<std::unique_ptr<mysql_client>> others;
  for (int i = 0; i < 2; ++i) others.push_back(connect());
  background_load load(std::move(others), [](mysql_client& c, std::size_t) {
    const query_result r =
        c.query("SELECT SQL_CALC_FOUND_ROWS id FROM pins_big ORDER BY id LIMIT 1");
    if (!r.ok || r.rows.size() != 1) throw std::runtime_error("select: " + r.describe());
    const std::string found = c.scalar("SELECT FOUND_ROWS()");
    if (found != "25") throw std::runtime_error("FOUND_ROWS() = " + found + ", expected 25");
  });
  ASSERT_TRUE(load.wait_for_rounds(1, 10s)) << describe_failures(load.failures());

  auto a = connect();
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const query_result r =
        a->query("SELECT SQL_CALC_FOUND_ROWS id FROM pins_rows ORDER BY id LIMIT 3");
    ASSERT_TRUE(r.ok) << r.describe();
    EXPECT_EQ(r.rows, (std::vector<row>{{"1"}, {"2"}, {"3"}}));
    if (round % 5 == 0) {
      EXPECT_TRUE(pinned(*a, "found_rows"));
    }
    EXPECT_EQ(a->scalar("SELECT FOUND_ROWS()"), "10");
    if (round % 5 == 0) {
      EXPECT_TRUE(released(*a));
    }
  }
  load.stop();
  EXPECT_TRUE(load.failures().empty()) << describe_failures(load.failures());
  EXPECT_GT(load.rounds(), 0);
  EXPECT_TRUE(released(*a));
}

TEST_P(PinsTest, SetTransactionIsolationPinsUntilTheNextTransactionEnds) {
  auto a = connect();
  auto other = connect();
  a->execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED");
  EXPECT_TRUE(pinned(*a, "next_transaction"));
  // MariaDB's @@tx_isolation shows the session level, not the next transaction's: the level is
  // checked by what the transaction sees of another client's commit.
  a->execute("BEGIN");
  EXPECT_EQ(a->scalar("SELECT v FROM pins_rows WHERE id = 1"), "0");
  other->execute("UPDATE pins_rows SET v = 1 WHERE id = 1");
  EXPECT_EQ(a->scalar("SELECT v FROM pins_rows WHERE id = 1"), "1") << "not READ COMMITTED";
  a->execute("COMMIT");
  ASSERT_TRUE(released(*a));

  // The transaction after it is REPEATABLE READ again: its snapshot hides the next commit.
  a->execute("BEGIN");
  EXPECT_EQ(a->scalar("SELECT v FROM pins_rows WHERE id = 1"), "1");
  other->execute("UPDATE pins_rows SET v = 2 WHERE id = 1");
  EXPECT_EQ(a->scalar("SELECT v FROM pins_rows WHERE id = 1"), "1") << "not REPEATABLE READ";
  a->execute("COMMIT");
  EXPECT_TRUE(released(*a));
  EXPECT_EQ(a->scalar("SELECT @@tx_isolation"), "REPEATABLE-READ");
}

TEST_P(PinsTest, SetTransactionReadOnlyAppliesToTheNextTransactionOnly) {
  auto a = connect();
  a->execute("SET TRANSACTION READ ONLY");
  EXPECT_TRUE(pinned(*a, "next_transaction"));
  a->execute("START TRANSACTION");
  EXPECT_EQ(a->query("INSERT INTO pins_ai (client) VALUES ('ro')").error_code,
            read_only_transaction);
  a->execute("COMMIT");
  ASSERT_TRUE(released(*a));
  on_every_backend([&](mysql_client& other, int) {
    const query_result insert = other.query("INSERT INTO pins_ai (client) VALUES ('other')");
    EXPECT_TRUE(insert.ok) << insert.describe();
  });
  a->execute("START TRANSACTION");
  const query_result insert = a->query("INSERT INTO pins_ai (client) VALUES ('rw')");
  EXPECT_TRUE(insert.ok) << insert.describe();
  a->execute("COMMIT");
  EXPECT_TRUE(released(*a));
}

// MariaDB's SET STATEMENT changes variables for one statement and restores them; the server
// reports that as a change of session state, which must not pin.
TEST_P(PinsTest, SetStatementForNeverPinsAndLeavesNothing) {
  auto a = connect();
  const std::string before = a->scalar("SELECT @@max_statement_time");
  EXPECT_EQ(a->scalar("SET STATEMENT max_statement_time = 5 FOR SELECT @@max_statement_time"),
            "5.000000");
  EXPECT_TRUE(released(*a));
  a->execute("SET STATEMENT sql_mode = '' FOR UPDATE pins_rows SET id = id WHERE id = 1");
  EXPECT_TRUE(released(*a));
  EXPECT_EQ(a->scalar("SELECT @@max_statement_time"), before);
  on_every_backend([&](mysql_client& other, int) {
    EXPECT_EQ(other.scalar("SELECT @@max_statement_time"), before);
  });
}

TEST_P(PinsTest, SessionVariablesAreReplayedAndNeverPin) {
  const auto defaults =
      connect()
          ->query("SELECT @@sql_mode, @@time_zone, @@sql_select_limit, @@max_statement_time")
          .rows;
  ASSERT_EQ(defaults.size(), 1u);

  auto a = connect();
  a->execute("SET SESSION sql_mode = 'ANSI_QUOTES,PIPES_AS_CONCAT'");
  a->execute("SET time_zone = '+05:30'");
  a->execute("SET SESSION sql_select_limit = 3");
  a->execute("SET SESSION max_statement_time = 7.5");
  EXPECT_TRUE(released(*a));

  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    on_every_backend([&](mysql_client& other, int i) {
      EXPECT_EQ(
          other.query("SELECT @@sql_mode, @@time_zone, @@sql_select_limit, @@max_statement_time")
              .rows,
          defaults);
      EXPECT_EQ(other.query("SELECT id FROM pins_rows").rows.size(), 10u);
      other.execute("SET SESSION sql_mode = 'NO_ZERO_DATE'");
      other.execute("SET time_zone = '-0" + std::to_string(i + 1) + ":00'");
      other.execute("SET SESSION sql_select_limit = " + std::to_string(i + 1));
      other.execute("SET SESSION max_statement_time = " + std::to_string(i + 20));
    });
    EXPECT_EQ(
        a->query("SELECT @@sql_mode, @@time_zone, @@sql_select_limit, @@max_statement_time").rows,
        (std::vector<row>{{"PIPES_AS_CONCAT,ANSI_QUOTES", "+05:30", "3", "7.500000"}}));
    EXPECT_EQ(a->query("SELECT id FROM pins_rows ORDER BY id").rows,
              (std::vector<row>{{"1"}, {"2"}, {"3"}}));
    EXPECT_EQ(a->scalar("SELECT 'a' || 'b'"), "ab");  // PIPES_AS_CONCAT
    EXPECT_TRUE(released(*a));
  }
}

TEST_P(PinsTest, SessionTransactionCharacteristicsAreReplayed) {
  auto a = connect();
  a->execute("SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE");
  a->execute("SET SESSION TRANSACTION READ ONLY");
  EXPECT_TRUE(released(*a));
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    on_every_backend([&](mysql_client& other, int) {
      EXPECT_EQ(other.query("SELECT @@tx_isolation, @@tx_read_only").rows,
                (std::vector<row>{{"REPEATABLE-READ", "0"}}));
      const query_result insert = other.query("INSERT INTO pins_ai (client) VALUES ('other')");
      EXPECT_TRUE(insert.ok) << insert.describe();
      other.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED");
    });
    EXPECT_EQ(a->query("SELECT @@tx_isolation, @@tx_read_only").rows,
              (std::vector<row>{{"SERIALIZABLE", "1"}}));
    EXPECT_EQ(a->query("INSERT INTO pins_ai (client) VALUES ('a')").error_code,
              read_only_transaction);
    EXPECT_TRUE(released(*a));
  }
}

TEST_P(PinsTest, SetInsertIdPinsForTheRestOfTheSession) {
  auto a = connect();
  a->execute("SET insert_id = 1000");
  EXPECT_TRUE(pinned(*a, "session_variable"));
  const query_result insert = a->query("INSERT INTO pins_ai (client) VALUES ('a')");
  ASSERT_TRUE(insert.ok) << insert.describe();
  EXPECT_EQ(insert.last_insert_id, 1000u);
  EXPECT_EQ(a->scalar("SELECT LAST_INSERT_ID()"), "1000");
  {
    auto other = connect();
    const query_result next = other->query("INSERT INTO pins_ai (client) VALUES ('other')");
    ASSERT_TRUE(next.ok) << next.describe();
    EXPECT_EQ(next.last_insert_id, 1001u);
  }
  EXPECT_EQ(a->scalar("SELECT 1"), "1");
  EXPECT_TRUE(pinned(*a, "session_variable"));  // sticky until the session is reset

  ASSERT_EQ(mysql_reset_connection(a->handle()), 0) << a->error_message();
  EXPECT_TRUE(released(*a));
  const query_result after = a->query("INSERT INTO pins_ai (client) VALUES ('a')");
  ASSERT_TRUE(after.ok) << after.describe();
  EXPECT_EQ(after.last_insert_id, 1002u);
}

TEST_P(PinsTest, ResetConnectionClearsEveryPinAndAllState) {
  const std::string default_mode = connect()->scalar("SELECT @@sql_mode");
  auto a = connect();
  auto other = connect();
  a->execute("SET @lit = 5");
  EXPECT_EQ(a->scalar("SELECT @v := 7"), "7");
  a->execute("CREATE TEMPORARY TABLE pins_tmp_reset (v INT)");
  EXPECT_EQ(a->scalar("SELECT GET_LOCK('pins_reset_lock', 5)"), "1");
  a->execute("SET SESSION sql_mode = 'ANSI_QUOTES'");
  a->execute("SET NAMES latin1");
  if (through_sluice()) {
    EXPECT_NE(pinned_reason(a->thread_id()), "");
  }
  EXPECT_EQ(other->scalar("SELECT IS_FREE_LOCK('pins_reset_lock')"), "0");

  ASSERT_EQ(mysql_reset_connection(a->handle()), 0) << a->error_message();
  EXPECT_TRUE(released(*a));
  EXPECT_EQ(other->scalar("SELECT IS_FREE_LOCK('pins_reset_lock')"), "1");
  EXPECT_EQ(a->query("SELECT @lit, @v").rows, (std::vector<row>{{std::nullopt, std::nullopt}}));
  EXPECT_EQ(a->query("SELECT v FROM pins_tmp_reset").error_code, no_such_table);
  EXPECT_EQ(a->scalar("SELECT @@sql_mode"), default_mode);
  EXPECT_EQ(a->scalar("SELECT DATABASE()"), db);
  EXPECT_TRUE(released(*a));
  on_every_backend([&](mysql_client& checker, int) {
    EXPECT_EQ(checker.query("SELECT @lit, @v").rows,
              (std::vector<row>{{std::nullopt, std::nullopt}}));
    EXPECT_EQ(checker.query("SELECT v FROM pins_tmp_reset").error_code, no_such_table);
    EXPECT_EQ(checker.scalar("SELECT @@sql_mode"), default_mode);
  });
}

// ---- LAST_INSERT_ID ----------------------------------------------------------------------

TEST_P(PinsTest, LastInsertIdIsTheClientsOwnInEveryForm) {
  constexpr std::size_t clients = 4;  // on two backends, so each lands on both
  constexpr int rounds = 15;
  mismatch_log mismatches;
  const auto failures = run_threads(clients, [&](std::size_t c) {
    const std::string me = "c" + std::to_string(c);
    auto client = connect();
    std::uint64_t mine = 0;  // rows this client inserted
    for (int seq = 0; seq < rounds; ++seq) {
      const std::string who = me + " round " + std::to_string(seq);
      const query_result one = client->query("INSERT INTO pins_ai (client, seq) VALUES ('" + me +
                                             "', " + std::to_string(seq) + ")");
      if (!one.ok) throw std::runtime_error("insert: " + one.describe());
      ++mine;
      const std::string id = std::to_string(one.last_insert_id);  // mysql_insert_id()
      mismatches.check(who, "mysql_insert_id() is set", one.last_insert_id ? "yes" : "no", "yes");
      mismatches.check(who, "LAST_INSERT_ID()", client->scalar("SELECT LAST_INSERT_ID()"), id);
      const query_result aliased = client->query("SELECT LAST_INSERT_ID() AS id");
      mismatches.check(who, "column of LAST_INSERT_ID() AS id",
                       aliased.result_sets.empty() || aliased.result_sets[0].columns.empty()
                           ? aliased.describe()
                           : aliased.result_sets[0].columns[0],
                       "id");
      mismatches.check(who, "LAST_INSERT_ID() AS id",
                       aliased.rows.size() == 1 ? aliased.rows[0].at(0) : aliased.describe(), id);
      mismatches.check(who, "LAST_INSERT_ID()+1", client->scalar("SELECT LAST_INSERT_ID()+1"),
                       std::to_string(one.last_insert_id + 1));
      const query_result owner =
          client->query("SELECT client, seq FROM pins_ai WHERE id = LAST_INSERT_ID()");
      mismatches.check(who, "row WHERE id = LAST_INSERT_ID()",
                       owner.rows.size() == 1 ? owner.rows[0].at(0).value_or("NULL") + "/" +
                                                    owner.rows[0].at(1).value_or("NULL")
                                              : std::to_string(owner.rows.size()) + " rows",
                       me + "/" + std::to_string(seq));

      const query_result three = client->query("INSERT INTO pins_ai (client, seq) VALUES ('" + me +
                                               "', 100), ('" + me + "', 101), ('" + me + "', 102)");
      if (!three.ok) throw std::runtime_error("multi-row insert: " + three.describe());
      mine += 3;
      const std::string first = std::to_string(three.last_insert_id);
      mismatches.check(who, "multi-row affected rows", std::to_string(three.affected_rows), "3");
      mismatches.check(who, "LAST_INSERT_ID() after a multi-row INSERT",
                       client->scalar("SELECT LAST_INSERT_ID()"), first);
      mismatches.check(who, "rows from the first id of the multi-row INSERT",
                       client->scalar("SELECT COUNT(*) FROM pins_ai WHERE id BETWEEN " + first +
                                      " AND " + first + " + 2 AND client = '" + me + "'"),
                       "3");

      const query_result update =
          client->query("UPDATE pins_ai SET seq = seq + 1 WHERE client = '" + me + "'");
      if (!update.ok) throw std::runtime_error("update: " + update.describe());
      mismatches.check(who, "UPDATE affected rows", std::to_string(update.affected_rows),
                       std::to_string(mine));
      mismatches.check(
          who, "LAST_INSERT_ID() after an UPDATE (the single-row INSERT before got " + id + ")",
          client->scalar("SELECT LAST_INSERT_ID()"), first);
    }
  });
  EXPECT_TRUE(failures.empty()) << describe_failures(failures);
  EXPECT_EQ(mismatches.count(), 0) << mismatches.report();
  EXPECT_EQ(server().query("SELECT COUNT(*) FROM sluice_test.pins_ai").at(0).at(0),
            std::to_string(clients * rounds * 4));
}

// ---- KILL --------------------------------------------------------------------------------

TEST_P(PinsTest, KillQueryInterruptsTheTargetsStatement) {
  auto a = connect();
  auto b = connect();
  const std::string a_id = std::to_string(a->thread_id());

  query_result slept;
  steady::time_point finished;
  std::thread sleeper([&] {
    slept = a->query("SELECT SLEEP(20)");
    finished = steady::now();
  });
  const bool running =
      wait_until([&] { return server().statement_running("SELECT SLEEP(20)"); }, 10s);
  const auto kill_sent = steady::now();
  const query_result kill = running ? b->query("KILL QUERY " + a_id) : query_result{};
  sleeper.join();
  ASSERT_TRUE(running) << "A's SELECT SLEEP(20) never reached the server";
  EXPECT_TRUE(kill.ok) << kill.describe();
  EXPECT_FALSE(slept.ok);
  EXPECT_EQ(slept.error_code, query_interrupted) << slept.describe();
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(finished - kill_sent).count(),
            5000);
  EXPECT_EQ(a->scalar("SELECT 'still here'"), "still here");
  EXPECT_EQ(b->scalar("SELECT 'b too'"), "b too");
  EXPECT_TRUE(released(*a));
}

TEST_P(PinsTest, KillClosesTheTargetConnection) {
  auto a = connect();
  auto a2 = connect();
  auto b = connect();
  EXPECT_EQ(a->scalar("SELECT 1"), "1");

  const query_result kill = b->query("KILL " + std::to_string(a->thread_id()));
  EXPECT_TRUE(kill.ok) << kill.describe();
  const query_result after = a->query("SELECT 1");
  EXPECT_FALSE(after.ok);
  EXPECT_THAT(after.error_code, AnyOf(server_lost, server_gone)) << after.describe();

  const query_result kill_connection =
      b->query("KILL CONNECTION " + std::to_string(a2->thread_id()));
  EXPECT_TRUE(kill_connection.ok) << kill_connection.describe();
  const query_result after2 = a2->query("SELECT 1");
  EXPECT_FALSE(after2.ok);
  EXPECT_THAT(after2.error_code, AnyOf(server_lost, server_gone)) << after2.describe();

  EXPECT_EQ(b->scalar("SELECT 'b is fine'"), "b is fine");
  if (through_sluice()) {
    EXPECT_TRUE(wait_until([&] { return client_row(a->thread_id()).is_null(); }, 3s));
    EXPECT_TRUE(wait_until([&] { return client_row(a2->thread_id()).is_null(); }, 3s));
  }
}

TEST_P(PinsTest, KillOfAnUnknownIdFails) {
  auto b = connect();
  for (const std::string form : {"KILL ", "KILL QUERY ", "KILL CONNECTION "}) {
    const query_result kill = b->query(form + "999999");
    EXPECT_EQ(kill.error_code, unknown_thread) << form << ": " << kill.describe();
    EXPECT_THAT(kill.message, HasSubstr("999999"));
  }
  EXPECT_EQ(b->scalar("SELECT 1"), "1");
}

TEST_P(PinsTest, KillOfAnotherUsersClientIsRefused) {
  // Through sluice the users app and other; on MariaDB itself both have SUPER, so the control
  // run uses two accounts without privileges over each other's connections.
  std::unique_ptr<mysql_client> killer;
  std::unique_ptr<mysql_client> victim;
  if (through_sluice()) {
    killer = connect_as("app", "app-pw", db);
    victim = connect_as("other", "other-pw", db);
  } else {
    server().run_sql(
        "CREATE USER IF NOT EXISTS 'pins_plain1'@'%' IDENTIFIED BY 'plain1-pw';"
        "CREATE USER IF NOT EXISTS 'pins_plain2'@'%' IDENTIFIED BY 'plain2-pw';"
        "GRANT SELECT ON sluice_test.* TO 'pins_plain1'@'%', 'pins_plain2'@'%'");
    killer = connect_as("pins_plain1", "plain1-pw", db);
    victim = connect_as("pins_plain2", "plain2-pw", db);
  }
  const std::string victim_id = std::to_string(victim->thread_id());
  for (const std::string form : {"KILL ", "KILL QUERY ", "KILL CONNECTION "}) {
    const query_result kill = killer->query(form + victim_id);
    EXPECT_EQ(kill.error_code, not_owner_of_thread) << form << ": " << kill.describe();
    EXPECT_THAT(kill.message, HasSubstr(victim_id));
  }
  EXPECT_EQ(victim->scalar("SELECT 'alive'"), "alive");
  EXPECT_EQ(killer->scalar("SELECT 'alive'"), "alive");
}

TEST_P(PinsTest, KillQueryOfAnIdleClientIsANoOp) {
  auto a = connect();
  auto b = connect();
  EXPECT_EQ(a->scalar("SELECT 1"), "1");
  const query_result kill = b->query("KILL QUERY " + std::to_string(a->thread_id()));
  EXPECT_TRUE(kill.ok) << kill.describe();
  // The next statement is not interrupted: SLEEP returns 0 when it sleeps its full time.
  const query_result sleep = a->query("SELECT SLEEP(0.2)");
  ASSERT_TRUE(sleep.ok) << sleep.describe();
  EXPECT_EQ(sleep.rows, (std::vector<row>{{"0"}}));
  EXPECT_EQ(a->scalar("SELECT 'still here'"), "still here");
  EXPECT_TRUE(released(*a));
}

INSTANTIATE_TEST_SUITE_P(Targets, PinsTest, ::testing::Values(target::direct, target::sluice),
                         target_name);

}  // namespace
}  // namespace sluice::test
