// Statements that fail where sluice does work of its own for them: a binary prepared statement
// executed on a backend where sluice must prepare it again, after its table was dropped.
#include <mysql.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/admin_client.h"
#include "tests/support/fixtures.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using json = nlohmann::json;

struct stmt_closer {
  void operator()(MYSQL_STMT* stmt) const {
    if (stmt != nullptr) mysql_stmt_close(stmt);
  }
};
using statement = std::unique_ptr<MYSQL_STMT, stmt_closer>;

// SHOW SERVERS rows as id -> the client holding it ("" when idle).
std::map<std::string, std::string> servers(std::uint16_t admin_port) {
  admin_client admin(admin_port);
  std::map<std::string, std::string> held_by;
  for (const auto& row : json::parse(admin.command("SHOW SERVERS FORMAT JSON")))
    held_by[row.at("id").get<std::string>()] = row.at("client").get<std::string>();
  return held_by;
}

class StatementFailuresTest : public integration_test {};

// Transaction pooling with two backends: A prepares on the first; C then holds that one in a
// transaction, B drops the table on the second, so A's execute lands where sluice must prepare
// the statement again, and that prepare fails as MariaDB fails the execute of a statement whose
// table is gone (1146).
TEST_F(StatementFailuresTest, ExecuteWhoseLazyPrepareFailsGetsTheServersError) {
  server().run_sql(
      "CREATE OR REPLACE TABLE sluice_test.t (id INT PRIMARY KEY, v INT);"
      "INSERT INTO sluice_test.t VALUES (1, 10)");
  const sluice_config config = make_config({{"backend.max_connections", "2"}});
  const std::uint16_t admin_port = config.listen_port("admin");
  start_sluice(config);
  ASSERT_TRUE(wait_until([&] { return port_accepts(admin_port); }, 5s));

  auto a = connect_app(mariadb_server::test_database);
  statement stmt(mysql_stmt_init(a->handle()));
  ASSERT_TRUE(stmt);
  const std::string sql = "SELECT * FROM t WHERE id=?";
  ASSERT_EQ(mysql_stmt_prepare(stmt.get(), sql.data(), sql.size()), 0)
      << mysql_stmt_error(stmt.get());
  const auto after_prepare = servers(admin_port);
  ASSERT_EQ(after_prepare.size(), 1u) << "A prepared on the only backend, now idle";
  const std::string prepared_on = after_prepare.begin()->first;
  ASSERT_EQ(after_prepare.begin()->second, "");

  auto c = connect_app(mariadb_server::test_database);
  c->execute("BEGIN");
  EXPECT_EQ(c->scalar("SELECT 1"), "1");
  auto held = servers(admin_port);
  ASSERT_EQ(held[prepared_on], "C-" + std::to_string(c->thread_id()))
      << "C does not hold the backend A prepared on";

  auto b = connect_app(mariadb_server::test_database);
  b->execute("DROP TABLE t");
  held = servers(admin_port);
  ASSERT_EQ(held.size(), 2u) << "B did not open the second backend";
  for (const auto& [id, client] : held) {
    if (id != prepared_on) {
      EXPECT_EQ(client, "") << id << " is not idle";
    }
  }

  int key = 1;
  MYSQL_BIND param{};
  param.buffer_type = MYSQL_TYPE_LONG;
  param.buffer = &key;
  ASSERT_EQ(mysql_stmt_bind_param(stmt.get(), &param), 0);
  EXPECT_NE(mysql_stmt_execute(stmt.get()), 0) << "the execute found the dropped table";
  EXPECT_EQ(mysql_stmt_errno(stmt.get()), 1146u) << mysql_stmt_error(stmt.get());
  EXPECT_STREQ(mysql_stmt_sqlstate(stmt.get()), "42S02");
  EXPECT_THAT(mysql_stmt_error(stmt.get()), HasSubstr("doesn't exist"));

  EXPECT_TRUE(sluice().running());
  EXPECT_EQ(a->scalar("SELECT 2"), "2");
  c->execute("COMMIT");
  EXPECT_EQ(b->scalar("SELECT 3"), "3");
  EXPECT_TRUE(sluice().running());
}

}  // namespace
}  // namespace sluice::test
