// Multiplexing under torture: hundreds of clients running random scripts of every session-state
// hazard on a cap of 4 backends never see another client's state, and ORM-style clients (session
// settings, then only binary prepared statements) are never pinned.
//
// Environment: SLUICE_TORTURE_STATEMENTS is how many statements TortureTest runs in all (default
// 6000, which CI runs; the documented long run is 100000 or more); SLUICE_TORTURE_SEED replays a
// run (the seed is printed with every failure and in the summary). SLUICE_MUX_DIRECT=1 sends the
// clients straight to MariaDB: a control run of the tests themselves, where every state check must
// pass (the backend-cap and SHOW CLIENTS checks do not apply there and are skipped).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "tests/support/admin_client.h"
#include "tests/support/client.h"
#include "tests/support/fixtures.h"
#include "tests/support/threads.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using steady = std::chrono::steady_clock;

constexpr int backend_cap = 4;
constexpr unsigned table_not_locked = 1100;
constexpr unsigned no_such_table = 1146;
constexpr unsigned unknown_prepared_statement = 1243;

bool direct_to_mariadb() {
  const char* value = std::getenv("SLUICE_MUX_DIRECT");
  return value != nullptr && *value != '\0' && std::string(value) != "0";
}

std::string text_or_null(const std::optional<std::string>& value) {
  return value ? "'" + *value + "'" : "NULL";
}

// "+HH:MM", distinct for every n below 600. Always one spelling per offset and never negative:
// MariaDB caches offset time zones server-wide, and a later '-00:56' read back as '-03:04'.
std::string time_zone_text(std::size_t n) {
  const auto two_digits = [](std::size_t v) { return (v < 10 ? "0" : "") + std::to_string(v); };
  return "+" + two_digits(n / 60 % 10) + ":" + two_digits(n % 60);
}

// sql_mode flags that do not change how the tests' statements parse or run (strings are always
// in single quotes, no `||`, no GROUP BY). The flags of n's bits, so every n gets its own mode.
std::string sql_mode_text(std::size_t n) {
  static const char* const flags[] = {"REAL_AS_FLOAT",
                                      "PIPES_AS_CONCAT",
                                      "ANSI_QUOTES",
                                      "IGNORE_SPACE",
                                      "ONLY_FULL_GROUP_BY",
                                      "NO_UNSIGNED_SUBTRACTION",
                                      "NO_DIR_IN_CREATE",
                                      "ERROR_FOR_DIVISION_BY_ZERO",
                                      "NO_ENGINE_SUBSTITUTION",
                                      "HIGH_NOT_PRECEDENCE"};
  std::string mode;
  for (std::size_t bit = 0; bit < std::size(flags); ++bit) {
    if ((n >> bit & 1) == 0) continue;
    if (!mode.empty()) mode += ',';
    mode += flags[bit];
  }
  return mode;
}

// "SELECT COUNT(*) FROM mux_lk_17" -> "SELECT COUNT(*) FROM mux_lk_N": one kind for all clients.
std::string digits_as_n(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c < '0' || c > '9') {
      out += c;
    } else if (out.empty() || out.back() != 'N') {
      out += 'N';
    }
  }
  return out;
}

// Counts wrong observations from many client threads, keeps the first ones for the report and
// counts them by kind (which check, which step) so that a report shows every kind of failure.
class observation_log {
 public:
  void add(const std::string& text, const std::string& kind = "") {
    ++count_;
    std::lock_guard lock(mutex_);
    if (samples_.size() < 25) samples_.push_back(text);
    if (!kind.empty()) ++by_kind_[digits_as_n(kind)];
  }
  long long count() const { return count_; }
  std::string report() const {
    std::lock_guard lock(mutex_);
    std::string text = std::to_string(count_.load());
    if (!by_kind_.empty()) {
      text += " (";
      for (const auto& [kind, n] : by_kind_)
        text += (text.back() == '(' ? "" : ", ") + kind + ": " + std::to_string(n);
      text += ")";
    }
    text += ", first ones:\n";
    for (const auto& s : samples_) text += "  " + s + "\n";
    return text;
  }

 private:
  std::atomic<long long> count_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> samples_;
  std::map<std::string, long long> by_kind_;
};

// Counts a client thread as finished exactly once, however it ends.
class finish_once {
 public:
  explicit finish_once(std::latch& latch) : latch_(latch) {}
  ~finish_once() { now(); }
  finish_once(const finish_once&) = delete;
  finish_once& operator=(const finish_once&) = delete;
  void now() {
    if (!done_) latch_.count_down();
    done_ = true;
  }

 private:
  std::latch& latch_;
  bool done_ = false;
};

// ---- Binary prepared statements (COM_STMT_*), results read as text ---------------------------

using stmt_param = std::variant<long long, std::string>;

struct stmt_result {
  bool ok = false;
  unsigned error_code = 0;
  std::string message;
  std::vector<row> rows;
  std::uint64_t affected_rows = 0;
  std::uint64_t insert_id = 0;

  std::string describe() const { return ok ? "ok" : std::to_string(error_code) + ": " + message; }
};

class prepared_statement {
 public:
  explicit prepared_statement(MYSQL* mysql) : stmt_(mysql_stmt_init(mysql)) {
    if (stmt_ == nullptr) throw std::runtime_error("mysql_stmt_init: out of memory");
  }
  // COM_STMT_CLOSE (nothing is sent for a statement mysql_reset_connection invalidated).
  ~prepared_statement() { mysql_stmt_close(stmt_); }
  prepared_statement(const prepared_statement&) = delete;
  prepared_statement& operator=(const prepared_statement&) = delete;

  stmt_result prepare(const std::string& sql) {
    stmt_result result;
    if (mysql_stmt_prepare(stmt_, sql.data(), sql.size()) != 0) return failed(result);
    result.ok = true;
    return result;
  }

  stmt_result execute(const std::vector<stmt_param>& params) {
    stmt_result result;
    std::vector<MYSQL_BIND> in(params.size());  // value-initialised: all zero
    std::vector<long long> numbers(params.size());
    std::vector<unsigned long> lengths(params.size());
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (const auto* number = std::get_if<long long>(&params[i])) {
        numbers[i] = *number;
        in[i].buffer_type = MYSQL_TYPE_LONGLONG;
        in[i].buffer = &numbers[i];
      } else {
        const auto& text = std::get<std::string>(params[i]);
        lengths[i] = text.size();
        in[i].buffer_type = MYSQL_TYPE_STRING;
        in[i].buffer = const_cast<char*>(text.data());
        in[i].buffer_length = text.size();
        in[i].length = &lengths[i];
      }
    }
    if (!in.empty() && mysql_stmt_bind_param(stmt_, in.data()) != 0) return failed(result);
    if (mysql_stmt_execute(stmt_) != 0) return failed(result);
    result.affected_rows = mysql_stmt_affected_rows(stmt_);
    result.insert_id = mysql_stmt_insert_id(stmt_);

    const unsigned columns = mysql_stmt_field_count(stmt_);
    if (columns > 0) {
      constexpr std::size_t capacity = 256;
      std::vector<MYSQL_BIND> out(columns);
      std::vector<std::array<char, capacity>> buffers(columns);
      std::vector<unsigned long> out_lengths(columns);
      std::vector<my_bool> nulls(columns), truncated(columns);
      for (unsigned c = 0; c < columns; ++c) {
        out[c].buffer_type = MYSQL_TYPE_STRING;
        out[c].buffer = buffers[c].data();
        out[c].buffer_length = capacity;
        out[c].length = &out_lengths[c];
        out[c].is_null = &nulls[c];
        out[c].error = &truncated[c];
      }
      if (mysql_stmt_bind_result(stmt_, out.data()) != 0) return failed(result);
      for (;;) {
        const int fetched = mysql_stmt_fetch(stmt_);
        if (fetched == MYSQL_NO_DATA) break;
        if (fetched == 1) {
          failed(result);
          mysql_stmt_free_result(stmt_);
          return result;
        }
        row values;
        for (unsigned c = 0; c < columns; ++c) {
          if (nulls[c]) {
            values.emplace_back(std::nullopt);
          } else {
            values.emplace_back(
                std::string(buffers[c].data(), std::min<std::size_t>(out_lengths[c], capacity)));
          }
        }
        result.rows.push_back(std::move(values));
      }
      mysql_stmt_free_result(stmt_);
    }
    result.ok = true;
    return result;
  }

 private:
  stmt_result& failed(stmt_result& result) {
    result.ok = false;
    result.error_code = mysql_stmt_errno(stmt_);
    result.message = mysql_stmt_error(stmt_);
    return result;
  }

  MYSQL_STMT* stmt_;
};

// Whether a failed call lost the connection (client-side errors 2000-2999): the client is done.
bool connection_lost(unsigned error_code) {
  return error_code >= 2000 && error_code < 3000;
}

// ---- Watching the backend and sluice while a load runs ---------------------------------------

// Samples, every 50 ms on its own thread, how many connections sluice's backend account has on
// MariaDB (PROCESSLIST, through one root connection) and, when given an admin port, whether
// SHOW CLIENTS shows any client pinned.
class load_monitor {
 public:
  load_monitor(mariadb_server& server, std::optional<std::uint16_t> admin_port)
      : server_(server), admin_port_(admin_port), thread_([this] { run(); }) {}
  ~load_monitor() { finish(); }
  load_monitor(const load_monitor&) = delete;
  load_monitor& operator=(const load_monitor&) = delete;

  void finish() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int max_backends() const { return max_backends_; }
  int backend_samples() const { return backend_samples_; }
  int client_samples() const { return client_samples_; }     // SHOW CLIENTS answers read
  int busy_client_samples() const { return busy_samples_; }  // ... that listed 10+ clients
  std::size_t max_clients_listed() const { return max_clients_; }
  const observation_log& pins() const { return pins_; }
  const observation_log& errors() const { return errors_; }

 private:
  void run() {
    mysql_client root;
    client_options options;
    options.connect_timeout = 5s;
    options.read_timeout = 10s;
    if (!root.connect(server_.host(), server_.port(), "root", "", "", 0, options)) {
      errors_.add("monitor: cannot log in to MariaDB as root: " + root.error_message());
      return;
    }
    std::unique_ptr<admin_client> admin;
    const std::string count_sql =
        std::string("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = '") +
        mariadb_server::backend_user + "'";
    while (!stop_) {
      const query_result r = root.query(count_sql);
      if (r.ok && !r.rows.empty() && r.rows[0].at(0)) {
        max_backends_ = std::max(max_backends_.load(), std::stoi(*r.rows[0][0]));
        ++backend_samples_;
      } else {
        errors_.add("PROCESSLIST: " + r.describe());
      }
      if (admin_port_) {
        try {
          if (!admin) admin = std::make_unique<admin_client>(*admin_port_);
          check_clients(json::parse(admin->command("SHOW CLIENTS JSON")));
        } catch (const std::exception& e) {
          errors_.add(std::string("SHOW CLIENTS JSON: ") + e.what());
          admin.reset();
        }
      }
      std::this_thread::sleep_for(50ms);
    }
  }

  void check_clients(const json& clients) {
    ++client_samples_;
    max_clients_ = std::max(max_clients_.load(), clients.size());
    if (clients.size() >= 10) ++busy_samples_;
    for (const auto& client : clients) {
      const std::string pinned = client.at("pinned").get<std::string>();
      if (!pinned.empty())
        pins_.add("client " + client.at("id").dump() + " (" + client.at("user").dump() +
                  ", state " + client.at("state").dump() + ") pinned: " + pinned);
    }
  }

  mariadb_server& server_;
  std::optional<std::uint16_t> admin_port_;
  std::atomic<bool> stop_{false};
  std::atomic<int> max_backends_{0};
  std::atomic<int> backend_samples_{0};
  std::atomic<int> client_samples_{0};
  std::atomic<int> busy_samples_{0};
  std::atomic<std::size_t> max_clients_{0};
  observation_log pins_;
  observation_log errors_;
  std::thread thread_;  // last: starts after everything it uses
};

// ---- The session a client expects to have -----------------------------------------------------

// A session's settings right after login (or COM_RESET_CONNECTION) with a handshake charset.
struct session_settings {
  std::string sql_mode, time_zone, charset, collation, select_limit;
  double statement_time = 0;
};

// What MariaDB itself reports for a fresh session with `charset` in the handshake.
session_settings fresh_session_settings(mariadb_server& server, const std::string& charset) {
  mysql_client probe;
  client_options options;
  options.charset = charset;
  if (!probe.connect(server.host(), server.port(), "root", "", "", 0, options))
    throw std::runtime_error("probe login failed: " + probe.error_message());
  const query_result r = probe.query(
      "SELECT @@sql_mode, @@time_zone, @@character_set_client, @@collation_connection, "
      "@@sql_select_limit, @@max_statement_time");
  if (!r.ok || r.rows.size() != 1) throw std::runtime_error("probe failed: " + r.describe());
  const row& v = r.rows[0];
  return {v[0].value_or(""), v[1].value_or(""), v[2].value_or(""),
          v[3].value_or(""), v[4].value_or(""), std::stod(v[5].value_or("0"))};
}

// A SET NAMES-like statement and what it changes (nullopt: left as it was).
struct charset_statement {
  std::string sql;
  std::optional<std::string> charset;
  std::optional<std::string> collation;
};

// The per-client values of a run, computed before it starts (MariaDB spells each one).
struct torture_plan {
  std::uint64_t seed = 0;
  long long statements_per_client = 0;
  std::uint16_t port = 0;
  std::map<std::string, session_settings> fresh;       // by handshake charset
  std::vector<std::array<std::string, 2>> modes;       // as the client sets them
  std::vector<std::array<std::string, 2>> modes_read;  // as @@sql_mode reads back
  std::vector<charset_statement> charset_statements;
};

const char* const schemas[] = {"mux_a", "mux_b", "mux_c"};
constexpr int variable_count = 4;  // @v0 .. @v3; each client leaves one of them unset

enum class step {
  set_sql_mode,
  set_time_zone,
  set_select_limit,
  set_statement_time,
  set_names,
  use_schema,
  set_user_variable,
  assign_w,
  set_w_literal,
  create_temporary,
  drop_temporary,
  lock_tables,
  insert_locked,
  unlock_tables,
  get_lock,
  release_lock,
  release_all_locks,
  text_prepare,
  text_execute,
  text_deallocate,
  insert_auto_increment,
  found_rows,
  begin,
  insert_counted,
  commit,
  rollback,
  binary_select,
  binary_insert,
  binary_close,
  reset_connection,
  count  // not a step: the number of steps (and "login" before the first)
};

const char* step_name(step s) {
  static const char* const names[] = {"set_sql_mode",
                                      "set_time_zone",
                                      "set_select_limit",
                                      "set_statement_time",
                                      "set_names",
                                      "use_schema",
                                      "set_user_variable",
                                      "assign_w",
                                      "set_w_literal",
                                      "create_temporary",
                                      "drop_temporary",
                                      "lock_tables",
                                      "insert_locked",
                                      "unlock_tables",
                                      "get_lock",
                                      "release_lock",
                                      "release_all_locks",
                                      "text_prepare",
                                      "text_execute",
                                      "text_deallocate",
                                      "insert_auto_increment",
                                      "found_rows",
                                      "begin",
                                      "insert_counted",
                                      "commit",
                                      "rollback",
                                      "binary_select",
                                      "binary_insert",
                                      "binary_close",
                                      "reset_connection"};
  static_assert(std::size(names) == static_cast<std::size_t>(step::count));
  if (s == step::count) return "login";  // the checks right after login
  return names[static_cast<std::size_t>(s)];
}

struct torture_totals {
  std::atomic<long long> statements{0};
  std::atomic<long long> steps{0};
  std::array<std::atomic<long long>, static_cast<std::size_t>(step::count)> by_step{};
  observation_log leaks;   // a value that is not the client's own
  observation_log errors;  // a statement that failed though it should not have (or vice versa)
};

// Everything a session holds that the client can observe, as the client expects it.
struct session_model {
  session_settings settings;
  std::optional<std::string> schema;
  std::array<std::optional<std::string>, variable_count> variables;
  std::optional<std::string> w;
  bool w_from_expression = false;        // pins until @w is set to a literal
  std::optional<std::string> temporary;  // the row of its temporary table, if it has one
  bool tables_locked = false;
  int named_locks = 0;                     // GET_LOCK('c<id>') taken and not released
  std::optional<std::string> text_suffix;  // what mux_ps appends, if prepared
  bool in_transaction = false;
  int committed_rows = 0, pending_rows = 0;  // in mux_tx
  int locked_table_rows = 0;                 // in mux_lk_<id>
  std::uint64_t last_insert_id = 0;

  bool holds_state() const {
    return in_transaction || tables_locked || temporary || named_locks > 0 || text_suffix ||
           w_from_expression;
  }
};

// One client of TortureTest: a random script of hazards, each step checked against the model.
class torture_client {
 public:
  torture_client(std::size_t id, const torture_plan& plan, torture_totals& totals)
      : id_(id),
        ids_(std::to_string(id)),
        plan_(plan),
        totals_(totals),
        random_(plan.seed ^ (0x9E3779B97F4A7C15ULL * (id + 1))) {}

  void run() {
    const std::string charset = id_ % 2 == 0 ? "utf8mb4" : "latin1";
    fresh_ = plan_.fresh.at(charset);
    client_options options;
    options.charset = charset;
    options.connect_timeout = 60s;
    options.read_timeout = 150s;
    options.write_timeout = 150s;
    // A quarter log in without a default schema, the rest with one.
    std::optional<std::string> schema;
    if (id_ % 4 != 0) schema = schemas[id_ % 3];
    if (!client_.connect("127.0.0.1", plan_.port, "app", "app-pw", schema.value_or(""), 0, options))
      throw std::runtime_error(where() + "login failed: " + client_.error_message());
    model_.settings = fresh_;
    model_.schema = schema;
    verify();

    int holding_for = 0;
    while (statements_ < plan_.statements_per_client) {
      // Whatever pins a backend is let go of within a few steps, so that 200 clients get
      // through 4 backends however the script goes.
      const bool must_release = holding_for > 4;
      take_step(pick_step(must_release));
      holding_for = model_.holds_state() ? holding_for + 1 : 0;
    }
    for (int i = 0; i < 20 && model_.holds_state(); ++i) take_step(pick_step(true));
    close_statements();
    client_.close();
  }

 private:
  // ---- choosing a step ----

  bool applicable(step s) const {
    const session_model& m = model_;
    switch (s) {
      case step::create_temporary:
        return !m.tables_locked && !m.temporary;
      case step::drop_temporary:
        return !m.tables_locked && m.temporary.has_value();
      case step::lock_tables:
        return !m.tables_locked && !m.in_transaction;
      case step::insert_locked:
      case step::unlock_tables:
        return m.tables_locked;
      case step::text_deallocate:
        return m.text_suffix.has_value();
      case step::insert_auto_increment:
      case step::found_rows:
      case step::insert_counted:
      case step::binary_insert:
        return !m.tables_locked;
      case step::begin:
        return !m.tables_locked && !m.in_transaction;
      case step::commit:
      case step::rollback:
        return m.in_transaction;
      case step::binary_close:
        return select_ != nullptr || insert_ != nullptr;
      default:
        return true;
    }
  }

  bool releases(step s) const {
    const session_model& m = model_;
    switch (s) {
      case step::set_w_literal:
        return m.w_from_expression;
      case step::drop_temporary:
        return m.temporary.has_value();
      case step::unlock_tables:
        return m.tables_locked;
      case step::release_lock:
      case step::release_all_locks:
        return m.named_locks > 0;
      case step::text_deallocate:
        return m.text_suffix.has_value();
      case step::commit:
      case step::rollback:
        return m.in_transaction;
      case step::reset_connection:
        return true;
      default:
        return false;
    }
  }

  step pick_step(bool must_release) {
    std::vector<step> choices;
    for (std::size_t i = 0; i < static_cast<std::size_t>(step::count); ++i) {
      const auto s = static_cast<step>(i);
      if (applicable(s) && (!must_release || releases(s))) choices.push_back(s);
    }
    // Under LOCK TABLES most steps do not apply: write to the locked table more often.
    if (!must_release && model_.tables_locked)
      choices.insert(choices.end(), 3, step::insert_locked);
    // reset_connection ends every hold at once: keep it for when nothing else releases.
    if (must_release && choices.size() > 1) std::erase(choices, step::reset_connection);
    return choices.at(pick(choices.size()));
  }

  std::size_t pick(std::size_t n) { return static_cast<std::size_t>(random_() % n); }
  bool one_in(std::size_t n) { return pick(n) == 0; }
  // A value no other client and no other step of this client uses.
  std::string token() { return ids_ + "-" + std::to_string(step_number_); }

  // ---- running statements ----

  std::string where() const {
    return "seed " + std::to_string(plan_.seed) + " client " + ids_ + " step " +
           std::to_string(step_number_) + " (" + step_name(current_) + "): ";
  }

  // A value (or an outcome) that is not what this client's own session gives; `kind` groups it
  // in the report (by default, the step it followed).
  void leak(const std::string& text, const std::string& kind = "") {
    totals_.leaks.add(text, kind.empty() ? std::string("after ") + step_name(current_) : kind);
  }
  // A statement that should have succeeded failed.
  void wrong_error(const std::string& text) { totals_.errors.add(text, step_name(current_)); }

  query_result run(const std::string& sql) {
    ++statements_;
    ++totals_.statements;
    query_result r = client_.query(sql);
    if (!r.ok && connection_lost(r.error_code))
      throw std::runtime_error(where() + sql + ": " + r.describe());
    return r;
  }

  // Runs a statement that must succeed; false (and an error recorded) if it failed.
  bool run_ok(const std::string& sql, query_result* out = nullptr) {
    query_result r = run(sql);
    const bool ok = r.ok;
    if (!ok) wrong_error(where() + sql + " failed: " + r.describe());
    if (out != nullptr) *out = std::move(r);
    return ok;
  }

  void expect_error(const std::string& sql, unsigned code) {
    const query_result r = run(sql);
    if (r.ok || r.error_code != code)
      leak(where() + sql + " gave " + r.describe() + ", expected error " + std::to_string(code),
           "error " + std::to_string(code) + " expected in " + step_name(current_));
  }

  void expect(const std::string& what, const std::optional<std::string>& actual,
              const std::optional<std::string>& expected) {
    if (actual != expected)
      leak(where() + what + " = " + text_or_null(actual) + ", expected " + text_or_null(expected),
           what);
  }

  // The single value of a one-row, one-column result (or a recorded error).
  std::optional<std::optional<std::string>> value_of(const std::string& sql) {
    query_result r;
    if (!run_ok(sql, &r)) return std::nullopt;
    if (r.rows.size() != 1 || r.rows[0].empty()) {
      leak(where() + sql + " returned " + std::to_string(r.rows.size()) + " rows");
      return std::nullopt;
    }
    return r.rows[0][0];
  }

  void expect_value(const std::string& sql, const std::optional<std::string>& expected) {
    if (const auto value = value_of(sql)) expect(sql, *value, expected);
  }

  stmt_result execute(prepared_statement& statement, const std::vector<stmt_param>& params,
                      const std::string& what) {
    ++statements_;
    ++totals_.statements;
    stmt_result r = statement.execute(params);
    if (!r.ok && connection_lost(r.error_code))
      throw std::runtime_error(where() + what + ": " + r.describe());
    if (!r.ok) wrong_error(where() + what + " failed: " + r.describe());
    return r;
  }

  // Prepares lazily (COM_STMT_PREPARE); nullptr (an error recorded) if that failed.
  prepared_statement* prepared(std::unique_ptr<prepared_statement>& slot, const std::string& sql) {
    if (slot) return slot.get();
    auto statement = std::make_unique<prepared_statement>(client_.handle());
    ++statements_;
    ++totals_.statements;
    const stmt_result r = statement->prepare(sql);
    if (!r.ok) {
      if (connection_lost(r.error_code))
        throw std::runtime_error(where() + "prepare " + sql + ": " + r.describe());
      wrong_error(where() + "prepare " + sql + " failed: " + r.describe());
      return nullptr;
    }
    slot = std::move(statement);
    return slot.get();
  }

  void close_statements() {
    select_.reset();
    insert_.reset();
  }

  // The row `id` of mux_ai must be this client's, written by this step.
  void expect_own_row(std::uint64_t id, int n) {
    if (id == 0) {
      leak(where() + "insert id 0 after an INSERT into an AUTO_INCREMENT table");
      return;
    }
    query_result r;
    const std::string sql =
        "SELECT client, n FROM sluice_test.mux_ai WHERE id = " + std::to_string(id);
    if (!run_ok(sql, &r)) return;
    const row expected{ids_, std::to_string(n)};
    if (r.rows.size() != 1 || r.rows[0] != expected)
      leak(where() + "insert id " + std::to_string(id) + " is not the row this client inserted (" +
           sql + " returned " +
           (r.rows.empty() ? std::string("no row")
                           : text_or_null(r.rows[0].at(0)) + ", " + text_or_null(r.rows[0].at(1))) +
           ")");
  }

  void check_last_insert_id_form() {
    static const char* const forms[] = {"SELECT LAST_INSERT_ID()", "SELECT LAST_INSERT_ID() AS x",
                                        "SELECT LAST_INSERT_ID()+0", "select last_insert_id()",
                                        "SELECT LAST_INSERT_ID() AS id, 1 AS one"};
    expect_value(forms[pick(std::size(forms))], std::to_string(model_.last_insert_id));
  }

  // ---- the steps ----

  void take_step(step s) {
    ++step_number_;
    current_ = s;
    ++totals_.steps;
    ++totals_.by_step[static_cast<std::size_t>(s)];
    session_model& m = model_;
    const std::string tok = token();
    const int n = step_number_;
    switch (s) {
      case step::set_sql_mode: {
        const std::size_t k = pick(2);
        static const char* const forms[] = {"SET SESSION sql_mode = ", "SET sql_mode = ",
                                            "SET @@session.sql_mode = ", "SET @@sql_mode = "};
        if (run_ok(forms[pick(4)] + ("'" + plan_.modes[id_][k] + "'")))
          m.settings.sql_mode = plan_.modes_read[id_][k];
        break;
      }
      case step::set_time_zone: {
        const std::string zone = time_zone_text(id_ * 2 + pick(2));
        static const char* const forms[] = {
            "SET time_zone = ", "SET SESSION time_zone = ", "SET @@time_zone = "};
        if (run_ok(forms[pick(3)] + ("'" + zone + "'"))) m.settings.time_zone = zone;
        break;
      }
      case step::set_select_limit: {
        const std::string limit = std::to_string(1000 + id_ * 10 + pick(10));
        if (one_in(3)) {
          // Two session variables in one SET.
          const std::string zone = time_zone_text(id_ * 2 + 1);
          if (run_ok("SET SESSION sql_select_limit = " + limit + ", time_zone = '" + zone + "'")) {
            m.settings.select_limit = limit;
            m.settings.time_zone = zone;
          }
        } else if (run_ok(std::string(one_in(2) ? "SET SESSION" : "SET") +
                          " sql_select_limit = " + limit)) {
          m.settings.select_limit = limit;
        }
        break;
      }
      case step::set_statement_time: {
        const int seconds = 1000 + static_cast<int>(id_) * 10 + static_cast<int>(pick(10));
        static const char* const forms[] = {
            "SET SESSION max_statement_time = ", "SET @@session.max_statement_time = ",
            "SET max_statement_time = "};
        if (run_ok(forms[pick(3)] + std::to_string(seconds))) m.settings.statement_time = seconds;
        break;
      }
      case step::set_names: {
        const charset_statement& c =
            plan_.charset_statements[pick(plan_.charset_statements.size())];
        if (run_ok(c.sql)) {
          if (c.charset) m.settings.charset = *c.charset;
          if (c.collation) m.settings.collation = *c.collation;
        }
        break;
      }
      case step::use_schema: {
        const std::string schema = schemas[pick(std::size(schemas))];
        if (one_in(2)) {
          if (run_ok("USE " + schema)) m.schema = schema;
        } else {
          // COM_INIT_DB
          ++statements_;
          ++totals_.statements;
          if (mysql_select_db(client_.handle(), schema.c_str()) == 0) {
            m.schema = schema;
          } else if (connection_lost(client_.error_code())) {
            throw std::runtime_error(where() + "mysql_select_db: " + client_.error_message());
          } else {
            wrong_error(where() + "mysql_select_db(" + schema +
                        ") failed: " + client_.error_message());
          }
        }
        // A prepared statement runs in the schema that was the default when it was prepared
        // (DATABASE() in it too), so this client prepares its SELECT again after USE, as most
        // drivers do.
        if (select_ && m.schema == schema) {
          ++statements_;
          ++totals_.statements;
          select_.reset();
        }
        break;
      }
      case step::set_user_variable: {
        // Each client sets three of the four names: the fourth must read NULL throughout.
        std::size_t k = pick(variable_count);
        if (k == id_ % variable_count) k = (k + 1) % variable_count;
        const std::string name = "@v" + std::to_string(k);
        std::string literal;
        std::optional<std::string> value;
        switch (pick(5)) {
          case 0:
            literal = "'c" + tok + "'";
            value = "c" + tok;
            break;
          case 1:
            literal = std::to_string(id_ * 100000 + n);
            value = literal;
            break;
          case 2:
            literal = ids_ + ".25";
            value = literal;
            break;
          case 3:
            literal = "NULL";
            break;
          default:
            literal = "TRUE";
            value = "1";
            break;
        }
        switch (pick(3)) {
          case 0:
            if (run_ok("SET " + name + " = " + literal)) m.variables[k] = value;
            break;
          case 1:
            if (run_ok("SET " + name + " := " + literal)) m.variables[k] = value;
            break;
          default: {
            // A user variable and a session variable in one SET.
            const std::string limit = std::to_string(2000 + id_ * 10 + pick(10));
            if (run_ok("SET " + name + " = " + literal + ", SESSION sql_select_limit = " + limit)) {
              m.variables[k] = value;
              m.settings.select_limit = limit;
            }
          }
        }
        break;
      }
      case step::assign_w: {
        // Values sluice cannot replay: they pin until @w is set to a literal again.
        switch (pick(3)) {
          case 0: {
            query_result r;
            if (run_ok("SELECT @w := CONCAT('w', '" + tok + "')", &r)) {
              expect("SELECT @w := ...", r.rows.empty() ? std::nullopt : r.rows[0].at(0),
                     "w" + tok);
              m.w = "w" + tok;
              m.w_from_expression = true;
            }
            break;
          }
          case 1:
            if (run_ok("SELECT CONCAT('wi', '" + tok + "') INTO @w")) {
              m.w = "wi" + tok;
              m.w_from_expression = true;
            }
            break;
          default:
            if (run_ok("SET @w = CONCAT('ws', '" + tok + "')")) {
              m.w = "ws" + tok;
              m.w_from_expression = true;
            }
        }
        break;
      }
      case step::set_w_literal:
        if (run_ok("SET @w = 'wl" + tok + "'")) {
          m.w = "wl" + tok;
          m.w_from_expression = false;
        }
        break;
      case step::create_temporary:
        // MEMORY: not transactional, so a ROLLBACK keeps its row.
        if (one_in(2)) {
          if (run_ok("CREATE TEMPORARY TABLE sluice_test.mux_tmp (v VARCHAR(40)) ENGINE=MEMORY") &&
              run_ok("INSERT INTO sluice_test.mux_tmp VALUES ('t" + tok + "')"))
            m.temporary = "t" + tok;
        } else if (run_ok("CREATE TEMPORARY TABLE sluice_test.mux_tmp ENGINE=MEMORY AS SELECT 't" +
                          tok + "' AS v")) {
          m.temporary = "t" + tok;
        }
        break;
      case step::drop_temporary: {
        // Without TEMPORARY, DROP TABLE commits: only outside a transaction.
        static const char* const forms[] = {"DROP TEMPORARY TABLE",
                                            "DROP TEMPORARY TABLE IF EXISTS", "DROP TABLE",
                                            "DROP TABLE IF EXISTS"};
        const char* form = forms[pick(m.in_transaction ? 2 : 4)];
        if (run_ok(std::string(form) + " sluice_test.mux_tmp")) m.temporary.reset();
        break;
      }
      case step::lock_tables:
        if (run_ok(std::string(one_in(2) ? "LOCK TABLES" : "LOCK TABLE") + " sluice_test.mux_lk_" +
                   ids_ + " WRITE"))
          m.tables_locked = true;
        break;
      case step::insert_locked:
        if (run_ok("INSERT INTO sluice_test.mux_lk_" + ids_ + " VALUES (" + std::to_string(n) +
                   ")"))
          ++m.locked_table_rows;
        break;
      case step::unlock_tables:
        if (run_ok(one_in(2) ? "UNLOCK TABLES" : "UNLOCK TABLE")) m.tables_locked = false;
        break;
      case step::get_lock:
        if (const auto v = value_of("SELECT GET_LOCK('c" + ids_ + "', 5)")) {
          expect("GET_LOCK", *v, "1");
          if (*v == "1") ++m.named_locks;
        }
        break;
      case step::release_lock:
        // 1 when this session held it; NULL when nobody holds the name.
        if (const auto v = value_of("SELECT RELEASE_LOCK('c" + ids_ + "')")) {
          expect("RELEASE_LOCK", *v,
                 m.named_locks > 0 ? std::optional<std::string>("1") : std::nullopt);
          if (m.named_locks > 0) --m.named_locks;
        }
        break;
      case step::release_all_locks:
        if (const auto v = value_of("SELECT RELEASE_ALL_LOCKS()")) {
          expect("RELEASE_ALL_LOCKS", *v, std::to_string(m.named_locks));
          m.named_locks = 0;
        }
        break;
      case step::text_prepare:
        if (run_ok("PREPARE mux_ps FROM 'SELECT CONCAT(?, ''-p" + tok + "'')'"))
          m.text_suffix = "-p" + tok;
        break;
      case step::text_execute: {
        // Every client names its statement mux_ps: one that has none must not find another's.
        const std::string sql = "EXECUTE mux_ps USING 'a" + std::to_string(n) + "'";
        if (m.text_suffix) {
          expect_value(sql, "a" + std::to_string(n) + *m.text_suffix);
        } else {
          expect_error(sql, unknown_prepared_statement);
        }
        break;
      }
      case step::text_deallocate:
        if (run_ok(one_in(2) ? "DEALLOCATE PREPARE mux_ps" : "DROP PREPARE mux_ps"))
          m.text_suffix.reset();
        break;
      case step::insert_auto_increment: {
        const bool two_rows = one_in(3);
        query_result r;
        std::string sql = "INSERT INTO sluice_test.mux_ai (client, n) VALUES (" + ids_ + ", " +
                          std::to_string(n) + ")";
        if (two_rows) sql += ", (" + ids_ + ", " + std::to_string(n + 100000) + ")";
        if (!run_ok(sql, &r)) break;
        // After a multi-row INSERT, the id of its first row.
        expect_own_row(r.last_insert_id, n);
        if (two_rows && r.last_insert_id != 0) expect_own_row(r.last_insert_id + 1, n + 100000);
        m.last_insert_id = r.last_insert_id;
        check_last_insert_id_form();
        break;
      }
      case step::found_rows: {
        const int group = static_cast<int>((id_ + n) % 10);
        if (run_ok("SELECT SQL_CALC_FOUND_ROWS n FROM sluice_test.mux_rows WHERE grp = " +
                   std::to_string(group) + " LIMIT 1"))
          expect_value(one_in(2) ? "SELECT FOUND_ROWS()" : "SELECT FOUND_ROWS() AS found",
                       std::to_string(group + 3));
        break;
      }
      case step::begin:
        if (run_ok(one_in(2) ? "BEGIN" : "START TRANSACTION")) m.in_transaction = true;
        break;
      case step::insert_counted: {
        query_result r;
        if (run_ok("INSERT INTO sluice_test.mux_tx (client, v) VALUES (" + ids_ + ", " +
                       std::to_string(n) + ")",
                   &r)) {
          ++(m.in_transaction ? m.pending_rows : m.committed_rows);
          if (r.last_insert_id == 0) leak(where() + "insert id 0");
          m.last_insert_id = r.last_insert_id;
        }
        break;
      }
      case step::commit:
        if (run_ok(one_in(2) ? "COMMIT" : "COMMIT WORK")) {
          m.committed_rows += m.pending_rows;
          m.pending_rows = 0;
          m.in_transaction = false;
        }
        break;
      case step::rollback:
        if (run_ok("ROLLBACK")) {
          m.pending_rows = 0;
          m.in_transaction = false;
        }
        break;
      case step::binary_select:
        if (auto* st = prepared(select_,
                                "SELECT ?, @@time_zone, DATABASE(), @@sql_mode, "
                                "@@collation_connection, @v" +
                                    std::to_string((id_ + 1) % variable_count))) {
          const stmt_result r = execute(*st, {static_cast<long long>(n)}, "binary SELECT");
          if (!r.ok) break;
          const row expected{
              std::to_string(n),   m.settings.time_zone, m.schema,
              m.settings.sql_mode, m.settings.collation, m.variables[(id_ + 1) % variable_count]};
          if (r.rows.size() != 1 || r.rows[0] != expected) {
            std::string got;
            for (const auto& v : r.rows.empty() ? row{} : r.rows[0]) got += text_or_null(v) + " ";
            std::string want;
            for (const auto& v : expected) want += text_or_null(v) + " ";
            leak(where() + "binary SELECT returned " + got + "expected " + want, "binary SELECT");
          }
        }
        break;
      case step::binary_insert:
        if (auto* st =
                prepared(insert_, "INSERT INTO sluice_test.mux_ai (client, n) VALUES (?, ?)")) {
          const stmt_result r = execute(
              *st, {static_cast<long long>(id_), static_cast<long long>(n)}, "binary INSERT");
          if (!r.ok) break;
          expect_own_row(r.insert_id, n);
          m.last_insert_id = r.insert_id;
          check_last_insert_id_form();
        }
        break;
      case step::binary_close:
        // COM_STMT_CLOSE of each; the next binary step prepares again.
        statements_ += (select_ ? 1 : 0) + (insert_ ? 1 : 0);
        totals_.statements += (select_ ? 1 : 0) + (insert_ ? 1 : 0);
        close_statements();
        break;
      case step::reset_connection: {
        ++statements_;
        ++totals_.statements;
        if (mysql_reset_connection(client_.handle()) != 0) {
          if (connection_lost(client_.error_code()))
            throw std::runtime_error(where() +
                                     "mysql_reset_connection: " + client_.error_message());
          wrong_error(where() + "mysql_reset_connection failed: " + client_.error_message());
          break;
        }
        // Defaults again, no variables, no temporary table, locks or prepared statements, the
        // transaction rolled back; the schema stays. Connector/C invalidated the statements.
        close_statements();
        session_model fresh;
        fresh.settings = fresh_;
        fresh.schema = m.schema;
        fresh.committed_rows = m.committed_rows;
        fresh.locked_table_rows = m.locked_table_rows;
        m = fresh;
        break;
      }
      case step::count:
        break;
    }
    verify();
  }

  // ---- what the client checks after every step ----

  void verify() {
    const session_model& m = model_;
    const std::string lock = "'c" + ids_ + "'";
    query_result r;
    // One statement, so IS_USED_LOCK and CONNECTION_ID come from the same backend: a named lock
    // must be held by whichever backend runs this client's statements.
    if (run_ok("SELECT @@sql_mode, @@time_zone, @@character_set_client, @@collation_connection, "
               "@@sql_select_limit, @@max_statement_time, DATABASE(), @@in_transaction, @v0, @v1, "
               "@v2, @v3, @w, LAST_INSERT_ID(), IS_FREE_LOCK(" +
                   lock + "), IS_USED_LOCK(" + lock + ") = CONNECTION_ID()",
               &r)) {
      if (r.rows.size() != 1 || r.rows[0].size() != 16) {
        leak(where() + "the state query returned " + std::to_string(r.rows.size()) + " rows");
      } else {
        const row& v = r.rows[0];
        expect("@@sql_mode", v[0], m.settings.sql_mode);
        expect("@@time_zone", v[1], m.settings.time_zone);
        expect("@@character_set_client", v[2], m.settings.charset);
        expect("@@collation_connection", v[3], m.settings.collation);
        expect("@@sql_select_limit", v[4], m.settings.select_limit);
        if (!v[5] || std::stod(*v[5]) != m.settings.statement_time)
          expect("@@max_statement_time", v[5], std::to_string(m.settings.statement_time));
        expect("DATABASE()", v[6], m.schema);
        expect("@@in_transaction", v[7], m.in_transaction ? "1" : "0");
        for (int k = 0; k < variable_count; ++k)
          expect("@v" + std::to_string(k), v[8 + k], m.variables[k]);
        expect("@w", v[12], m.w);
        expect("LAST_INSERT_ID()", v[13], std::to_string(m.last_insert_id));
        expect("IS_FREE_LOCK(" + lock + ")", v[14], m.named_locks > 0 ? "0" : "1");
        expect("IS_USED_LOCK(" + lock + ") = CONNECTION_ID()", v[15],
               m.named_locks > 0 ? std::optional<std::string>("1") : std::nullopt);
      }
    }

    if (m.tables_locked) {
      // Under LOCK TABLES only the locked table (and temporary tables) can be read.
      expect_value("SELECT COUNT(*) FROM sluice_test.mux_lk_" + ids_,
                   std::to_string(m.locked_table_rows));
      if (one_in(3)) expect_error("SELECT COUNT(*) FROM sluice_test.mux_tx", table_not_locked);
    } else {
      // Own rows of mux_tx, committed or not yet (this client's transaction sees its own), and
      // the marker of the default schema, read without naming the schema.
      const std::string rows =
          "(SELECT COUNT(*) FROM sluice_test.mux_tx WHERE client = " + ids_ + ")";
      const std::string expected_rows = std::to_string(m.committed_rows + m.pending_rows);
      if (m.schema) {
        query_result t;
        const std::string sql = "SELECT " + rows + ", (SELECT k FROM marker)";
        if (run_ok(sql, &t)) {
          const auto schema_index =
              std::find(std::begin(schemas), std::end(schemas), *m.schema) - std::begin(schemas);
          const row expected{expected_rows, std::to_string(schema_index + 1)};
          if (t.rows.size() != 1 || t.rows[0] != expected)
            leak(where() + sql + " returned " +
                 (t.rows.empty()
                      ? std::string("no row")
                      : text_or_null(t.rows[0].at(0)) + ", " + text_or_null(t.rows[0].at(1))) +
                 ", expected " + expected_rows + ", " + std::to_string(schema_index + 1));
        }
      } else {
        expect_value("SELECT " + rows, expected_rows);
      }
    }
    if (!m.tables_locked || m.temporary) {
      // Every client names its temporary table mux_tmp: one without must not see another's.
      const std::string sql = "SELECT v FROM sluice_test.mux_tmp";
      if (m.temporary) {
        expect_value(sql, m.temporary);
      } else {
        expect_error(sql, no_such_table);
      }
    }
    if (one_in(4)) check_last_insert_id_form();
  }

  const std::size_t id_;
  const std::string ids_;
  const torture_plan& plan_;
  torture_totals& totals_;
  std::mt19937_64 random_;
  mysql_client client_;
  session_settings fresh_;
  session_model model_;
  std::unique_ptr<prepared_statement> select_, insert_;
  long long statements_ = 0;
  int step_number_ = 0;
  step current_ = step::count;
};

// ---- The fixture ---------------------------------------------------------------------------

class MultiplexingTest : public integration_test {
 protected:
  // Starts sluice with a cap of 4 backends (or, with SLUICE_MUX_DIRECT, lets the clients log in
  // to MariaDB itself); returns the port clients connect to.
  std::uint16_t start_target() {
    if (direct_to_mariadb()) {
      create_client_accounts_on_backend(server());
      return server().port();
    }
    // 200 clients queue behind 4 backends, some of them pinned for a few statements.
    sluice_config config = make_config({{"backend.max_connections", std::to_string(backend_cap)},
                                        {"queue.timeout", "120s"},
                                        {"log.level", "warn"}});
    admin_port_ = config.listen_port("admin");
    start_sluice(config);
    // The harness waits for the client port; the admin port opens just after it.
    EXPECT_TRUE(wait_until([&] { return port_accepts(*admin_port_); }, 5s));
    return sluice_port();
  }

  std::optional<std::uint16_t> admin_port_;
};

long long statements_target() {
  const char* value = std::getenv("SLUICE_TORTURE_STATEMENTS");
  return value != nullptr && *value != '\0' ? std::stoll(value) : 6000;
}

std::uint64_t torture_seed() {
  const char* value = std::getenv("SLUICE_TORTURE_SEED");
  if (value != nullptr && *value != '\0') return std::stoull(value);
  return std::random_device{}() ^
         static_cast<std::uint64_t>(steady::now().time_since_epoch().count());
}

TEST_F(MultiplexingTest, TortureTest) {
  constexpr std::size_t clients = 200;
  const long long target = statements_target();
  torture_plan plan;
  plan.seed = torture_seed();
  plan.statements_per_client = (target + static_cast<long long>(clients) - 1) / clients;
  SCOPED_TRACE("seed " + std::to_string(plan.seed) +
               " (rerun with SLUICE_TORTURE_SEED=" + std::to_string(plan.seed) + ")");

  std::string setup;
  for (std::size_t k = 0; k < std::size(schemas); ++k) {
    setup += std::string("CREATE DATABASE IF NOT EXISTS ") + schemas[k] +
             "; CREATE OR REPLACE TABLE " + schemas[k] + ".marker (k INT); INSERT INTO " +
             schemas[k] + ".marker VALUES (" + std::to_string(k + 1) + ");";
  }
  setup +=
      "CREATE OR REPLACE TABLE sluice_test.mux_ai (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
      "client INT NOT NULL, n INT NOT NULL);"
      "CREATE OR REPLACE TABLE sluice_test.mux_tx (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
      "client INT NOT NULL, v INT NOT NULL, KEY (client));"
      "CREATE OR REPLACE TABLE sluice_test.mux_rows (grp INT NOT NULL, n INT NOT NULL, KEY (grp));";
  std::string rows;
  for (int group = 0; group < 10; ++group)
    for (int i = 0; i < group + 3; ++i)
      rows += (rows.empty() ? "(" : ",(") + std::to_string(group) + "," + std::to_string(i) + ")";
  setup += "INSERT INTO sluice_test.mux_rows VALUES " + rows + ";";
  for (std::size_t i = 0; i < clients; ++i)
    setup += "CREATE OR REPLACE TABLE sluice_test.mux_lk_" + std::to_string(i) +
             " (n INT) ENGINE=MEMORY;";
  server().run_sql(setup);

  // How MariaDB spells each value the clients will set, read on a direct connection.
  plan.fresh["utf8mb4"] = fresh_session_settings(server(), "utf8mb4");
  plan.fresh["latin1"] = fresh_session_settings(server(), "latin1");
  {
    mysql_client root;
    ASSERT_TRUE(
        root.connect(server().host(), server().port(), "root", "", "", CLIENT_MULTI_STATEMENTS))
        << root.error_message();
    const auto read_back = [&](const std::string& set, const std::string& select) {
      const query_result r = root.query(set + "; " + select);
      if (!r.ok || r.rows.empty()) throw std::runtime_error(set + ": " + r.describe());
      return r.rows[0];
    };
    for (std::size_t i = 0; i < clients; ++i) {
      std::array<std::string, 2> modes, read;
      for (std::size_t k = 0; k < 2; ++k) {
        modes[k] = sql_mode_text(i * 2 + k + 1);
        read[k] = read_back("SET SESSION sql_mode = '" + modes[k] + "'", "SELECT @@sql_mode")
                      .at(0)
                      .value_or("");
      }
      plan.modes.push_back(modes);
      plan.modes_read.push_back(read);
    }
    root.execute("SET SESSION sql_mode = DEFAULT");
    const std::vector<std::pair<std::string, std::string>> statements = {
        {"SET NAMES utf8mb4", "both"},
        {"SET NAMES latin1", "both"},
        {"SET NAMES utf8mb4 COLLATE utf8mb4_bin", "both"},
        {"SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci", "both"},
        {"SET NAMES 'latin1' COLLATE 'latin1_bin'", "both"},
        {"SET NAMES latin1 COLLATE latin1_general_ci", "both"},
        {"SET character_set_client = latin1", "charset"},
        {"SET SESSION character_set_client = utf8mb4", "charset"},
        {"SET collation_connection = utf8mb4_unicode_520_ci", "collation"},
        {"SET @@collation_connection = latin1_german1_ci", "collation"}};
    for (const auto& [sql, changes] : statements) {
      const row v = read_back(sql, "SELECT @@character_set_client, @@collation_connection");
      charset_statement c{sql, std::nullopt, std::nullopt};
      if (changes != "collation") c.charset = v.at(0);
      if (changes != "charset") c.collation = v.at(1);
      plan.charset_statements.push_back(c);
    }
  }

  plan.port = start_target();
  load_monitor monitor(server(), std::nullopt);
  torture_totals totals;
  const auto started = steady::now();
  const auto failures = run_threads(clients, [&](std::size_t i) {
    torture_client client(i, plan, totals);
    client.run();
  });
  const double seconds = static_cast<double>(elapsed_ms(started)) / 1000.0;
  monitor.finish();

  std::printf(
      "torture: %zu clients, %lld statements, %lld steps, %lld leaks, %lld wrong errors, %.1f s, "
      "max %d backend connections (%d samples), seed %llu%s\n",
      clients, totals.statements.load(), totals.steps.load(), totals.leaks.count(),
      totals.errors.count(), seconds, monitor.max_backends(), monitor.backend_samples(),
      static_cast<unsigned long long>(plan.seed),
      direct_to_mariadb() ? " (direct to MariaDB)" : "");
  std::string mix = "torture steps:";
  for (std::size_t i = 0; i < totals.by_step.size(); ++i)
    mix += std::string(" ") + step_name(static_cast<step>(i)) + "=" +
           std::to_string(totals.by_step[i].load());
  std::printf("%s\n", mix.c_str());
  std::fflush(stdout);

  EXPECT_TRUE(failures.empty()) << describe_failures(failures);
  EXPECT_EQ(totals.leaks.count(), 0)
      << "a client saw state that was not its own: " << totals.leaks.report();
  EXPECT_EQ(totals.errors.count(), 0) << "statements failed: " << totals.errors.report();
  EXPECT_GE(totals.statements.load(), target);
  EXPECT_EQ(monitor.errors().count(), 0) << monitor.errors().report();
  EXPECT_GE(monitor.backend_samples(), 1);
  if (!direct_to_mariadb()) {
    EXPECT_LE(monitor.max_backends(), backend_cap)
        << "sluice held more backend connections than [backend] max_connections";
    EXPECT_GE(monitor.max_backends(), 1) << "the sampler never saw a backend connection";
  }
}

// ---- ORM-style clients ----------------------------------------------------------------------

// What an ORM does: session settings once after login, then only binary prepared statements.
// None of it may pin: every client keeps getting whichever backend is free.
TEST_F(MultiplexingTest, OrmLikeClientsNeverPin) {
  constexpr std::size_t clients = 100;
  constexpr int iterations = 25;
  constexpr int checks_per_iteration = 6;
  server().run_sql(
      "CREATE OR REPLACE TABLE sluice_test.orm_items (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
      "client INT NOT NULL, name VARCHAR(64) NOT NULL, qty INT NOT NULL, created DATETIME NULL)");

  // Each client's sql_mode: STRICT_ALL_TABLES,NO_ZERO_DATE plus its own mix of other flags, as
  // MariaDB spells it.
  static const char* const extra_flags[] = {"NO_ZERO_IN_DATE",        "ERROR_FOR_DIVISION_BY_ZERO",
                                            "NO_ENGINE_SUBSTITUTION", "ONLY_FULL_GROUP_BY",
                                            "NO_AUTO_VALUE_ON_ZERO",  "PAD_CHAR_TO_FULL_LENGTH"};
  std::vector<std::string> modes, modes_read;
  {
    mysql_client root;
    ASSERT_TRUE(root.connect(server().host(), server().port(), "root", "", ""))
        << root.error_message();
    for (std::size_t i = 0; i < clients; ++i) {
      std::string mode = "STRICT_ALL_TABLES,NO_ZERO_DATE";
      for (std::size_t bit = 0; bit < std::size(extra_flags); ++bit)
        if ((i >> bit & 1) != 0) mode += std::string(",") + extra_flags[bit];
      root.execute("SET SESSION sql_mode = '" + mode + "'");
      modes.push_back(mode);
      modes_read.push_back(root.scalar("SELECT @@sql_mode"));
    }
  }

  const std::uint16_t port = start_target();
  load_monitor monitor(server(), admin_port_);
  observation_log wrong;
  std::atomic<long long> checks_passed{0}, executions{0};
  const auto started = steady::now();
  // A client that is done stays connected until the test has read SHOW CLIENTS once more: a pin
  // that sticks shows there even if the samples missed it.
  std::latch finished(clients);
  std::latch may_leave(1);
  std::vector<std::string> failures;
  std::thread driver([&] {
    failures = run_threads(clients, [&](std::size_t i) {
      finish_once finished_guard{finished};
      const std::string ids = std::to_string(i);
      const auto fail = [&](const std::string& what) { wrong.add("client " + ids + ": " + what); };
      const auto pass = [&] { ++checks_passed; };
      client_options options;
      // Half log in with latin1 and switch with SET NAMES, as drivers do.
      options.charset = i % 2 == 0 ? "utf8mb4" : "latin1";
      options.connect_timeout = 60s;
      options.read_timeout = 120s;
      mysql_client client;
      if (!client.connect("127.0.0.1", port, "app", "app-pw", mariadb_server::test_database, 0,
                          options))
        throw std::runtime_error("login: " + client.error_message());
      const std::string zone = time_zone_text(i * 3 + 1);
      client.execute("SET NAMES utf8mb4");
      client.execute("SET sql_mode = '" + modes[i] + "'");
      client.execute("SET time_zone = '" + zone + "'");
      client.execute("SET autocommit = 1");

      const auto prepare = [&](const std::string& sql) {
        auto statement = std::make_unique<prepared_statement>(client.handle());
        const stmt_result r = statement->prepare(sql);
        if (!r.ok) throw std::runtime_error("prepare " + sql + ": " + r.describe());
        return statement;
      };
      const std::string select_sql = "SELECT id, client, name, qty FROM orm_items WHERE id = ?";
      auto select = prepare(select_sql);
      auto insert =
          prepare("INSERT INTO orm_items (client, name, qty, created) VALUES (?, ?, ?, ?)");
      auto update = prepare("UPDATE orm_items SET qty = ? WHERE id = ? AND client = ?");
      auto settings = prepare("SELECT @@sql_mode, @@time_zone, @@character_set_client");
      const auto run = [&](prepared_statement& statement, const std::vector<stmt_param>& params,
                           const std::string& what) {
        ++executions;
        stmt_result r = statement.execute(params);
        if (!r.ok) {
          if (connection_lost(r.error_code)) throw std::runtime_error(what + ": " + r.describe());
          fail(what + " failed: " + r.describe());
        }
        return r;
      };
      const auto expect_row = [&](prepared_statement& statement, std::uint64_t id, int qty,
                                  const std::string& name, const std::string& what) {
        const stmt_result r = run(statement, {static_cast<long long>(id)}, what);
        if (!r.ok) return;
        const row expected{std::to_string(id), ids, name, std::to_string(qty)};
        if (r.rows.size() == 1 && r.rows[0] == expected) return pass();
        fail(what + ": row " + std::to_string(id) + " is not the one this client wrote (" +
             std::to_string(r.rows.size()) + " rows" +
             (r.rows.empty() ? std::string() : ", client " + text_or_null(r.rows[0].at(1))) + ")");
      };

      std::vector<std::pair<std::uint64_t, int>> written;  // row id, iteration
      for (int k = 0; k < iterations; ++k) {
        // Row k is inserted with qty k + 1 and updated to 10 * (k + 1).
        const auto name_of = [&](int iteration) {
          return "item-" + ids + "-" + std::to_string(iteration);
        };
        const stmt_result inserted =
            run(*insert,
                {static_cast<long long>(i), name_of(k), static_cast<long long>(k + 1),
                 std::string("2024-01-02 03:04:05")},
                "INSERT");
        if (!inserted.ok) continue;
        if (inserted.insert_id == 0 || inserted.affected_rows != 1) {
          fail("INSERT: insert id " + std::to_string(inserted.insert_id) + ", affected rows " +
               std::to_string(inserted.affected_rows));
          continue;
        }
        pass();
        const std::uint64_t id = inserted.insert_id;
        expect_row(*select, id, k + 1, name_of(k), "SELECT by id after INSERT");

        const stmt_result updated = run(*update,
                                        {static_cast<long long>((k + 1) * 10),
                                         static_cast<long long>(id), static_cast<long long>(i)},
                                        "UPDATE");
        if (updated.ok && updated.affected_rows == 1) {
          pass();
        } else if (updated.ok) {
          fail("UPDATE of row " + std::to_string(id) + " changed " +
               std::to_string(updated.affected_rows) + " rows");
        }
        written.emplace_back(id, k);

        // Some ORMs prepare, execute and close every time instead of caching the statement.
        if (k % 5 == 4) {
          auto once = prepare(select_sql);
          expect_row(*once, id, (k + 1) * 10, name_of(k),
                     "SELECT by id (statement prepared for it)");
        } else {
          expect_row(*select, id, (k + 1) * 10, name_of(k), "SELECT by id after UPDATE");
        }
        // An earlier row of this client's.
        const auto& [earlier_id, earlier] =
            written[static_cast<std::size_t>(k) * 7 % written.size()];
        expect_row(*select, earlier_id, (earlier + 1) * 10, name_of(earlier),
                   "SELECT of an earlier row");

        const stmt_result s = run(*settings, {}, "SELECT @@sql_mode, @@time_zone, ...");
        if (!s.ok) continue;
        const row expected{modes_read[i], zone, std::string("utf8mb4")};
        if (s.rows.size() == 1 && s.rows[0] == expected) {
          pass();
        } else {
          std::string got;
          for (const auto& v : s.rows.empty() ? row{} : s.rows[0]) got += text_or_null(v) + " ";
          fail("session settings read " + got + "instead of its own '" + modes_read[i] + "' '" +
               zone + "' 'utf8mb4'");
        }
      }
      finished_guard.now();
      may_leave.wait();
    });
  });
  finished.wait();
  const double seconds = static_cast<double>(elapsed_ms(started)) / 1000.0;
  std::size_t listed_at_end = 0;
  observation_log pinned_at_end;
  if (!direct_to_mariadb()) {
    try {
      admin_client admin(*admin_port_);
      for (const auto& client : json::parse(admin.command("SHOW CLIENTS JSON"))) {
        ++listed_at_end;
        if (!client.at("pinned").get<std::string>().empty())
          pinned_at_end.add("client " + client.at("id").dump() +
                            " pinned: " + client.at("pinned").get<std::string>());
      }
    } catch (const std::exception& e) {
      pinned_at_end.add(std::string("SHOW CLIENTS JSON failed: ") + e.what());
    }
  }
  may_leave.count_down();
  driver.join();
  monitor.finish();

  const long long expected_checks =
      static_cast<long long>(clients) * iterations * checks_per_iteration;
  std::printf(
      "orm-like: %zu clients, %lld prepared executions, %lld/%lld checks passed, %lld pinned "
      "sightings in %d SHOW CLIENTS samples (at most %zu clients listed), %.1f s, max %d backend "
      "connections (%d samples)%s\n",
      clients, executions.load(), checks_passed.load(), expected_checks, monitor.pins().count(),
      monitor.client_samples(), monitor.max_clients_listed(), seconds, monitor.max_backends(),
      monitor.backend_samples(), direct_to_mariadb() ? " (direct to MariaDB)" : "");
  std::fflush(stdout);

  EXPECT_TRUE(failures.empty()) << describe_failures(failures);
  EXPECT_EQ(wrong.count(), 0) << "wrong results: " << wrong.report();
  EXPECT_EQ(checks_passed.load(), expected_checks);
  EXPECT_EQ(monitor.errors().count(), 0) << monitor.errors().report();
  EXPECT_GE(monitor.backend_samples(), 1);
  if (!direct_to_mariadb()) {
    EXPECT_EQ(monitor.pins().count(), 0) << "clients were pinned: " << monitor.pins().report();
    EXPECT_EQ(pinned_at_end.count(), 0)
        << "clients were pinned after their work: " << pinned_at_end.report();
    EXPECT_EQ(listed_at_end, clients) << "SHOW CLIENTS after the work, all clients still connected";
    EXPECT_GE(monitor.busy_client_samples(), 3)
        << "SHOW CLIENTS was never read while the clients were connected";
    EXPECT_LE(monitor.max_backends(), backend_cap)
        << "sluice held more backend connections than [backend] max_connections";
    EXPECT_GE(monitor.max_backends(), 1) << "the sampler never saw a backend connection";
  }
}

}  // namespace
}  // namespace sluice::test
