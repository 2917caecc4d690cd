// The pin decision for each pinning construct, each non-pinning form and the lexical traps.
#include "proxy/statement_classifier.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::proxy {

void PrintTo(const statement_traits& t, std::ostream* out) {
  *out << "{pin=" << to_string(t.pin) << " uses_last_insert_id=" << t.uses_last_insert_id
       << " reads_previous_statement=" << t.reads_previous_statement
       << " starts_transaction=" << t.starts_transaction << "}";
}

namespace {

struct classifier_case {
  std::string name;
  std::string sql;
  statement_traits expected;
};

void PrintTo(const classifier_case& c, std::ostream* out) {
  *out << c.name;
}

class statement_classifier_table : public ::testing::TestWithParam<classifier_case> {};

TEST_P(statement_classifier_table, classifies) {
  const classifier_case& c = GetParam();
  EXPECT_EQ(classify_statement(c.sql), c.expected) << c.sql;
}

constexpr statement_traits nothing{};
constexpr statement_traits pins(pin_reason reason) {
  return {.pin = reason};
}
constexpr statement_traits uses_last_insert_id{.uses_last_insert_id = true};
constexpr statement_traits reads_previous{.reads_previous_statement = true};
constexpr statement_traits starts_transaction{.starts_transaction = true};

using enum pin_reason;

const std::vector<classifier_case> classifier_cases = {
    // User variables, wherever they appear.
    {"set_user_variable", "SET @x = 1", pins(user_variable)},
    {"select_assigns_user_variable", "SELECT @x := 1", pins(user_variable)},
    {"select_into_user_variable", "SELECT a INTO @x FROM t", pins(user_variable)},
    {"reads_user_variable", "SELECT * FROM t WHERE id = @id", pins(user_variable)},
    {"quoted_user_variable", "SELECT @`x`", pins(user_variable)},
    {"user_variable_without_spaces", "SELECT@x", pins(user_variable)},
    {"mysqldump_header", "/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE */;", pins(user_variable)},
    {"user_variable_in_mariadb_executable_comment", "SELECT 1 /*M!100000 , @x */",
     pins(user_variable)},
    {"dash_dash_without_space_is_no_comment", "SELECT 1--@x", pins(user_variable)},
    {"hash_comment_ends_at_newline", "SELECT 1 # @x\n, @y", pins(user_variable)},
    {"escaped_backslash_closes_string", R"(SELECT '\\', @x)", pins(user_variable)},
    {"first_pin_wins_user_variable", "SELECT @x, GET_LOCK('a', 1)", pins(user_variable)},
    {"first_pin_wins_named_lock", "SELECT GET_LOCK('a', 1), @x", pins(named_lock)},

    // Temporary tables.
    {"create_temporary_table", "CREATE TEMPORARY TABLE t (a INT)", pins(temporary_table)},
    {"create_temporary_table_lower_case", "create temporary table if not exists t like u",
     pins(temporary_table)},
    {"create_or_replace_temporary_table", "CREATE OR REPLACE TEMPORARY TABLE t SELECT 1",
     pins(temporary_table)},
    {"create_temporary_sequence", "CREATE TEMPORARY SEQUENCE s", pins(temporary_table)},
    {"create_table", "CREATE TABLE t (a INT)", nothing},
    {"create_table_named_like_keyword", "CREATE TABLE temporary_stuff (a INT)", nothing},
    {"drop_temporary_table", "DROP TEMPORARY TABLE t", nothing},

    // Table and instance locks.
    {"lock_tables", "LOCK TABLES t READ, u WRITE", pins(table_lock)},
    {"lock_table_lower_case", "lock table t write", pins(table_lock)},
    {"flush_tables_with_read_lock", "FLUSH TABLES WITH READ LOCK", pins(table_lock)},
    {"flush_named_tables_with_read_lock", "FLUSH TABLES t1, t2 WITH READ LOCK", pins(table_lock)},
    {"flush_tables_for_export", "FLUSH LOCAL TABLES t FOR EXPORT", pins(table_lock)},
    {"flush_tables", "FLUSH TABLES", nothing},
    {"flush_logs", "FLUSH NO_WRITE_TO_BINLOG LOGS", nothing},
    {"lock_instance_for_backup", "LOCK INSTANCE FOR BACKUP", pins(table_lock)},
    {"backup_stage", "BACKUP STAGE START", pins(table_lock)},
    {"backup_lock", "BACKUP LOCK db.t", pins(table_lock)},
    {"backup_unlock", "BACKUP UNLOCK", nothing},
    {"unlock_tables", "UNLOCK TABLES", nothing},

    // Named locks: GET_LOCK is recognized only as a call.
    {"get_lock_in_select", "SELECT GET_LOCK('job', 10)", pins(named_lock)},
    {"get_lock_in_do", "DO GET_LOCK('job', 10)", pins(named_lock)},
    {"get_lock_mixed_case_space_before_paren", "SELECT Get_Lock ('a', 1)", pins(named_lock)},
    {"get_lock_comment_before_paren", "SELECT get_lock/* why */('a', 1)", pins(named_lock)},
    {"get_lock_quoted_name_is_still_a_call", "SELECT `get_lock`('a', 1)", pins(named_lock)},
    {"get_lock_in_executable_comment", "SELECT /*!50000 GET_LOCK('a', 1) */", pins(named_lock)},
    {"get_lock_column_is_not_a_call", "SELECT get_lock FROM t", nothing},
    {"get_lock_of_a_schema_is_a_stored_function", "SELECT mydb.get_lock('a')", nothing},
    {"release_lock", "SELECT RELEASE_LOCK('job')", nothing},

    // Text-protocol prepared statements.
    {"prepare_from", "PREPARE s FROM 'SELECT ?'", pins(prepared_statement)},
    {"execute_using_user_variable", "EXECUTE s USING @a", pins(prepared_statement)},
    {"execute_immediate", "EXECUTE IMMEDIATE 'SELECT 1'", pins(prepared_statement)},
    {"deallocate_prepare", "DEALLOCATE PREPARE s", pins(prepared_statement)},
    {"drop_prepare", "DROP PREPARE s", pins(prepared_statement)},
    {"drop_table", "DROP TABLE t", nothing},

    // FOUND_ROWS, LAST_INSERT_ID and reads of the previous statement's outcome.
    {"sql_calc_found_rows", "SELECT SQL_CALC_FOUND_ROWS * FROM t LIMIT 10", pins(found_rows)},
    {"found_rows_call", "SELECT FOUND_ROWS()", reads_previous},
    {"calc_then_found_rows",
     "SELECT SQL_CALC_FOUND_ROWS a FROM t LIMIT 1; SELECT FOUND_ROWS()",
     {.pin = found_rows, .reads_previous_statement = true}},
    {"last_insert_id_read", "SELECT last_insert_id()", uses_last_insert_id},
    {"last_insert_id_read_comment_inside", "SELECT LAST_INSERT_ID( /* none */ )",
     uses_last_insert_id},
    {"last_insert_id_with_argument_sets_it", "UPDATE seq SET id = LAST_INSERT_ID(id + 1)",
     pins(session_variable)},
    {"insert_then_last_insert_id", "INSERT INTO t VALUES (1); SELECT LAST_INSERT_ID()",
     uses_last_insert_id},
    {"identity_variable", "SELECT @@identity", uses_last_insert_id},
    {"last_insert_id_column_is_not_a_call", "SELECT last_insert_id FROM t", nothing},
    {"show_warnings", "SHOW WARNINGS", reads_previous},
    {"show_errors_limit", "show errors limit 1", reads_previous},
    {"show_count_warnings", "SHOW COUNT(*) WARNINGS", reads_previous},
    {"show_count_errors_spaced", "SHOW COUNT ( * ) ERRORS", reads_previous},
    {"warning_count_variable", "SELECT @@warning_count", reads_previous},
    {"session_error_count_variable", "SELECT @@session.error_count", reads_previous},
    {"row_count_call", "SELECT ROW_COUNT()", reads_previous},
    {"get_diagnostics",
     "GET CURRENT DIAGNOSTICS @n = NUMBER",
     {.pin = user_variable, .reads_previous_statement = true}},
    {"show_variables_like_warning_count", "SHOW VARIABLES LIKE 'warning_count'", nothing},

    // SET: session variables pin unless sluice restores them.
    {"set_variable", "SET sql_mode = 'ANSI'", pins(session_variable)},
    {"set_session_variable", "SET SESSION sql_mode = ''", pins(session_variable)},
    {"set_local_variable", "set local wait_timeout = 10", pins(session_variable)},
    {"set_at_at_session_variable", "SET @@session.time_zone = '+00:00'", pins(session_variable)},
    {"set_at_at_local_variable", "SET @@LOCAL.sql_mode = ''", pins(session_variable)},
    {"set_at_at_variable", "SET @@sql_mode = ''", pins(session_variable)},
    {"set_timestamp", "SET timestamp = 1700000000", pins(session_variable)},
    {"set_with_colon_equals", "SET sql_mode := ''", pins(session_variable)},
    {"set_resource_group", "SET RESOURCE GROUP rg", pins(session_variable)},
    {"set_structured_variable", "SET keycache1.key_buffer_size = 1024", pins(session_variable)},
    {"set_autocommit", "SET autocommit = 0", nothing},
    {"set_session_autocommit_upper_case", "SET SESSION AUTOCOMMIT=1", nothing},
    {"set_at_at_session_autocommit", "SET @@SESSION.autocommit = 1", nothing},
    {"set_quoted_autocommit", "SET `autocommit` = 0", nothing},
    {"set_character_set_variables",
     "SET character_set_client = utf8mb4, character_set_connection = utf8mb4, "
     "character_set_results = NULL, collation_connection = utf8mb4_bin",
     nothing},
    {"set_names", "SET NAMES utf8mb4", nothing},
    {"set_names_collate", "SET NAMES 'utf8mb4' COLLATE 'utf8mb4_unicode_ci'", nothing},
    {"set_character_set", "SET CHARACTER SET latin1", nothing},
    {"set_charset", "SET CHARSET DEFAULT", nothing},
    {"set_names_in_executable_comment", "/*!40101 SET NAMES utf8mb4 */;", nothing},
    {"set_value_commas_in_parentheses",
     "SET autocommit = IF(1, 1, 0), character_set_results = NULL", nothing},
    {"set_names_then_variable", "SET NAMES utf8mb4, sql_mode = ''", pins(session_variable)},
    {"set_autocommit_then_user_variable", "SET autocommit = 1, @x = 2", pins(user_variable)},
    {"set_variable_then_user_variable", "SET sql_mode = '', @x = 1", pins(session_variable)},
    {"set_global", "SET GLOBAL max_connections = 100", nothing},
    {"set_at_at_global", "SET @@global.sql_mode = ''", nothing},
    {"set_persist", "SET PERSIST max_connections = 100", nothing},
    {"set_global_structured_variable", "SET GLOBAL keycache1.key_buffer_size = 1024", nothing},
    // Conservative: the GLOBAL keyword is not carried over to the next item.
    {"set_global_then_unscoped", "SET GLOBAL max_connections = 100, sql_mode = ''",
     pins(session_variable)},
    {"set_global_then_session", "SET GLOBAL max_connections = 100, SESSION sql_mode = ''",
     pins(session_variable)},
    {"set_global_from_user_variable", "SET GLOBAL max_connections = @n", pins(user_variable)},
    {"set_transaction", "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", pins(next_transaction)},
    {"set_session_transaction", "SET SESSION TRANSACTION READ ONLY", pins(session_variable)},
    {"set_global_transaction", "SET GLOBAL TRANSACTION ISOLATION LEVEL READ COMMITTED, READ WRITE",
     nothing},
    {"set_statement_for", "SET STATEMENT max_statement_time = 1 FOR SELECT * FROM t", nothing},
    {"set_statement_for_pinning_statement",
     "SET STATEMENT sql_mode = '' FOR CREATE TEMPORARY TABLE t (a INT)", pins(temporary_table)},
    {"set_statement_for_inside_parentheses",
     "SET STATEMENT x = (SELECT 1 FOR UPDATE) FOR SELECT GET_LOCK('a', 1)", pins(named_lock)},
    {"set_role", "SET ROLE analyst", pins(session_variable)},
    {"set_password_for_account", "SET PASSWORD FOR 'bob'@'%' = PASSWORD('x')", nothing},
    {"set_password", "SET PASSWORD = 'hash'", nothing},
    {"set_default_role", "SET DEFAULT ROLE analyst FOR bob@localhost", nothing},

    // Transactions.
    {"begin", "BEGIN", starts_transaction},
    {"begin_lower_case_semicolon", "begin;", starts_transaction},
    {"begin_work", "BEGIN WORK", starts_transaction},
    {"start_transaction", "START TRANSACTION READ ONLY", starts_transaction},
    {"start_slave", "START SLAVE", nothing},
    {"xa_start", "XA START 'xid'", pins(xa_transaction)},
    {"xa_begin", "XA BEGIN 'xid'", pins(xa_transaction)},
    {"xa_commit", "XA COMMIT 'xid'", nothing},

    // MariaDB compound statements run outside stored programs: their inner statements count.
    {"begin_not_atomic", "BEGIN NOT ATOMIC SELECT 1; END", nothing},
    {"begin_not_atomic_set", "BEGIN NOT ATOMIC SET sql_mode = ''; END", pins(session_variable)},
    {"if_then_set", "IF 1 = 1 THEN SET sql_mode = ''; END IF", pins(session_variable)},
    {"if_else_set", "IF 0 THEN SELECT 1; ELSE SET sql_mode = ''; END IF", pins(session_variable)},
    {"while_do_lock", "WHILE 0 DO LOCK TABLES t READ; END WHILE", pins(table_lock)},
    {"labelled_loop_set", "l: LOOP SET sql_mode = ''; LEAVE l; END LOOP", pins(session_variable)},
    {"case_expression_is_not_compound", "SELECT CASE WHEN a THEN execute ELSE b END FROM t",
     nothing},

    // HANDLER.
    {"handler_open", "HANDLER t OPEN", pins(handler)},
    {"handler_open_qualified_with_alias", "HANDLER db.`t` OPEN AS h", pins(handler)},
    {"handler_read", "HANDLER t READ FIRST", nothing},
    {"handler_on_table_named_open", "HANDLER open READ FIRST", nothing},

    // '@' between a user and a host names an account, not a variable.
    {"create_user", "CREATE USER 'bob'@'localhost' IDENTIFIED BY 'secret'", nothing},
    {"grant_to_unquoted_user", "GRANT SELECT ON db.* TO bob@'%'", nothing},
    {"drop_user", "DROP USER `bob`@`%`", nothing},
    {"definer_clause", "CREATE DEFINER=`root`@`localhost` VIEW v AS SELECT 1", nothing},
    {"alter_definer_unquoted", "ALTER DEFINER = root@localhost EVENT e ENABLE", nothing},
    {"show_grants_for", "SHOW GRANTS FOR 'bob'@'%'", nothing},
    {"account_syntax_elsewhere", "SELECT 'bob'@'localhost'", pins(user_variable)},

    // Keywords inside strings, comments and quoted identifiers do nothing.
    {"keywords_in_string_identifier_and_comment", "SELECT 'SET @x=1' , `@y` FROM t -- GET_LOCK(",
     nothing},
    {"get_lock_in_double_quoted_string", R"sql(SELECT "GET_LOCK('a', 1)")sql", nothing},
    {"user_variable_in_block_comment", "SELECT /* @x */ 1", nothing},
    {"optimizer_hint", "SELECT /*+ SET_VAR(sql_mode='') */ 1", nothing},
    {"system_variable_reads", "SELECT @@sql_mode, @@session.time_zone", nothing},
    {"escaped_quote_keeps_string_open", R"(SELECT 'it\'s @x')", nothing},
    {"doubled_quote_keeps_string_open", "SELECT 'it''s @x'", nothing},
    {"semicolon_in_string_does_not_split", "SELECT ';SET sql_mode=1'", nothing},
    {"update_set_is_not_set_statement", "UPDATE t SET a = 1", nothing},
    {"insert_set_is_not_set_statement", "INSERT INTO t SET a = 1", nothing},
    {"unterminated_string", "SELECT 'abc; SET @x = 1", nothing},
    {"unterminated_comment", "SELECT 1 /* SET @x = 1", nothing},
    {"use_schema", "USE db", nothing},

    // Several statements in one COM_QUERY.
    {"multi_statement_second_pins", "SELECT 1; SET @x = 1", pins(user_variable)},
    {"multi_statement_names_then_variable", "SET NAMES utf8mb4; SET sql_mode = ''",
     pins(session_variable)},
    {"multi_statement_transaction", "BEGIN; SELECT 1; COMMIT", starts_transaction},
    {"multi_statement_flags_combine",
     "START TRANSACTION; SELECT GET_LOCK('a', 1); SHOW WARNINGS",
     {.pin = named_lock, .reads_previous_statement = true, .starts_transaction = true}},
    {"empty_statements", " ; ; SELECT 1;", nothing},
    {"empty_query", "", nothing},
    {"comment_only", "/* nothing */ -- here", nothing},
};

INSTANTIATE_TEST_SUITE_P(cases, statement_classifier_table, ::testing::ValuesIn(classifier_cases),
                         [](const auto& info) { return info.param.name; });

TEST(pin_reason, log_words) {
  const std::vector<std::pair<pin_reason, std::string_view>> words = {
      {none, "none"},
      {user_variable, "user_variable"},
      {temporary_table, "temporary_table"},
      {table_lock, "table_lock"},
      {named_lock, "named_lock"},
      {prepared_statement, "prepared_statement"},
      {binary_prepared_statement, "binary_prepared_statement"},
      {found_rows, "found_rows"},
      {session_variable, "session_variable"},
      {next_transaction, "next_transaction"},
      {xa_transaction, "xa_transaction"},
      {handler, "handler"},
      {session_state, "session_state"},
  };
  for (const auto& [reason, word] : words) EXPECT_EQ(to_string(reason), word);
}

// Classifying any prefix of any case must not crash or read out of bounds (sanitizer build).
TEST(classify_statement, every_prefix_of_every_case) {
  for (const classifier_case& c : classifier_cases) {
    for (std::size_t n = 0; n <= c.sql.size(); ++n) {
      const auto copy = std::make_unique<char[]>(n);
      std::copy(c.sql.begin(), c.sql.begin() + static_cast<std::ptrdiff_t>(n), copy.get());
      const statement_traits traits = classify_statement(std::string_view(copy.get(), n));
      EXPECT_LE(static_cast<int>(traits.pin), static_cast<int>(session_state)) << c.name;
    }
  }
}

}  // namespace
}  // namespace sluice::proxy
