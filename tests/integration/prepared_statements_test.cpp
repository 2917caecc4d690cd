// Binary prepared statements (COM_STMT_*) through sluice's per-backend statement cache: prepared
// once, executed on whichever backend the client gets (steered onto the other backend on purpose),
// with every parameter type, rebinding or not, long data, cursors, reset, close, errors, insert
// ids, the schema a statement was prepared in, and more statements than one backend caches. A
// client that only uses prepared statements is never pinned (a read-only cursor pins until it is
// done). Every test runs against MariaDB directly too; SHOW CLIENTS checks apply through sluice.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/admin_client.h"
#include "tests/support/client.h"
#include "tests/support/fixtures.h"
#include "tests/support/threads.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using json = nlohmann::json;
using steady = std::chrono::steady_clock;

constexpr unsigned parse_error = 1064;
constexpr unsigned no_such_table = 1146;
constexpr unsigned unknown_prepared_statement = 1243;
// The per-backend statement cache bound the many-statements test goes beyond.
constexpr std::size_t statement_cache_per_backend = 256;
constexpr int row_count = 20;  // ps_rows: ids 1..20, names name-1..name-20

const std::string db = mariadb_server::test_database;

// ---- Prepared statements through Connector/C ----------------------------------------------

struct stmt_closer {
  void operator()(MYSQL_STMT* stmt) const {
    if (stmt != nullptr) mysql_stmt_close(stmt);
  }
};
using statement = std::unique_ptr<MYSQL_STMT, stmt_closer>;

std::string stmt_error(MYSQL_STMT* stmt) {
  return std::to_string(mysql_stmt_errno(stmt)) + " (" + mysql_stmt_sqlstate(stmt) +
         "): " + mysql_stmt_error(stmt);
}

statement prepare(mysql_client& client, const std::string& sql) {
  statement stmt(mysql_stmt_init(client.handle()));
  if (!stmt) throw std::runtime_error("mysql_stmt_init: " + client.error_message());
  if (mysql_stmt_prepare(stmt.get(), sql.data(), sql.size()) != 0)
    throw std::runtime_error("prepare '" + sql + "': " + stmt_error(stmt.get()));
  return stmt;
}

// One execute's parameters. The MYSQL_BINDs point into heap storage owned by this object, so it
// may be moved but must outlive the execute.
class bound_params {
 public:
  bound_params& i64(long long v) {
    add(MYSQL_TYPE_LONGLONG).i = v;
    return *this;
  }
  bound_params& f64(double v) {
    add(MYSQL_TYPE_DOUBLE).d = v;
    return *this;
  }
  bound_params& str(std::string v) {
    value& p = add(MYSQL_TYPE_STRING);
    p.s = std::move(v);
    p.length = p.s.size();
    return *this;
  }
  bound_params& null() {
    add(MYSQL_TYPE_NULL);
    return *this;
  }
  std::size_t size() const { return values_.size(); }

  MYSQL_BIND* binds() {
    binds_.assign(values_.size(), MYSQL_BIND{});
    for (std::size_t i = 0; i < values_.size(); ++i) {
      value& v = *values_[i];
      MYSQL_BIND& b = binds_[i];
      b.buffer_type = v.type;
      switch (v.type) {
        case MYSQL_TYPE_LONGLONG:
          b.buffer = &v.i;
          break;
        case MYSQL_TYPE_DOUBLE:
          b.buffer = &v.d;
          break;
        case MYSQL_TYPE_STRING:
          b.buffer = v.s.data();
          b.buffer_length = v.length;
          b.length = &v.length;
          break;
        default:
          break;
      }
    }
    return binds_.data();
  }

 private:
  struct value {
    enum_field_types type = MYSQL_TYPE_NULL;
    long long i = 0;
    double d = 0;
    std::string s;
    unsigned long length = 0;
  };
  value& add(enum_field_types type) {
    values_.push_back(std::make_unique<value>());
    values_.back()->type = type;
    return *values_.back();
  }
  std::vector<std::unique_ptr<value>> values_;
  std::vector<MYSQL_BIND> binds_;
};

// Every remaining row of the executed statement, each column read as text.
std::vector<row> fetch_all(MYSQL_STMT* stmt) {
  const unsigned columns = mysql_stmt_field_count(stmt);
  if (columns == 0) return {};
  constexpr unsigned long capacity = 4096;
  std::vector<MYSQL_BIND> out(columns);
  std::vector<std::string> buffers(columns, std::string(capacity, '\0'));
  std::vector<unsigned long> lengths(columns);
  std::vector<my_bool> nulls(columns);
  std::vector<my_bool> errors(columns);
  for (unsigned i = 0; i < columns; ++i) {
    out[i] = MYSQL_BIND{};
    out[i].buffer_type = MYSQL_TYPE_STRING;
    out[i].buffer = buffers[i].data();
    out[i].buffer_length = capacity;
    out[i].length = &lengths[i];
    out[i].is_null = &nulls[i];
    out[i].error = &errors[i];
  }
  if (mysql_stmt_bind_result(stmt, out.data()) != 0)
    throw std::runtime_error("bind_result: " + stmt_error(stmt));
  std::vector<row> rows;
  for (;;) {
    const int rc = mysql_stmt_fetch(stmt);
    if (rc == MYSQL_NO_DATA) break;
    if (rc == MYSQL_DATA_TRUNCATED) throw std::runtime_error("fetch: a value was truncated");
    if (rc != 0) throw std::runtime_error("fetch: " + stmt_error(stmt));
    row r;
    for (unsigned i = 0; i < columns; ++i) {
      if (nulls[i]) {
        r.emplace_back(std::nullopt);
      } else {
        r.emplace_back(std::string(buffers[i].data(), lengths[i]));
      }
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

// Binds `params` (when there are any), executes and reads every row; throws on an error.
std::vector<row> run(MYSQL_STMT* stmt, bound_params& params) {
  if (params.size() > 0 && mysql_stmt_bind_param(stmt, params.binds()) != 0)
    throw std::runtime_error("bind_param: " + stmt_error(stmt));
  if (mysql_stmt_execute(stmt) != 0) throw std::runtime_error("execute: " + stmt_error(stmt));
  std::vector<row> rows = fetch_all(stmt);
  mysql_stmt_free_result(stmt);
  return rows;
}

std::vector<row> run(MYSQL_STMT* stmt) {
  bound_params none;
  return run(stmt, none);
}

// The rows SELECT id, name FROM ps_rows WHERE id BETWEEN lo AND hi returns.
std::vector<row> named_rows(int lo, int hi) {
  std::vector<row> rows;
  for (int id = std::max(lo, 1); id <= std::min(hi, row_count); ++id)
    rows.push_back({std::to_string(id), "name-" + std::to_string(id)});
  return rows;
}

MYSQL_TIME datetime(unsigned year, unsigned month, unsigned day, unsigned hour, unsigned minute,
                    unsigned second) {
  MYSQL_TIME t{};
  t.year = year;
  t.month = month;
  t.day = day;
  t.hour = hour;
  t.minute = minute;
  t.second = second;
  t.time_type = MYSQL_TIMESTAMP_DATETIME;
  return t;
}

class PreparedStatementsTest : public target_test {
 protected:
  void SetUp() override {
    if (through_sluice()) {
      const sluice_config config = make_config(sluice_overrides());
      admin_port_ = config.listen_port("admin");
      start_sluice(config);
      // The harness waits for the client port; the admin port opens just after it.
      ASSERT_TRUE(wait_until([&] { return port_accepts(admin_port_); }, 5s));
    } else {
      create_client_accounts_on_backend(server());
    }
    server().run_sql(
        "CREATE OR REPLACE TABLE sluice_test.ps_rows (id INT PRIMARY KEY, name VARCHAR(32));"
        "INSERT INTO sluice_test.ps_rows SELECT seq, CONCAT('name-', seq) FROM "
        "sluice_test.seq_1_to_20;"
        "CREATE OR REPLACE TABLE sluice_test.ps_ai (id BIGINT AUTO_INCREMENT PRIMARY KEY,"
        " v INT NOT NULL);"
        "CREATE OR REPLACE TABLE sluice_test.ps_types (id INT PRIMARY KEY, i BIGINT NULL,"
        " d DOUBLE NULL, s VARCHAR(64) NULL, t DATETIME NULL);"
        "CREATE OR REPLACE TABLE sluice_test.ps_blobs (id INT PRIMARY KEY, data LONGBLOB)");
  }

  config_overrides sluice_overrides() const override {
    // Two backends, so that "the other backend" is well defined (see on_other_backend).
    return {{"backend.max_connections", "2"}, {"queue.timeout", "10s"}};
  }

  std::unique_ptr<mysql_client> connect(const std::string& schema = db) {
    client_options options;
    options.read_timeout = 60s;
    return connect_app(schema, 0, options);
  }

  json client_row(unsigned long id) {
    admin_client admin(admin_port_);
    const json rows = json::parse(admin.command("SHOW CLIENTS FORMAT JSON"));
    for (const auto& r : rows) {
      const json& rid = r.at("id");
      if ((rid.is_number_integer() && rid.get<unsigned long>() == id) ||
          (rid.is_string() && rid.get<std::string>() == std::to_string(id)))
        return r;
    }
    return nullptr;
  }

  // Through sluice: SHOW CLIENTS says the client is pinned for `reason` (waits up to 3 s).
  ::testing::AssertionResult pinned(mysql_client& client, const std::string& reason) {
    if (!through_sluice()) return ::testing::AssertionSuccess();
    json row;
    if (wait_until(
            [&] {
              row = client_row(client.thread_id());
              return !row.is_null() && row.at("pinned") == reason;
            },
            3s))
      return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "client " << client.thread_id() << " is not pinned '"
                                         << reason << "': SHOW CLIENTS row " << row.dump();
  }

  // Through sluice: the client is not pinned and holds no backend (waits up to 3 s).
  ::testing::AssertionResult released(mysql_client& client) {
    if (!through_sluice()) return ::testing::AssertionSuccess();
    json row;
    if (wait_until(
            [&] {
              row = client_row(client.thread_id());
              return !row.is_null() && row.at("pinned") == "" && row.at("backend") == "";
            },
            3s))
      return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "client " << client.thread_id()
                                         << " is not released: SHOW CLIENTS row " << row.dump();
  }

  // Runs `action` while two other clients hold both backends inside transactions, except the
  // one whose CONNECTION_ID() is not `avoid`: every statement `action` sends runs on that
  // backend. Returns its CONNECTION_ID(), to pass as `avoid` next time, so that consecutive
  // calls alternate between the two backends. (Directly: just two more connections.) The client
  // `action` uses must hold no backend when it is called.
  std::string on_other_backend(const std::string& avoid, const std::function<void()>& action) {
    std::unique_ptr<mysql_client> holders[2];
    std::string backend[2];
    for (int i = 0; i < 2; ++i) {
      holders[i] = connect();
      holders[i]->execute("BEGIN");
      backend[i] = holders[i]->scalar("SELECT CONNECTION_ID()");
    }
    EXPECT_NE(backend[0], backend[1]) << "the two holders share a backend";
    const int free = backend[0] != avoid ? 0 : 1;
    holders[free]->execute("COMMIT");
    action();
    holders[1 - free]->execute("COMMIT");
    return backend[free];
  }

  std::uint16_t admin_port_ = 0;
};

// ---- Executes across backends ------------------------------------------------------------

TEST_P(PreparedStatementsTest, ExecutesAlternateBetweenBackends) {
  auto a = connect();
  statement plus = prepare(*a, "SELECT CONNECTION_ID(), ? + 1, CONCAT(?, '!')");
  std::string backend;
  std::set<std::string> backends;
  for (int i = 0; i < 8; ++i) {
    SCOPED_TRACE("execute " + std::to_string(i));
    std::vector<row> rows;
    backend = on_other_backend(backend, [&] {
      rows = run(plus.get(), bound_params().i64(i).str("hey" + std::to_string(i)));
    });
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].at(1), std::to_string(i + 1));
    EXPECT_EQ(rows[0].at(2), "hey" + std::to_string(i) + "!");
    if (through_sluice()) {
      EXPECT_EQ(rows[0].at(0), backend) << "not run on the steered backend";
    }
    backends.insert(rows[0].at(0).value_or("NULL"));
    EXPECT_TRUE(released(*a));
  }
  EXPECT_EQ(backends.size(), through_sluice() ? 2u : 1u);
}

TEST_P(PreparedStatementsTest, ManyExecutesWhileOtherClientsChurnTheBackends) {
  const std::string sql =
      "SELECT CONNECTION_ID(), id, name FROM ps_rows WHERE id BETWEEN ? AND ? ORDER BY id";
  std::vector<std::unique_ptr<mysql_client>> others;
  for (int i = 0; i < 3; ++i) others.push_back(connect());
  background_load churn(std::move(others), [&](mysql_client& c, std::size_t i) {
    // The same statement text (the per-backend cache shares it), prepared and closed each round,
    // and a short transaction that keeps a backend for a while.
    statement s = prepare(c, sql);
    const int lo = static_cast<int>(i) * 5 + 1;
    std::vector<row> rows = run(s.get(), bound_params().i64(lo).i64(lo + 2));
    for (auto& r : rows) r.erase(r.begin());
    if (rows != named_rows(lo, lo + 2)) throw std::runtime_error("churn client got wrong rows");
    c.execute("BEGIN");
    c.scalar("SELECT SLEEP(0.003)");
    c.execute("COMMIT");
  });

  auto a = connect();
  statement s = prepare(*a, sql);
  std::set<std::string> backends;
  // At least 60 executes, and on until the other clients have done 30 rounds and (through sluice)
  // the executes have run on both backends, or 30 s passed.
  const auto deadline = steady::now() + 30s;
  const auto more = [&] {
    if (!churn.failures().empty() || steady::now() >= deadline) return false;
    return churn.rounds() < 30 || (through_sluice() && backends.size() < 2);
  };
  for (int i = 0; i < 60 || more(); ++i) {
    const int lo = i % 15 + 1;
    const int hi = lo + i % 4;
    std::vector<row> rows = run(s.get(), bound_params().i64(lo).i64(hi));
    for (auto& r : rows) {
      backends.insert(r.at(0).value_or("NULL"));
      r.erase(r.begin());
    }
    EXPECT_EQ(rows, named_rows(lo, hi)) << "execute " << i;
  }
  churn.stop();
  EXPECT_TRUE(churn.failures().empty()) << describe_failures(churn.failures());
  EXPECT_GE(churn.rounds(), 30);
  if (through_sluice()) {
    EXPECT_EQ(backends.size(), 2u) << "every execute ran on the same backend";
  } else {
    EXPECT_EQ(backends.size(), 1u);
  }
}

TEST_P(PreparedStatementsTest, AClientWithOnlyPreparedStatementsIsNeverPinned) {
  auto a = connect();
  statement select = prepare(*a, "SELECT id, name FROM ps_rows WHERE id <= ? ORDER BY id");
  EXPECT_TRUE(released(*a));
  statement insert = prepare(*a, "INSERT INTO ps_ai (v) VALUES (?)");
  statement update = prepare(*a, "UPDATE ps_ai SET v = v + 1 WHERE v >= ?");
  EXPECT_TRUE(released(*a));
  for (int i = 1; i <= 5; ++i) {
    EXPECT_EQ(run(select.get(), bound_params().i64(i)), named_rows(1, i));
    EXPECT_TRUE(released(*a));
    run(insert.get(), bound_params().i64(i * 10));
    EXPECT_EQ(mysql_stmt_affected_rows(insert.get()), 1u);
    EXPECT_TRUE(released(*a));
    run(update.get(), bound_params().i64(0));
    EXPECT_EQ(mysql_stmt_affected_rows(update.get()), static_cast<my_ulonglong>(i));
    EXPECT_TRUE(released(*a));
  }
  // A result read with mysql_stmt_store_result as well.
  bound_params three;
  three.i64(3);
  ASSERT_EQ(mysql_stmt_bind_param(select.get(), three.binds()), 0);
  ASSERT_EQ(mysql_stmt_execute(select.get()), 0) << stmt_error(select.get());
  ASSERT_EQ(mysql_stmt_store_result(select.get()), 0) << stmt_error(select.get());
  EXPECT_EQ(mysql_stmt_num_rows(select.get()), 3u);
  EXPECT_TRUE(released(*a));
  EXPECT_EQ(fetch_all(select.get()), named_rows(1, 3));
  mysql_stmt_free_result(select.get());
  EXPECT_TRUE(released(*a));
}

TEST_P(PreparedStatementsTest, FiftyClientsPreparingTheSameStatementsGetTheirOwnResults) {
  constexpr std::size_t clients = 50;
  const auto failures = run_threads(clients, [&](std::size_t c) {
    auto client = connect();
    statement twice = prepare(*client, "SELECT ? * 2");
    statement name = prepare(*client, "SELECT name FROM ps_rows WHERE id = ?");
    statement count = prepare(*client, "SELECT COUNT(*) FROM ps_rows WHERE id <= ?");
    for (int round = 0; round < 4; ++round) {
      const long long v = static_cast<long long>(c) * 100 + round;
      const int id = static_cast<int>((c + round) % row_count) + 1;
      const auto check = [&](const std::vector<row>& actual, const std::string& expected,
                             const std::string& what) {
        if (actual != std::vector<row>{{expected}})
          throw std::runtime_error(what + " round " + std::to_string(round) + ": got " +
                                   (actual.empty() || actual[0].empty()
                                        ? std::to_string(actual.size()) + " rows"
                                        : actual[0][0].value_or("NULL")) +
                                   ", expected " + expected);
      };
      check(run(twice.get(), bound_params().i64(v)), std::to_string(v * 2), "? * 2");
      check(run(name.get(), bound_params().i64(id)), "name-" + std::to_string(id), "name");
      check(run(count.get(), bound_params().i64(id)), std::to_string(id), "count");
    }
  });
  EXPECT_TRUE(failures.empty()) << describe_failures(failures);
}

// ---- Parameters ----------------------------------------------------------------------------

TEST_P(PreparedStatementsTest, ParametersOfEveryTypeWithAndWithoutRebinding) {
  auto a = connect();
  statement insert = prepare(*a, "INSERT INTO ps_types (id, i, d, s, t) VALUES (?, ?, ?, ?, ?)");

  // What the binding points at. Executing again without binding again sends the new values but
  // no parameter types: Connector/C sends types only on the first execute after a bind, so the
  // backend must already know them (or be told by sluice).
  int id = 0;
  long long i = 0;
  double d = 0;
  std::string s(64, '\0');
  unsigned long s_length = 0;
  MYSQL_TIME t{};
  my_bool i_null = 0, s_null = 0, t_null = 0;
  // The second set of types: i as a string, d as an int, s as NULL, t as a string.
  std::string i_text(32, '\0');
  unsigned long i_text_length = 0;
  int d_int = 0;
  std::string t_text(32, '\0');
  unsigned long t_text_length = 0;

  const auto bind_native = [&] {
    MYSQL_BIND b[5] = {};
    b[0].buffer_type = MYSQL_TYPE_LONG;
    b[0].buffer = &id;
    b[1].buffer_type = MYSQL_TYPE_LONGLONG;
    b[1].buffer = &i;
    b[1].is_null = &i_null;
    b[2].buffer_type = MYSQL_TYPE_DOUBLE;
    b[2].buffer = &d;
    b[3].buffer_type = MYSQL_TYPE_STRING;
    b[3].buffer = s.data();
    b[3].buffer_length = s.size();
    b[3].length = &s_length;
    b[3].is_null = &s_null;
    b[4].buffer_type = MYSQL_TYPE_DATETIME;
    b[4].buffer = &t;
    b[4].is_null = &t_null;
    return mysql_stmt_bind_param(insert.get(), b) == 0;
  };
  const auto bind_other_types = [&] {
    MYSQL_BIND b[5] = {};
    b[0].buffer_type = MYSQL_TYPE_LONG;
    b[0].buffer = &id;
    b[1].buffer_type = MYSQL_TYPE_STRING;
    b[1].buffer = i_text.data();
    b[1].buffer_length = i_text.size();
    b[1].length = &i_text_length;
    b[2].buffer_type = MYSQL_TYPE_LONG;
    b[2].buffer = &d_int;
    b[3].buffer_type = MYSQL_TYPE_NULL;
    b[4].buffer_type = MYSQL_TYPE_STRING;
    b[4].buffer = t_text.data();
    b[4].buffer_length = t_text.size();
    b[4].length = &t_text_length;
    return mysql_stmt_bind_param(insert.get(), b) == 0;
  };
  const auto set_native = [&](int new_id, std::optional<long long> iv, double dv,
                              std::optional<std::string> sv, std::optional<MYSQL_TIME> tv) {
    id = new_id;
    i_null = !iv;
    i = iv.value_or(0);
    d = dv;
    s_null = !sv;
    s_length = sv ? sv->size() : 0;
    if (sv) s.replace(0, sv->size(), *sv);
    t_null = !tv;
    t = tv.value_or(MYSQL_TIME{});
  };
  const auto set_other = [&](int new_id, const std::string& iv, int dv, const std::string& tv) {
    id = new_id;
    i_text.replace(0, iv.size(), iv);
    i_text_length = iv.size();
    d_int = dv;
    t_text.replace(0, tv.size(), tv);
    t_text_length = tv.size();
  };

  struct round {
    bool rebind;
    std::function<bool()> bind;
    std::function<void()> set;
  };
  const std::vector<round> rounds = {
      {true, bind_native, [&] { set_native(1, 10, 1.5, "one", datetime(2024, 2, 29, 13, 45, 7)); }},
      {false, nullptr,
       [&] { set_native(2, -20, -0.25, "two", datetime(1999, 12, 31, 23, 59, 59)); }},
      {false, nullptr, [&] { set_native(3, std::nullopt, 3, "three", std::nullopt); }},
      {true, bind_native,
       [&] { set_native(4, 9000000000LL, 4.125, "it's \"four\"", datetime(2000, 1, 1, 0, 0, 0)); }},
      {true, bind_other_types, [&] { set_other(5, "5555", 5, "2010-10-10 10:10:10"); }},
      {false, nullptr, [&] { set_other(6, "-66", 6, "2011-11-11 11:11:11"); }},
      {true, bind_native, [&] { set_native(7, 7, 7.75, std::nullopt, std::nullopt); }},
      {false, nullptr, [&] { set_native(8, 8, 8.5, "eight", datetime(2038, 1, 19, 3, 14, 8)); }},
  };
  std::string backend;
  for (std::size_t r = 0; r < rounds.size(); ++r) {
    SCOPED_TRACE("round " + std::to_string(r));
    rounds[r].set();
    if (rounds[r].rebind) {
      ASSERT_TRUE(rounds[r].bind()) << stmt_error(insert.get());
    }
    int rc = -1;
    backend = on_other_backend(backend, [&] { rc = mysql_stmt_execute(insert.get()); });
    ASSERT_EQ(rc, 0) << stmt_error(insert.get());
    EXPECT_EQ(mysql_stmt_affected_rows(insert.get()), 1u);
  }

  const std::vector<row> expected = {
      {"1", "10", "1.5", "one", "2024-02-29 13:45:07"},
      {"2", "-20", "-0.25", "two", "1999-12-31 23:59:59"},
      {"3", std::nullopt, "3", "three", std::nullopt},
      {"4", "9000000000", "4.125", "it's \"four\"", "2000-01-01 00:00:00"},
      {"5", "5555", "5", std::nullopt, "2010-10-10 10:10:10"},
      {"6", "-66", "6", std::nullopt, "2011-11-11 11:11:11"},
      {"7", "7", "7.75", std::nullopt, std::nullopt},
      {"8", "8", "8.5", "eight", "2038-01-19 03:14:08"},
  };
  EXPECT_EQ(a->query("SELECT id, i, d, s, t FROM ps_types ORDER BY id").rows, expected);

  // Back through the binary protocol into typed buffers, each execute on the other backend.
  statement select = prepare(*a, "SELECT i, d, s, t FROM ps_types WHERE id = ?");
  for (const row& want : expected) {
    const int want_id = std::stoi(*want[0]);
    SCOPED_TRACE("id " + std::to_string(want_id));
    int param = want_id;
    MYSQL_BIND in{};
    in.buffer_type = MYSQL_TYPE_LONG;
    in.buffer = &param;
    ASSERT_EQ(mysql_stmt_bind_param(select.get(), &in), 0);
    long long out_i = 0;
    double out_d = 0;
    char out_s[65];
    unsigned long out_s_length = 0;
    MYSQL_TIME out_t{};
    my_bool null_i = 0, null_d = 0, null_s = 0, null_t = 0;
    MYSQL_BIND out[4] = {};
    out[0].buffer_type = MYSQL_TYPE_LONGLONG;
    out[0].buffer = &out_i;
    out[0].is_null = &null_i;
    out[1].buffer_type = MYSQL_TYPE_DOUBLE;
    out[1].buffer = &out_d;
    out[1].is_null = &null_d;
    out[2].buffer_type = MYSQL_TYPE_STRING;
    out[2].buffer = out_s;
    out[2].buffer_length = sizeof out_s;
    out[2].length = &out_s_length;
    out[2].is_null = &null_s;
    out[3].buffer_type = MYSQL_TYPE_DATETIME;
    out[3].buffer = &out_t;
    out[3].is_null = &null_t;
    int fetched = -1;
    backend = on_other_backend(backend, [&] {
      if (mysql_stmt_execute(select.get()) != 0) return;
      if (mysql_stmt_bind_result(select.get(), out) != 0) return;
      fetched = mysql_stmt_fetch(select.get());
      mysql_stmt_free_result(select.get());
    });
    ASSERT_EQ(fetched, 0) << stmt_error(select.get());
    EXPECT_EQ(null_i ? std::optional<std::string>() : std::to_string(out_i), want[1]);
    EXPECT_EQ(out_d, std::stod(*want[2]));
    EXPECT_EQ(null_s ? std::optional<std::string>() : std::string(out_s, out_s_length), want[3]);
    if (!want[4]) {
      EXPECT_TRUE(null_t);
    } else {
      char text[32];
      std::snprintf(text, sizeof text, "%04u-%02u-%02u %02u:%02u:%02u", out_t.year, out_t.month,
                    out_t.day, out_t.hour, out_t.minute, out_t.second);
      EXPECT_EQ(std::string(text), *want[4]);
    }
  }
}

TEST_P(PreparedStatementsTest, LongDataOfOneMebibyteSentAcrossBackends) {
  constexpr std::size_t size = 1u << 20;
  constexpr std::size_t chunk = 64u << 10;
  std::string data(size, '\0');
  std::mt19937 random(1);
  for (char& c : data) c = static_cast<char>(random() & 0xFF);
  std::string hex;
  hex.reserve(size * 2);
  for (unsigned char c : data) {
    hex += "0123456789abcdef"[c >> 4];
    hex += "0123456789abcdef"[c & 15];
  }
  const std::string expected_md5 = server().query("SELECT MD5(0x" + hex + ")").at(0).at(0);

  auto a = connect();
  statement insert = prepare(*a, "INSERT INTO ps_blobs (id, data) VALUES (?, ?)");
  int id = 1;
  MYSQL_BIND b[2] = {};
  b[0].buffer_type = MYSQL_TYPE_LONG;
  b[0].buffer = &id;
  b[1].buffer_type = MYSQL_TYPE_LONG_BLOB;
  ASSERT_EQ(mysql_stmt_bind_param(insert.get(), b), 0);

  // The first chunk goes to a backend the statement was not prepared on (prepared lazily there);
  // the data waits in that backend's statement, not in sluice, and the client keeps that backend
  // (pinned long_data) until the execute uses the data up.
  std::string backend;
  for (std::size_t offset = 0; offset < size; offset += chunk) {
    int rc = -1;
    if (offset == 0) {
      backend = on_other_backend(backend, [&] {
        rc = mysql_stmt_send_long_data(insert.get(), 1, data.data() + offset, chunk);
      });
    } else {
      rc = mysql_stmt_send_long_data(insert.get(), 1, data.data() + offset, chunk);
    }
    ASSERT_EQ(rc, 0) << stmt_error(insert.get());
    ASSERT_TRUE(pinned(*a, "long_data")) << "after the chunk at " << offset;
  }
  ASSERT_EQ(mysql_stmt_execute(insert.get()), 0) << stmt_error(insert.get());
  EXPECT_TRUE(released(*a)) << "the execute used the long data up";
  EXPECT_EQ(mysql_stmt_affected_rows(insert.get()), 1u);
  EXPECT_EQ(a->query("SELECT LENGTH(data), MD5(data) FROM ps_blobs WHERE id = 1").rows,
            (std::vector<row>{{std::to_string(size), expected_md5}}));

  // The statement is reusable with ordinary parameters afterwards.
  insert.reset();
  statement again = prepare(*a, "INSERT INTO ps_blobs (id, data) VALUES (?, ?)");
  run(again.get(), bound_params().i64(2).str("small"));
  EXPECT_EQ(a->scalar("SELECT data FROM ps_blobs WHERE id = 2"), "small");
  EXPECT_TRUE(released(*a));
}

// ---- Cursors -------------------------------------------------------------------------------

TEST_P(PreparedStatementsTest, ReadOnlyCursorPinsUntilItIsDone) {
  std::vector<std::unique_ptr<mysql_client>> others;
  for (int i = 0; i < 2; ++i) others.push_back(connect());
  background_load churn(std::move(others), [](mysql_client& c, std::size_t) {
    const std::string n = c.scalar("SELECT COUNT(*) FROM ps_rows");
    if (n != std::to_string(row_count)) throw std::runtime_error("COUNT(*) = " + n);
  });
  ASSERT_TRUE(churn.wait_for_rounds(1, 10s)) << describe_failures(churn.failures());

  auto a = connect();
  statement s = prepare(*a, "SELECT id, name FROM ps_rows ORDER BY id");
  const unsigned long cursor = CURSOR_TYPE_READ_ONLY;
  const unsigned long prefetch = 1;
  ASSERT_EQ(mysql_stmt_attr_set(s.get(), STMT_ATTR_CURSOR_TYPE, &cursor), 0);
  ASSERT_EQ(mysql_stmt_attr_set(s.get(), STMT_ATTR_PREFETCH_ROWS, &prefetch), 0);

  int id = 0;
  char name[33];
  unsigned long name_length = 0;
  MYSQL_BIND out[2] = {};
  out[0].buffer_type = MYSQL_TYPE_LONG;
  out[0].buffer = &id;
  out[1].buffer_type = MYSQL_TYPE_STRING;
  out[1].buffer = name;
  out[1].buffer_length = sizeof name;
  out[1].length = &name_length;
  const auto execute = [&] {
    if (mysql_stmt_execute(s.get()) != 0) return false;
    return mysql_stmt_bind_result(s.get(), out) == 0;
  };
  // Fetches the next `count` rows one by one and checks they continue from `first`.
  const auto fetch_rows = [&](int first, int count) {
    for (int want = first; want < first + count; ++want) {
      const int rc = mysql_stmt_fetch(s.get());
      if (rc != 0)
        return ::testing::AssertionFailure()
               << "row " << want << ": fetch " << rc << " " << stmt_error(s.get());
      if (id != want || std::string(name, name_length) != "name-" + std::to_string(want))
        return ::testing::AssertionFailure()
               << "row " << want << " came back as " << id << "/" << std::string(name, name_length);
    }
    return ::testing::AssertionSuccess();
  };

  {
    SCOPED_TRACE("fetched to the end");
    ASSERT_TRUE(execute()) << stmt_error(s.get());
    EXPECT_TRUE(pinned(*a, "cursor"));
    for (int want = 1; want <= row_count; ++want) {
      ASSERT_TRUE(fetch_rows(want, 1));
      if (want == 1 || want == row_count / 2) {
        EXPECT_TRUE(pinned(*a, "cursor"));
      }
    }
    EXPECT_EQ(mysql_stmt_fetch(s.get()), MYSQL_NO_DATA);
    EXPECT_TRUE(released(*a));
  }
  {
    SCOPED_TRACE("reset");
    ASSERT_TRUE(execute()) << stmt_error(s.get());
    EXPECT_TRUE(pinned(*a, "cursor"));
    ASSERT_TRUE(fetch_rows(1, 5));
    ASSERT_EQ(mysql_stmt_reset(s.get()), 0) << stmt_error(s.get());
    EXPECT_TRUE(released(*a));
  }
  {
    SCOPED_TRACE("re-executed");
    ASSERT_TRUE(execute()) << stmt_error(s.get());
    ASSERT_TRUE(fetch_rows(1, 3));
    ASSERT_TRUE(execute()) << stmt_error(s.get());  // a new cursor from the first row
    EXPECT_TRUE(pinned(*a, "cursor"));
    ASSERT_TRUE(fetch_rows(1, row_count));
    EXPECT_EQ(mysql_stmt_fetch(s.get()), MYSQL_NO_DATA);
    EXPECT_TRUE(released(*a));
  }
  {
    SCOPED_TRACE("re-executed without a cursor");
    ASSERT_TRUE(execute()) << stmt_error(s.get());
    ASSERT_TRUE(fetch_rows(1, 2));
    const unsigned long no_cursor = CURSOR_TYPE_NO_CURSOR;
    ASSERT_EQ(mysql_stmt_attr_set(s.get(), STMT_ATTR_CURSOR_TYPE, &no_cursor), 0);
    ASSERT_TRUE(execute()) << stmt_error(s.get());
    // Buffered: Connector/C keeps thinking a cursor exists and refuses an unbuffered fetch.
    ASSERT_EQ(mysql_stmt_store_result(s.get()), 0) << stmt_error(s.get());
    ASSERT_TRUE(fetch_rows(1, row_count));
    EXPECT_EQ(mysql_stmt_fetch(s.get()), MYSQL_NO_DATA);
    EXPECT_TRUE(released(*a));
    ASSERT_EQ(mysql_stmt_attr_set(s.get(), STMT_ATTR_CURSOR_TYPE, &cursor), 0);
  }
  {
    // mysql_stmt_free_result tells the server nothing (Connector/C 3.3); the reset after it does.
    SCOPED_TRACE("free_result, then reset");
    ASSERT_TRUE(execute()) << stmt_error(s.get());
    ASSERT_TRUE(fetch_rows(1, 2));
    EXPECT_EQ(mysql_stmt_free_result(s.get()), 0);
    ASSERT_EQ(mysql_stmt_reset(s.get()), 0) << stmt_error(s.get());
    EXPECT_TRUE(released(*a));
  }
  {
    SCOPED_TRACE("closed");
    ASSERT_TRUE(execute()) << stmt_error(s.get());
    EXPECT_TRUE(pinned(*a, "cursor"));
    ASSERT_TRUE(fetch_rows(1, 4));
    EXPECT_EQ(mysql_stmt_close(s.release()), 0);
    EXPECT_TRUE(released(*a));
  }
  EXPECT_EQ(a->scalar("SELECT COUNT(*) FROM ps_rows"), std::to_string(row_count));
  churn.stop();
  EXPECT_TRUE(churn.failures().empty()) << describe_failures(churn.failures());
  EXPECT_GT(churn.rounds(), 0);
}

// ---- Reset, close, errors ------------------------------------------------------------------

TEST_P(PreparedStatementsTest, ResetDiscardsLongDataAndAnOpenResult) {
  auto a = connect();
  statement insert = prepare(*a, "INSERT INTO ps_blobs (id, data) VALUES (?, ?)");
  int id = 3;
  MYSQL_BIND b[2] = {};
  b[0].buffer_type = MYSQL_TYPE_LONG;
  b[0].buffer = &id;
  b[1].buffer_type = MYSQL_TYPE_LONG_BLOB;
  ASSERT_EQ(mysql_stmt_bind_param(insert.get(), b), 0);
  const std::string stale = "stale long data";
  ASSERT_EQ(mysql_stmt_send_long_data(insert.get(), 1, stale.data(), stale.size()), 0)
      << stmt_error(insert.get());
  ASSERT_EQ(mysql_stmt_reset(insert.get()), 0) << stmt_error(insert.get());
  EXPECT_TRUE(released(*a));

  std::string backend;
  backend =
      on_other_backend(backend, [&] { run(insert.get(), bound_params().i64(3).str("fresh")); });
  EXPECT_EQ(a->scalar("SELECT data FROM ps_blobs WHERE id = 3"), "fresh");

  // A reset in the middle of reading a result, then the next execute on the other backend.
  statement select = prepare(*a, "SELECT id, name FROM ps_rows WHERE id >= ? ORDER BY id");
  bound_params from_one;
  from_one.i64(1);
  ASSERT_EQ(mysql_stmt_bind_param(select.get(), from_one.binds()), 0);
  ASSERT_EQ(mysql_stmt_execute(select.get()), 0) << stmt_error(select.get());
  int first = 0;
  char name[33];
  unsigned long name_length = 0;
  MYSQL_BIND out[2] = {};
  out[0].buffer_type = MYSQL_TYPE_LONG;
  out[0].buffer = &first;
  out[1].buffer_type = MYSQL_TYPE_STRING;
  out[1].buffer = name;
  out[1].buffer_length = sizeof name;
  out[1].length = &name_length;
  ASSERT_EQ(mysql_stmt_bind_result(select.get(), out), 0);
  ASSERT_EQ(mysql_stmt_fetch(select.get()), 0) << stmt_error(select.get());
  EXPECT_EQ(first, 1);
  ASSERT_EQ(mysql_stmt_reset(select.get()), 0) << stmt_error(select.get());
  EXPECT_TRUE(released(*a));
  std::vector<row> rows;
  backend = on_other_backend(backend,
                             [&] { rows = run(select.get(), bound_params().i64(row_count - 2)); });
  EXPECT_EQ(rows, named_rows(row_count - 2, row_count));
  EXPECT_EQ(a->scalar("SELECT 'usable'"), "usable");
}

TEST_P(PreparedStatementsTest, PrepareAfterCloseGivesAWorkingStatement) {
  auto a = connect();
  std::string backend;
  for (int i = 0; i < 6; ++i) {
    SCOPED_TRACE("round " + std::to_string(i));
    statement s = prepare(*a, "SELECT ? * 3");
    std::vector<row> rows;
    backend = on_other_backend(backend, [&] { rows = run(s.get(), bound_params().i64(i)); });
    EXPECT_EQ(rows, (std::vector<row>{{std::to_string(i * 3)}}));
    EXPECT_EQ(mysql_stmt_close(s.release()), 0);
    EXPECT_TRUE(released(*a));
  }

  // A closed statement's id is unknown afterwards: the stale id is put into a live handle (its
  // own id restored after), because Connector/C frees a closed handle.
  statement live = prepare(*a, "SELECT 'live'");
  statement dead = prepare(*a, "SELECT 'dead'");
  const unsigned long dead_id = dead->stmt_id;
  const unsigned long live_id = live->stmt_id;
  EXPECT_NE(dead_id, live_id);
  dead.reset();
  live->stmt_id = dead_id;
  const int rc = mysql_stmt_execute(live.get());
  const unsigned error = mysql_stmt_errno(live.get());
  const std::string message = mysql_stmt_error(live.get());
  live->stmt_id = live_id;
  EXPECT_NE(rc, 0);
  EXPECT_EQ(error, unknown_prepared_statement) << message;
  EXPECT_THAT(message, HasSubstr("Unknown prepared statement handler"));
  EXPECT_EQ(run(live.get()), (std::vector<row>{{"live"}}));
  EXPECT_EQ(a->scalar("SELECT 'usable'"), "usable");
}

TEST_P(PreparedStatementsTest, PreparingBadSqlGivesTheServersErrorAndTheClientGoesOn) {
  auto a = connect();
  {
    statement bad(mysql_stmt_init(a->handle()));
    const std::string sql = "SELEC id FROM ps_rows WHERE id = ?";
    EXPECT_NE(mysql_stmt_prepare(bad.get(), sql.data(), sql.size()), 0);
    EXPECT_EQ(mysql_stmt_errno(bad.get()), parse_error) << stmt_error(bad.get());
    EXPECT_EQ(std::string(mysql_stmt_sqlstate(bad.get())), "42000");
    EXPECT_THAT(mysql_stmt_error(bad.get()), HasSubstr("SELEC"));
  }
  {
    statement missing(mysql_stmt_init(a->handle()));
    const std::string sql = "SELECT * FROM ps_no_such_table WHERE id = ?";
    EXPECT_NE(mysql_stmt_prepare(missing.get(), sql.data(), sql.size()), 0);
    EXPECT_EQ(mysql_stmt_errno(missing.get()), no_such_table) << stmt_error(missing.get());
  }
  EXPECT_TRUE(released(*a));
  EXPECT_EQ(a->scalar("SELECT 'usable'"), "usable");
  statement good = prepare(*a, "SELECT name FROM ps_rows WHERE id = ?");
  std::string backend;
  for (int id : {3, 4, 5}) {
    std::vector<row> rows;
    backend = on_other_backend(backend, [&] { rows = run(good.get(), bound_params().i64(id)); });
    EXPECT_EQ(rows, (std::vector<row>{{"name-" + std::to_string(id)}}));
  }
}

// ---- Insert ids, affected rows, schemas ----------------------------------------------------

TEST_P(PreparedStatementsTest, InsertIdAndAffectedRowsAreRight) {
  auto a = connect();
  auto b = connect();
  statement one = prepare(*a, "INSERT INTO ps_ai (v) VALUES (?)");
  statement two = prepare(*a, "INSERT INTO ps_ai (v) VALUES (?), (?)");
  statement update = prepare(*a, "UPDATE ps_ai SET v = v + 1000 WHERE v BETWEEN ? AND ?");
  std::string backend;
  for (int r = 0; r < 6; ++r) {
    SCOPED_TRACE("round " + std::to_string(r));
    backend = on_other_backend(backend, [&] { run(one.get(), bound_params().i64(r * 10)); });
    const std::string id = std::to_string(mysql_stmt_insert_id(one.get()));
    EXPECT_EQ(mysql_stmt_affected_rows(one.get()), 1u);
    b->execute("INSERT INTO ps_ai (v) VALUES (-1)");  // another client's insert in between
    EXPECT_EQ(a->scalar("SELECT v FROM ps_ai WHERE id = " + id), std::to_string(r * 10));
    EXPECT_EQ(a->scalar("SELECT LAST_INSERT_ID()"), id);

    backend = on_other_backend(
        backend, [&] { run(two.get(), bound_params().i64(r * 10 + 1).i64(r * 10 + 2)); });
    const std::string first = std::to_string(mysql_stmt_insert_id(two.get()));
    EXPECT_EQ(mysql_stmt_affected_rows(two.get()), 2u);
    b->execute("INSERT INTO ps_ai (v) VALUES (-1)");
    EXPECT_EQ(a->scalar("SELECT v FROM ps_ai WHERE id = " + first), std::to_string(r * 10 + 1));
    EXPECT_EQ(a->scalar("SELECT LAST_INSERT_ID()"), first);
  }
  backend = on_other_backend(backend, [&] { run(update.get(), bound_params().i64(0).i64(25)); });
  EXPECT_EQ(mysql_stmt_affected_rows(update.get()), 9u);  // 0,1,2, 10,11,12, 20,21,22
  backend = on_other_backend(backend, [&] { run(update.get(), bound_params().i64(0).i64(25)); });
  EXPECT_EQ(mysql_stmt_affected_rows(update.get()), 0u);
  EXPECT_EQ(a->scalar("SELECT COUNT(*) FROM ps_ai WHERE v >= 1000"), "9");
  EXPECT_TRUE(released(*a));
}

TEST_P(PreparedStatementsTest, AStatementKeepsTheSchemaItWasPreparedIn) {
  server().run_sql(
      "CREATE DATABASE IF NOT EXISTS ps_schema_a; CREATE DATABASE IF NOT EXISTS ps_schema_b;"
      "CREATE OR REPLACE TABLE ps_schema_a.ps_named (n VARCHAR(8));"
      "INSERT INTO ps_schema_a.ps_named VALUES ('A');"
      "CREATE OR REPLACE TABLE ps_schema_b.ps_named (n VARCHAR(8));"
      "INSERT INTO ps_schema_b.ps_named VALUES ('B')");
  const std::string sql = "SELECT n FROM ps_named";
  auto a = connect("ps_schema_a");
  statement in_a = prepare(*a, sql);
  std::string backend;
  std::vector<row> rows;
  backend = on_other_backend(backend, [&] { rows = run(in_a.get()); });
  EXPECT_EQ(rows, (std::vector<row>{{"A"}}));

  a->execute("USE ps_schema_b");
  EXPECT_EQ(a->scalar(sql), "B");
  // MariaDB resolves a prepared statement's tables in the schema current at PREPARE, even when
  // it re-prepares it later; the same must hold on a backend that first sees it after the USE.
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE("after USE, execute " + std::to_string(i));
    backend = on_other_backend(backend, [&] { rows = run(in_a.get()); });
    EXPECT_EQ(rows, (std::vector<row>{{"A"}}));
    ASSERT_TRUE(released(*a));
  }
  statement in_b = prepare(*a, sql);
  for (int i = 0; i < 2; ++i) {
    backend = on_other_backend(backend, [&] { rows = run(in_b.get()); });
    EXPECT_EQ(rows, (std::vector<row>{{"B"}}));
  }
  EXPECT_EQ(a->scalar("SELECT DATABASE()"), "ps_schema_b");

  // The same text prepared by clients in different schemas is two different statements.
  auto b = connect("ps_schema_b");
  auto c = connect("ps_schema_a");
  statement b_stmt = prepare(*b, sql);
  statement c_stmt = prepare(*c, sql);
  for (int i = 0; i < 2; ++i) {
    std::vector<row> b_rows, c_rows;
    backend = on_other_backend(backend, [&] {
      b_rows = run(b_stmt.get());
      c_rows = run(c_stmt.get());
    });
    EXPECT_EQ(b_rows, (std::vector<row>{{"B"}}));
    EXPECT_EQ(c_rows, (std::vector<row>{{"A"}}));
  }
  EXPECT_EQ(run(in_a.get()), (std::vector<row>{{"A"}}));
}

TEST_P(PreparedStatementsTest, MoreDistinctStatementsThanABackendCachesAllWork) {
  constexpr int per_client = 600;
  constexpr int block = 50;
  // Two clients, 1200 distinct statement texts, all kept open: more than both backends cache.
  auto plus_client = connect();
  auto minus_client = connect();
  std::vector<statement> plus, minus;
  for (int k = 0; k < per_client; ++k) {
    plus.push_back(prepare(*plus_client, "SELECT ? + " + std::to_string(k)));
    minus.push_back(prepare(*minus_client, "SELECT ? - " + std::to_string(k)));
  }
  int wrong = 0;
  std::string first_wrong;
  const auto check = [&](const std::vector<row>& rows, long long expected,
                         const std::string& what) {
    if (rows == std::vector<row>{{std::to_string(expected)}}) return;
    if (wrong++ == 0)
      first_wrong = what + ": got " +
                    (rows.size() == 1 && !rows[0].empty() ? rows[0][0].value_or("NULL")
                                                          : std::to_string(rows.size()) + " rows") +
                    ", expected " + std::to_string(expected);
  };
  std::string backend;
  for (int pass = 0; pass < 2; ++pass) {
    for (int start = 0; start < per_client; start += block) {
      backend = on_other_backend(backend, [&] {
        for (int j = start; j < start + block; ++j) {
          const int k = pass == 0 ? j : per_client - 1 - j;  // the second pass runs backwards
          const long long v = 1000 * (pass + 1);
          check(run(plus[k].get(), bound_params().i64(v)), v + k,
                "SELECT ? + " + std::to_string(k));
          check(run(minus[k].get(), bound_params().i64(v)), v - k,
                "SELECT ? - " + std::to_string(k));
        }
      });
    }
  }
  EXPECT_EQ(wrong, 0) << "first: " << first_wrong;
  if (through_sluice()) {
    const long long on_server =
        std::stoll(server().query("SHOW GLOBAL STATUS LIKE 'Prepared_stmt_count'").at(0).at(1));
    EXPECT_LE(on_server, static_cast<long long>(2 * statement_cache_per_backend))
        << "statements prepared on the two backends";
  }
  EXPECT_TRUE(released(*plus_client));
  EXPECT_TRUE(released(*minus_client));
}

INSTANTIATE_TEST_SUITE_P(Targets, PreparedStatementsTest,
                         ::testing::Values(target::direct, target::sluice), target_name);

}  // namespace
}  // namespace sluice::test
