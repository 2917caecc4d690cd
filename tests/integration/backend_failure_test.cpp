// When MariaDB dies, clients get errors (never hangs) and sluice recovers once it is back.
#include <chrono>
#include <thread>

#include "tests/support/client.h"
#include "tests/support/fixtures.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

class BackendFailureTest : public integration_test {
 protected:
  void TearDown() override {
    integration_test::TearDown();
    // Tests in this process share the server: leave it running for the next one.
    if (!server().running()) server().start_again();
  }

  // Whether a statement like `pattern` runs on the backend right now.
  // Whether a new client can log in to sluice and run SELECT 1.
  bool new_client_works() {
    mysql_client client;
    client_options options;
    options.connect_timeout = 5s;
    options.read_timeout = 10s;
    return client.connect("127.0.0.1", sluice_port(), "app", "app-pw", "", 0, options) &&
           client.query("SELECT 1").ok;
  }

  // SELECT 1 on `client`'s connection, logging in again if the connection was lost.
  bool works_or_reconnects(mysql_client& client) {
    if (client.connected() && client.query("SELECT 1").ok) return true;
    const unsigned code = client.error_code();
    if (!client.connected() || code == 2006 || code == 2013) {
      client.connect("127.0.0.1", sluice_port(), "app", "app-pw");
    }
    return false;
  }
};

TEST_F(BackendFailureTest, MariadbKilledMidQueryGivesAnErrorAndSluiceRecovers) {
  start_sluice({{"backend.connect_timeout", "2s"}});
  auto client = connect_app();

  query_result sleeping;
  std::chrono::steady_clock::time_point answered;
  std::jthread runner([&] {
    sleeping = client->query("SELECT SLEEP(5)");
    answered = std::chrono::steady_clock::now();
  });
  const bool started =
      wait_until([&] { return server().statement_running("SELECT SLEEP(5)%"); }, 10s);
  if (!started) {
    runner.join();
    FAIL() << "SELECT SLEEP(5) never reached the backend: " << sleeping.describe();
  }

  const auto killed = std::chrono::steady_clock::now();
  server().kill_hard();
  runner.join();

  EXPECT_FALSE(sleeping.ok) << "SELECT SLEEP(5) succeeded although MariaDB was killed";
  EXPECT_NE(sleeping.error_code, 0u);
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(answered - killed).count(), 4000)
      << "the client waited instead of getting an error when the backend died";

  server().start_again();
  EXPECT_TRUE(wait_until([&] { return new_client_works(); }, 15s, 200ms))
      << "sluice did not serve new clients within 15 s of MariaDB coming back";
  EXPECT_TRUE(wait_until([&] { return works_or_reconnects(*client); }, 15s, 200ms))
      << "the client of the killed query could not run SELECT 1 again";
  EXPECT_TRUE(sluice().running());
}

TEST_F(BackendFailureTest, StatementsFailFastWhileMariadbIsDown) {
  start_sluice({{"queue.timeout", "10s"}, {"backend.connect_timeout", "5s"}});
  auto client = connect_app();
  ASSERT_EQ(client->scalar("SELECT 1"), "1");  // a pooled connection now exists (and will die)

  server().kill_hard();

  auto start = std::chrono::steady_clock::now();
  const query_result on_old_client = client->query("SELECT 1");
  EXPECT_FALSE(on_old_client.ok);
  EXPECT_FALSE(on_old_client.message.empty());
  EXPECT_LT(elapsed_ms(start), 3000)
      << "statement waited for a dead backend: " << on_old_client.describe();

  // A second statement (no pooled connection left to find dead) must fail fast too.
  start = std::chrono::steady_clock::now();
  mysql_client fresh;
  bool fresh_failed = true;
  if (fresh.connect("127.0.0.1", sluice_port(), "app", "app-pw")) {
    const query_result on_new_client = fresh.query("SELECT 1");
    fresh_failed = !on_new_client.ok;
    EXPECT_FALSE(on_new_client.message.empty());
  }
  EXPECT_TRUE(fresh_failed);
  EXPECT_LT(elapsed_ms(start), 3000) << "a new client waited for a dead backend";

  server().start_again();
  EXPECT_TRUE(wait_until([&] { return works_or_reconnects(*client); }, 15s, 200ms))
      << "the client could not run SELECT 1 after MariaDB came back";
}

}  // namespace
}  // namespace sluice::test
