// Faults of the backend under load: MariaDB killed and restarted, frozen for 5 s, every one of
// sluice's sessions killed from the server side. Nothing acknowledged may be lost.
#include <signal.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/faults/fault_fixture.h"
#include "tests/support/admin_client.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

class BackendFaultTest : public fault_test {};

TEST_F(BackendFaultTest, MariadbKilledAndRestarted) {
  start_proxy();
  ASSERT_NO_FATAL_FAILURE(start_load());

  server().kill_hard();
  std::this_thread::sleep_for(1s);  // down long enough for every client to notice
  server().start_again();
  fault_over();

  // 7004: the statement's backend died under it (a COMMIT among them is unknown); 7003: while
  // MariaDB is down, statements fail fast instead of queueing. The client's connection to sluice
  // survives, so no 2013/2006.
  finish({"backend_killed", {7003, 7004}, {}});
}

TEST_F(BackendFaultTest, MariadbFrozenForFiveSeconds) {
  start_proxy();
  ASSERT_NO_FATAL_FAILURE(start_load());

  const pid_t mariadbd = server().pid();
  ASSERT_EQ(::kill(mariadbd, SIGSTOP), 0);
  std::this_thread::sleep_for(2500ms);
  // Halfway: statements wait (nothing can time out yet), and sluice's event loop still answers.
  try {
    admin_client admin(config().listen_port("admin"));
    const auto pools = nlohmann::json::parse(admin.command("SHOW POOLS FORMAT JSON"));
    EXPECT_GT(pools.at(0).at("cl_waiting").get<int>(), 0)
        << "no statement waits while every backend is frozen: " << pools.dump();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "the admin port did not answer while MariaDB was frozen: " << e.what();
  }
  std::this_thread::sleep_for(2500ms);
  ASSERT_EQ(::kill(mariadbd, SIGCONT), 0);
  fault_over();

  // A stall shorter than the queue timeout (10 s) and the clients' read timeout (15 s) costs
  // latency only: no error of sluice's own is acceptable.
  finish({"backend_frozen", {}, {}});
}

TEST_F(BackendFaultTest, EverySessionOfSluiceKilledOnTheServer) {
  start_proxy();
  ASSERT_NO_FATAL_FAILURE(start_load());

  mysql_client root;
  ASSERT_TRUE(root.connect(server().host(), server().port(), "root", "")) << root.error_message();
  const auto sessions = backend_threads_on_server();
  ASSERT_FALSE(sessions.empty());
  int killed = 0;
  for (const auto& id : sessions) {
    const query_result result = root.query("KILL " + id);
    if (result.ok) {
      ++killed;
    } else {
      EXPECT_EQ(result.error_code, 1094u) << "KILL " << id << ": " << result.describe();
    }
  }
  std::cout << "[ faults ] killed " << killed << " of " << sessions.size()
            << " backend sessions on the server" << std::endl;
  EXPECT_GT(killed, 0);
  fault_over();

  // 1927: the statement's session was killed (MariaDB's own error, relayed as a direct client
  // would get it); 7004: sluice found its backend closed when it sent the next statement.
  finish({"backend_sessions_killed", {1927, 7004}, {}});
}

}  // namespace
}  // namespace sluice::test
