// Clients that stall while they hold a backend (robustness issue item 9): one that never sends the
// file its LOAD DATA LOCAL INFILE asked for, one that never reads the result it asked for. Their
// deadlines (client_read_timeout, client_write_timeout) close them and free their backends, so
// they cannot keep the pool from everyone else.
#include <chrono>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "protocol/constants.h"
#include "tests/support/admin_client.h"
#include "tests/support/fixtures.h"
#include "tests/support/older_binary.h"
#include "tests/support/raw_client.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using json = nlohmann::json;
using steady = std::chrono::steady_clock;

const std::string infile_table = std::string(mariadb_server::test_database) + ".stalled_infile";

class StalledClientsTest : public integration_test {
 protected:
  void SetUp() override {
    server().run_sql("CREATE TABLE IF NOT EXISTS " + infile_table + " (line TEXT)");
  }

  void start(const config_overrides& overrides) {
    const sluice_config config = make_config(without_unknown_keys(overrides, server()));
    admin_port_ = config.listen_port("admin");
    start_sluice(config);
    EXPECT_TRUE(wait_until([&] { return port_accepts(admin_port_); }, 5s));
  }

  json admin_json(const std::string& command) {
    admin_client admin(admin_port_);
    return json::parse(admin.command(command + " FORMAT JSON"));
  }
  int pool_count(const std::string& column) {
    return admin_json("SHOW POOLS").at(0).at(column).get<int>();
  }

  std::uint16_t admin_port_ = 0;
};

// 8 backends, and 8 clients that take them all and stall: 4 send LOAD DATA LOCAL INFILE, get the
// server's request for the file (0xFB) and send nothing; 4 ask for a 64 MiB result and read none
// of it. With client_read_timeout and client_write_timeout at 2 s, a normal client's SELECT 1 must
// be served within that deadline plus 1 s (the upkeep round, the reset or replacement of the
// freed backends, a loaded machine); the stalled clients are closed with their reasons logged and
// their backends freed. The old release had no such deadlines: the SELECT 1 got 7001 once the
// queue timeout (5 s here) passed, and so would every statement after it.
TEST_F(StalledClientsTest, StalledClientsAreClosedAndTheirBackendsFreed) {
  start({{"backend.max_connections", "8"},
         {"limits.client_read_timeout", "2s"},
         {"limits.client_write_timeout", "2s"},
         {"queue.timeout", "5s"}});
  constexpr std::size_t readers = 4, writers = 4;
  std::vector<std::unique_ptr<raw_client>> stalled;
  raw_login_options local_files;
  local_files.extra_capabilities = protocol::capability::local_files;
  for (std::size_t i = 0; i < readers; ++i) {
    stalled.push_back(std::make_unique<raw_client>(sluice_port()));
    const auto login = stalled.back()->login("app", "app-pw", local_files);
    ASSERT_TRUE(login && login->is_ok());
    ASSERT_TRUE(stalled.back()->send_command(
        static_cast<std::uint8_t>(protocol::command::query),
        "LOAD DATA LOCAL INFILE 'never-sent.csv' INTO TABLE " + infile_table));
    const auto request = stalled.back()->read_packet(5s);
    ASSERT_TRUE(request.has_value()) << "no answer to LOAD DATA LOCAL INFILE";
    ASSERT_EQ(request->payload.at(0), 0xFB)
        << "not a LOCAL INFILE request: " << request->error_code() << " "
        << request->error_message();
  }
  for (std::size_t i = 0; i < writers; ++i) {
    stalled.push_back(std::make_unique<raw_client>(sluice_port()));
    const auto login = stalled.back()->login("app", "app-pw");
    ASSERT_TRUE(login && login->is_ok());
    // 65,536 rows of 1 KiB: far more than the socket buffers between sluice and the client.
    ASSERT_TRUE(stalled.back()->send_command(static_cast<std::uint8_t>(protocol::command::query),
                                             "SELECT REPEAT('x', 1024) FROM " +
                                                 std::string(mariadb_server::test_database) +
                                                 ".seq_1_to_65536"));
    // Its first packet only (the column count), to know the result is coming.
    const auto first = stalled.back()->read_packet(5s);
    ASSERT_TRUE(first.has_value()) << "no answer to the 64 MiB SELECT";
    ASSERT_FALSE(first->is_err()) << first->error_code() << " " << first->error_message();
  }
  ASSERT_TRUE(wait_until([&] { return pool_count("sv_active") == 8; }, 5s))
      << admin_json("SHOW POOLS").dump();
  ASSERT_EQ(server().count_backend_connections(), 8);

  auto normal = connect_app();
  const auto asked = steady::now();
  const query_result result = normal->query("SELECT 1");
  const auto took_ms = elapsed_ms(asked);
  std::cout << "SELECT 1 beside 8 stalled clients holding every backend: " << result.describe()
            << " after " << took_ms << " ms\n";
  RecordProperty("select_1_ms", std::to_string(took_ms));
  EXPECT_TRUE(result.ok) << result.describe() << " after " << took_ms << " ms";
  EXPECT_LT(took_ms, 3000);

  // Only the normal client is left (asked before reading from the stalled ones: a read would
  // unstall a non-reader), and no backend is held for anyone.
  EXPECT_TRUE(wait_until([&] { return admin_json("SHOW CLIENTS").size() == 1; }, 5s))
      << admin_json("SHOW CLIENTS").dump();
  // Once one is found open, the others are not waited for (that would take 8 x 5 s).
  std::size_t left_open = 0;
  for (auto& client : stalled)
    if (!client->closed_by_peer(left_open == 0 ? 5s : 50ms)) ++left_open;
  EXPECT_EQ(left_open, 0u) << "stalled clients still connected";
  const std::string log = sluice().log();
  EXPECT_THAT(log, HasSubstr("close reason=client_read_timeout"));
  EXPECT_THAT(log, HasSubstr("close reason=client_write_timeout"));
  EXPECT_TRUE(wait_until([&] { return pool_count("sv_active") == 0; }, 5s))
      << admin_json("SHOW POOLS").dump();
  EXPECT_EQ(pool_count("cl_active"), 0);
  EXPECT_EQ(normal->scalar("SELECT 1"), "1");
  EXPECT_TRUE(sluice().running());
}

}  // namespace
}  // namespace sluice::test
