// Operating sluice: a restart on the same port without refused connections (SO_REUSEPORT),
// SIGTERM with a transaction in flight, SIGHUP reload under load (and a refused bad file),
// /live and /ready with the backend gone and back, JSON logs without secrets and the info rate
// limit, secrets from the environment, and the open-files limit at start-up.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
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
using json = nlohmann::json;
using steady = std::chrono::steady_clock;

// ---- Small clients of sluice's HTTP and admin ports ---------------------------------------

// A connected loopback TCP socket, closed on destruction; fd() < 0 when the connect failed.
class tcp_connection {
 public:
  tcp_connection(std::uint16_t port, std::chrono::milliseconds timeout) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      error_ = std::strerror(errno);
      ::close(fd_);
      fd_ = -1;
    }
    deadline_ = steady::now() + timeout;
  }
  ~tcp_connection() {
    if (fd_ >= 0) ::close(fd_);
  }
  tcp_connection(const tcp_connection&) = delete;
  tcp_connection& operator=(const tcp_connection&) = delete;

  bool connected() const { return fd_ >= 0; }
  // Why the connect failed.
  const std::string& error() const { return error_; }

  bool send_all(std::string_view text) {
    while (!text.empty()) {
      const ssize_t n = ::send(fd_, text.data(), text.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      text.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Appends what arrives to `into` until `done(into)` holds (true), the peer closes
  // (returns done(into)) or the deadline passes (false).
  template <typename Done>
  bool receive_until(std::string& into, Done done) {
    while (!done(into)) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - steady::now()).count();
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
      char chunk[8192];
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return done(into);
      into.append(chunk, static_cast<std::size_t>(n));
    }
    return true;
  }

 private:
  int fd_ = -1;
  std::string error_;
  steady::time_point deadline_;
};

// GET http://127.0.0.1:port/path: the status code, or 0 when no complete answer came.
int http_status(std::uint16_t port, const std::string& path,
                std::chrono::milliseconds timeout = 2s) {
  tcp_connection http(port, timeout);
  if (!http.connected()) return 0;
  if (!http.send_all("GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")) return 0;
  std::string answer;
  // The endpoint closes the connection after one answer.
  http.receive_until(answer, [](const std::string&) { return false; });
  if (!answer.starts_with("HTTP/1.") || answer.find("\r\n\r\n") == std::string::npos) return 0;
  const auto space = answer.find(' ');
  return std::atoi(answer.c_str() + space + 1);
}

// Polls GET path until it answers `status`; false when it does not within `timeout`.
bool wait_for_http(std::uint16_t port, const std::string& path, int status,
                   std::chrono::milliseconds timeout, int* last = nullptr) {
  int seen = 0;
  const bool ok = wait_until(
      [&] {
        seen = http_status(port, path);
        return seen == status;
      },
      timeout, 100ms);
  if (last) *last = seen;
  return ok;
}

// One admin command; the answer without the empty line that ends it. Throws when the admin port
// does not answer.
std::string admin_command(std::uint16_t port, const std::string& command) {
  // A refused connect is retried briefly: with heavy loopback churn a SYN can meet a TIME_WAIT
  // leftover of the same address pair (free_port hands out ports of the ephemeral range).
  std::optional<tcp_connection> connection;
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(100ms);
    connection.emplace(port, 5s);
    if (connection->connected()) break;
  }
  tcp_connection& admin = *connection;
  if (!admin.connected())
    throw std::runtime_error("cannot connect to the admin port " + std::to_string(port) + ": " +
                             admin.error());
  // Sent at once, so the port treats this as a script (no prompt).
  if (!admin.send_all(command + "\n"))
    throw std::runtime_error("admin port: cannot send '" + command + "'");
  std::string answer;
  const bool complete = admin.receive_until(
      answer, [](const std::string& text) { return text.find("\n\n") != std::string::npos; });
  if (!complete)
    throw std::runtime_error("admin port: no complete answer to '" + command + "': " + answer);
  return answer.substr(0, answer.find("\n\n"));
}

json admin_json(std::uint16_t port, const std::string& command) {
  const std::string answer = admin_command(port, command + " FORMAT JSON");
  // On a loaded machine the command may come late enough for the port to take this for an
  // interactive session and put a banner and a prompt first: the JSON starts at the first '['.
  const auto start = answer.find('[');
  json parsed =
      json::parse(start == std::string::npos ? answer : answer.substr(start), nullptr, false);
  if (parsed.is_discarded())
    throw std::runtime_error("admin port: '" + command + "' did not answer JSON: " + answer);
  return parsed;
}

std::string as_text(const json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

// SHOW LIMITS' value for `key` ("" when the key is not listed).
std::string limit_value(std::uint16_t admin_port, const std::string& key) {
  for (const auto& row : admin_json(admin_port, "SHOW LIMITS"))
    if (row.value("key", "") == key) return as_text(row.at("value"));
  return "";
}

// SHOW HEALTH's `ready` column: "yes" or "no".
std::string health_ready(std::uint16_t admin_port) {
  const json rows = admin_json(admin_port, "SHOW HEALTH");
  if (!rows.is_array() || rows.empty()) return "<no row>";
  return as_text(rows.at(0).at("ready"));
}

// ---- Logs ---------------------------------------------------------------------------------

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Waits until the log holds more than `before` lines containing `needle`.
bool wait_for_log(sluice_process& process, const std::string& needle, std::size_t before,
                  std::chrono::milliseconds timeout) {
  return wait_until([&] { return count_of(process.log(), needle) > before; }, timeout, 50ms);
}

// Replaces a file's content in one step, so sluice never reads half a file.
void replace_file(const std::filesystem::path& path, const std::string& text) {
  const auto temporary = path.string() + ".next";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) throw std::runtime_error("cannot write " + temporary);
  }
  std::filesystem::rename(temporary, path);
}

// ---- net.ipv4.tcp_migrate_req -------------------------------------------------------------

// Sets net.ipv4.tcp_migrate_req = 1 for the test (when allowed) and puts the old value back.
class tcp_migrate_req_setting {
 public:
  tcp_migrate_req_setting() {
    original_ = read();
    if (original_ && *original_ != "1" && write("1")) restore_ = true;
  }
  ~tcp_migrate_req_setting() {
    if (restore_) write(*original_);
  }
  tcp_migrate_req_setting(const tcp_migrate_req_setting&) = delete;
  tcp_migrate_req_setting& operator=(const tcp_migrate_req_setting&) = delete;

  bool enabled() const { return read() == "1"; }
  std::string describe() const {
    const auto now = read();
    if (!now) return "net.ipv4.tcp_migrate_req is not available on this kernel";
    return "net.ipv4.tcp_migrate_req = " + *now +
           (restore_      ? " (set by this test; restored to " + *original_ + " afterwards)"
            : *now == "1" ? " (already set)"
                          : " (could not be set: no permission)");
  }

 private:
  static constexpr const char* path = "/proc/sys/net/ipv4/tcp_migrate_req";
  static std::optional<std::string> read() {
    std::ifstream in(path);
    std::string value;
    if (!(in >> value)) return std::nullopt;
    return value;
  }
  static bool write(const std::string& value) {
    std::ofstream out(path);
    out << value << '\n';
    return static_cast<bool>(out.flush()) && read() == value;
  }

  std::optional<std::string> original_;
  bool restore_ = false;
};

// ---- Fixture ------------------------------------------------------------------------------

class OperationsTest : public integration_test {
 protected:
  void TearDown() override {
    integration_test::TearDown();
    // The health test kills the shared MariaDB: leave it running for whatever comes next.
    if (!server().running()) server().start_again();
  }

  static client_options quick_options() {
    client_options options;
    options.connect_timeout = 3s;
    options.read_timeout = 10s;
    options.write_timeout = 10s;
    return options;
  }

  // A login to sluice on `port`; null (and the error in `why`) when it fails.
  static std::unique_ptr<mysql_client> login(std::uint16_t port, const std::string& user,
                                             const std::string& password, std::string* why,
                                             const std::string& db = "") {
    auto client = std::make_unique<mysql_client>();
    if (client->connect("127.0.0.1", port, user, password, db, 0, quick_options())) return client;
    if (why)
      *why = std::to_string(client->error_code()) + " (" + client->sql_state() +
             "): " + client->error_message();
    return nullptr;
  }

  static std::uint16_t metrics_port(const sluice_config& config) {
    return config.listen_port("metrics");
  }
  static std::uint16_t admin_port(const sluice_config& config) {
    return config.listen_port("admin");
  }
};

// ---- 1. Restart on the same port ----------------------------------------------------------

struct loop_failure {
  long long at_ms;
  int iteration;
  std::string what;
};

TEST_F(OperationsTest, RestartOnTheSamePortWithSoReuseportRefusesNoConnection) {
  const tcp_migrate_req_setting migrate;
  std::cout << "[ operations ] " << migrate.describe() << std::endl;
  RecordProperty("tcp_migrate_req", migrate.enabled() ? "1" : "0");

  const sluice_config config_a =
      make_config({{"sluice.so_reuseport", "on"}, {"sluice.shutdown_timeout", "5s"}});
  sluice_config config_b = config_a;
  config_b.set("metrics", "listen", "127.0.0.1:" + std::to_string(free_port()));
  config_b.set("admin", "listen", "127.0.0.1:" + std::to_string(free_port()));
  sluice_process& a = start_sluice(config_a);
  const std::uint16_t port = a.port();
  {
    std::string why;
    auto warm = login(port, "app", "app-pw", &why);
    ASSERT_TRUE(warm) << "login to sluice A failed: " << why;
    ASSERT_EQ(warm->scalar("SELECT 1"), "1");
  }
  int last = 0;
  ASSERT_TRUE(wait_for_http(metrics_port(config_a), "/ready", 200, 10s, &last))
      << "A's /ready did not answer 200 within 10 s (last answer " << last << ")";

  // One client that connects, runs SELECT 1 and disconnects, over and over.
  std::atomic<bool> stop{false};
  std::atomic<int> iterations{0};
  std::vector<loop_failure> failures;  // written by the loop only; read after the join
  const auto loop_start = steady::now();
  std::jthread loop([&] {
    const auto hard_stop = loop_start + 8s;  // bounded even if the main thread fails early
    while (!stop && steady::now() < hard_stop) {
      const int n = ++iterations;
      mysql_client client;
      if (!client.connect("127.0.0.1", port, "app", "app-pw", "", 0, quick_options())) {
        failures.push_back(
            {elapsed_ms(loop_start), n,
             "connect: " + std::to_string(client.error_code()) + " " + client.error_message()});
        continue;
      }
      const auto result = client.query("SELECT 1");
      if (!result.ok || result.rows.size() != 1 || result.rows[0].at(0) != "1")
        failures.push_back({elapsed_ms(loop_start), n, "SELECT 1: " + result.describe()});
    }
  });
  const auto stop_loop = [&] {
    stop = true;
    if (loop.joinable()) loop.join();
  };

  std::this_thread::sleep_for(1s);  // A alone
  const int before_b = iterations;
  std::unique_ptr<sluice_process> b;
  try {
    b = std::make_unique<sluice_process>(config_b);
  } catch (const std::exception& e) {
    stop_loop();
    FAIL() << "sluice B did not start on the same port: " << e.what();
  }
  const bool b_ready = wait_until(
      [&] { return !b->running() || http_status(metrics_port(config_b), "/ready") == 200; }, 10s,
      100ms);
  if (!b_ready || !b->running()) {
    stop_loop();
    FAIL() << "sluice B " << (b->running() ? "was not ready within 10 s" : "exited")
           << "; its log:\n"
           << last_lines(b->log(), 40);
  }
  const long long b_ready_at = elapsed_ms(loop_start);
  std::this_thread::sleep_for(500ms);  // both serve: the kernel spreads connections over them

  const long long sigterm_at = elapsed_ms(loop_start);
  const int before_sigterm = iterations;
  a.send_signal(SIGTERM);
  const auto a_status = a.wait_for_exit(10s);
  const long long a_exit_at = elapsed_ms(loop_start);
  const int at_a_exit = iterations;
  std::this_thread::sleep_for(1500ms);  // B alone
  stop_loop();

  std::ostringstream report;
  report << "iterations: " << before_b << " with A alone, " << before_sigterm - before_b
         << " before SIGTERM (B ready at " << b_ready_at << " ms, SIGTERM at " << sigterm_at
         << " ms), " << at_a_exit - before_sigterm << " during A's drain (exit at " << a_exit_at
         << " ms), " << iterations - at_a_exit << " with B alone; failures: " << failures.size();
  for (const auto& f : failures)
    report << "\n  #" << f.iteration << " at " << f.at_ms << " ms: " << f.what;
  std::cout << "[ operations ] " << report.str() << std::endl;

  ASSERT_TRUE(a_status.has_value()) << "A still running 10 s after SIGTERM";
  EXPECT_EQ(*a_status, 0) << "A's exit status after the drain";
  EXPECT_GT(iterations - at_a_exit, 0) << "no connection reached B after A exited";
  EXPECT_TRUE(b->running()) << "B stopped serving";
  if (migrate.enabled()) {
    EXPECT_TRUE(failures.empty()) << migrate.describe() << "\n" << report.str();
  } else {
    // Without tcp_migrate_req the kernel resets connections still queued to A's listener when A
    // closes it (measured: about one run in fifteen here). Those are the only failures allowed.
    std::cout << "[ operations ] tcp_migrate_req is not set: connections reset in A's listen "
                 "queue are tolerated, nothing else"
              << std::endl;
    for (const auto& f : failures) {
      const bool queued_reset =
          f.what.starts_with("connect: ") &&
          (f.what.find("Can't connect") != std::string::npos ||
           f.what.find("reading initial communication packet") != std::string::npos);
      EXPECT_TRUE(queued_reset) << "#" << f.iteration << " at " << f.at_ms << " ms: " << f.what;
    }
  }
  if (::testing::Test::HasFailure()) std::cerr << "---- A's log ----\n" << last_lines(a.log(), 60);
}

// ---- 2. SIGTERM with a transaction in flight ----------------------------------------------

TEST_F(OperationsTest, SigtermLetsAnOpenTransactionCommitThenExits0) {
  const std::string table = std::string(mariadb_server::test_database) + ".ops_drain";
  server().run_sql("DROP TABLE IF EXISTS " + table + "; CREATE TABLE " + table +
                   " (id INT PRIMARY KEY, note VARCHAR(40)) ENGINE=InnoDB");
  start_sluice({{"sluice.shutdown_timeout", "10s"}});
  auto client = connect_app(mariadb_server::test_database);
  ASSERT_TRUE(client->query("BEGIN").ok);
  const auto first = client->query("INSERT INTO ops_drain VALUES (1, 'before SIGTERM')");
  ASSERT_TRUE(first.ok) << first.describe();

  const auto signalled = steady::now();
  sluice().send_signal(SIGTERM);
  ASSERT_TRUE(wait_for_log(sluice(), "drain started", 0, 5s))
      << "no 'drain started' line within 5 s of SIGTERM";

  // A new client during the drain is refused: by TCP (the listener is closed) or with an error.
  mysql_client newcomer;
  client_options brief = quick_options();
  brief.connect_timeout = 2s;
  brief.read_timeout = 2s;
  const bool newcomer_in = newcomer.connect("127.0.0.1", sluice_port(), "app", "app-pw",
                                            mariadb_server::test_database, 0, brief);
  EXPECT_FALSE(newcomer_in) << "a new client logged in during the drain";
  if (!newcomer_in)
    std::cout << "[ operations ] new client during the drain: " << newcomer.error_code() << " "
              << newcomer.error_message() << std::endl;
  EXPECT_FALSE(port_accepts(sluice_port())) << "the listener still accepts TCP during the drain";

  // Uncommitted: MariaDB itself does not show the row yet.
  EXPECT_EQ(server().query("SELECT COUNT(*) FROM " + table).at(0).at(0), "0")
      << "the row is visible before COMMIT: the transaction was not open";
  ASSERT_TRUE(sluice().running()) << "sluice exited with the transaction still open";

  const auto second = client->query("INSERT INTO ops_drain VALUES (2, 'during the drain')");
  EXPECT_TRUE(second.ok) << "INSERT inside the transaction during the drain: " << second.describe();
  const auto commit = client->query("COMMIT");
  ASSERT_TRUE(commit.ok) << "COMMIT during the drain: " << commit.describe();
  const auto committed = steady::now();

  const auto status = sluice().wait_for_exit(12s);
  ASSERT_TRUE(status.has_value()) << "sluice still running 12 s after SIGTERM";
  EXPECT_EQ(*status, 0);
  const auto after_commit =
      std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - committed).count();
  EXPECT_LE(after_commit, 3000) << "exit took " << after_commit
                                << " ms after the COMMIT (nothing else was left to wait for)";
  EXPECT_LE(elapsed_ms(signalled), 9000) << "exit not well within shutdown_timeout (10 s)";

  const auto rows = server().query("SELECT id, note FROM " + table + " ORDER BY id");
  ASSERT_EQ(rows.size(), 2u) << "the committed rows are not both in the table";
  EXPECT_EQ(rows[0][0], "1");
  EXPECT_EQ(rows[1][0], "2");
  EXPECT_EQ(rows[1][1], "during the drain");
  server().run_sql("DROP TABLE IF EXISTS " + table);
}

// ---- 3. Reload under load -----------------------------------------------------------------

TEST_F(OperationsTest, SighupReloadUnderLoadChangesUsersAndLimitsWithoutDroppingClients) {
  sluice_config config = make_config({{"backend.max_connections", "8"}, {"queue.timeout", "10s"}});
  sluice_process& proxy = start_sluice(config);
  const std::uint16_t admin = admin_port(config);
  ASSERT_EQ(limit_value(admin, "backend.max_connections"), "8");
  ASSERT_EQ(limit_value(admin, "queue.timeout"), "10s");
  {
    std::string why;
    EXPECT_FALSE(login(proxy.port(), "newbie", "newbie-pw", &why))
        << "newbie logged in before the reload added it";
  }

  constexpr int client_count = 10;
  std::atomic<int> statements{0};
  std::atomic<bool> stop{false};
  std::mutex errors_mutex;
  std::vector<std::string> errors;
  const auto record = [&](const std::string& what) {
    std::lock_guard lock(errors_mutex);
    errors.push_back(what);
  };
  const auto load_start = steady::now();
  std::vector<std::jthread> clients;
  for (int i = 0; i < client_count; ++i) {
    clients.emplace_back([&, i] {
      std::string why;
      auto client =
          login(proxy.port(), i % 2 ? "app" : "other", i % 2 ? "app-pw" : "other-pw", &why);
      if (!client) return record("client " + std::to_string(i) + ": login: " + why);
      const auto hard_stop = load_start + 8s;
      for (int n = 0; !stop && steady::now() < hard_stop; ++n) {
        // A short sleep holds the backend, so that statements queue for the 8 (then 3) backends.
        const std::string expected = std::to_string(i * 100000 + n);
        const auto result = client->query("SELECT " + expected + ", SLEEP(0.002)");
        if (!result.ok || result.rows.empty() || result.rows[0].at(0) != expected)
          return record("client " + std::to_string(i) + " statement " + std::to_string(n) + " at " +
                        std::to_string(elapsed_ms(load_start)) + " ms: " + result.describe());
        ++statements;
      }
    });
  }

  std::this_thread::sleep_for(1500ms);
  const std::size_t reloads_before = count_of(proxy.log(), "reload done");
  config.set("users", "newbie", "newbie-pw");
  config.set("queue", "timeout", "7s");
  config.set("backend", "max_connections", "3");
  replace_file(proxy.config_path(), config.text());
  proxy.send_signal(SIGHUP);
  const bool reloaded = wait_for_log(proxy, "reload done", reloads_before, 5s);
  const int at_reload = statements;
  std::this_thread::sleep_for(2000ms);
  stop = true;
  for (auto& c : clients) c.join();

  ASSERT_TRUE(reloaded) << "no 'reload done' line within 5 s of SIGHUP";
  EXPECT_TRUE(errors.empty()) << errors.size() << " client errors, first: " << errors.front();
  EXPECT_GT(statements - at_reload, client_count) << "the load did not go on after the reload";
  std::cout << "[ operations ] statements under load: " << statements << " (" << at_reload
            << " before the reload)" << std::endl;
  {
    std::string why;
    auto newbie = login(proxy.port(), "newbie", "newbie-pw", &why);
    ASSERT_TRUE(newbie) << "newbie cannot log in after the reload: " << why;
    EXPECT_EQ(newbie->scalar("SELECT 42"), "42");
  }
  EXPECT_EQ(limit_value(admin, "backend.max_connections"), "3");
  EXPECT_EQ(limit_value(admin, "queue.timeout"), "7s");

  // A bad file: refused with a log line, the running configuration stays.
  const std::size_t refusals_before = count_of(proxy.log(), "reload refused");
  sluice_config broken = config;
  broken.set("queue", "no_such_key", "1");
  broken.set("users", "intruder", "intruder-pw");
  broken.set("backend", "max_connections", "1");
  replace_file(proxy.config_path(), broken.text());
  proxy.send_signal(SIGHUP);
  ASSERT_TRUE(wait_for_log(proxy, "reload refused", refusals_before, 5s))
      << "no 'reload refused' line within 5 s of SIGHUP with an unknown key; log:\n"
      << last_lines(proxy.log(), 20);
  for (const auto& line : lines_of(proxy.log())) {
    if (line.find("reload refused") != std::string::npos) {
      EXPECT_THAT(line, HasSubstr("no_such_key")) << "the refusal does not name the key";
    }
  }
  ASSERT_TRUE(proxy.running());
  EXPECT_EQ(limit_value(admin, "backend.max_connections"), "3");
  EXPECT_EQ(limit_value(admin, "queue.timeout"), "7s");
  std::string why;
  auto app = login(proxy.port(), "app", "app-pw", &why);
  ASSERT_TRUE(app) << "app cannot log in after the refused reload: " << why;
  EXPECT_EQ(app->scalar("SELECT 1"), "1");
  EXPECT_TRUE(login(proxy.port(), "newbie", "newbie-pw", &why))
      << "newbie lost after the refused reload: " << why;
  EXPECT_FALSE(login(proxy.port(), "intruder", "intruder-pw", nullptr))
      << "a user from the refused file can log in";
}

// ---- 4. /live, /ready and SHOW HEALTH ----------------------------------------------------

TEST_F(OperationsTest, ReadyFollowsTheBackendLiveFollowsTheProcess) {
  const sluice_config config = make_config({{"backend.connect_timeout", "2s"}});
  start_sluice(config);
  const std::uint16_t http = metrics_port(config);
  const std::uint16_t admin = admin_port(config);

  EXPECT_EQ(http_status(http, "/live"), 200);
  int last = 0;
  ASSERT_TRUE(wait_for_http(http, "/ready", 200, 10s, &last))
      << "/ready not 200 within 10 s of start (last answer " << last << ")";
  auto client = connect_app();
  ASSERT_EQ(client->scalar("SELECT 1"), "1");  // an idle backend connection now exists
  client.reset();
  EXPECT_EQ(health_ready(admin), "yes");

  server().kill_hard();
  const auto killed = steady::now();
  const bool not_ready = wait_for_http(http, "/ready", 503, 8s, &last);
  const auto went_down_ms = elapsed_ms(killed);
  ASSERT_TRUE(not_ready) << "/ready still answers " << last
                         << " 8 s after MariaDB was killed (no client traffic)";
  std::cout << "[ operations ] /ready 503 after " << went_down_ms << " ms" << std::endl;
  EXPECT_EQ(health_ready(admin), "no") << "SHOW HEALTH disagrees with /ready";
  EXPECT_EQ(http_status(http, "/live"), 200) << "/live must not depend on the backend";

  server().start_again();
  const auto restarted = steady::now();
  ASSERT_TRUE(wait_for_http(http, "/ready", 200, 10s, &last))
      << "/ready still " << last << " 10 s after MariaDB came back";
  std::cout << "[ operations ] /ready 200 again after " << elapsed_ms(restarted) << " ms"
            << std::endl;
  EXPECT_EQ(health_ready(admin), "yes") << "SHOW HEALTH disagrees with /ready";
  EXPECT_EQ(http_status(http, "/live"), 200);
  EXPECT_EQ(connect_app()->scalar("SELECT 1"), "1");
}

// ---- 5. Logs ------------------------------------------------------------------------------

TEST_F(OperationsTest, JsonLogLinesAreObjectsAndCarryNoSecretsOrQueryText) {
  const std::string password = "pw-Zq81-secret";
  const std::string wrong_password = "pw-Zq81-wrong";
  const std::string marker = "marker_7Hk2x";
  sluice_config config = make_config({{"log.format", "json"}, {"log.level", "info"}});
  config.set("users", "logger", password);
  start_sluice(config);
  {
    auto client = connect_to_sluice("logger", password);
    EXPECT_EQ(client->scalar("SELECT '" + marker + "' AS m"), marker);
    EXPECT_FALSE(client->query("SELECT * FROM no_such_table_" + marker).ok);
  }
  {
    mysql_client rejected;
    EXPECT_FALSE(rejected.connect("127.0.0.1", sluice_port(), "logger", wrong_password, "", 0,
                                  quick_options()));
  }
  // The close of the session is logged once sluice has seen it; then drain so that every line
  // is written.
  EXPECT_TRUE(wait_for_log(sluice(), "client_quit", 0, 5s));
  ASSERT_EQ(stop_sluice(), 0);

  const std::string log = sluice().log();
  const auto lines = lines_of(log);
  ASSERT_GE(lines.size(), 4u) << log;
  std::set<std::string> events;
  for (const auto& line : lines) {
    const json parsed = json::parse(line, nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << "not JSON: " << line;
    ASSERT_TRUE(parsed.is_object()) << "not a JSON object: " << line;
    for (const char* field : {"time", "level", "event"})
      EXPECT_TRUE(parsed.contains(field) && parsed[field].is_string())
          << "no string \"" << field << "\" in " << line;
    if (parsed.contains("level")) {
      EXPECT_THAT((std::set<std::string>{"error", "warn", "info", "debug"}),
                  ::testing::Contains(as_text(parsed["level"])))
          << line;
    }
    if (parsed.contains("event")) events.insert(as_text(parsed["event"]));
    EXPECT_EQ(line.find(password), std::string::npos) << "the client's password is logged";
    EXPECT_EQ(line.find(wrong_password), std::string::npos) << "a tried password is logged";
    EXPECT_EQ(line.find(mariadb_server::backend_password), std::string::npos)
        << "the backend password is logged";
    EXPECT_EQ(line.find(marker), std::string::npos) << "query text is logged";
  }
  EXPECT_TRUE(events.contains("login")) << log;
  EXPECT_TRUE(events.contains("close")) << log;
}

TEST_F(OperationsTest, InfoRateLimitHoldsBackLinesAndSummarisesThem) {
  constexpr int budget = 5;
  constexpr int sessions = 50;
  start_sluice({{"log.info_rate_limit", std::to_string(budget)}, {"log.format", "plain"}});
  std::this_thread::sleep_for(1100ms);  // start-up lines spend an earlier second's budget
  const std::size_t logins_before = count_of(sluice().log(), " login");

  const auto storm = steady::now();
  for (int i = 0; i < sessions; ++i) {
    std::string why;
    ASSERT_TRUE(login(sluice_port(), "app", "app-pw", &why)) << "session " << i << ": " << why;
  }
  const auto storm_ms = elapsed_ms(storm);
  // The summary is written with the first line of a later second: let one second pass, then
  // log in once more.
  std::this_thread::sleep_for(1100ms);
  {
    std::string why;
    ASSERT_TRUE(login(sluice_port(), "app", "app-pw", &why)) << why;
  }
  ASSERT_TRUE(wait_for_log(sluice(), "log_suppressed", 0, 5s))
      << "no log_suppressed line after " << sessions << " sessions (" << 2 * sessions
      << " info lines) with info_rate_limit = " << budget << "; log:\n"
      << last_lines(sluice().log(), 30);
  EXPECT_TRUE(wait_for_log(sluice(), " login", logins_before, 5s));
  ASSERT_EQ(stop_sluice(), 0);  // every line written

  // "2026-11-23T18:05:03.123Z info C-1 app@127.0.0.1:5555 login"
  const std::regex line_shape(R"(^(\S{19})\.\d{3}Z (\w+) (.*)$)");
  const std::regex suppressed_shape(R"(log_suppressed lines=(\d+))");
  std::map<std::string, int> info_per_second;
  int session_lines = 0;
  long suppressed = 0;
  for (const auto& line : lines_of(sluice().log())) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(line, m, line_shape)) << "unexpected log line: " << line;
    const std::string level = m[2];
    const std::string rest = m[3];
    if (level == "info") {
      ++info_per_second[m[1]];
      if (rest.find("app@") != std::string::npos) ++session_lines;
    }
    std::smatch count;
    if (std::regex_search(rest, count, suppressed_shape)) {
      EXPECT_EQ(level, "warn") << line;
      suppressed += std::stol(count[1]);
    }
  }
  // The limiter counts steady-clock seconds, the timestamps are wall-clock: one wall-clock second
  // can hold the end of one budget and the start of the next.
  for (const auto& [second, n] : info_per_second)
    EXPECT_LE(n, 2 * budget) << n << " info lines in " << second;
  const int seconds_spanned = static_cast<int>(storm_ms / 1000) + 2;
  EXPECT_LE(session_lines, budget * (seconds_spanned + 1))
      << "info lines of the sessions written (storm of " << storm_ms << " ms)";
  EXPECT_GT(suppressed, 0);
  // Every line of the storm (login and close per session, plus the last session) is either
  // written or counted.
  EXPECT_GE(session_lines + suppressed, 2 * (sessions + 1))
      << "written " << session_lines << ", suppressed " << suppressed;
  std::cout << "[ operations ] storm of " << storm_ms << " ms: " << session_lines
            << " session lines written, " << suppressed << " counted as suppressed" << std::endl;
}

// ---- 6. Secrets from the environment ------------------------------------------------------

TEST_F(OperationsTest, BackendPasswordFromTheEnvironmentOverridesTheFile) {
  sluice_config config = make_config({{"backend.password", "wrong-password-in-file"}});
  {
    // Control: the file's password alone does not log in to MariaDB.
    sluice_process control(config);
    std::string why;
    auto client = login(control.port(), "app", "app-pw", &why);
    ASSERT_TRUE(client) << why;
    EXPECT_FALSE(client->query("SELECT 1").ok) << "the wrong password in the file worked";
  }
  config.set("metrics", "listen", "127.0.0.1:" + std::to_string(free_port()));
  config.set("admin", "listen", "127.0.0.1:" + std::to_string(free_port()));
  sluice_launch launch;
  launch.environment = {std::string("SLUICE_BACKEND_PASSWORD=") + mariadb_server::backend_password};
  sluice_process proxy(config, launch);
  std::string why;
  auto client = login(proxy.port(), "app", "app-pw", &why);
  ASSERT_TRUE(client) << why;
  const auto result = client->query("SELECT CURRENT_USER()");
  ASSERT_TRUE(result.ok) << "SLUICE_BACKEND_PASSWORD did not reach the backend login: "
                         << result.describe();
  EXPECT_THAT(result.rows.at(0).at(0).value_or(""),
              ::testing::StartsWith(mariadb_server::backend_user));
  EXPECT_EQ(proxy.log().find(mariadb_server::backend_password), std::string::npos)
      << "the backend password is in the log";
  EXPECT_THAT(admin_command(admin_port(config), "SHOW CONFIG"),
              ::testing::Not(HasSubstr(mariadb_server::backend_password)));
}

TEST_F(OperationsTest, CheckConfigNamesABadEnvironmentVariable) {
  const auto dir = make_temp_dir("sluice-ops-");
  const auto file = dir / "sluice.ini";
  replace_file(file, make_config().text());
  const std::string env = find_program("env");

  const auto good = run_command({env, sluice_binary(), "--check-config", file.string()}, 20s);
  EXPECT_EQ(good.status, 0) << good.output;

  const auto bad = run_command(
      {env, "SLUICE_QUEUE_TIMEOUT=soon", sluice_binary(), "--check-config", file.string()}, 20s);
  EXPECT_NE(bad.status, 0) << bad.output;
  EXPECT_FALSE(bad.timed_out);
  EXPECT_THAT(bad.output, HasSubstr("SLUICE_QUEUE_TIMEOUT")) << "the variable is not named";
  EXPECT_THAT(bad.output, HasSubstr("soon"));
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

// ---- 7. The open-files limit --------------------------------------------------------------

// The soft and hard "Max open files" of a running process.
std::pair<std::string, std::string> open_files_limits(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("Max open files")) continue;
    std::istringstream words(line.substr(std::string("Max open files").size()));
    std::string soft, hard;
    words >> soft >> hard;
    return {soft, hard};
  }
  return {};
}

TEST_F(OperationsTest, OpenFilesLimitIsRaisedOrWarnedAbout) {
  try {
    find_program("prlimit");
  } catch (const std::exception&) {
    GTEST_SKIP() << "prlimit (util-linux) is not installed";
  }
  // needed = max_connections 16 + max_waiting 5000 + admin 16 + HTTP 32 + 64 spare.
  const std::string needed = "5128";
  const auto line_of = [](const std::string& log) {
    for (const auto& line : lines_of(log))
      if (line.find("open_files_limit") != std::string::npos) return line;
    return std::string();
  };

  sluice_config config = make_config({{"queue.max_waiting", "5000"}});
  {
    // The hard limit leaves room: the soft limit is raised to what the configuration needs.
    sluice_launch launch;
    launch.wrapper = {"prlimit", "--nofile=256:8192", "--"};
    sluice_process roomy(config, launch);
    const std::string line = line_of(roomy.log());
    EXPECT_THAT(line, HasSubstr("info")) << roomy.log();
    EXPECT_THAT(line, HasSubstr("raised=" + needed)) << roomy.log();
    EXPECT_EQ(open_files_limits(roomy.pid()), std::make_pair(needed, std::string("8192")));
  }
  config.set("metrics", "listen", "127.0.0.1:" + std::to_string(free_port()));
  config.set("admin", "listen", "127.0.0.1:" + std::to_string(free_port()));
  {
    // The hard limit is too low: raised to it, with a warning naming both numbers.
    sluice_launch launch;
    launch.wrapper = {"prlimit", "--nofile=256:1024", "--"};
    sluice_process tight(config, launch);
    const std::string line = line_of(tight.log());
    EXPECT_THAT(line, HasSubstr("warn")) << tight.log();
    EXPECT_THAT(line, HasSubstr("limit=1024")) << tight.log();
    EXPECT_THAT(line, HasSubstr("needed=" + needed)) << tight.log();
    EXPECT_EQ(open_files_limits(tight.pid()),
              std::make_pair(std::string("1024"), std::string("1024")));
    std::string why;
    auto client = login(tight.port(), "app", "app-pw", &why);
    ASSERT_TRUE(client) << "sluice under a low limit does not serve: " << why;
    EXPECT_EQ(client->scalar("SELECT 1"), "1");
  }
}

}  // namespace
}  // namespace sluice::test
