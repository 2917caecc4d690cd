// A backend connection lost while it sat idle (robustness issue item 8): the next statement that
// lands on it never ran there, so sluice sends it to another backend instead of failing it. (A
// client inside a transaction whose backend dies must get an error and never carry on silently on
// another backend: tests/faults/lost_transaction_test.cpp.)
#include <mysql.h>

#include <chrono>
#include <iostream>
#include <sstream>
#include <string>

#include "tests/support/fixtures.h"
#include "tests/support/http_client.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

// The sum of a counter's series on /metrics (every pool's); 0 when it is not there.
double metric_total(std::uint16_t metrics_port, const std::string& name) {
  const auto response = http_get(metrics_port, "/metrics");
  if (!response || response->status != 200) throw std::runtime_error("no /metrics answer");
  std::istringstream lines(response->body);
  double total = 0;
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with(name) || line.size() <= name.size()) continue;
    const char after = line[name.size()];
    if (after != ' ' && after != '{') continue;
    total += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return total;
}

class BackendLossTest : public integration_test {};

// One backend; each round the client's statement leaves it idle, root KILLs that session on
// MariaDB, and the client's next statement comes at once, before sluice's idle watch (armed on
// the next 250 ms upkeep round) could notice: it must run, on a new backend session, and
// sluice_statement_retries_total count it. The old release answered 7004 "lost the backend
// connection". Rounds where the watch noticed first pass without a retry, so the count is at
// least one and at most one per round.
TEST_F(BackendLossTest, IdleBackendKilledOnTheServerIsReplacedWithoutAnError) {
  const sluice_config config = make_config({{"backend.max_connections", "1"}});
  const std::uint16_t metrics_port = config.listen_port("metrics");
  start_sluice(config);
  auto client = connect_app();
  mysql_client root;
  ASSERT_TRUE(root.connect(server().host(), server().port(), "root", "")) << root.error_message();
  const double retries_before = metric_total(metrics_port, "sluice_statement_retries_total");

  constexpr int rounds = 20;
  int failures = 0;
  std::string first_failure;
  std::string session = client->scalar("SELECT CONNECTION_ID()");
  for (int i = 0; i < rounds; ++i) {
    const query_result killed = root.query("KILL " + session);
    ASSERT_TRUE(killed.ok) << "KILL " << session << ": " << killed.describe();
    const query_result next = client->query("SELECT CONNECTION_ID()");
    if (!next.ok) {
      if (failures++ == 0) first_failure = next.describe();
      session = client->scalar("SELECT CONNECTION_ID()");
      continue;
    }
    const std::string now_on = next.rows.at(0).at(0).value_or("NULL");
    EXPECT_NE(now_on, session) << "round " << i << ": the statement ran on the killed session";
    session = now_on;
  }
  const double retries =
      metric_total(metrics_port, "sluice_statement_retries_total") - retries_before;
  std::cout << failures << " of " << rounds << " statements after a KILL failed"
            << (failures ? " (first: " + first_failure + ")" : "")
            << "; retries counted: " << retries << "\n";
  RecordProperty("failures", failures);
  RecordProperty("retries", std::to_string(retries));
  EXPECT_EQ(failures, 0) << "first: " << first_failure;
  EXPECT_GE(retries, 1);
  EXPECT_LE(retries, rounds);
  EXPECT_TRUE(sluice().running());
}

// The same for a prepared statement's COM_STMT_EXECUTE: it is the client's own bytes too, and
// nothing of it ran on a backend that was dead before it was sent. Each round runs the execute
// once on a live backend first, so the statement is cached there, then KILLs that session.
TEST_F(BackendLossTest, IdleBackendKilledOnTheServerIsReplacedForAPreparedStatementToo) {
  const sluice_config config = make_config({{"backend.max_connections", "1"}});
  const std::uint16_t metrics_port = config.listen_port("metrics");
  start_sluice(config);
  auto client = connect_app();
  mysql_client root;
  ASSERT_TRUE(root.connect(server().host(), server().port(), "root", "")) << root.error_message();
  const double retries_before = metric_total(metrics_port, "sluice_statement_retries_total");
  MYSQL_STMT* stmt = mysql_stmt_init(client->handle());
  ASSERT_NE(stmt, nullptr);
  struct closer {
    MYSQL_STMT* stmt;
    ~closer() { mysql_stmt_close(stmt); }
  } guard{stmt};
  const std::string sql = "SELECT CONNECTION_ID()";
  ASSERT_EQ(mysql_stmt_prepare(stmt, sql.data(), sql.size()), 0) << mysql_stmt_error(stmt);
  // Executes and returns the session it ran on ("" and the error in `error` on failure).
  const auto execute = [&](std::string& error) -> std::string {
    if (mysql_stmt_execute(stmt) != 0) {
      error = std::to_string(mysql_stmt_errno(stmt)) + ": " + mysql_stmt_error(stmt);
      return "";
    }
    long long id = 0;
    MYSQL_BIND out{};
    out.buffer_type = MYSQL_TYPE_LONGLONG;
    out.buffer = &id;
    mysql_stmt_bind_result(stmt, &out);
    const int fetched = mysql_stmt_fetch(stmt);
    mysql_stmt_free_result(stmt);
    if (fetched != 0) error = "fetch: " + std::string(mysql_stmt_error(stmt));
    return fetched == 0 ? std::to_string(id) : "";
  };

  constexpr int rounds = 10;
  int failures = 0;
  std::string first_failure;
  for (int i = 0; i < rounds; ++i) {
    std::string error;
    const std::string session = execute(error);
    ASSERT_FALSE(session.empty()) << "round " << i << ", before the KILL: " << error;
    const query_result killed = root.query("KILL " + session);
    ASSERT_TRUE(killed.ok) << "KILL " << session << ": " << killed.describe();
    const std::string now_on = execute(error);
    if (now_on.empty()) {
      if (failures++ == 0) first_failure = error;
      continue;
    }
    EXPECT_NE(now_on, session) << "round " << i << ": the execute ran on the killed session";
  }
  const double retries =
      metric_total(metrics_port, "sluice_statement_retries_total") - retries_before;
  std::cout << failures << " of " << rounds << " executes after a KILL failed"
            << (failures ? " (first: " + first_failure + ")" : "")
            << "; retries counted: " << retries << "\n";
  RecordProperty("failures", failures);
  RecordProperty("retries", std::to_string(retries));
  EXPECT_EQ(failures, 0) << "first: " << first_failure;
  EXPECT_GE(retries, 1);
  EXPECT_LE(retries, rounds);
  EXPECT_TRUE(sluice().running());
}

}  // namespace
}  // namespace sluice::test
