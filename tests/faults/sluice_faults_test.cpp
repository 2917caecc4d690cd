// Faults of sluice itself under load: SIGKILL and a restart on the same port, a reload that
// lowers the backend cap, and a drain while a successor serves the same port (SO_REUSEPORT).
#include <signal.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/faults/fault_fixture.h"
#include "tests/support/admin_client.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

class SluiceFaultTest : public fault_test {
 protected:
  // Whether sluice's log has `text` in it within `timeout`.
  static bool log_shows(sluice_process& process, const std::string& text,
                        std::chrono::milliseconds timeout) {
    return wait_until([&] { return process.log().find(text) != std::string::npos; }, timeout);
  }
};

TEST_F(SluiceFaultTest, KilledAndRestartedOnTheSamePort) {
  start_proxy();
  ASSERT_NO_FATAL_FAILURE(start_load());

  sluice_process& crashed = proxy();
  crashed.send_signal(SIGKILL);
  const auto status = crashed.wait_for_exit(5s);
  ASSERT_TRUE(status.has_value()) << "sluice still running 5 s after SIGKILL";
  EXPECT_EQ(*status, 128 + SIGKILL);
  std::this_thread::sleep_for(500ms);  // clients find the port closed
  start_successor(config());           // same file, same port
  fault_over();

  // The clients' connections died with sluice: 2013 (lost during a statement, a COMMIT among
  // them is unknown) or 2006 (found gone when sending); logins are refused while nobody
  // listens (2002/2003 from Connector/C) or cut off at the greeting (2013).
  finish({"sluice_killed", {2013, 2006}, {2002, 2003, 2013}});
}

TEST_F(SluiceFaultTest, ReloadLowersTheCapUnderLoad) {
  start_proxy();
  ASSERT_NO_FATAL_FAILURE(start_load());

  config().set("backend", "max_connections", "4");
  {
    std::ofstream file(proxy().config_path(), std::ios::trunc);
    file << config().text();
    ASSERT_TRUE(file.flush()) << "cannot rewrite " << proxy().config_path();
  }
  proxy().send_signal(SIGHUP);
  ASSERT_TRUE(log_shows(proxy(), "reload done", 5s)) << "no 'reload done' within 5 s of SIGHUP";
  fault_over();

  // The connections above the new cap go as they are released, under load.
  EXPECT_TRUE(wait_until([&] { return server().count_backend_connections() <= 4; }, 5s, 50ms))
      << "still " << server().count_backend_connections()
      << " backend connections 5 s after lowering the cap to 4";
  admin_client admin(config().listen_port("admin"));
  const auto pools = nlohmann::json::parse(admin.command("SHOW POOLS FORMAT JSON"));
  EXPECT_EQ(pools.at(0).at("max_connections").get<int>(), 4) << pools.dump();

  // Lowering the cap must not cost any statement: connections leave as they are released.
  finish({"reload_lower_cap", {}, {}, true});
}

TEST_F(SluiceFaultTest, DrainedWhileASuccessorServesTheSamePort) {
  start_proxy({{"sluice.so_reuseport", "on"}, {"sluice.shutdown_timeout", "5s"}});
  ASSERT_NO_FATAL_FAILURE(start_load());

  sluice_process& draining = proxy();
  sluice_config successor = config();
  successor.set("metrics", "listen", "127.0.0.1:" + std::to_string(free_port()));
  successor.set("admin", "listen", "127.0.0.1:" + std::to_string(free_port()));
  sluice_process& next = start_successor(successor);
  // Both listen on the port now; the successor logs 'listening on' once it accepts.
  ASSERT_TRUE(log_shows(next, "listening on", 10s)) << "the successor did not start";
  std::this_thread::sleep_for(500ms);  // the kernel spreads new logins over both

  draining.send_signal(SIGTERM);
  fault_over();  // the service never went away: this times a login during the drain
  const auto status = draining.wait_for_exit(10s);
  ASSERT_TRUE(status.has_value()) << "the drained sluice still runs 10 s after SIGTERM";
  EXPECT_EQ(*status, 0) << "the drained sluice's exit status";

  // Clients idle between transfers are closed by the drain (2013/2006 on their next BEGIN, or
  // 7005 when it arrives as the drain starts); transactions already open finish, so no other
  // statement may fail. Logins
  // queued on the draining listener are reset when it closes (2013 at the greeting, or
  // 2002/2003), as the operations test documents for a kernel without tcp_migrate_req.
  finish({"drain_with_successor", {7005, 2013, 2006}, {2002, 2003, 2013}, true});
}

}  // namespace
}  // namespace sluice::test
