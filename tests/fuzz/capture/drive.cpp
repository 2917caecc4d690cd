// Drives a MariaDB server through record.py with every command shape sluice relays, so that the
// recorded traffic can seed the fuzz corpus (see capture.sh). Not part of the build.
#include <mysql.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

int port = 0;
const char* csv_path = nullptr;

MYSQL* open(const char* user, const char* password, const char* db, bool attributes = true) {
  MYSQL* m = mysql_init(nullptr);
  unsigned int local_infile = 1;
  mysql_optionsv(m, MYSQL_OPT_LOCAL_INFILE, &local_infile);
  if (attributes) {
    mysql_optionsv(m, MYSQL_OPT_CONNECT_ATTR_ADD, "program_name", "sluice-corpus");
    mysql_optionsv(m, MYSQL_OPT_CONNECT_ATTR_ADD, "purpose", "fuzz seeds");
  }
  if (!mysql_real_connect(m, "127.0.0.1", user, password, db, static_cast<unsigned>(port), nullptr,
                          CLIENT_MULTI_STATEMENTS | CLIENT_LOCAL_FILES)) {
    std::fprintf(stderr, "connect %s: %s\n", user, mysql_error(m));
  }
  return m;
}

// Runs a text query and reads every result (errors are part of what is recorded).
void query(MYSQL* m, const std::string& sql) {
  if (mysql_real_query(m, sql.data(), sql.size())) return;
  do {
    if (MYSQL_RES* r = mysql_store_result(m)) mysql_free_result(r);
  } while (mysql_next_result(m) == 0);
}

// Prepares, binds one INT parameter if it has one, executes and fetches everything.
void statement(MYSQL* m, const std::string& sql, bool cursor, int prefetch = 1) {
  MYSQL_STMT* s = mysql_stmt_init(m);
  if (mysql_stmt_prepare(s, sql.data(), sql.size())) {
    mysql_stmt_close(s);
    return;
  }
  if (cursor) {
    unsigned long type = CURSOR_TYPE_READ_ONLY;
    unsigned long rows = static_cast<unsigned long>(prefetch);
    mysql_stmt_attr_set(s, STMT_ATTR_CURSOR_TYPE, &type);
    mysql_stmt_attr_set(s, STMT_ATTR_PREFETCH_ROWS, &rows);
  }
  int value = 1;
  MYSQL_BIND param{};
  param.buffer_type = MYSQL_TYPE_LONG;
  param.buffer = &value;
  if (mysql_stmt_param_count(s) == 1) mysql_stmt_bind_param(s, &param);
  if (mysql_stmt_execute(s) == 0) {
    while (mysql_stmt_fetch(s) == 0) {
    }
  }
  mysql_stmt_reset(s);
  mysql_stmt_close(s);
}

void long_data(MYSQL* m) {
  MYSQL_STMT* s = mysql_stmt_init(m);
  const std::string sql = "INSERT INTO t (name, data) VALUES (?, ?)";
  if (mysql_stmt_prepare(s, sql.data(), sql.size()) == 0) {
    MYSQL_BIND params[2]{};
    char name[] = "blob";
    unsigned long name_length = 4;
    params[0].buffer_type = MYSQL_TYPE_STRING;
    params[0].buffer = name;
    params[0].length = &name_length;
    params[1].buffer_type = MYSQL_TYPE_BLOB;
    mysql_stmt_bind_param(s, params);
    mysql_stmt_send_long_data(s, 1, "first part ", 11);
    mysql_stmt_send_long_data(s, 1, "second part", 11);
    mysql_stmt_execute(s);
  }
  mysql_stmt_close(s);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: drive PORT CSV_FILE\n");
    return 2;
  }
  port = std::atoi(argv[1]);
  csv_path = argv[2];
  std::ofstream(csv_path) << "x\ny\n\"quoted, with comma\"\n";

  MYSQL* root = open("root", "", nullptr);
  query(root,
        "SET SESSION session_track_schema=ON, session_track_system_variables='*', "
        "session_track_state_change=ON, session_track_transaction_info=CHARACTERISTICS");
  query(root, "CREATE DATABASE IF NOT EXISTS sluice_fuzz");
  query(root, "USE sluice_fuzz");
  query(root,
        "CREATE OR REPLACE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100), "
        "data LONGBLOB)");
  query(root, "INSERT INTO t (name) VALUES ('a'), ('b'), (NULL), ('')");
  query(root, "UPDATE t SET name = 'c' WHERE id > 2");
  query(root, "SELECT * FROM t");
  query(root, "SELECT 1; SELECT 2, 'two'; DO 1");
  query(root, "SELECT * FROM nope");
  query(root, "SELECT 1; SELECT * FROM nope");
  query(root, "SELECT CAST('abc' AS INT); SHOW WARNINGS");
  query(root, "SET @a = 1, autocommit = 0, sql_mode = 'ANSI_QUOTES', time_zone = '+01:00'");
  query(root, "SET autocommit = 1");
  query(root, "START TRANSACTION READ ONLY");
  query(root, "COMMIT");
  query(root, "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE");
  query(root, "BEGIN; INSERT INTO t (name) VALUES ('tx'); COMMIT");
  query(root, "CREATE OR REPLACE PROCEDURE p() BEGIN SELECT 1; SELECT 'x', NULL; END");
  query(root, "CALL p()");
  query(root, "LOAD DATA LOCAL INFILE '" + std::string(csv_path) + "' INTO TABLE t (name)");
  query(root, "LOAD DATA LOCAL INFILE '/nonexistent/file.csv' INTO TABLE t (name)");
  query(root, "SELECT REPEAT('x', 300), REPEAT('y', 70000)");
  query(root, "SELECT LAST_INSERT_ID(), FOUND_ROWS(), @@session.sql_mode");
  query(root, "/*!40101 SET NAMES utf8mb4 */; SELECT 'a' -- comment\n, \"b\" # more\n");
  query(root, "SELEC 1");
  query(root, "CREATE TEMPORARY TABLE tmp (a INT); DROP TEMPORARY TABLE tmp");
  query(root, "SELECT GET_LOCK('l', 0), RELEASE_LOCK('l')");
  query(root, "KILL QUERY 999999");
  if (MYSQL_RES* fields = mysql_list_fields(root, "t", nullptr)) mysql_free_result(fields);
  if (MYSQL_RES* fields = mysql_list_fields(root, "nope", nullptr)) mysql_free_result(fields);
  mysql_stat(root);
  mysql_ping(root);
  mysql_select_db(root, "sluice_fuzz");
  mysql_select_db(root, "nope");
  mysql_set_server_option(root, MYSQL_OPTION_MULTI_STATEMENTS_OFF);
  mysql_set_server_option(root, MYSQL_OPTION_MULTI_STATEMENTS_ON);

  statement(root, "SELECT id, name FROM t WHERE id > ?", false);
  statement(root, "SELECT id, name, data FROM t WHERE id > ?", true, 1);
  statement(root, "SELECT id FROM t", true, 2);
  statement(root, "DO 1", false);
  statement(root, "INSERT INTO t (name) VALUES (?)", false);
  statement(root, "SELEC ?", false);
  long_data(root);

  query(root,
        "CREATE USER IF NOT EXISTS 'other'@'%' IDENTIFIED BY 'other-pw'; "
        "GRANT ALL ON sluice_fuzz.* TO 'other'@'%'");
  mysql_change_user(root, "other", "other-pw", "sluice_fuzz");
  mysql_change_user(root, "other", "wrong", nullptr);
  mysql_close(root);

  MYSQL* other = open("other", "other-pw", "sluice_fuzz", false);
  query(other, "SELECT CURRENT_USER()");
  mysql_reset_connection(other);
  mysql_close(other);

  MYSQL* denied = open("other", "wrong-password", nullptr);
  mysql_close(denied);
  MYSQL* no_db = open("root", "", "nope");
  mysql_close(no_db);
  return 0;
}
