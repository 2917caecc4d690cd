// Graceful shutdown on SIGTERM: running statements finish, new clients are refused, exit 0.
#include <signal.h>

#include <chrono>
#include <thread>

#include "tests/support/client.h"
#include "tests/support/fixtures.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

class ShutdownTest : public integration_test {
 protected:
  // Whether a login to sluice fails now.
  bool login_refused() {
    mysql_client client;
    client_options options;
    options.connect_timeout = 2s;
    options.read_timeout = 2s;
    return !client.connect("127.0.0.1", sluice_port(), "app", "app-pw", "", 0, options);
  }
};

TEST_F(ShutdownTest, SigtermLetsTheRunningStatementFinishThenExits0) {
  start_sluice({{"sluice.shutdown_timeout", "10s"}});
  auto client = connect_app();

  query_result sleeping;
  std::jthread runner([&] { sleeping = client->query("SELECT SLEEP(2)"); });
  const bool started =
      wait_until([&] { return server().statement_running("SELECT SLEEP(2)%"); }, 10s);
  if (!started) {
    runner.join();
    FAIL() << "SELECT SLEEP(2) never reached the backend: " << sleeping.describe();
  }

  const auto signalled = std::chrono::steady_clock::now();
  sluice().send_signal(SIGTERM);
  // While the statement still runs, sluice must stop taking clients.
  const bool refused = wait_until([&] { return login_refused(); }, 1500ms, 50ms);
  runner.join();
  const auto status = sluice().wait_for_exit(12s);
  const auto exited_after = elapsed_ms(signalled);

  EXPECT_TRUE(refused) << "sluice still accepted logins after SIGTERM";
  ASSERT_TRUE(sleeping.ok) << "the statement running at SIGTERM failed: " << sleeping.describe();
  EXPECT_EQ(sleeping.rows.at(0).at(0), "0");
  ASSERT_TRUE(status.has_value()) << "sluice still running 12 s after SIGTERM";
  EXPECT_EQ(*status, 0);
  EXPECT_LE(exited_after, 11000) << "exit took longer than shutdown_timeout (10 s)";
}

TEST_F(ShutdownTest, SigtermWithNoClientsExits0) {
  start_sluice({{"sluice.shutdown_timeout", "5s"}});
  {
    auto client = connect_app();
    ASSERT_EQ(client->scalar("SELECT 1"), "1");
  }
  const auto start = std::chrono::steady_clock::now();
  sluice().send_signal(SIGTERM);
  const auto status = sluice().wait_for_exit(10s);
  ASSERT_TRUE(status.has_value()) << "sluice still running 10 s after SIGTERM";
  EXPECT_EQ(*status, 0);
  EXPECT_LE(elapsed_ms(start), 6000);
  EXPECT_FALSE(port_accepts(sluice_port()));
}

TEST_F(ShutdownTest, SigtermWithAnIdleClientExits0WithinTheTimeout) {
  start_sluice({{"sluice.shutdown_timeout", "3s"}});
  auto idle = connect_app();
  ASSERT_EQ(idle->scalar("SELECT 1"), "1");
  const auto start = std::chrono::steady_clock::now();
  sluice().send_signal(SIGTERM);
  const auto status = sluice().wait_for_exit(10s);
  ASSERT_TRUE(status.has_value()) << "sluice still running 10 s after SIGTERM";
  EXPECT_EQ(*status, 0);
  EXPECT_LE(elapsed_ms(start), 4500) << "exit took longer than shutdown_timeout (3 s)";
  EXPECT_FALSE(idle->query("SELECT 1").ok) << "the idle client still works after sluice exited";
}

TEST_F(ShutdownTest, ShutdownTimeoutCutsAStatementThatRunsTooLong) {
  start_sluice({{"sluice.shutdown_timeout", "1s"}});
  auto client = connect_app();
  query_result sleeping;
  std::jthread runner([&] { sleeping = client->query("SELECT SLEEP(30)"); });
  const bool started =
      wait_until([&] { return server().statement_running("SELECT SLEEP(30)%"); }, 10s);
  if (!started) {
    runner.join();
    FAIL() << "SELECT SLEEP(30) never reached the backend: " << sleeping.describe();
  }
  const auto start = std::chrono::steady_clock::now();
  sluice().send_signal(SIGTERM);
  const auto status = sluice().wait_for_exit(10s);
  const auto exited_after = elapsed_ms(start);
  runner.join();
  EXPECT_TRUE(status.has_value()) << "sluice ignored shutdown_timeout = 1s";
  EXPECT_LE(exited_after, 5000);
  EXPECT_FALSE(sleeping.ok) << "a 30 s statement cannot have finished";
}

}  // namespace
}  // namespace sluice::test
