// What a client notices of its own session's timeouts and of COM_STATISTICS, through sluice as
// directly: its wait_timeout (as it set it, or interactive_timeout for an interactive client)
// ends an idle connection the way the server ends it, and mysql_stat() returns the server's text.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <string>
#include <thread>

#include "tests/support/fixtures.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

// Whether the connection was closed under the client: the next statement fails as a lost
// connection (2006 "server has gone away" or 2013 "lost connection").
bool closed_under(mysql_client& client) {
  const query_result r = client.query("SELECT 1");
  return !r.ok && (r.error_code == 2006 || r.error_code == 2013);
}

class SessionTimeoutsTest : public target_test {};

TEST_P(SessionTimeoutsTest, AClientsOwnWaitTimeoutClosesItWhenIdle) {
  auto idle = connect_app();
  auto busy = connect_app();
  idle->execute("SET SESSION wait_timeout = 2");
  EXPECT_EQ(idle->scalar("SELECT @@session.wait_timeout"), "2");
  // Within its timeout it is served, on whichever backend.
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(idle->scalar("SELECT @@session.wait_timeout"), "2");
  for (int i = 0; i < 4; ++i) {
    busy->execute("SELECT 1");  // a client that keeps talking is not affected
    std::this_thread::sleep_for(900ms);
  }
  EXPECT_TRUE(closed_under(*idle)) << "idle 3.6 s with wait_timeout 2";
  EXPECT_EQ(busy->scalar("SELECT @@session.wait_timeout"), "28800");
  if (through_sluice()) {
    EXPECT_TRUE(sluice().running());
  }
}

TEST_P(SessionTimeoutsTest, StatisticsIsTheServersText) {
  auto client = connect_app();
  const char* text = mysql_stat(client->handle());
  ASSERT_NE(text, nullptr) << client->error_message();
  const std::string stat(text);
  EXPECT_EQ(stat.rfind("Uptime: ", 0), 0u) << stat;
  EXPECT_NE(stat.find("Threads: "), std::string::npos) << stat;
  EXPECT_NE(stat.find("Queries per second avg: "), std::string::npos) << stat;
  EXPECT_EQ(client->scalar("SELECT 1"), "1") << "the connection goes on after it";
}

INSTANTIATE_TEST_SUITE_P(Targets, SessionTimeoutsTest,
                         ::testing::Values(target::direct, target::sluice), target_name);

// An interactive client's session starts with the server's interactive_timeout as wait_timeout.
// The global must be set before sluice starts (it learns the server's defaults at its first
// backend connection), so this fixture sets it and starts sluice itself.
class InteractiveTimeoutTest : public integration_test,
                               public ::testing::WithParamInterface<target> {
 protected:
  void SetUp() override {
    server().run_sql("SET GLOBAL interactive_timeout = 2");
    create_client_accounts_on_backend(server());
    if (GetParam() == target::sluice) start_sluice();
  }
  void TearDown() override {
    integration_test::TearDown();
    server().run_sql("SET GLOBAL interactive_timeout = 28800");
  }
  std::unique_ptr<mysql_client> connect(unsigned long flags) {
    auto client = std::make_unique<mysql_client>();
    const std::uint16_t port = GetParam() == target::sluice ? sluice_port() : server().port();
    if (!client->connect("127.0.0.1", port, "app", "app-pw", "", flags))
      throw std::runtime_error("login failed: " + client->error_message());
    return client;
  }
};

TEST_P(InteractiveTimeoutTest, AnInteractiveClientIdlesForInteractiveTimeout) {
  auto interactive = connect(CLIENT_INTERACTIVE);
  auto batch = connect(0);
  EXPECT_EQ(interactive->scalar("SELECT @@session.wait_timeout"), "2");
  EXPECT_EQ(batch->scalar("SELECT @@session.wait_timeout"), "28800");
  std::this_thread::sleep_for(3500ms);
  EXPECT_TRUE(closed_under(*interactive)) << "interactive, idle 3.5 s, interactive_timeout 2";
  EXPECT_EQ(batch->scalar("SELECT 1"), "1") << "a non-interactive client idles on";
  if (GetParam() == target::sluice) {
    EXPECT_TRUE(sluice().running());
  }
}

// sluice learns the server's interactive_timeout with its first backend connection. An
// interactive client that logs in before that connection exists (here: MariaDB frozen while
// sluice starts and the client logs in) still starts with it, as it would directly.
class InteractiveBeforeFirstBackendTest : public integration_test {
 protected:
  void SetUp() override {
    server().run_sql("SET GLOBAL interactive_timeout = 2");
    create_client_accounts_on_backend(server());
  }
  void TearDown() override {
    ::kill(server().pid(), SIGCONT);
    integration_test::TearDown();
    server().run_sql("SET GLOBAL interactive_timeout = 28800");
  }
};

TEST_F(InteractiveBeforeFirstBackendTest, AnInteractiveLoginGetsInteractiveTimeoutOnceItIsKnown) {
  ASSERT_EQ(::kill(server().pid(), SIGSTOP), 0);
  start_sluice();
  auto interactive = std::make_unique<mysql_client>();
  const bool logged_in =
      interactive->connect("127.0.0.1", sluice_port(), "app", "app-pw", "", CLIENT_INTERACTIVE);
  ASSERT_EQ(::kill(server().pid(), SIGCONT), 0);
  ASSERT_TRUE(logged_in) << interactive->error_message();
  EXPECT_EQ(interactive->scalar("SELECT @@session.wait_timeout"), "2");
  std::this_thread::sleep_for(3500ms);
  EXPECT_TRUE(closed_under(*interactive)) << "interactive, idle 3.5 s, interactive_timeout 2";
  EXPECT_TRUE(sluice().running());
}

INSTANTIATE_TEST_SUITE_P(Targets, InteractiveTimeoutTest,
                         ::testing::Values(target::direct, target::sluice), target_name);

}  // namespace
}  // namespace sluice::test
