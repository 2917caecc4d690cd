// Tests of the test harness itself: the throwaway MariaDB, the client wrapper, configs, processes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/child_process.h"
#include "tests/support/client.h"
#include "tests/support/fixtures.h"
#include "tests/support/mariadb_server.h"
#include "tests/support/ports.h"
#include "tests/support/sluice_config.h"
#include "tests/support/sluice_process.h"
#include "tests/support/threads.h"

#ifndef SLUICE_FAKE_PROXY
#error "SLUICE_FAKE_PROXY must name the stand-in proxy executable"
#endif

namespace sluice::test {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

std::unique_ptr<mysql_client> connect_backend_account(mariadb_server& server,
                                                      const std::string& db = "") {
  auto client = std::make_unique<mysql_client>();
  if (!client->connect(server.host(), server.port(), mariadb_server::backend_user,
                       mariadb_server::backend_password, db)) {
    throw std::runtime_error("backend login failed: " + client->error_message());
  }
  return client;
}

class MariadbServerTest : public integration_test {};

TEST_F(MariadbServerTest, AnswersRootQueriesOnLoopback) {
  EXPECT_EQ(server().host(), "127.0.0.1");
  EXPECT_GT(server().port(), 0);
  const auto rows = server().query("SELECT VERSION(), @@bind_address, @@max_connections");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_THAT(rows[0][0], HasSubstr("MariaDB"));
  EXPECT_EQ(rows[0][1], "127.0.0.1");
  EXPECT_EQ(rows[0][2], "500");
}

TEST_F(MariadbServerTest, BackendAccountAndTestDatabaseExist) {
  auto client = connect_backend_account(server(), mariadb_server::test_database);
  EXPECT_EQ(client->scalar("SELECT DATABASE()"), mariadb_server::test_database);
  EXPECT_EQ(client->scalar("SELECT CURRENT_USER()"), "sluice@%");
  EXPECT_EQ(client->scalar("SELECT @@local_infile"), "1");
  EXPECT_EQ(client->scalar("SELECT @@max_allowed_packet"), std::to_string(256 << 20));
}

TEST_F(MariadbServerTest, RunSqlRunsSeveralStatementsAndThrowsOnError) {
  server().run_sql(
      "CREATE OR REPLACE TABLE sluice_test.harness_t (id INT PRIMARY KEY);"
      "INSERT INTO sluice_test.harness_t VALUES (1), (2), (3)");
  EXPECT_EQ(server().query("SELECT COUNT(*) FROM sluice_test.harness_t")[0][0], "3");
  try {
    server().run_sql("SELECT * FROM sluice_test.no_such_table");
    FAIL() << "run_sql did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("1146"));
  }
}

TEST_F(MariadbServerTest, CountsBackendAccountConnections) {
  const int before = server().count_backend_connections();
  {
    auto a = connect_backend_account(server());
    auto b = connect_backend_account(server());
    auto c = connect_backend_account(server());
    EXPECT_TRUE(wait_until([&] { return server().count_backend_connections() == before + 3; }, 5s));
  }
  EXPECT_TRUE(wait_until([&] { return server().count_backend_connections() == before; }, 5s));
}

TEST_F(MariadbServerTest, KillHardDropsClientsAndStartAgainKeepsData) {
  server().run_sql(
      "CREATE OR REPLACE TABLE sluice_test.survivor (v INT);"
      "INSERT INTO sluice_test.survivor VALUES (42)");
  auto client = connect_backend_account(server());
  ASSERT_EQ(client->scalar("SELECT 1"), "1");
  const auto port = server().port();

  server().kill_hard();
  EXPECT_FALSE(server().running());
  const query_result dropped = client->query("SELECT 1");
  EXPECT_FALSE(dropped.ok);
  EXPECT_TRUE(dropped.error_code == 2006 || dropped.error_code == 2013) << dropped.describe();

  server().start_again();
  EXPECT_TRUE(server().running());
  EXPECT_EQ(server().port(), port);
  auto again = connect_backend_account(server());
  EXPECT_EQ(again->scalar("SELECT v FROM sluice_test.survivor"), "42");
}

TEST(MysqlClientTest, ReportsLoginFailureWithCodeAndState) {
  auto& server = mariadb_server::shared();
  mysql_client client;
  EXPECT_FALSE(client.connect(server.host(), server.port(), mariadb_server::backend_user, "wrong"));
  EXPECT_FALSE(client.connected());
  EXPECT_EQ(client.error_code(), 1045u);
  EXPECT_EQ(client.sql_state(), "28000");
  EXPECT_THAT(client.error_message(), HasSubstr("Access denied"));
  // The same object can connect again.
  EXPECT_TRUE(client.connect(server.host(), server.port(), mariadb_server::backend_user,
                             mariadb_server::backend_password));
  EXPECT_EQ(client.scalar("SELECT 7"), "7");
}

TEST(MysqlClientTest, CollectsRowsNullsAndOkPacketNumbers) {
  auto& server = mariadb_server::shared();
  auto client = connect_backend_account(server, mariadb_server::test_database);
  client->execute("CREATE OR REPLACE TABLE client_t (id INT AUTO_INCREMENT PRIMARY KEY, v TEXT)");
  const query_result insert = client->query("INSERT INTO client_t (v) VALUES ('a'), (NULL)");
  ASSERT_TRUE(insert.ok) << insert.describe();
  EXPECT_EQ(insert.affected_rows, 2u);
  EXPECT_EQ(insert.last_insert_id, 1u);
  EXPECT_TRUE(insert.rows.empty());

  const query_result select = client->query("SELECT id, v FROM client_t ORDER BY id");
  ASSERT_TRUE(select.ok) << select.describe();
  ASSERT_EQ(select.result_sets.size(), 1u);
  EXPECT_EQ(select.result_sets[0].columns, (std::vector<std::string>{"id", "v"}));
  ASSERT_EQ(select.rows.size(), 2u);
  EXPECT_EQ(select.rows[0][1], "a");
  EXPECT_EQ(select.rows[1][1], std::nullopt);
  EXPECT_EQ(client->scalar_or_null("SELECT NULL"), std::nullopt);
  EXPECT_THROW(client->scalar("SELECT NULL"), std::runtime_error);
  EXPECT_THROW(client->scalar("SELECT * FROM no_such_table"), std::runtime_error);
}

TEST(MysqlClientTest, CollectsEveryResultOfAMultiStatement) {
  auto& server = mariadb_server::shared();
  mysql_client client;
  ASSERT_TRUE(client.connect(server.host(), server.port(), mariadb_server::backend_user,
                             mariadb_server::backend_password, "", CLIENT_MULTI_STATEMENTS))
      << client.error_message();
  const query_result two = client.query("SELECT 1; SELECT 2");
  ASSERT_TRUE(two.ok) << two.describe();
  ASSERT_EQ(two.result_sets.size(), 2u);
  EXPECT_EQ(two.result_sets[0].rows.at(0).at(0), "1");
  EXPECT_EQ(two.result_sets[1].rows.at(0).at(0), "2");
  EXPECT_EQ(two.rows.at(0).at(0), "1");

  const query_result set_then_select = client.query("SET @a = 5; SELECT @a");
  ASSERT_TRUE(set_then_select.ok) << set_then_select.describe();
  EXPECT_EQ(set_then_select.rows.at(0).at(0), "5");

  const query_result failing =
      client.query("SELECT 1; SELECT * FROM sluice_test.no_such_table; SELECT 3");
  EXPECT_FALSE(failing.ok);
  EXPECT_EQ(failing.error_code, 1146u) << failing.describe();
  EXPECT_EQ(failing.result_sets.size(), 1u);
  EXPECT_EQ(client.scalar("SELECT 4"), "4");
}

TEST(SluiceConfigTest, BasicConfigHasEverySectionOfTheFormat) {
  auto& server = mariadb_server::shared();
  const sluice_config config = basic_sluice_config(6999, server);
  EXPECT_EQ(config.listen_port(), 6999);
  EXPECT_EQ(config.get("backend", "address"), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(config.get("backend", "user"), "sluice");
  EXPECT_EQ(config.get("backend", "password"), "backend-pw");
  EXPECT_EQ(config.get("users", "app"), "app-pw");
  EXPECT_EQ(config.get("users", "other"), "other-pw");
  const std::string text = config.text();
  for (const char* section : {"[sluice]", "[backend]", "[queue]", "[users]", "[log]"}) {
    EXPECT_THAT(text, HasSubstr(section));
  }
  EXPECT_THAT(text, HasSubstr("listen = 127.0.0.1:6999\n"));
  EXPECT_THAT(text, HasSubstr("pool_mode = transaction\n"));
}

TEST(SluiceConfigTest, OverridesReplaceKeysInPlaceWithoutDuplicates) {
  auto& server = mariadb_server::shared();
  const std::string text = basic_config(
      7000, server,
      {{"backend.max_connections", "1"}, {"queue.timeout", "300ms"}, {"extra.flag", "yes"}});
  EXPECT_THAT(text, HasSubstr("max_connections = 1\n"));
  EXPECT_EQ(text.find("max_connections"), text.rfind("max_connections"));
  EXPECT_EQ(text.find("[queue]"), text.rfind("[queue]"));
  EXPECT_THAT(text, HasSubstr("timeout = 300ms\n"));
  EXPECT_THAT(text, HasSubstr("[extra]\nflag = yes\n"));

  sluice_config config = basic_sluice_config(7000, server);
  config.erase("backend", "address");
  EXPECT_EQ(config.text().find("address"), std::string::npos);
  EXPECT_THROW(config.set("no_dot", "1"), std::invalid_argument);
}

// Binds 127.0.0.1:port and listens; false if either fails.
bool listenable(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0 &&
                  ::listen(fd, 1) == 0;
  ::close(fd);
  return ok;
}

// The range free_port avoids is the one the kernel really uses for port 0 (and for outgoing
// connections): every port it picks for bind(0) lies in it.
TEST(FreePortTest, EphemeralRangeIsWhereTheKernelPicks) {
  const port_range ephemeral = ephemeral_port_range();
  ASSERT_LT(ephemeral.first, ephemeral.last);
  for (int i = 0; i < 20; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    ::close(fd);
    EXPECT_TRUE(ephemeral.contains(ntohs(addr.sin_port))) << ntohs(addr.sin_port);
  }
}

// A port picked inside the ephemeral range can be taken by any process's outgoing connection
// before the server binds it ("bind: Address already in use"): picks lie outside it, differ
// from every earlier pick of the process (also across threads), and can be bound.
TEST(FreePortTest, PicksDistinctBindablePortsOutsideTheEphemeralRange) {
  const port_range ephemeral = ephemeral_port_range();
  constexpr std::size_t threads = 8, per_thread = 40;
  std::vector<std::vector<std::uint16_t>> picked(threads);
  const auto failures = run_threads(threads, [&](std::size_t t) {
    for (std::size_t i = 0; i < per_thread; ++i) picked[t].push_back(free_port());
  });
  ASSERT_TRUE(failures.empty()) << describe_failures(failures);
  std::set<std::uint16_t> seen;
  for (const auto& ports : picked) {
    for (const std::uint16_t port : ports) {
      EXPECT_FALSE(ephemeral.contains(port))
          << port << " is in " << ephemeral.first << "-" << ephemeral.last;
      EXPECT_GE(port, 1024);
      EXPECT_TRUE(seen.insert(port).second) << "port " << port << " picked twice";
      EXPECT_TRUE(listenable(port)) << "port " << port << " cannot be bound";
    }
  }
  EXPECT_EQ(seen.size(), threads * per_thread);
}

TEST(ChildProcessTest, RunCommandCapturesOutputAndStatus) {
  const command_result result =
      run_command({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}, 10s);
  EXPECT_EQ(result.status, 3);
  EXPECT_FALSE(result.timed_out);
  EXPECT_THAT(result.output, HasSubstr("out\n"));
  EXPECT_THAT(result.output, HasSubstr("err\n"));

  const command_result slow = run_command({"/bin/sleep", "30"}, 200ms);
  EXPECT_TRUE(slow.timed_out);
  EXPECT_EQ(slow.status, 128 + SIGKILL);
}

TEST(ChildProcessTest, FindsMariadbPrograms) {
  EXPECT_THAT(find_program("mariadbd"), HasSubstr("/mariadbd"));
  EXPECT_THROW(find_program("no-such-program-sluice"), std::runtime_error);
}

class FakeProxyTest : public integration_test {
 protected:
  std::string config_text(std::uint16_t port, const std::string& extra = "") {
    return "[sluice]\nlisten = 127.0.0.1:" + std::to_string(port) + "\n" + extra;
  }
};

TEST_F(FakeProxyTest, StartsWaitsForThePortAndStopsWithStatus0) {
  const std::uint16_t port = free_port();
  sluice_process proxy(config_text(port), port, 10s, SLUICE_FAKE_PROXY);
  EXPECT_GT(proxy.pid(), 0);
  EXPECT_TRUE(proxy.running());
  EXPECT_TRUE(port_accepts(port));
  EXPECT_THAT(proxy.log(), HasSubstr("listening on " + std::to_string(port)));
  EXPECT_EQ(proxy.stop(5s), 0);
  EXPECT_FALSE(proxy.running());
  EXPECT_FALSE(port_accepts(port));
  EXPECT_THAT(proxy.log(), HasSubstr("stopping on SIGTERM"));
}

TEST_F(FakeProxyTest, SignalThenWaitReportsTheExit) {
  const std::uint16_t port = free_port();
  sluice_process proxy(config_text(port), port, 10s, SLUICE_FAKE_PROXY);
  EXPECT_EQ(proxy.wait_for_exit(100ms), std::nullopt);
  proxy.send_signal(SIGTERM);
  EXPECT_EQ(proxy.wait_for_exit(5s), 0);
}

TEST_F(FakeProxyTest, StopKillsAProcessThatIgnoresSigterm) {
  const std::uint16_t port = free_port();
  sluice_process proxy(config_text(port, "ignore_sigterm = 1\n"), port, 10s, SLUICE_FAKE_PROXY);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(proxy.stop(300ms), 128 + SIGKILL);
  EXPECT_LT(elapsed_ms(start), 5000);
}

TEST_F(FakeProxyTest, ExitBeforeListeningThrowsWithTheLog) {
  const std::uint16_t port = free_port();
  try {
    sluice_process proxy(config_text(port, "exit_code = 3\n"), port, 10s, SLUICE_FAKE_PROXY);
    FAIL() << "sluice_process did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("status 3"));
    EXPECT_THAT(e.what(), HasSubstr("exiting with 3 as configured"));
  }
}

TEST_F(FakeProxyTest, MissingBinaryThrowsNamingIt) {
  const std::uint16_t port = free_port();
  EXPECT_THROW(sluice_process(config_text(port), port, 1s, "/nonexistent/sluice"),
               std::runtime_error);
}

TEST_F(FakeProxyTest, RunSluiceUsesTheSluiceBinaryEnvironmentOverride) {
  ASSERT_EQ(::setenv("SLUICE_BINARY", SLUICE_FAKE_PROXY, 1), 0);
  const command_result version = run_sluice({"--version"}, 10s);
  ::unsetenv("SLUICE_BINARY");
  EXPECT_EQ(version.status, 0);
  EXPECT_THAT(version.output, HasSubstr("fake_proxy"));
  EXPECT_EQ(sluice_binary(), SLUICE_BINARY);
}

TEST(RunThreadsTest, RunsAllBodiesConcurrentlyAndCollectsFailures) {
  std::atomic<int> ran{0};
  const auto failures = run_threads(200, [&](std::size_t i) {
    ++ran;
    if (i % 50 == 7) throw std::runtime_error("boom " + std::to_string(i));
  });
  EXPECT_EQ(ran.load(), 200);
  ASSERT_EQ(failures.size(), 4u);
  EXPECT_THAT(failures[0], HasSubstr("boom"));
}

}  // namespace
}  // namespace sluice::test
