// Protocol features a MySQL client relies on, each checked through sluice and against MariaDB
// itself (the control that proves the test right).
#include <openssl/evp.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tests/support/child_process.h"
#include "tests/support/client.h"
#include "tests/support/fixtures.h"

namespace sluice::test {
namespace {

using ::testing::HasSubstr;

struct stmt_closer {
  void operator()(MYSQL_STMT* stmt) const {
    if (stmt != nullptr) mysql_stmt_close(stmt);
  }
};
using statement = std::unique_ptr<MYSQL_STMT, stmt_closer>;

statement prepare(mysql_client& client, const std::string& sql) {
  statement stmt(mysql_stmt_init(client.handle()));
  if (!stmt) throw std::runtime_error("mysql_stmt_init: " + client.error_message());
  if (mysql_stmt_prepare(stmt.get(), sql.data(), sql.size()) != 0) {
    throw std::runtime_error("prepare '" + sql + "': " + mysql_stmt_error(stmt.get()));
  }
  return stmt;
}

void check_stmt(MYSQL_STMT* stmt, int rc, const std::string& what) {
  if (rc != 0) {
    throw std::runtime_error(what + ": " + std::to_string(mysql_stmt_errno(stmt)) + " " +
                             mysql_stmt_error(stmt));
  }
}

MYSQL_BIND string_param(const std::string& value, unsigned long& length) {
  MYSQL_BIND bind{};
  length = value.size();
  bind.buffer_type = MYSQL_TYPE_STRING;
  bind.buffer = const_cast<char*>(value.data());
  bind.buffer_length = length;
  bind.length = &length;
  return bind;
}

// Executes a prepared statement with one string parameter and one result column; returns the
// column of every row as text.
std::vector<std::string> execute_single_column(MYSQL_STMT* stmt, const std::string& param) {
  unsigned long param_length = 0;
  MYSQL_BIND in = string_param(param, param_length);
  check_stmt(stmt, mysql_stmt_bind_param(stmt, &in) ? 1 : 0, "bind_param");
  check_stmt(stmt, mysql_stmt_execute(stmt), "execute");

  char buffer[256];
  unsigned long length = 0;
  my_bool is_null = 0;
  MYSQL_BIND out{};
  out.buffer_type = MYSQL_TYPE_STRING;
  out.buffer = buffer;
  out.buffer_length = sizeof buffer;
  out.length = &length;
  out.is_null = &is_null;
  check_stmt(stmt, mysql_stmt_bind_result(stmt, &out) ? 1 : 0, "bind_result");
  std::vector<std::string> values;
  int rc = 0;
  while ((rc = mysql_stmt_fetch(stmt)) == 0) {
    values.push_back(is_null ? "NULL" : std::string(buffer, length));
  }
  if (rc != MYSQL_NO_DATA) check_stmt(stmt, rc, "fetch");
  mysql_stmt_free_result(stmt);
  return values;
}

std::string md5_hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_md5(), nullptr) != 1) {
    throw std::runtime_error("EVP_Digest(md5) failed");
  }
  std::string hex;
  char byte[3];
  for (unsigned int i = 0; i < length; ++i) {
    std::snprintf(byte, sizeof byte, "%02x", digest[i]);
    hex += byte;
  }
  return hex;
}

// 20 MiB of every byte value (NUL, quotes, backslashes, 0xFF), more than one 16 MiB packet.
std::string twenty_mebibytes() {
  std::string data(20u << 20, '\0');
  std::mt19937 random(20);
  for (char& c : data) c = static_cast<char>(random() & 0xFF);
  return data;
}

std::string hex_of(const std::string& data) {
  static const char digits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(data.size() * 2);
  for (unsigned char c : data) {
    hex += digits[c >> 4];
    hex += digits[c & 15];
  }
  return hex;
}

class ProtocolFeaturesTest : public target_test {};

TEST_P(ProtocolFeaturesTest, PreparedStatementsBindExecuteFetchAndReexecute) {
  auto client = connect_app(mariadb_server::test_database);
  client->execute(
      "CREATE OR REPLACE TABLE ps_t (id INT PRIMARY KEY, name VARCHAR(64), score DOUBLE, "
      "note TEXT NULL)");

  statement insert = prepare(*client, "INSERT INTO ps_t VALUES (?, ?, ?, ?)");
  ASSERT_EQ(mysql_stmt_param_count(insert.get()), 4u);
  for (int id = 1; id <= 5; ++id) {
    int id_value = id;
    std::string name = "name-" + std::to_string(id);
    unsigned long name_length = 0;
    double score = id * 1.5;
    std::string note = "note-" + std::to_string(id);
    unsigned long note_length = 0;
    my_bool note_null = id % 2 == 0;  // even ids get a NULL note
    MYSQL_BIND params[4] = {};
    params[0].buffer_type = MYSQL_TYPE_LONG;
    params[0].buffer = &id_value;
    params[1] = string_param(name, name_length);
    params[2].buffer_type = MYSQL_TYPE_DOUBLE;
    params[2].buffer = &score;
    params[3] = string_param(note, note_length);
    params[3].is_null = &note_null;
    ASSERT_EQ(mysql_stmt_bind_param(insert.get(), params), 0) << mysql_stmt_error(insert.get());
    ASSERT_EQ(mysql_stmt_execute(insert.get()), 0) << mysql_stmt_error(insert.get());
    EXPECT_EQ(mysql_stmt_affected_rows(insert.get()), 1u);
  }
  insert.reset();

  statement select = prepare(*client,
                             "SELECT id, name, score, note FROM ps_t WHERE id >= ? "
                             "ORDER BY id");
  ASSERT_EQ(mysql_stmt_param_count(select.get()), 1u);
  ASSERT_EQ(mysql_stmt_field_count(select.get()), 4u);
  for (int from : {2, 4, 6, 1}) {
    int from_value = from;
    MYSQL_BIND param{};
    param.buffer_type = MYSQL_TYPE_LONG;
    param.buffer = &from_value;
    ASSERT_EQ(mysql_stmt_bind_param(select.get(), &param), 0);
    ASSERT_EQ(mysql_stmt_execute(select.get()), 0) << mysql_stmt_error(select.get());

    int id = 0;
    char name[65];
    unsigned long name_length = 0;
    double score = 0;
    char note[65];
    unsigned long note_length = 0;
    my_bool note_null = 0;
    MYSQL_BIND results[4] = {};
    results[0].buffer_type = MYSQL_TYPE_LONG;
    results[0].buffer = &id;
    results[1].buffer_type = MYSQL_TYPE_STRING;
    results[1].buffer = name;
    results[1].buffer_length = sizeof name;
    results[1].length = &name_length;
    results[2].buffer_type = MYSQL_TYPE_DOUBLE;
    results[2].buffer = &score;
    results[3].buffer_type = MYSQL_TYPE_STRING;
    results[3].buffer = note;
    results[3].buffer_length = sizeof note;
    results[3].length = &note_length;
    results[3].is_null = &note_null;
    ASSERT_EQ(mysql_stmt_bind_result(select.get(), results), 0);

    int expected_id = from;
    while (mysql_stmt_fetch(select.get()) == 0) {
      EXPECT_EQ(id, expected_id);
      EXPECT_EQ(std::string(name, name_length), "name-" + std::to_string(expected_id));
      EXPECT_DOUBLE_EQ(score, expected_id * 1.5);
      EXPECT_EQ(note_null != 0, expected_id % 2 == 0);
      if (!note_null) {
        EXPECT_EQ(std::string(note, note_length), "note-" + std::to_string(expected_id));
      }
      ++expected_id;
    }
    EXPECT_EQ(expected_id, std::max(from, 6)) << "rows missing for id >= " << from;
    mysql_stmt_free_result(select.get());
  }
  EXPECT_EQ(mysql_stmt_close(select.release()), 0);
  EXPECT_EQ(client->scalar("SELECT COUNT(*) FROM ps_t"), "5");
}

TEST_P(ProtocolFeaturesTest, TwoPreparedStatementsInterleave) {
  auto client = connect_app();
  statement plus_one = prepare(*client, "SELECT CAST(? AS SIGNED) + 1");
  statement shout = prepare(*client, "SELECT CONCAT(?, '!')");
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(execute_single_column(plus_one.get(), std::to_string(i)),
              std::vector<std::string>{std::to_string(i + 1)});
    EXPECT_EQ(client->scalar("SELECT 'text between'"), "text between");
    EXPECT_EQ(execute_single_column(shout.get(), "hey" + std::to_string(i)),
              std::vector<std::string>{"hey" + std::to_string(i) + "!"});
  }
}

TEST_P(ProtocolFeaturesTest, PreparingBadSqlFailsAndTheConnectionStillWorks) {
  auto client = connect_app(mariadb_server::test_database);
  statement stmt(mysql_stmt_init(client->handle()));
  const std::string sql = "SELECT * FROM no_such_table WHERE id = ?";
  EXPECT_NE(mysql_stmt_prepare(stmt.get(), sql.data(), sql.size()), 0);
  EXPECT_EQ(mysql_stmt_errno(stmt.get()), 1146u);
  EXPECT_EQ(client->scalar("SELECT 1"), "1");
}

TEST_P(ProtocolFeaturesTest, MultiStatementsReturnEveryResultSet) {
  auto client = connect_app(mariadb_server::test_database, CLIENT_MULTI_STATEMENTS);
  const query_result two = client->query("SELECT 1; SELECT 2");
  ASSERT_TRUE(two.ok) << two.describe();
  ASSERT_EQ(two.result_sets.size(), 2u);
  EXPECT_EQ(two.result_sets[0].rows, (std::vector<row>{{"1"}}));
  EXPECT_EQ(two.result_sets[1].rows, (std::vector<row>{{"2"}}));

  const query_result mixed = client->query(
      "CREATE OR REPLACE TABLE ms_t (v INT); INSERT INTO ms_t VALUES (1), (2), (3); "
      "SELECT SUM(v) FROM ms_t");
  ASSERT_TRUE(mixed.ok) << mixed.describe();
  ASSERT_EQ(mixed.result_sets.size(), 3u);
  EXPECT_EQ(mixed.result_sets[1].affected_rows, 3u);
  EXPECT_EQ(mixed.result_sets[2].rows, (std::vector<row>{{"6"}}));

  const query_result failing = client->query("SELECT 1; SELECT * FROM no_such_table; SELECT 3");
  EXPECT_FALSE(failing.ok);
  EXPECT_EQ(failing.error_code, 1146u) << failing.describe();
  EXPECT_EQ(failing.result_sets.size(), 1u);
  EXPECT_EQ(client->scalar("SELECT 4"), "4");
}

TEST_P(ProtocolFeaturesTest, LoadDataLocalInfileSendsTheClientsFile) {
  constexpr int rows = 20000;  // about 280 KiB: several packets of file data
  const auto dir = make_temp_dir("sluice-infile-");
  const auto path = dir / "rows.tsv";
  {
    std::ofstream out(path);
    for (int i = 0; i < rows; ++i) out << i << "\tname_" << i << "\n";
  }
  client_options options;
  options.local_infile = true;
  auto client = connect_app(mariadb_server::test_database, 0, options);
  client->execute("CREATE OR REPLACE TABLE ld_t (id INT PRIMARY KEY, name VARCHAR(32))");
  const query_result loaded =
      client->query("LOAD DATA LOCAL INFILE '" + path.string() + "' INTO TABLE ld_t (id, name)");
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(loaded.ok) << loaded.describe();
  EXPECT_EQ(loaded.affected_rows, static_cast<std::uint64_t>(rows));
  EXPECT_EQ(client->scalar("SELECT COUNT(*) FROM ld_t"), std::to_string(rows));
  EXPECT_EQ(client->scalar("SELECT SUM(id) FROM ld_t"),
            std::to_string(static_cast<long long>(rows) * (rows - 1) / 2));
  EXPECT_EQ(client->scalar("SELECT name FROM ld_t WHERE id = 7777"), "name_7777");
}

TEST_P(ProtocolFeaturesTest, TwentyMebibyteValueRoundTripsThroughPreparedStatements) {
  const std::string data = twenty_mebibytes();
  auto client = connect_app(mariadb_server::test_database);
  client->execute("CREATE OR REPLACE TABLE big_t (id INT PRIMARY KEY, data LONGBLOB)");

  statement insert = prepare(*client, "INSERT INTO big_t VALUES (1, ?)");
  unsigned long length = data.size();
  MYSQL_BIND param{};
  param.buffer_type = MYSQL_TYPE_LONG_BLOB;
  param.buffer = const_cast<char*>(data.data());
  param.buffer_length = length;
  param.length = &length;
  ASSERT_EQ(mysql_stmt_bind_param(insert.get(), &param), 0);
  ASSERT_EQ(mysql_stmt_execute(insert.get()), 0) << mysql_stmt_error(insert.get());
  insert.reset();

  // Back through the text protocol...
  const query_result text = client->query("SELECT data FROM big_t WHERE id = 1");
  ASSERT_TRUE(text.ok) << text.describe();
  ASSERT_EQ(text.rows.size(), 1u);
  ASSERT_TRUE(text.rows[0].at(0).has_value());
  EXPECT_EQ(text.rows[0][0]->size(), data.size());
  EXPECT_TRUE(*text.rows[0][0] == data) << "the 20 MiB value came back different";

  // ...and through the binary protocol.
  statement select = prepare(*client, "SELECT data FROM big_t WHERE id = 1");
  ASSERT_EQ(mysql_stmt_execute(select.get()), 0) << mysql_stmt_error(select.get());
  std::string fetched(data.size() + 1, '\0');
  unsigned long fetched_length = 0;
  MYSQL_BIND out{};
  out.buffer_type = MYSQL_TYPE_LONG_BLOB;
  out.buffer = fetched.data();
  out.buffer_length = fetched.size();
  out.length = &fetched_length;
  ASSERT_EQ(mysql_stmt_bind_result(select.get(), &out), 0);
  ASSERT_EQ(mysql_stmt_fetch(select.get()), 0) << mysql_stmt_error(select.get());
  fetched.resize(fetched_length);
  EXPECT_TRUE(fetched == data) << "binary protocol returned " << fetched_length << " bytes";
  mysql_stmt_free_result(select.get());
  select.reset();

  EXPECT_EQ(client->scalar("SELECT LENGTH(data) FROM big_t WHERE id = 1"),
            std::to_string(data.size()));
  EXPECT_EQ(client->scalar("SELECT MD5(data) FROM big_t WHERE id = 1"), md5_hex(data));
}

TEST_P(ProtocolFeaturesTest, FortyMebibyteQueryRoundTripsThroughTheTextProtocol) {
  const std::string data = twenty_mebibytes();
  auto client = connect_app(mariadb_server::test_database);
  client->execute("CREATE OR REPLACE TABLE big_text_t (id INT PRIMARY KEY, data LONGBLOB)");
  const query_result insert =
      client->query("INSERT INTO big_text_t VALUES (2, 0x" + hex_of(data) + ")");
  ASSERT_TRUE(insert.ok) << insert.describe();
  EXPECT_EQ(insert.affected_rows, 1u);
  EXPECT_EQ(client->scalar("SELECT MD5(data) FROM big_text_t WHERE id = 2"), md5_hex(data));
  const query_result back = client->query("SELECT data FROM big_text_t WHERE id = 2");
  ASSERT_TRUE(back.ok) << back.describe();
  ASSERT_EQ(back.rows.size(), 1u);
  EXPECT_TRUE(back.rows[0].at(0) == data) << "the 20 MiB value came back different";
}

TEST_P(ProtocolFeaturesTest, UseAndInitDbChangeTheDefaultSchema) {
  auto client = connect_app();
  EXPECT_EQ(client->scalar_or_null("SELECT DATABASE()"), std::nullopt);
  client->execute("USE sluice_test");
  EXPECT_EQ(client->scalar("SELECT DATABASE()"), "sluice_test");
  ASSERT_EQ(mysql_select_db(client->handle(), "mysql"), 0) << client->error_message();
  EXPECT_EQ(client->scalar("SELECT DATABASE()"), "mysql");
  client->execute("USE sluice_test");
  EXPECT_EQ(client->scalar("SELECT DATABASE()"), "sluice_test");

  EXPECT_NE(mysql_select_db(client->handle(), "no_such_database"), 0);
  EXPECT_EQ(client->error_code(), 1049u);
  EXPECT_EQ(client->scalar("SELECT DATABASE()"), "sluice_test");
}

TEST_P(ProtocolFeaturesTest, SetNamesChangesTheConnectionCharacterSet) {
  auto client = connect_app();
  client->execute("SET NAMES latin1");
  EXPECT_EQ(client->scalar("SELECT @@character_set_client"), "latin1");
  EXPECT_EQ(client->scalar("SELECT @@character_set_results"), "latin1");
  // 0xE9 is e-acute in latin1 and two bytes in utf8mb4.
  EXPECT_EQ(client->scalar("SELECT HEX(CONVERT(_latin1 0xE9 USING utf8mb4))"), "C3A9");
  client->execute("SET NAMES utf8mb4");
  EXPECT_EQ(client->scalar("SELECT @@character_set_client"), "utf8mb4");
}

TEST_P(ProtocolFeaturesTest, ErrorsComeBackAndTheConnectionStillWorks) {
  auto client = connect_app(mariadb_server::test_database);
  const query_result missing = client->query("SELECT * FROM no_such_table");
  EXPECT_FALSE(missing.ok);
  EXPECT_EQ(missing.error_code, 1146u);
  EXPECT_EQ(missing.sql_state, "42S02");
  EXPECT_THAT(missing.message, HasSubstr("no_such_table"));
  EXPECT_EQ(client->scalar("SELECT 1"), "1");

  const query_result syntax = client->query("SELEC 1");
  EXPECT_EQ(syntax.error_code, 1064u);
  EXPECT_EQ(syntax.sql_state, "42000");
  EXPECT_EQ(client->scalar("SELECT 2"), "2");
}

TEST_P(ProtocolFeaturesTest, PingAnswers) {
  auto client = connect_app();
  EXPECT_EQ(mysql_ping(client->handle()), 0) << client->error_message();
  EXPECT_EQ(client->scalar("SELECT 1"), "1");
  EXPECT_EQ(mysql_ping(client->handle()), 0) << client->error_message();
}

TEST_P(ProtocolFeaturesTest, ResetConnectionClearsSessionState) {
  auto client = connect_app(mariadb_server::test_database);
  client->execute("SET @v = 5");
  client->execute("CREATE TEMPORARY TABLE reset_tmp (x INT)");
  EXPECT_EQ(client->scalar("SELECT @v"), "5");
  ASSERT_EQ(mysql_reset_connection(client->handle()), 0) << client->error_message();
  EXPECT_EQ(client->scalar_or_null("SELECT @v"), std::nullopt);
  EXPECT_EQ(client->query("SELECT * FROM reset_tmp").error_code, 1146u);
  EXPECT_EQ(client->scalar("SELECT DATABASE()"), mariadb_server::test_database);
}

TEST_P(ProtocolFeaturesTest, ChangeUserSwitchesToAnotherAccount) {
  auto client = connect_app();
  client->execute("SET @v = 1");
  ASSERT_EQ(mysql_change_user(client->handle(), "other", "other-pw", "sluice_test"), 0)
      << client->error_message();
  EXPECT_EQ(client->scalar_or_null("SELECT @v"), std::nullopt);
  EXPECT_EQ(client->scalar("SELECT DATABASE()"), "sluice_test");
  EXPECT_EQ(client->scalar("SELECT 1"), "1");

  auto denied = connect_app();
  EXPECT_NE(mysql_change_user(denied->handle(), "other", "wrong-password", nullptr), 0);
  EXPECT_EQ(denied->error_code(), 1045u);
}

TEST_P(ProtocolFeaturesTest, StatisticsReturnAString) {
  auto client = connect_app();
  const char* stats = mysql_stat(client->handle());
  ASSERT_NE(stats, nullptr) << client->error_message();
  EXPECT_FALSE(std::string(stats).empty());
  EXPECT_EQ(client->scalar("SELECT 1"), "1");
}

TEST_P(ProtocolFeaturesTest, ListFieldsDescribesTheTable) {
  auto client = connect_app(mariadb_server::test_database);
  client->execute("CREATE OR REPLACE TABLE lf_t (a INT, b VARCHAR(10), c DATETIME)");
  MYSQL_RES* fields = mysql_list_fields(client->handle(), "lf_t", nullptr);
  ASSERT_NE(fields, nullptr) << client->error_message();
  ASSERT_EQ(mysql_num_fields(fields), 3u);
  const MYSQL_FIELD* f = mysql_fetch_fields(fields);
  EXPECT_STREQ(f[0].name, "a");
  EXPECT_STREQ(f[1].name, "b");
  EXPECT_STREQ(f[2].name, "c");
  EXPECT_EQ(f[0].type, MYSQL_TYPE_LONG);
  mysql_free_result(fields);
  EXPECT_EQ(client->scalar("SELECT 1"), "1");
}

INSTANTIATE_TEST_SUITE_P(Targets, ProtocolFeaturesTest,
                         ::testing::Values(target::direct, target::sluice), target_name);

}  // namespace
}  // namespace sluice::test
