// Multiplexing must never leak one client's session (variables, schema, temporary tables,
// transactions, LAST_INSERT_ID) into another's, even with 10 clients per backend connection.
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/client.h"
#include "tests/support/fixtures.h"
#include "tests/support/threads.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t client_count = 40;
constexpr int schema_count = 4;

// Counts wrong observations from many client threads, keeping the first few for the report.
class mismatch_log {
 public:
  void check(std::size_t client, int step, const std::string& what,
             const std::optional<std::string>& actual, const std::string& expected) {
    if (actual == expected) return;
    ++count_;
    std::lock_guard lock(mutex_);
    if (samples_.size() < 20) {
      samples_.push_back("client " + std::to_string(client) + " step " + std::to_string(step) +
                         ": " + what + " = '" + actual.value_or("NULL") + "', expected '" +
                         expected + "'");
    }
  }
  int count() const { return count_; }
  std::string report() const {
    std::lock_guard lock(mutex_);
    std::string text = std::to_string(count_.load()) + " mismatches, first ones:\n";
    for (const auto& s : samples_) text += s + "\n";
    return text;
  }

 private:
  std::atomic<int> count_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> samples_;
};

std::string describe_failures(const std::vector<std::string>& failures) {
  std::string text = std::to_string(failures.size()) + " clients failed:\n";
  for (std::size_t i = 0; i < failures.size() && i < 10; ++i) text += failures[i] + "\n";
  return text;
}

// A distinct sql_mode per client: the flags of (client + 1)'s bits, listed in the order MariaDB
// prints them, so the expected @@sql_mode text is exact.
std::string sql_mode_for(std::size_t client) {
  static const char* const flags[] = {"REAL_AS_FLOAT",      "PIPES_AS_CONCAT",
                                      "ANSI_QUOTES",        "IGNORE_SPACE",
                                      "ONLY_FULL_GROUP_BY", "NO_UNSIGNED_SUBTRACTION"};
  std::string mode;
  const std::size_t bits = client + 1;
  for (std::size_t bit = 0; bit < std::size(flags); ++bit) {
    if ((bits >> bit & 1) == 0) continue;
    if (!mode.empty()) mode += ',';
    mode += flags[bit];
  }
  return mode;
}

// A distinct time zone offset per client, written the way @@time_zone reports it.
std::string time_zone_for(std::size_t client) {
  const auto two_digits = [](std::size_t n) { return (n < 10 ? "0" : "") + std::to_string(n); };
  return "+" + two_digits(client / 4 % 14) + ":" + two_digits(client % 4 * 15);
}

std::string schema_name(int k) {
  return "iso_db_" + std::to_string(k);
}

class IsolationTest : public target_test {
 protected:
  void SetUp() override {
    target_test::SetUp();
    std::string sql;
    for (int k = 0; k < schema_count; ++k) {
      sql += "CREATE DATABASE IF NOT EXISTS " + schema_name(k) + ";" + "CREATE OR REPLACE TABLE " +
             schema_name(k) + ".marker (k INT);" + "INSERT INTO " + schema_name(k) +
             ".marker VALUES (" + std::to_string(k) + ");";
    }
    server().run_sql(sql);
  }

  config_overrides sluice_overrides() const override {
    // Pinned clients hold a backend until they disconnect and the others queue behind them.
    return {{"backend.max_connections", "4"}, {"queue.timeout", "60s"}};
  }

  client_options options() const {
    client_options o;
    o.read_timeout = 90s;
    o.connect_timeout = 30s;
    return o;
  }
};

TEST_P(IsolationTest, SessionVariablesAndSchemaStayWithTheirClient) {
  mismatch_log mismatches;
  const auto failures = run_threads(client_count, [&](std::size_t i) {
    int schema = static_cast<int>(i) % schema_count;
    // Half the clients choose their schema in the handshake, half with USE.
    auto client = connect_app(i % 2 == 0 ? schema_name(schema) : "", 0, options());
    if (i % 2 == 1) client->execute("USE " + schema_name(schema));
    const std::string mode = sql_mode_for(i);
    const std::string zone = time_zone_for(i);
    client->execute("SET SESSION sql_mode = '" + mode + "'");
    client->execute("SET time_zone = '" + zone + "'");

    for (int step = 0; step < 20; ++step) {
      if (step % 10 == 4) {
        schema = (schema + 1) % schema_count;
        client->execute("USE " + schema_name(schema));
      } else if (step % 10 == 9) {
        schema = (schema + 1) % schema_count;
        if (mysql_select_db(client->handle(), schema_name(schema).c_str()) != 0) {
          throw std::runtime_error("mysql_select_db: " + client->error_message());
        }
      }
      mismatches.check(i, step, "@@sql_mode", client->scalar("SELECT @@sql_mode"), mode);
      mismatches.check(i, step, "@@time_zone", client->scalar("SELECT @@time_zone"), zone);
      mismatches.check(i, step, "DATABASE()", client->scalar("SELECT DATABASE()"),
                       schema_name(schema));
      mismatches.check(i, step, "marker.k", client->scalar("SELECT k FROM marker"),
                       std::to_string(schema));
    }
  });
  EXPECT_TRUE(failures.empty()) << describe_failures(failures);
  EXPECT_EQ(mismatches.count(), 0) << mismatches.report();
}

TEST_P(IsolationTest, UserVariablesAndTemporaryTablesStayWithTheirClient) {
  mismatch_log mismatches;
  const auto failures = run_threads(client_count, [&](std::size_t i) {
    const int schema = static_cast<int>(i) % schema_count;
    const std::string id = std::to_string(i);
    const std::string mode = sql_mode_for(i);
    auto client = connect_app(schema_name(schema), 0, options());
    client->execute("SET @v = " + id);
    client->execute("SET SESSION sql_mode = '" + mode + "'");
    client->execute("CREATE TEMPORARY TABLE tmp (id INT)");
    client->execute("INSERT INTO tmp VALUES (" + id + ")");

    for (int step = 0; step < 10; ++step) {
      mismatches.check(i, step, "@v", client->scalar_or_null("SELECT @v"), id);
      mismatches.check(i, step, "@@sql_mode", client->scalar("SELECT @@sql_mode"), mode);
      mismatches.check(i, step, "DATABASE()", client->scalar("SELECT DATABASE()"),
                       schema_name(schema));
      const query_result tmp = client->query("SELECT id FROM tmp");
      if (!tmp.ok) {
        mismatches.check(i, step, "SELECT id FROM tmp", tmp.describe(), "rows");
      } else {
        mismatches.check(i, step, "tmp row count", std::to_string(tmp.rows.size()), "1");
        if (tmp.rows.size() == 1) mismatches.check(i, step, "tmp.id", tmp.rows[0].at(0), id);
      }
    }
  });
  EXPECT_TRUE(failures.empty()) << describe_failures(failures);
  EXPECT_EQ(mismatches.count(), 0) << mismatches.report();
}

TEST_P(IsolationTest, UncommittedRowsAreVisibleOnlyToTheirOwnTransaction) {
  server().run_sql(
      "CREATE OR REPLACE TABLE sluice_test.iso_tx (client INT PRIMARY KEY, note VARCHAR(32))");
  // Set just before a client sends COMMIT: another client seeing a row of a client that has not
  // got this far is seeing an uncommitted row.
  std::vector<std::atomic<bool>> commit_sent(client_count);
  mismatch_log mismatches;
  const auto failures = run_threads(client_count, [&](std::size_t i) {
    const std::string id = std::to_string(i);
    const bool commits = i % 4 != 3;  // every fourth client rolls back instead
    auto client = connect_app(mariadb_server::test_database, 0, options());
    client->execute("BEGIN");
    client->execute("INSERT INTO iso_tx VALUES (" + id + ", 'client " + id + "')");
    for (int step = 0; step < 5; ++step) {
      mismatches.check(i, step, "own uncommitted row",
                       client->scalar_or_null("SELECT note FROM iso_tx WHERE client = " + id),
                       "client " + id);
      const query_result all = client->query("SELECT client FROM iso_tx");
      if (!all.ok) throw std::runtime_error("select: " + all.describe());
      for (const auto& r : all.rows) {
        const std::size_t other = std::stoul(r.at(0).value_or("0"));
        if (other != i && !commit_sent[other]) {
          mismatches.check(i, step, "row of uncommitted client " + std::to_string(other), "visible",
                           "invisible");
        }
      }
      std::this_thread::sleep_for(5ms);
    }
    if (commits) {
      commit_sent[i] = true;
      client->execute("COMMIT");
    } else {
      client->execute("ROLLBACK");
    }
    mismatches.check(i, 99, "own row after " + std::string(commits ? "COMMIT" : "ROLLBACK"),
                     client->scalar("SELECT COUNT(*) FROM iso_tx WHERE client = " + id),
                     commits ? "1" : "0");
  });
  EXPECT_TRUE(failures.empty()) << describe_failures(failures);
  EXPECT_EQ(mismatches.count(), 0) << mismatches.report();
  EXPECT_EQ(server().query("SELECT COUNT(*), SUM(client % 4 = 3) FROM sluice_test.iso_tx").at(0),
            (std::vector<std::string>{"30", "0"}));
}

TEST_P(IsolationTest, LastInsertIdIsTheClientsOwn) {
  server().run_sql(
      "CREATE OR REPLACE TABLE sluice_test.iso_ai ("
      " id BIGINT AUTO_INCREMENT PRIMARY KEY, client INT NOT NULL, seq INT NOT NULL)");
  mismatch_log mismatches;
  const auto failures = run_threads(client_count, [&](std::size_t i) {
    const std::string id = std::to_string(i);
    auto client = connect_app(mariadb_server::test_database, 0, options());
    for (int seq = 0; seq < 20; ++seq) {
      const query_result insert = client->query("INSERT INTO iso_ai (client, seq) VALUES (" + id +
                                                ", " + std::to_string(seq) + ")");
      if (!insert.ok) throw std::runtime_error("insert: " + insert.describe());
      const std::string from_ok_packet = std::to_string(insert.last_insert_id);
      mismatches.check(i, seq, "insert id in the OK packet is 0",
                       insert.last_insert_id == 0 ? "0" : "set", "set");
      mismatches.check(i, seq, "LAST_INSERT_ID()", client->scalar("SELECT LAST_INSERT_ID()"),
                       from_ok_packet);
      const query_result row =
          client->query("SELECT client, seq FROM iso_ai WHERE id = " + from_ok_packet);
      if (!row.ok) throw std::runtime_error("select: " + row.describe());
      mismatches.check(i, seq, "row " + from_ok_packet,
                       row.rows.size() == 1 ? row.rows[0].at(0).value_or("NULL") + "/" +
                                                  row.rows[0].at(1).value_or("NULL")
                                            : std::to_string(row.rows.size()) + " rows",
                       id + "/" + std::to_string(seq));
    }
  });
  EXPECT_TRUE(failures.empty()) << describe_failures(failures);
  EXPECT_EQ(mismatches.count(), 0) << mismatches.report();
  EXPECT_EQ(server().query("SELECT COUNT(*) FROM sluice_test.iso_ai").at(0).at(0),
            std::to_string(client_count * 20));
}

INSTANTIATE_TEST_SUITE_P(Targets, IsolationTest, ::testing::Values(target::direct, target::sluice),
                         target_name);

}  // namespace
}  // namespace sluice::test
