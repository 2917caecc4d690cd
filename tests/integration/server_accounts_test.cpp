// [auth] mode server: clients log in to sluice with MariaDB's own accounts, and their statements
// run on backend connections logged in as those accounts. Each behaviour is checked against
// MariaDB directly (the control) and through sluice with the same expectations: grants,
// CURRENT_USER(), a cross-user KILL, host rows; then what only sluice has: password changes
// within auth.refresh, plugins it cannot serve, and many accounts sharing one cap.
#include <gtest/gtest.h>
#include <mysql.h>

#include <algorithm>
#include <atomic>
#include <regex>
#include <string>
#include <thread>

#include "tests/support/fixtures.h"
#include "tests/support/http_client.h"
#include "tests/support/threads.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

constexpr unsigned access_denied = 1045;
constexpr unsigned table_access_denied = 1142;
constexpr unsigned kill_denied = 1095;
constexpr unsigned not_supported_auth_mode = 1251;

// The accounts: each of acct_a .. acct_d may read only its own database; sluice_auth reads the
// password hashes; hu has two host rows with different passwords; sock uses unix_socket.
void create_accounts(mariadb_server& server) {
  std::string sql =
      "CREATE USER IF NOT EXISTS 'sluice_auth'@'%' IDENTIFIED BY 'auth-pw';"
      "GRANT SELECT ON mysql.* TO 'sluice_auth'@'%';"
      "CREATE USER IF NOT EXISTS 'hu'@'127.0.0.1' IDENTIFIED BY 'local-pw';"
      "CREATE USER IF NOT EXISTS 'hu'@'%' IDENTIFIED BY 'any-pw';"
      "CREATE USER IF NOT EXISTS 'sock'@'%' IDENTIFIED VIA unix_socket;"
      "CREATE USER IF NOT EXISTS 'nopw'@'%';"
      "CREATE USER IF NOT EXISTS 'acct_pw'@'%' IDENTIFIED BY 'old-pw';";
  for (const char* name : {"acct_a", "acct_b", "acct_c", "acct_d"}) {
    const std::string n = name;
    sql += "CREATE DATABASE IF NOT EXISTS " + n + "_db;";
    sql += "CREATE TABLE IF NOT EXISTS " + n + "_db.t (owner VARCHAR(16) PRIMARY KEY);";
    sql += "INSERT IGNORE INTO " + n + "_db.t VALUES ('" + n + "');";
    sql += "CREATE USER IF NOT EXISTS '" + n + "'@'%' IDENTIFIED BY '" + n + "-pw';";
    sql += "GRANT SELECT, CREATE TEMPORARY TABLES ON " + n + "_db.* TO '" + n + "'@'%';";
  }
  server.run_sql(sql);
}

config_overrides server_mode() {
  return {{"auth.mode", "server"},
          {"auth.user", "sluice_auth"},
          {"auth.password", "auth-pw"},
          {"auth.refresh", "1s"}};
}

// The MySQL error number of a failed login (0 if it worked), and its message.
std::pair<unsigned, std::string> login_error(std::uint16_t port, const std::string& user,
                                             const std::string& password) {
  mysql_client c;
  if (c.connect("127.0.0.1", port, user, password)) return {0, ""};
  return {c.error_code(), c.error_message()};
}

class ServerAccountsTest : public target_test {
 protected:
  void SetUp() override {
    create_accounts(server());
    target_test::SetUp();
  }
  config_overrides sluice_overrides() const override { return server_mode(); }
};

INSTANTIATE_TEST_SUITE_P(Targets, ServerAccountsTest,
                         ::testing::Values(target::direct, target::sluice), target_name);

TEST_P(ServerAccountsTest, EachAccountHasItsOwnGrantsAndIdentity) {
  for (const std::string name : {"acct_a", "acct_b"}) {
    const std::string other = name == "acct_a" ? "acct_b" : "acct_a";
    auto c = connect_as(name, name + "-pw");
    EXPECT_EQ(c->scalar("SELECT CURRENT_USER()"), name + "@%");
    EXPECT_EQ(c->scalar("SELECT USER() LIKE '" + name + "@%'"), "1");
    const auto grants = c->query("SHOW GRANTS");
    ASSERT_TRUE(grants.ok) << grants.describe();
    std::vector<std::string> lines;
    for (const auto& r : grants.rows) lines.push_back(r[0].value_or("NULL"));
    EXPECT_EQ(lines.size(), 2u) << ::testing::PrintToString(lines);
    EXPECT_TRUE(std::ranges::any_of(lines, [&](const std::string& line) {
      return line ==
             "GRANT SELECT, CREATE TEMPORARY TABLES ON `" + name + "_db`.* TO `" + name + "`@`%`";
    })) << ::testing::PrintToString(lines);
    EXPECT_EQ(c->scalar("SELECT owner FROM " + name + "_db.t"), name);
    const auto foreign = c->query("SELECT owner FROM " + other + "_db.t");
    EXPECT_EQ(foreign.error_code, table_access_denied) << foreign.describe();
    const auto hashes = c->query("SELECT authentication_string FROM mysql.user");
    EXPECT_EQ(hashes.error_code, table_access_denied) << hashes.describe();
  }
  if (through_sluice()) {
    EXPECT_TRUE(sluice().running());
  }
}

TEST_P(ServerAccountsTest, AnAccountCannotSeeOrKillAnothersStatements) {
  auto a = connect_as("acct_a", "acct_a-pw");
  auto b = connect_as("acct_b", "acct_b-pw");
  // The transaction keeps a's backend connection (through sluice) while b tries.
  a->execute("BEGIN");
  EXPECT_EQ(a->scalar("SELECT owner FROM acct_a_db.t"), "acct_a");
  const auto ids =
      server().query("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = 'acct_a'");
  ASSERT_EQ(ids.size(), 1u) << "a's one connection on the server runs as acct_a";
  const std::string id = ids[0][0];
  EXPECT_EQ(b->scalar("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'acct_a'"),
            "0");
  const auto kill = b->query("EXECUTE IMMEDIATE 'KILL QUERY " + id + "'");
  EXPECT_EQ(kill.error_code, kill_denied) << kill.describe();
  EXPECT_EQ(a->scalar("SELECT owner FROM acct_a_db.t"), "acct_a");
  a->execute("COMMIT");
}

TEST_P(ServerAccountsTest, HostRowsAreMatchedAsTheServerMatchesThem) {
  // The client is on 127.0.0.1, so is sluice: 'hu'@'127.0.0.1' is the row, not 'hu'@'%'.
  auto local = connect_as("hu", "local-pw");
  EXPECT_EQ(local->scalar("SELECT CURRENT_USER()"), "hu@127.0.0.1");
  EXPECT_EQ(login_error(target_port(), "hu", "any-pw").first, access_denied);
}

TEST_P(ServerAccountsTest, WrongPasswordsAndUnknownUsersGetTheSameRefusal) {
  const auto wrong = login_error(target_port(), "acct_a", "not-the-pw");
  const auto unknown = login_error(target_port(), "no_such_account", "not-the-pw");
  EXPECT_EQ(wrong.first, access_denied) << wrong.second;
  EXPECT_EQ(unknown.first, access_denied) << unknown.second;
  EXPECT_EQ(std::regex_replace(wrong.second, std::regex("acct_a"), "X"),
            std::regex_replace(unknown.second, std::regex("no_such_account"), "X"));
  auto nopw = connect_as("nopw", "");
  EXPECT_EQ(nopw->scalar("SELECT CURRENT_USER()"), "nopw@%");
  EXPECT_EQ(login_error(target_port(), "nopw", "some-pw").first, access_denied);
}

TEST_P(ServerAccountsTest, ChangeUserMovesTheClientToTheOtherAccount) {
  auto c = connect_as("acct_a", "acct_a-pw");
  EXPECT_EQ(c->scalar("SELECT CURRENT_USER()"), "acct_a@%");
  ASSERT_EQ(mysql_change_user(c->handle(), "acct_b", "acct_b-pw", nullptr), 0)
      << mysql_error(c->handle());
  EXPECT_EQ(c->scalar("SELECT CURRENT_USER()"), "acct_b@%");
  EXPECT_EQ(c->scalar("SELECT owner FROM acct_b_db.t"), "acct_b");
  EXPECT_EQ(c->query("SELECT owner FROM acct_a_db.t").error_code, table_access_denied);
  EXPECT_NE(mysql_change_user(c->handle(), "acct_a", "wrong", nullptr), 0);
  EXPECT_EQ(mysql_errno(c->handle()), access_denied);
}

class ServerAccountsSluiceTest : public integration_test {
 protected:
  void SetUp() override { create_accounts(server()); }
};

TEST_F(ServerAccountsSluiceTest, APasswordChangedOnTheServerTakesEffectWithinTheRefresh) {
  server().run_sql("ALTER USER 'acct_pw'@'%' IDENTIFIED BY 'old-pw'");
  start_sluice(server_mode());
  auto keeper = connect_to_sluice("acct_pw", "old-pw");
  EXPECT_EQ(keeper->scalar("SELECT CURRENT_USER()"), "acct_pw@%");
  server().run_sql("ALTER USER 'acct_pw'@'%' IDENTIFIED BY 'new-pw'");
  const auto changed = std::chrono::steady_clock::now();
  // auth.refresh is 1 s: within it (and a margin) the old password stops working.
  EXPECT_TRUE(wait_until(
      [&] { return login_error(sluice_port(), "acct_pw", "old-pw").first == access_denied; }, 3s));
  EXPECT_LE(elapsed_ms(changed), 2000);
  auto renewed = connect_to_sluice("acct_pw", "new-pw");
  EXPECT_EQ(renewed->scalar("SELECT CURRENT_USER()"), "acct_pw@%");
  // A client logged in before the change keeps working, as it would directly.
  EXPECT_EQ(keeper->scalar("SELECT CURRENT_USER()"), "acct_pw@%");
  EXPECT_TRUE(sluice().running());
}

TEST_F(ServerAccountsSluiceTest, AccountsWithOtherPluginsAreRefusedByName) {
  start_sluice(server_mode());
  const auto refused = login_error(sluice_port(), "sock", "");
  EXPECT_EQ(refused.first, not_supported_auth_mode) << refused.second;
  EXPECT_NE(refused.second.find("unix_socket"), std::string::npos) << refused.second;
  EXPECT_TRUE(sluice().running());
}

// An account whose statements always wait must not keep every backend: another account, whose
// backends were all switched away, gets one on its turn (bench/accounts.sh saw a 1-thread
// account wait 8 s behind a 20-thread one).
TEST_F(ServerAccountsSluiceTest, AnAccountWithoutBackendsIsServedBesideABusyOne) {
  config_overrides overrides = server_mode();
  overrides["backend.max_connections"] = "2";
  overrides["queue.timeout"] = "5s";
  start_sluice(overrides);
  std::atomic<bool> stop{false};
  std::vector<std::thread> busy;
  std::atomic<int> busy_statements{0};
  for (int i = 0; i < 8; ++i) {
    busy.emplace_back([&] {
      auto c = connect_to_sluice("acct_a", "acct_a-pw");
      while (!stop) {
        if (c->query("SELECT SLEEP(0.01)").ok) ++busy_statements;
      }
    });
  }
  // acct_a's eight clients have taken both backends and keep statements waiting.
  ASSERT_TRUE(wait_until([&] { return busy_statements > 50; }, 10s));
  auto other = connect_to_sluice("acct_b", "acct_b-pw");
  std::chrono::milliseconds slowest{0};
  int failed = 0;
  for (int i = 0; i < 20; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const auto r = other->query("SELECT CURRENT_USER()");
    slowest = std::max(slowest, std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::steady_clock::now() - start));
    if (!r.ok || r.rows.at(0).at(0).value_or("") != "acct_b@%") ++failed;
  }
  stop = true;
  for (auto& t : busy) t.join();
  EXPECT_EQ(failed, 0);
  EXPECT_LT(slowest.count(), 1000) << "acct_b waited behind acct_a's queue";
  EXPECT_TRUE(sluice().running());
}

TEST_F(ServerAccountsSluiceTest, ClientsOfFourAccountsShareOneCapEachOnItsOwnAccount) {
  config_overrides overrides = server_mode();
  overrides["backend.max_connections"] = "8";
  overrides["queue.timeout"] = "30s";
  sluice_config config = make_config(overrides);
  const std::string listen = config.get("metrics", "listen");
  const auto metrics_port =
      static_cast<std::uint16_t>(std::stoi(listen.substr(listen.rfind(':') + 1)));
  start_sluice(config);

  // Watches the server: never more than 8 connections of the client accounts at once.
  std::atomic<bool> done{false};
  std::atomic<int> most{0};
  std::thread watcher([&] {
    while (!done) {
      const auto rows = server().query(
          "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER LIKE 'acct\\_%'");
      most = std::max(most.load(), std::stoi(rows[0][0]));
      std::this_thread::sleep_for(10ms);
    }
  });
  const char* names[] = {"acct_a", "acct_b", "acct_c", "acct_d"};
  std::atomic<int> statements{0};
  // The isolation torture per account: a user variable, a temporary table, a named lock and a
  // binary prepared statement, each of which must stay with its client and its account.
  const auto failures = run_threads(200, [&](std::size_t i) {
    const std::string name = names[i % 4];
    const std::string mine = std::to_string(i);
    auto c = connect_to_sluice(name, name + "-pw");
    const auto expect = [&](const std::string& sql, const std::string& want) {
      const auto r = c->query(sql);
      if (!r.ok) throw std::runtime_error(sql + ": " + r.describe());
      std::string seen;
      for (const auto& field : r.rows.at(0))
        seen += (seen.empty() ? "" : " ") + field.value_or("NULL");
      if (seen != want) throw std::runtime_error(sql + ": got '" + seen + "', want '" + want + "'");
      ++statements;
    };
    c->execute("SET @mine = " + mine);
    MYSQL_STMT* stmt = mysql_stmt_init(c->handle());
    struct closer {
      MYSQL_STMT* stmt;
      ~closer() { mysql_stmt_close(stmt); }
    } guard{stmt};
    const std::string prepared = "SELECT CURRENT_USER()";
    if (mysql_stmt_prepare(stmt, prepared.data(), prepared.size()) != 0)
      throw std::runtime_error(std::string("prepare: ") + mysql_stmt_error(stmt));
    for (int round = 0; round < 10; ++round) {
      expect("SELECT CURRENT_USER(), @mine, (SELECT owner FROM " + name + "_db.t)",
             name + "@% " + mine + " " + name);
      if (round == 3) {
        c->execute("CREATE TEMPORARY TABLE " + name + "_db.tmp (v INT)");
        c->execute("INSERT INTO " + name + "_db.tmp VALUES (" + mine + ")");
        expect("SELECT v, CURRENT_USER() FROM " + name + "_db.tmp", mine + " " + name + "@%");
        c->execute("DROP TEMPORARY TABLE " + name + "_db.tmp");
        expect("SELECT GET_LOCK('lock_" + mine + "', 5)", "1");
        expect("SELECT IS_USED_LOCK('lock_" + mine + "') = CONNECTION_ID()", "1");
        expect("SELECT RELEASE_LOCK('lock_" + mine + "')", "1");
      }
      if (round % 3 == 0) {
        char user[64] = {};
        unsigned long length = 0;
        MYSQL_BIND out{};
        out.buffer_type = MYSQL_TYPE_STRING;
        out.buffer = user;
        out.buffer_length = sizeof user;
        out.length = &length;
        if (mysql_stmt_execute(stmt) != 0 || mysql_stmt_bind_result(stmt, &out) != 0 ||
            mysql_stmt_fetch(stmt) != 0)
          throw std::runtime_error(std::string("execute: ") + mysql_stmt_error(stmt));
        mysql_stmt_free_result(stmt);
        const std::string seen(user, std::min<unsigned long>(length, sizeof user));
        if (seen != name + "@%") throw std::runtime_error("prepared: got '" + seen + "'");
        ++statements;
      }
    }
  });
  done = true;
  watcher.join();
  EXPECT_TRUE(failures.empty()) << describe_failures(failures);
  EXPECT_EQ(statements.load(), 200 * (10 + 4 + 4));
  EXPECT_LE(most.load(), 8) << "backend connections of the client accounts at once";
  EXPECT_GT(most.load(), 0);
  const auto scrape = http_get(metrics_port, "/metrics");
  ASSERT_TRUE(scrape.has_value());
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      scrape->body, m,
      std::regex(R"(sluice_backend_account_switches_total\{pool="default"\} ([0-9.e+]+))")));
  EXPECT_GT(std::stod(m[1]), 0) << "four accounts on a cap of 8 switch connections";
  EXPECT_TRUE(sluice().running());
}

}  // namespace
}  // namespace sluice::test
