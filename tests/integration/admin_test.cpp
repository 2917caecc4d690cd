// The admin port over a plain TCP socket: every command's answer, pipelining, JSON, PAUSE and
// RESUME, KILL CLIENT, SET, RELOAD, SHUTDOWN WAIT, the password, bad input and interactive use.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/client.h"
#include "tests/support/fixtures.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using json = nlohmann::json;

// ---- A plain TCP client of the admin port -------------------------------------------------

class admin_connection {
 public:
  // Connects to 127.0.0.1:port; throws when nothing listens.
  explicit admin_connection(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket() failed");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd_);
      throw std::runtime_error("cannot connect to the admin port " + std::to_string(port));
    }
  }
  ~admin_connection() { ::close(fd_); }
  admin_connection(const admin_connection&) = delete;
  admin_connection& operator=(const admin_connection&) = delete;

  void send(std::string_view text) {
    while (!text.empty()) {
      const ssize_t n = ::send(fd_, text.data(), text.size(), MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("admin connection: send failed");
      text.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  // Reads until `marker` has arrived (returns everything up to and including it) or `timeout`
  // passes or the server closes (returns nullopt; what arrived stays in pending()).
  std::optional<std::string> read_until(std::string_view marker,
                                        std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (const auto at = pending_.find(marker); at != std::string::npos) {
        std::string out = pending_.substr(0, at + marker.size());
        pending_.erase(0, at + marker.size());
        return out;
      }
      if (!fill(deadline)) return std::nullopt;
    }
  }

  // One answer: the text before the empty line that ends every answer.
  std::optional<std::string> answer(std::chrono::milliseconds timeout = 5s) {
    auto text = read_until("\n\n", timeout);
    if (!text) return std::nullopt;
    text->resize(text->size() - 2);
    return text;
  }

  // Sends one command line and returns its answer ("<no answer>" when none came).
  std::string command(const std::string& line) {
    send(line + "\n");
    return answer().value_or("<no answer: " + pending_ + ">");
  }

  // True when the server closes the connection within `timeout` (what it sent before stays in
  // pending()).
  bool closed_by_server(std::chrono::milliseconds timeout = 3s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (fill(deadline)) {
    }
    return closed_;
  }

  const std::string& pending() const { return pending_; }

 private:
  // Appends what arrives before `deadline`; false on timeout or when the server closed.
  bool fill(std::chrono::steady_clock::time_point deadline) {
    if (closed_) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char chunk[8192];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    pending_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string pending_;
  bool closed_ = false;
};

// ---- Reading the aligned text tables ------------------------------------------------------

struct text_table {
  std::vector<std::string> columns;
  std::vector<std::map<std::string, std::string>> rows;
  std::string error;  // why the text is not a table, empty when it is

  // The first row whose `key` column is `value`.
  const std::map<std::string, std::string>* find(const std::string& key,
                                                 const std::string& value) const {
    for (const auto& r : rows)
      if (r.count(key) && r.at(key) == value) return &r;
    return nullptr;
  }
};

std::string trim(const std::string& s) {
  const auto begin = s.find_first_not_of(' ');
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(' ') - begin + 1);
}

// Header, a rule of dashes per column, the rows, then "(N rows)". Columns start where the dashes
// of the rule start, so cells are read by position, as a person reads them.
text_table parse_table(const std::string& answer) {
  text_table t;
  std::vector<std::string> lines;
  std::istringstream in(answer);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  if (lines.size() < 3) {
    t.error = "fewer than 3 lines";
    return t;
  }
  std::vector<std::size_t> starts;
  const std::string& rule = lines[1];
  for (std::size_t i = 0; i < rule.size(); ++i) {
    if (rule[i] == '-' && (i == 0 || rule[i - 1] == ' ')) starts.push_back(i);
    if (rule[i] != '-' && rule[i] != ' ') t.error = "rule line has '" + rule.substr(i, 1) + "'";
  }
  const auto cells = [&](const std::string& line) {
    std::vector<std::string> out;
    for (std::size_t c = 0; c < starts.size(); ++c) {
      const std::size_t begin = starts[c];
      const std::size_t end = c + 1 < starts.size() ? starts[c + 1] : std::string::npos;
      out.push_back(begin < line.size() ? trim(line.substr(begin, end - begin)) : "");
    }
    return out;
  };
  t.columns = cells(lines[0]);
  for (std::size_t i = 2; i + 1 < lines.size(); ++i) {
    const auto values = cells(lines[i]);
    std::map<std::string, std::string> row;
    for (std::size_t c = 0; c < values.size(); ++c) row[t.columns[c]] = values[c];
    t.rows.push_back(std::move(row));
  }
  const std::string expected_count =
      "(" + std::to_string(t.rows.size()) + (t.rows.size() == 1 ? " row)" : " rows)");
  if (lines.back() != expected_count)
    t.error = "last line '" + lines.back() + "', expected '" + expected_count + "'";
  return t;
}

// ---- Fixture ------------------------------------------------------------------------------

class AdminTest : public integration_test {
 protected:
  sluice_process& start(const config_overrides& overrides = {}) {
    config_ = make_config(overrides);
    admin_port_ = config_.listen_port("admin");
    sluice_process& process = start_sluice(config_);
    // The harness waits for the client port; the admin port comes up just after it.
    EXPECT_TRUE(wait_until([&] { return port_accepts(admin_port_); }, 10s))
        << "nothing listens on the admin port " << admin_port_;
    return process;
  }

  // An admin connection of a script: it sends the password (if any) and SHOW VERSION at once,
  // within the 150 ms that tell a script from a person, so no prompt is ever written.
  std::unique_ptr<admin_connection> admin(const std::string& password = "") {
    auto c = std::make_unique<admin_connection>(admin_port_);
    c->send((password.empty() ? "" : password + "\n") + "SHOW VERSION\n");
    EXPECT_EQ(c->answer().value_or("<none: " + c->pending() + ">"), expected_version());
    return c;
  }

  std::string expected_version() {
    if (version_.empty()) {
      const command_result r = run_sluice({"--version"});
      version_ = r.output.substr(0, r.output.find('\n'));  // "sluice 0.1.0"
    }
    return version_;
  }

  text_table table(admin_connection& a, const std::string& command) {
    const std::string answer = a.command(command);
    text_table t = parse_table(answer);
    EXPECT_EQ(t.error, "") << command << " answered:\n" << answer;
    return t;
  }

  std::map<std::string, std::string> pool_row(admin_connection& a) {
    const text_table t = table(a, "SHOW POOLS");
    if (t.rows.size() != 1) {
      ADD_FAILURE() << "SHOW POOLS has " << t.rows.size() << " rows";
      return {};
    }
    return t.rows[0];
  }

  // Writes the configuration file sluice was started with, changed.
  void rewrite_config(const std::string& text) {
    std::ofstream out(sluice().config_path(), std::ios::trunc);
    out << text;
  }

  sluice_config config_;
  std::uint16_t admin_port_ = 0;
  std::string version_;
};

int number(const std::map<std::string, std::string>& row, const std::string& column) {
  const auto it = row.find(column);
  if (it == row.end()) {
    ADD_FAILURE() << "no column " << column;
    return -1;
  }
  return std::stoi(it->second);
}

// ---- Every command ------------------------------------------------------------------------

TEST_F(AdminTest, HelpVersionAndHealthAnswer) {
  start();
  auto client = connect_app();
  ASSERT_EQ(client->scalar("SELECT 1"), "1");
  auto a = admin();
  const std::string help = a->command("HELP");
  for (const std::string command :
       {"SHOW POOLS", "SHOW CLIENTS", "SHOW SERVERS", "SHOW STATS", "SHOW LIMITS", "SHOW CONFIG",
        "SHOW VERSION", "SHOW HEALTH", "SET key = value", "PAUSE", "RESUME", "KILL CLIENT id",
        "RELOAD", "SHUTDOWN [WAIT]", "QUIT", "FORMAT JSON"})
    EXPECT_THAT(help, HasSubstr(command));
  EXPECT_EQ(a->command("help"), help) << "commands are case-insensitive";
  EXPECT_EQ(a->command("show version"), expected_version());
  EXPECT_THAT(expected_version(), StartsWith("sluice "));

  // Readiness is refreshed every 250 ms; a backend connection exists by now.
  text_table health;
  EXPECT_TRUE(wait_until(
      [&] {
        health = table(*a, "SHOW HEALTH");
        return health.rows.size() == 1 && health.rows[0]["ready"] == "yes";
      },
      3s, 50ms));
  EXPECT_EQ(health.columns,
            (std::vector<std::string>{"ready", "live", "draining", "last_connect_error"}));
  ASSERT_EQ(health.rows.size(), 1u);
  EXPECT_EQ(health.rows[0]["live"], "yes");
  EXPECT_EQ(health.rows[0]["draining"], "no");
}

TEST_F(AdminTest, ShowPoolsClientsServersReflectTheClients) {
  start({{"backend.max_connections", "3"}});
  auto in_transaction = connect_app();
  in_transaction->execute("BEGIN");
  const std::string backend_thread = in_transaction->scalar("SELECT CONNECTION_ID()");
  auto idle = connect_app();
  ASSERT_EQ(idle->scalar("SELECT 1"), "1");
  auto a = admin();

  const auto pools = table(*a, "SHOW POOLS");
  EXPECT_EQ(pools.columns,
            (std::vector<std::string>{"pool", "cl_active", "cl_waiting", "sv_active", "sv_idle",
                                      "sv_opening", "sv_pinned", "max_connections", "maxwait_ms",
                                      "pool_mode", "paused"}));
  ASSERT_EQ(pools.rows.size(), 1u);
  const auto& pool = pools.rows[0];
  EXPECT_EQ(pool.at("pool"), "default");
  EXPECT_EQ(pool.at("cl_active"), "1") << "the client inside a transaction holds a backend";
  EXPECT_EQ(pool.at("cl_waiting"), "0");
  EXPECT_EQ(pool.at("sv_active"), "1");
  EXPECT_EQ(pool.at("sv_idle"), "1");
  EXPECT_EQ(pool.at("sv_pinned"), "0");
  EXPECT_EQ(pool.at("max_connections"), "3");
  EXPECT_EQ(pool.at("maxwait_ms"), "0");
  EXPECT_EQ(pool.at("pool_mode"), "transaction");
  EXPECT_EQ(pool.at("paused"), "no");

  const auto clients = table(*a, "SHOW CLIENTS");
  EXPECT_EQ(clients.columns,
            (std::vector<std::string>{"id", "user", "address", "state", "pinned", "waiting_ms",
                                      "backend", "connected_since"}));
  ASSERT_EQ(clients.rows.size(), 2u);
  const auto* holder = clients.find("id", std::to_string(in_transaction->thread_id()));
  const auto* other = clients.find("id", std::to_string(idle->thread_id()));
  ASSERT_NE(holder, nullptr) << "SHOW CLIENTS ids are the handshake's connection ids";
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(holder->at("user"), "app");
  EXPECT_THAT(holder->at("address"), StartsWith("127.0.0.1:"));
  EXPECT_EQ(holder->at("state"), "idle") << "between statements, even inside a transaction";
  EXPECT_THAT(holder->at("backend"), StartsWith("S-"));
  EXPECT_EQ(holder->at("waiting_ms"), "0");
  EXPECT_EQ(other->at("backend"), "");
  EXPECT_EQ(other->at("pinned"), "");
  EXPECT_THAT(other->at("connected_since"),
              ::testing::MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z"));

  const auto servers = table(*a, "SHOW SERVERS");
  EXPECT_EQ(servers.columns,
            (std::vector<std::string>{"id", "state", "client", "server_thread_id", "account"}));
  ASSERT_EQ(servers.rows.size(), 2u);
  const auto* active = servers.find("state", "active");
  const auto* pooled = servers.find("state", "idle");
  ASSERT_NE(active, nullptr);
  ASSERT_NE(pooled, nullptr);
  EXPECT_EQ(active->at("id"), holder->at("backend"));
  EXPECT_EQ(active->at("client"), "C-" + holder->at("id"));
  EXPECT_EQ(active->at("server_thread_id"), backend_thread);
  EXPECT_EQ(pooled->at("client"), "");
  EXPECT_EQ(pooled->at("account"), mariadb_server::backend_user);

  // Pinning shows in both tables.
  idle->execute("SELECT @pin := 1");  // a computed value: pins until set to a literal
  EXPECT_EQ(number(pool_row(*a), "sv_pinned"), 1);
  const auto after_pin = table(*a, "SHOW CLIENTS");
  ASSERT_NE(after_pin.find("pinned", "user_variable"), nullptr);
}

TEST_F(AdminTest, ShowStatsLimitsAndConfig) {
  start({{"admin.password", "s3cret"}});
  auto client = connect_app();
  for (int i = 0; i < 5; ++i) ASSERT_EQ(client->scalar("SELECT 1"), "1");
  auto a = admin("s3cret");

  const auto stats = table(*a, "SHOW STATS");
  EXPECT_EQ(stats.columns, (std::vector<std::string>{"name", "total", "per_second"}));
  for (const std::string name :
       {"statements", "transactions", "client_connections", "bytes_in", "bytes_out",
        "queue_timeouts", "queue_overflows", "rejections", "backend_connects",
        "backend_connect_failures", "resets", "state_restores", "account_switches"})
    EXPECT_NE(stats.find("name", name), nullptr) << name;
  ASSERT_NE(stats.find("name", "statements"), nullptr);
  EXPECT_GE(number(*stats.find("name", "statements"), "total"), 5);
  // sluice_process's readiness probe is an accepted connection too.
  EXPECT_GE(number(*stats.find("name", "client_connections"), "total"), 1);
  EXPECT_EQ(number(*stats.find("name", "backend_connects"), "total"), 1);

  const auto limits = table(*a, "SHOW LIMITS");
  EXPECT_EQ(limits.columns, (std::vector<std::string>{"key", "value", "changeable"}));
  const std::map<std::string, std::string> expected_limits = {
      {"backend.max_connections", "16"}, {"backend.min_idle", "0"},
      {"backend.idle_timeout", "300s"},  {"backend.max_lifetime", "3600s"},
      {"queue.timeout", "10s"},          {"queue.max_waiting", "10000"},
      {"sluice.shutdown_timeout", "10s"}};
  for (const auto& [key, value] : expected_limits) {
    const auto* row = limits.find("key", key);
    ASSERT_NE(row, nullptr) << key;
    EXPECT_EQ(row->at("value"), value) << key;
    EXPECT_EQ(row->at("changeable"), "SET") << key;
  }
  ASSERT_NE(limits.find("key", "sluice.max_allowed_packet"), nullptr);
  EXPECT_EQ(limits.find("key", "sluice.max_allowed_packet")->at("changeable"), "SET");

  const auto settings = table(*a, "SHOW CONFIG");
  EXPECT_EQ(settings.columns, (std::vector<std::string>{"key", "value"}));
  ASSERT_NE(settings.find("key", "sluice.listen"), nullptr);
  EXPECT_EQ(settings.find("key", "sluice.listen")->at("value"), config_.get("sluice", "listen"));
  EXPECT_EQ(settings.find("key", "backend.password")->at("value"), "***");
  EXPECT_EQ(settings.find("key", "admin.password")->at("value"), "***");
  EXPECT_EQ(settings.find("key", "admin.listen")->at("value"), config_.get("admin", "listen"));
  EXPECT_EQ(settings.find("key", "metrics.listen")->at("value"), config_.get("metrics", "listen"));
  const std::string raw = a->command("SHOW CONFIG");
  EXPECT_EQ(raw.find("backend-pw"), std::string::npos) << "SHOW CONFIG shows a password";
  EXPECT_EQ(raw.find("s3cret"), std::string::npos) << "SHOW CONFIG shows the admin password";
}

TEST_F(AdminTest, PipelinedCommandsAnswerInOrderSeparatedByEmptyLines) {
  start();
  auto a = admin();
  // Several lines in one write, one of them chaining two commands.
  a->send("show version; show pools\nshow limits\nhelp\n");
  const auto version = a->answer();
  const auto pools = a->answer();
  const auto limits = a->answer();
  const auto help = a->answer();
  ASSERT_TRUE(version && pools && limits && help) << "got: " << a->pending();
  EXPECT_EQ(*version, expected_version());
  EXPECT_THAT(*pools, StartsWith("pool "));
  EXPECT_EQ(parse_table(*pools).error, "");
  EXPECT_THAT(*limits, StartsWith("key "));
  EXPECT_THAT(*help, StartsWith("Commands"));

  // The same, as one write of many short lines, and an error in the middle changes nothing.
  std::string burst;
  for (int i = 0; i < 20; ++i) burst += i == 10 ? "nonsense\n" : "show version\n";
  a->send(burst);
  for (int i = 0; i < 20; ++i) {
    const auto answer = a->answer();
    ASSERT_TRUE(answer.has_value()) << "answer " << i << " missing";
    if (i == 10)
      EXPECT_THAT(*answer, StartsWith("ERROR: unknown command"));
    else
      EXPECT_EQ(*answer, expected_version()) << "answer " << i;
  }
  EXPECT_FALSE(a->answer(300ms).has_value()) << "more answers than commands: " << a->pending();

  // QUIT in a chain: the answers before it, then the connection closes.
  a->send("show version; quit; show pools\n");
  EXPECT_EQ(a->answer().value_or("<none>"), expected_version());
  EXPECT_TRUE(a->closed_by_server());
  EXPECT_EQ(a->pending(), "") << "an answer after QUIT";
}

TEST_F(AdminTest, JsonAnswersParseWithTheDocumentedKeys) {
  start();
  auto client = connect_app();
  ASSERT_EQ(client->scalar("SELECT 1"), "1");
  auto a = admin();

  const json pools = json::parse(a->command("SHOW POOLS FORMAT JSON"));
  ASSERT_TRUE(pools.is_array());
  ASSERT_EQ(pools.size(), 1u);
  for (const std::string key : {"cl_active", "cl_waiting", "sv_active", "sv_idle", "sv_opening",
                                "sv_pinned", "max_connections", "maxwait_ms"})
    EXPECT_TRUE(pools[0].at(key).is_number_integer()) << key << ": " << pools[0].dump();
  EXPECT_EQ(pools[0].at("pool"), "default");
  EXPECT_EQ(pools[0].at("pool_mode"), "transaction");
  EXPECT_EQ(pools[0].at("paused"), "no");
  EXPECT_EQ(pools[0].at("max_connections"), 16);
  EXPECT_EQ(pools[0].at("sv_idle"), 1);

  const json clients = json::parse(a->command("show clients json"));
  ASSERT_TRUE(clients.is_array());
  ASSERT_EQ(clients.size(), 1u);
  EXPECT_EQ(clients[0].at("id"), client->thread_id());
  EXPECT_EQ(clients[0].at("user"), "app");
  EXPECT_EQ(clients[0].at("state"), "idle");
  EXPECT_TRUE(clients[0].at("address").is_string());
  EXPECT_TRUE(clients[0].at("waiting_ms").is_number());
  for (const std::string key : {"pinned", "backend", "connected_since"})
    EXPECT_TRUE(clients[0].at(key).is_string()) << key;

  const json stats = json::parse(a->command("SHOW STATS FORMAT JSON"));
  ASSERT_TRUE(stats.is_array());
  bool saw_statements = false;
  for (const auto& row : stats) {
    EXPECT_TRUE(row.at("name").is_string());
    EXPECT_TRUE(row.at("total").is_number()) << row.dump();
    EXPECT_TRUE(row.at("per_second").is_number()) << row.dump();
    if (row.at("name") == "statements") {
      saw_statements = true;
      EXPECT_GE(row.at("total").get<double>(), 1);
    }
  }
  EXPECT_TRUE(saw_statements);

  for (const std::string command :
       {"SHOW SERVERS FORMAT JSON", "SHOW LIMITS JSON", "SHOW CONFIG JSON", "SHOW VERSION JSON"})
    EXPECT_TRUE(json::accept(a->command(command))) << command;
  EXPECT_EQ(json::parse(a->command("SHOW VERSION JSON"))[0].at("version"), expected_version());
}

// ---- Control ------------------------------------------------------------------------------

TEST_F(AdminTest, PauseHoldsNewStatementsAndResumeReleasesThem) {
  start();
  auto client = connect_app();
  ASSERT_EQ(client->scalar("SELECT 1"), "1");  // an idle backend exists: PAUSE must hold it back
  auto a = admin();
  EXPECT_THAT(a->command("PAUSE"), StartsWith("OK: pool paused"));
  EXPECT_EQ(pool_row(*a).at("paused"), "yes");

  std::atomic<bool> done{false};
  query_result result;
  std::jthread runner([&] {
    result = client->query("SELECT 'after resume'");
    done = true;
  });
  std::map<std::string, std::string> waiting_row;
  const bool waits = wait_until(
      [&] {
        waiting_row = pool_row(*a);
        return number(waiting_row, "cl_waiting") >= 1;
      },
      3s, 50ms);
  EXPECT_TRUE(waits) << "SHOW POOLS never showed the statement waiting";
  EXPECT_EQ(waiting_row["paused"], "yes");
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(done) << "a statement completed while the pool was paused: " << result.describe();

  EXPECT_EQ(a->command("RESUME"), "OK: pool resumed");
  EXPECT_TRUE(wait_until([&] { return done.load(); }, 3s)) << "RESUME did not release it";
  runner.join();
  ASSERT_TRUE(result.ok) << result.describe();
  EXPECT_EQ(result.rows.at(0).at(0), "after resume");
  const auto after = pool_row(*a);
  EXPECT_EQ(after.at("paused"), "no");
  EXPECT_EQ(after.at("cl_waiting"), "0");
}

TEST_F(AdminTest, KillClientDisconnectsExactlyThatClient) {
  start();
  auto victim = connect_app();
  auto bystander = connect_app();
  ASSERT_EQ(victim->scalar("SELECT 1"), "1");
  ASSERT_EQ(bystander->scalar("SELECT 1"), "1");
  auto a = admin();
  const std::string id = std::to_string(victim->thread_id());
  ASSERT_NE(table(*a, "SHOW CLIENTS").find("id", id), nullptr);

  EXPECT_EQ(a->command("KILL CLIENT " + id), "OK: client " + id + " disconnected");
  const query_result after = victim->query("SELECT 1");
  EXPECT_FALSE(after.ok) << "the killed client still runs statements";
  EXPECT_TRUE(after.error_code == 2013 || after.error_code == 2006) << after.describe();
  EXPECT_EQ(bystander->scalar("SELECT 'unaffected'"), "unaffected");
  EXPECT_TRUE(wait_until([&] { return table(*a, "SHOW CLIENTS").find("id", id) == nullptr; }, 2s));
  EXPECT_EQ(table(*a, "SHOW CLIENTS").rows.size(), 1u);

  EXPECT_EQ(a->command("KILL CLIENT " + id), "ERROR: no client with id " + id);
  EXPECT_THAT(a->command("KILL CLIENT someone"), StartsWith("ERROR: usage: KILL CLIENT"));
  EXPECT_EQ(bystander->scalar("SELECT 2"), "2");
}

TEST_F(AdminTest, SetMaxConnectionsTakesEffectAtOnce) {
  start();
  auto a = admin();
  EXPECT_EQ(a->command("SET backend.max_connections = 1"), "OK: backend.max_connections = 1");
  const auto limits = table(*a, "SHOW LIMITS");
  ASSERT_NE(limits.find("key", "backend.max_connections"), nullptr);
  EXPECT_EQ(limits.find("key", "backend.max_connections")->at("value"), "1");
  EXPECT_EQ(pool_row(*a).at("max_connections"), "1");

  auto first = connect_app();
  auto second = connect_app();
  first->execute("BEGIN");
  ASSERT_EQ(first->scalar("SELECT 1"), "1");
  std::atomic<bool> done{false};
  query_result second_begin;
  std::jthread runner([&] {
    second_begin = second->query("BEGIN");
    done = true;
  });
  EXPECT_TRUE(wait_until([&] { return number(pool_row(*a), "cl_waiting") == 1; }, 3s, 50ms))
      << "the second transaction did not wait for the only backend";
  EXPECT_FALSE(done);
  EXPECT_EQ(number(pool_row(*a), "sv_active"), 1);
  first->execute("COMMIT");
  runner.join();
  ASSERT_TRUE(second_begin.ok) << second_begin.describe();
  EXPECT_EQ(second->scalar("SELECT 2"), "2");
  second->execute("COMMIT");
  EXPECT_LE(server().count_backend_connections(), 1);

  // Other runtime keys, with quoted values.
  EXPECT_EQ(a->command("set queue.timeout = '750ms'"), "OK: queue.timeout = 750ms");
  EXPECT_EQ(table(*a, "SHOW LIMITS").find("key", "queue.timeout")->at("value"), "750ms");
  EXPECT_EQ(a->command("SET log.level = debug"), "OK: log.level = debug");
}

// A lowered queue.timeout is the timeout in force for every waiting statement: one already
// queued under 10 s and one queued after SET queue.timeout = 300ms both get 7001 after ~300 ms
// (none waits 10 s behind an older statement).
TEST_F(AdminTest, LoweredQueueTimeoutAppliesToEveryWaitingStatement) {
  start({{"backend.max_connections", "1"}, {"queue.timeout", "10s"}});
  auto holder = connect_app();
  holder->execute("BEGIN");
  ASSERT_EQ(holder->scalar("SELECT 1"), "1");
  auto early = connect_app();
  auto late = connect_app();
  auto a = admin();
  query_result early_result;
  const auto early_start = std::chrono::steady_clock::now();
  long early_waited = 0;
  std::jthread early_waits([&] {
    early_result = early->query("SELECT 'early'");
    early_waited = elapsed_ms(early_start);
  });
  ASSERT_TRUE(wait_until([&] { return number(pool_row(*a), "cl_waiting") == 1; }, 3s, 50ms));

  EXPECT_EQ(a->command("SET queue.timeout = 300ms"), "OK: queue.timeout = 300ms");
  const auto start = std::chrono::steady_clock::now();
  const query_result late_result = late->query("SELECT 'late'");
  const auto waited = elapsed_ms(start);
  early_waits.join();
  holder->execute("COMMIT");

  EXPECT_EQ(late_result.error_code, 7001u) << late_result.describe();
  EXPECT_LT(waited, 3000) << "the statement queued under a 300 ms timeout waited " << waited
                          << " ms";
  EXPECT_EQ(early_result.error_code, 7001u) << early_result.describe();
  EXPECT_LT(early_waited, 3000) << "the statement queued under 10 s kept its old deadline";
  // Both clients stay usable.
  EXPECT_EQ(early->scalar("SELECT 1"), "1");
  EXPECT_EQ(late->scalar("SELECT 1"), "1");
}

TEST_F(AdminTest, BadSetAndUnknownCommandsAnswerOneErrorLineAndKeepTheConnection) {
  start();
  auto a = admin();
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"SET backend.address = 127.0.0.1:1", "cannot be changed at runtime"},
      {"SET sluice.pool_mode = session", "cannot be changed at runtime"},
      {"SET no.such_key = 1", "cannot be changed at runtime"},
      {"SET backend.max_connections = lots", "backend.max_connections"},
      {"SET backend.max_connections = 0", "backend.max_connections"},
      {"SET queue.timeout = soon", "queue.timeout"},
      {"SET backend.min_idle = 100", "exceeds"},
      {"SET log.level = chatty", "log.level"},
      {"SET backend.max_connections", "usage"},
      {"FROBNICATE now", "unknown command 'FROBNICATE NOW'"},
      {"SHOW NOTHING", "unknown command 'SHOW NOTHING'"},
      {"PAUSE ALL", "unknown command"},
  };
  for (const auto& [command, why] : bad) {
    const std::string answer = a->command(command);
    EXPECT_THAT(answer, StartsWith("ERROR: ")) << command;
    EXPECT_THAT(answer, HasSubstr(why)) << command;
    EXPECT_EQ(answer.find('\n'), std::string::npos) << command << " answered several lines";
    EXPECT_EQ(a->command("SHOW VERSION"), expected_version()) << "after " << command;
  }
  EXPECT_THAT(a->command("frobnicate"), StartsWith("ERROR: unknown command 'FROBNICATE'"));
  // Nothing changed.
  const auto limits = table(*a, "SHOW LIMITS");
  EXPECT_EQ(limits.find("key", "backend.max_connections")->at("value"), "16");
  EXPECT_EQ(limits.find("key", "queue.timeout")->at("value"), "10s");
  EXPECT_EQ(pool_row(*a).at("paused"), "no");
  auto client = connect_app();
  EXPECT_EQ(client->scalar("SELECT 1"), "1");
}

TEST_F(AdminTest, LineLongerThan4096BytesIsRefusedAndTheConnectionClosed) {
  start();
  auto a = admin();
  a->send("SHOW " + std::string(5000, 'X') + "\n");
  EXPECT_EQ(a->answer().value_or("<none>"), "ERROR: line longer than 4096 bytes");
  EXPECT_TRUE(a->closed_by_server()) << "still open after an overlong line";

  // A line of exactly 4095 bytes plus its newline is fine.
  auto b = admin();
  std::string just_fits = "SHOW VERSION";
  just_fits += std::string(4095 - just_fits.size(), ' ');
  EXPECT_EQ(b->command(just_fits), expected_version());
  // Without any newline, the limit holds too.
  b->send(std::string(4100, 'y'));
  EXPECT_EQ(b->answer().value_or("<none>"), "ERROR: line longer than 4096 bytes");
  EXPECT_TRUE(b->closed_by_server());
  // The port keeps serving others.
  EXPECT_EQ(admin()->command("SHOW VERSION"), expected_version());
}

TEST_F(AdminTest, PasswordIsTheFirstLine) {
  start({{"admin.password", "s3cret"}});
  {
    admin_connection wrong(admin_port_);
    wrong.send("guess\nSHOW VERSION\n");
    EXPECT_EQ(wrong.answer().value_or("<none>"), "ERROR: wrong admin password");
    EXPECT_TRUE(wrong.closed_by_server());
    EXPECT_EQ(wrong.pending(), "") << "answered a command after a wrong password";
  }
  {
    admin_connection empty(admin_port_);
    empty.send("\nSHOW VERSION\n");
    EXPECT_EQ(empty.answer().value_or("<none>"), "ERROR: wrong admin password");
    EXPECT_TRUE(empty.closed_by_server());
  }
  {
    admin_connection command_first(admin_port_);
    command_first.send("SHOW VERSION\n");
    EXPECT_EQ(command_first.answer().value_or("<none>"), "ERROR: wrong admin password");
  }
  auto right = admin("s3cret");
  EXPECT_EQ(right->command("SHOW VERSION"), expected_version());
  EXPECT_THAT(right->command("SHOW POOLS"), StartsWith("pool "));
  // A person is asked for it.
  admin_connection person(admin_port_);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(person.read_until("Password: ", 2s).value_or("<none>"), "Password: ");
  person.send("s3cret\n");
  EXPECT_THAT(person.read_until("sluice> ", 2s).value_or("<none>"), HasSubstr("admin."));
}

TEST_F(AdminTest, ReloadAddsAUserWithoutDroppingAClient) {
  start();
  auto existing = connect_app();
  existing->execute("BEGIN");
  ASSERT_EQ(existing->scalar("SELECT 1"), "1");
  const auto existing_id = existing->thread_id();
  mysql_client not_yet;
  ASSERT_FALSE(not_yet.connect("127.0.0.1", sluice_port(), "newcomer", "new-pw"));

  sluice_config changed = config_;
  changed.set("users", "newcomer", "new-pw");
  rewrite_config(changed.text());
  auto a = admin();
  EXPECT_EQ(a->command("RELOAD"), "OK: configuration reloaded");

  auto newcomer = connect_to_sluice("newcomer", "new-pw");
  EXPECT_EQ(newcomer->scalar("SELECT 'welcome'"), "welcome");
  EXPECT_EQ(existing->scalar("SELECT 2"), "2") << "the reload dropped a client";
  existing->execute("COMMIT");
  EXPECT_EQ(existing->thread_id(), existing_id);
  EXPECT_NE(table(*a, "SHOW CLIENTS").find("user", "newcomer"), nullptr);
}

TEST_F(AdminTest, ReloadOfABrokenFileIsRefusedAndSluiceKeepsServing) {
  start();
  auto existing = connect_app();
  ASSERT_EQ(existing->scalar("SELECT 1"), "1");
  auto a = admin();
  rewrite_config(config_.text() + "\n[no-such-section]\nx = 1\n");
  const std::string answer = a->command("RELOAD");
  EXPECT_THAT(answer, StartsWith("ERROR: reload refused"));
  EXPECT_EQ(answer.find('\n'), std::string::npos);
  EXPECT_EQ(a->command("SHOW VERSION"), expected_version());
  EXPECT_EQ(existing->scalar("SELECT 2"), "2");
  auto fresh = connect_app();
  EXPECT_EQ(fresh->scalar("SELECT 3"), "3");
  EXPECT_EQ(table(*a, "SHOW LIMITS").find("key", "backend.max_connections")->at("value"), "16");
}

TEST_F(AdminTest, ShutdownWaitDrainsAndExits0) {
  start({{"sluice.shutdown_timeout", "10s"}});
  auto client = connect_app();
  query_result sleeping;
  std::jthread runner([&] { sleeping = client->query("SELECT SLEEP(1)"); });
  ASSERT_TRUE(wait_until(
      [&] {
        return server()
                   .query(
                       "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                       "WHERE INFO LIKE 'SELECT SLEEP(1)%'")
                   .at(0)
                   .at(0) != "0";
      },
      10s))
      << "SELECT SLEEP(1) never reached the backend";
  auto a = admin();
  const auto started = std::chrono::steady_clock::now();
  EXPECT_THAT(a->command("SHUTDOWN WAIT"), StartsWith("OK: draining"));
  runner.join();
  EXPECT_TRUE(sleeping.ok) << "the running statement was cut: " << sleeping.describe();
  const auto status = sluice().wait_for_exit(10s);
  ASSERT_TRUE(status.has_value()) << "sluice still runs after SHUTDOWN WAIT";
  EXPECT_EQ(*status, 0);
  EXPECT_LE(elapsed_ms(started), 5000);
  EXPECT_TRUE(a->closed_by_server()) << "the admin connection stayed open after the exit";
}

TEST_F(AdminTest, ShutdownStopsAtOnce) {
  start();
  auto client = connect_app();
  ASSERT_EQ(client->scalar("SELECT 1"), "1");
  auto a = admin();
  EXPECT_EQ(a->command("SHUTDOWN"), "OK: shutting down now");
  const auto status = sluice().wait_for_exit(5s);
  ASSERT_TRUE(status.has_value()) << "sluice still runs after SHUTDOWN";
  EXPECT_EQ(*status, 0);
  EXPECT_FALSE(client->query("SELECT 1").ok);
}

TEST_F(AdminTest, InteractiveUserGetsBannerAndPrompt) {
  start();
  admin_connection person(admin_port_);
  std::this_thread::sleep_for(300ms);  // a person has not typed anything yet
  const auto banner = person.read_until("sluice> ", 2s);
  ASSERT_TRUE(banner.has_value()) << "no prompt; got: " << person.pending();
  EXPECT_EQ(*banner,
            expected_version() + " admin. Type HELP for the commands, QUIT to leave.\nsluice> ");
  person.send("show version\n");
  EXPECT_EQ(person.read_until("sluice> ", 2s).value_or("<none>"),
            expected_version() + "\n\nsluice> ");
  person.send("show version; show version\n");
  EXPECT_EQ(person.read_until("sluice> ", 2s).value_or("<none>"),
            expected_version() + "\n\n" + expected_version() + "\n\nsluice> ");
  person.send("quit\n");
  EXPECT_TRUE(person.closed_by_server());
  EXPECT_EQ(person.pending(), "");
}

}  // namespace
}  // namespace sluice::test
