// Every collation id a client can send at login means through sluice what it means directly:
// each id MariaDB lists, ids it does not know (MySQL 8's 255), and 0; read back on the first
// statement and again after the client's session was restored on another backend.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "tests/support/fixtures.h"
#include "tests/support/raw_client.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* read_back =
    "SELECT @@character_set_client, @@character_set_results, @@character_set_connection, "
    "@@collation_connection";

// What a session that logged in with `collation` reports, or the error it got.
std::string session_charset(std::uint16_t port, std::uint8_t collation, int reads) {
  raw_client client(port);
  raw_login_options options;
  options.collation = collation;
  const auto login = client.login("app", "app-pw", options);
  if (!login) return "login failed: no answer";
  if (!login->is_ok()) return "login failed: " + login->error_message();
  std::string seen;
  for (int i = 0; i < reads; ++i) {
    const auto answer = client.query(read_back);
    if (answer.error) return "query failed: " + answer.error->error_message();
    if (answer.rows.size() != 1 || answer.rows[0].size() != 4) return "unexpected result";
    std::string values;
    for (const auto& v : answer.rows[0]) values += (v ? *v : "NULL") + " ";
    if (i > 0 && values != seen) return "changed between statements: " + seen + "| " + values;
    seen = values;
  }
  return seen;
}

class CollationsTest : public integration_test {};

TEST_F(CollationsTest, EveryIdMeansWhatItMeansDirectly) {
  create_client_accounts_on_backend(server());
  // Two backends for many short sessions: restores happen on backends other clients used.
  start_sluice({{"backend.max_connections", "2"}});
  // 0 and 255 (MySQL 8's utf8mb4_0900_ai_ci) are ids MariaDB 10.11 does not have.
  std::vector<std::uint8_t> ids = {0, 255};
  for (const auto& row :
       server().query("SELECT ID FROM information_schema.COLLATIONS WHERE ID < 256"))
    ids.push_back(static_cast<std::uint8_t>(std::stoi(row[0])));
  ASSERT_GT(ids.size(), 100u) << "MariaDB lists its collations";
  // Another client keeps moving the backends' character sets around between our logins.
  auto mover = connect_app();
  std::size_t compared = 0;
  for (std::uint8_t id : ids) {
    mover->execute(id % 2 ? "SET NAMES latin1" : "SET NAMES utf8mb4 COLLATE utf8mb4_bin");
    mover->execute("SELECT 1");
    const std::string direct = session_charset(server().port(), id, 1);
    const std::string through = session_charset(sluice_port(), id, 2);
    EXPECT_EQ(through, direct) << "collation id " << static_cast<int>(id);
    ++compared;
  }
  EXPECT_EQ(compared, ids.size());
  EXPECT_TRUE(sluice().running()) << "sluice is still alive";
}

}  // namespace
}  // namespace sluice::test
