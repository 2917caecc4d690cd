// The Prometheus scrape target: what /metrics says while the pool is exhausted, after queue
// timeouts and once it recovers; the exposition format itself; scrapes during a drain.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "proxy/errors.h"
#include "tests/support/client.h"
#include "tests/support/fixtures.h"
#include "tests/support/http_client.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;
using labels = std::map<std::string, std::string>;

constexpr unsigned queue_timeout_error = proxy::sluice_error::queue_timeout;

// ---- The text exposition format (version 0.0.4) -------------------------------------------

struct sample {
  std::string name;
  labels label_set;
  double value = 0;
};

struct exposition {
  std::vector<sample> samples;
  std::map<std::string, std::string> help;  // family -> help text
  std::map<std::string, std::string> type;  // family -> counter, gauge, histogram, ...
  std::vector<std::string> errors;          // lines that do not parse, families not declared

  // The sample with exactly these labels, if there is one.
  std::optional<double> value(const std::string& name, const labels& wanted) const {
    for (const auto& s : samples)
      if (s.name == name && s.label_set == wanted) return s.value;
    return std::nullopt;
  }
  // A histogram bucket by its numeric bound (the text form of `le` is the exporter's choice).
  std::optional<double> bucket(const std::string& histogram, labels wanted, double le) const {
    for (const auto& s : samples) {
      if (s.name != histogram + "_bucket") continue;
      auto rest = s.label_set;
      const auto it = rest.find("le");
      if (it == rest.end()) continue;
      const double bound =
          it->second == "+Inf" ? INFINITY : std::strtod(it->second.c_str(), nullptr);
      rest.erase(it);
      if (rest == wanted && bound == le) return s.value;
    }
    return std::nullopt;
  }
};

bool is_name_char(char c, bool first) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
         (!first && std::isdigit(static_cast<unsigned char>(c)));
}

std::optional<double> parse_number(const std::string& text) {
  if (text == "+Inf" || text == "Inf") return INFINITY;
  if (text == "-Inf") return -INFINITY;
  if (text == "NaN") return NAN;
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return std::nullopt;
  return v;
}

// Parses `name{a="x",b="y"} value [timestamp]`; nullopt when the line is malformed.
std::optional<sample> parse_sample(const std::string& line) {
  sample s;
  std::size_t i = 0;
  while (i < line.size() && is_name_char(line[i], i == 0)) ++i;
  if (i == 0) return std::nullopt;
  s.name = line.substr(0, i);
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      const std::size_t start = i;
      while (i < line.size() && is_name_char(line[i], i == start)) ++i;
      if (i == start || i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"')
        return std::nullopt;
      const std::string key = line.substr(start, i - start);
      i += 2;
      std::string value;
      for (; i < line.size() && line[i] != '"'; ++i) {
        if (line[i] == '\\') {
          if (++i >= line.size()) return std::nullopt;
          if (line[i] == 'n')
            value += '\n';
          else if (line[i] == '\\' || line[i] == '"')
            value += line[i];
          else
            return std::nullopt;
        } else {
          value += line[i];
        }
      }
      if (i >= line.size()) return std::nullopt;
      ++i;                                                               // closing quote
      if (!s.label_set.emplace(key, value).second) return std::nullopt;  // duplicated label
      if (i < line.size() && line[i] == ',') ++i;
    }
    if (i >= line.size()) return std::nullopt;
    ++i;  // closing brace
  }
  if (i >= line.size() || line[i] != ' ') return std::nullopt;
  std::istringstream rest(line.substr(i + 1));
  std::string value_text, timestamp, extra;
  rest >> value_text >> timestamp >> extra;
  const auto value = parse_number(value_text);
  if (!value || !extra.empty()) return std::nullopt;
  if (!timestamp.empty() && !parse_number(timestamp)) return std::nullopt;
  s.value = *value;
  return s;
}

// The family a sample belongs to: its own name, or a histogram's/summary's name without the
// _bucket, _sum or _count suffix.
std::string family_of(const std::string& name, const std::map<std::string, std::string>& types) {
  if (types.contains(name)) return name;
  for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
    if (!name.ends_with(suffix)) continue;
    const std::string base = name.substr(0, name.size() - suffix.size());
    const auto it = types.find(base);
    if (it != types.end() && (it->second == "histogram" || it->second == "summary")) return base;
  }
  return "";
}

exposition parse_exposition(const std::string& text) {
  exposition e;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
      const bool is_help = line[2] == 'H';
      const std::string rest = line.substr(7);
      const auto space = rest.find(' ');
      const std::string family = rest.substr(0, space);
      const std::string what = space == std::string::npos ? "" : rest.substr(space + 1);
      auto& table = is_help ? e.help : e.type;
      if (!table.emplace(family, what).second) e.errors.push_back("declared twice: " + line);
      if (!is_help &&
          !std::set<std::string>{"counter", "gauge", "histogram", "summary", "untyped"}.contains(
              what))
        e.errors.push_back("unknown type: " + line);
      if (is_help && what.empty()) e.errors.push_back("empty help: " + line);
      continue;
    }
    if (line[0] == '#') continue;  // a comment
    auto s = parse_sample(line);
    if (!s) {
      e.errors.push_back("does not parse: " + line);
      continue;
    }
    const std::string family = family_of(s->name, e.type);
    if (family.empty())
      e.errors.push_back("no TYPE before the sample: " + line);
    else if (!e.help.contains(family))
      e.errors.push_back("no HELP for the family of: " + line);
    e.samples.push_back(std::move(*s));
  }
  for (const auto& [family, type] : e.type)
    if (!e.help.contains(family)) e.errors.push_back("TYPE without HELP: " + family);
  for (const auto& [family, help] : e.help)
    if (!e.type.contains(family)) e.errors.push_back("HELP without TYPE: " + family);
  return e;
}

// ---- Fixture ----------------------------------------------------------------------------------

class MetricsTest : public integration_test {
 protected:
  sluice_process& start(const config_overrides& overrides = {}) {
    sluice_config config = make_config(overrides);
    const std::string listen = config.get("metrics", "listen");
    metrics_port_ = static_cast<std::uint16_t>(std::stoi(listen.substr(listen.rfind(':') + 1)));
    sluice_process& process = start_sluice(config);
    // The harness waits for the client port; the scrape target comes up just after it.
    const bool serving = wait_until(
        [&] {
          const auto r = http_get(metrics_port_, "/metrics", 1s);
          return r && r->status == 200;
        },
        10s);
    EXPECT_TRUE(serving) << "nothing serves /metrics on port " << metrics_port_;
    return process;
  }

  // One scrape, parsed; fails the test (and returns an empty exposition) when it does not work.
  exposition scrape() {
    const auto response = http_get(metrics_port_, "/metrics");
    if (!response) {
      ADD_FAILURE() << "GET /metrics on port " << metrics_port_ << " got no answer";
      return {};
    }
    EXPECT_EQ(response->status, 200) << response->headers;
    exposition e = parse_exposition(response->body);
    EXPECT_TRUE(e.errors.empty()) << ::testing::PrintToString(e.errors);
    return e;
  }

  // A gauge or counter with exactly these labels; NaN (which fails any comparison) if absent.
  double metric(const exposition& e, const std::string& name, const labels& l = {}) {
    const auto v = e.value(name, l);
    EXPECT_TRUE(v.has_value()) << name << ::testing::PrintToString(l) << " is not exported";
    return v.value_or(NAN);
  }

  std::uint16_t metrics_port_ = 0;
};

const labels pool_default = {{"pool", "default"}};

TEST_F(MetricsTest, ExhaustedPoolShowsWaitersThenTimeoutsThenRecovers) {
  start({{"backend.max_connections", "2"}, {"queue.timeout", "500ms"}});
  const exposition before = scrape();
  EXPECT_EQ(metric(before, "sluice_backend_max_connections", pool_default), 2);
  EXPECT_EQ(metric(before, "sluice_queue_timeout_seconds", pool_default), 0.5);
  EXPECT_EQ(metric(before, "sluice_clients", {{"state", "waiting"}}), 0);

  // Two clients hold both backends inside open transactions.
  std::vector<std::unique_ptr<mysql_client>> holders;
  for (int i = 0; i < 2; ++i) {
    holders.push_back(connect_app());
    holders.back()->execute("BEGIN");
    ASSERT_EQ(holders.back()->scalar("SELECT 1"), "1");
  }
  constexpr std::size_t waiter_count = 4;
  std::vector<std::unique_ptr<mysql_client>> waiters;
  for (std::size_t i = 0; i < waiter_count; ++i) waiters.push_back(connect_app());

  std::vector<query_result> results(waiter_count);
  std::atomic<std::size_t> finished{0};
  {
    std::vector<std::jthread> threads;
    for (std::size_t i = 0; i < waiter_count; ++i)
      threads.emplace_back([&, i] {
        results[i] = waiters[i]->query("SELECT 1");
        ++finished;
      });
    // The gauges refresh every 250 ms and the statements wait 500 ms: poll while they wait.
    double most_waiting = 0, most_waiting_app = 0, longest_wait = 0, most_active = 0;
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (finished < waiter_count && std::chrono::steady_clock::now() < deadline) {
      const exposition now = scrape();
      most_waiting =
          std::max(most_waiting, now.value("sluice_clients", {{"state", "waiting"}}).value_or(0));
      most_waiting_app = std::max(
          most_waiting_app,
          now.value("sluice_queue_waiting", {{"pool", "default"}, {"user", "app"}}).value_or(0));
      longest_wait = std::max(
          longest_wait, now.value("sluice_queue_oldest_wait_seconds", pool_default).value_or(0));
      most_active = std::max(
          most_active,
          now.value("sluice_backends", {{"pool", "default"}, {"state", "active"}}).value_or(0));
      std::this_thread::sleep_for(20ms);
    }
    EXPECT_GE(most_waiting, 1) << "sluice_clients{state=\"waiting\"} never rose";
    EXPECT_LE(most_waiting, waiter_count);
    EXPECT_GE(most_waiting_app, 1)
        << "sluice_queue_waiting{pool=\"default\",user=\"app\"} never rose";
    EXPECT_GT(longest_wait, 0)
        << "sluice_queue_oldest_wait_seconds stayed 0 while statements waited";
    EXPECT_LE(longest_wait, 2);
    EXPECT_EQ(most_active, 2) << "both backends were leased to the holders";
  }
  std::size_t timed_out = 0;
  for (const auto& r : results)
    if (!r.ok && r.error_code == queue_timeout_error) ++timed_out;
  EXPECT_EQ(timed_out, waiter_count) << "the holders kept both backends for the whole wait";

  const exposition after = scrape();
  const double n = static_cast<double>(timed_out);
  EXPECT_EQ(metric(after, "sluice_queue_timeouts_total", pool_default) -
                metric(before, "sluice_queue_timeouts_total", pool_default),
            n);
  EXPECT_EQ(metric(after, "sluice_rejections_total", {{"reason", "queue_timeout"}}) -
                metric(before, "sluice_rejections_total", {{"reason", "queue_timeout"}}),
            n);
  // The histogram: every lease is observed; the timed-out waits lasted at least the 500 ms.
  const std::string wait = "sluice_queue_wait_seconds";
  const double count_growth =
      metric(after, wait + "_count", pool_default) - metric(before, wait + "_count", pool_default);
  EXPECT_GE(count_growth, n);
  const auto growth = [&](double le) {
    return after.bucket(wait, pool_default, le).value_or(NAN) -
           before.bucket(wait, pool_default, le).value_or(NAN);
  };
  EXPECT_EQ(growth(INFINITY), count_growth) << "+Inf bucket and _count disagree";
  EXPECT_EQ(growth(0.5), count_growth - n) << "a timed-out wait was counted at or under 0.5 s";
  for (const double le : {1.0, 2.5, 5.0, 10.0, 30.0})
    EXPECT_GE(growth(le), growth(0.5) + n) << "bucket le=" << le;
  EXPECT_GE(
      metric(after, wait + "_sum", pool_default) - metric(before, wait + "_sum", pool_default),
      0.5 * n);

  // Recovery: the holders commit and everyone leaves.
  for (auto& h : holders) h->execute("COMMIT");
  holders.clear();
  waiters.clear();
  double idle = -1, waiting = -1, waiting_app = -1, active_clients = -1, active_backends = -1,
         connected = -1;
  int open_connections = -2;
  const bool settled = wait_until(
      [&] {
        const exposition now = scrape();
        idle = metric(now, "sluice_backends", {{"pool", "default"}, {"state", "idle"}});
        active_backends =
            metric(now, "sluice_backends", {{"pool", "default"}, {"state", "active"}});
        waiting = metric(now, "sluice_clients", {{"state", "waiting"}});
        active_clients = metric(now, "sluice_clients", {{"state", "active"}});
        connected = metric(now, "sluice_clients", {{"state", "connected"}});
        waiting_app = metric(now, "sluice_queue_waiting", {{"pool", "default"}, {"user", "app"}});
        open_connections = server().count_backend_connections();
        return waiting == 0 && waiting_app == 0 && active_clients == 0 && active_backends == 0 &&
               connected == 0 && idle == open_connections;
      },
      5s, 50ms);
  EXPECT_TRUE(settled) << "idle=" << idle << " open backend connections=" << open_connections
                       << " active backends=" << active_backends << " waiting=" << waiting
                       << " waiting{app}=" << waiting_app << " active clients=" << active_clients
                       << " connected=" << connected;
  EXPECT_EQ(idle, 2) << "both backends opened for the holders stay pooled (idle_timeout 300s)";
}

TEST_F(MetricsTest, WrongPasswordCountsAsAuthFailedRejection) {
  start();
  const labels auth_failed = {{"reason", "auth_failed"}};
  const double before = metric(scrape(), "sluice_rejections_total", auth_failed);
  mysql_client intruder;
  ASSERT_FALSE(intruder.connect("127.0.0.1", sluice_port(), "app", "not-the-password"));
  EXPECT_EQ(intruder.error_code(), 1045u);
  // The client may read its error a moment before the event loop counts it: poll briefly.
  exposition after;
  double counted = 0;
  wait_until(
      [&] {
        after = scrape();
        counted = metric(after, "sluice_rejections_total", auth_failed) - before;
        return counted >= 1;
      },
      2s);
  EXPECT_EQ(counted, 1);
  // A good login is no rejection.
  auto good = connect_app();
  ASSERT_EQ(good->scalar("SELECT 1"), "1");
  EXPECT_EQ(metric(scrape(), "sluice_rejections_total", auth_failed) - before, 1);
  EXPECT_EQ(metric(after, "sluice_rejections_total", {{"reason", "queue_timeout"}}), 0);
}

TEST_F(MetricsTest, BuildInfoCarriesTheVersionAndUpIsOne) {
  start();
  const command_result version = run_sluice({"--version"});
  ASSERT_EQ(version.status, 0) << version.output;
  // "sluice 0.1.0\n" -> "0.1.0"
  std::string number = version.output.substr(version.output.find(' ') + 1);
  number.erase(number.find_last_not_of(" \n") + 1);
  const exposition e = scrape();
  EXPECT_EQ(metric(e, "sluice_build_info", {{"version", number}}), 1);
  std::size_t build_info_samples = 0;
  for (const auto& s : e.samples) build_info_samples += s.name == "sluice_build_info";
  EXPECT_EQ(build_info_samples, 1u);
  EXPECT_EQ(metric(e, "sluice_up"), 1);
  EXPECT_EQ(e.type.at("sluice_build_info"), "gauge");
}

TEST_F(MetricsTest, EveryLineParsesEveryFamilyIsDeclaredAndLabelsStayBounded) {
  start({{"backend.max_connections", "1"}, {"queue.timeout", "300ms"}});
  const auto response = http_get(metrics_port_, "/metrics");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_NE(response->headers.find("text/plain"), std::string::npos) << response->headers;

  // Traffic that could leak into labels if sluice labelled by client or statement: distinctive
  // query text, a pinned client, a rejected unknown user, a statement that times out.
  const std::string secret_sql = "SELECT 'query-text-must-not-be-a-label' AS q";
  auto pinned = connect_app();
  ASSERT_EQ(pinned->scalar(secret_sql), "query-text-must-not-be-a-label");
  pinned->execute("SELECT @remember_me := 1");  // pins, and keeps the only backend
  auto waiter = connect_app();
  EXPECT_EQ(waiter->query("SELECT 2").error_code, queue_timeout_error);
  mysql_client intruder;
  EXPECT_FALSE(intruder.connect("127.0.0.1", sluice_port(), "intruder-user", "x"));
  // Gauges refresh every 250 ms, and a rejection is counted just after the client reads it.
  exposition e;
  const bool refreshed = wait_until(
      [&] {
        e = scrape();
        return e.value("sluice_clients_pinned", {{"reason", "user_variable"}}) == 1 &&
               e.value("sluice_rejections_total", {{"reason", "auth_failed"}}) == 1;
      },
      3s, 50ms);
  EXPECT_TRUE(refreshed) << "the pinned client or the failed login never showed";
  ASSERT_GT(e.samples.size(), 50u);

  const std::set<std::string> known_label_names = {
      "pool", "user", "reason", "state", "direction", "version", "kind", "le", "account"};
  const std::set<std::string> configured_users = {"app", "other"};
  std::set<std::string> families_with_samples;
  for (const auto& s : e.samples) {
    families_with_samples.insert(family_of(s.name, e.type));
    const bool ours = s.name.starts_with("sluice_");  // not an HTTP library's own metrics
    for (const auto& [key, value] : s.label_set) {
      if (ours) {
        EXPECT_TRUE(known_label_names.contains(key)) << s.name << " has label " << key;
      }
      if (key == "user") {
        EXPECT_TRUE(configured_users.contains(value)) << s.name << " " << value;
      }
      for (const std::string leak :
           {"127.0.0.1", "query-text", "SELECT", "intruder", "remember_me", ":"})
        EXPECT_EQ(value.find(leak), std::string::npos)
            << s.name << "{" << key << "=\"" << value << "\"} contains " << leak;
    }
  }
  // Every family the metric table declares is exported with at least one sample.
  for (const std::string family : {"sluice_statements_total",
                                   "sluice_transactions_total",
                                   "sluice_client_bytes_total",
                                   "sluice_statement_duration_seconds",
                                   "sluice_client_connections_total",
                                   "sluice_rejections_total",
                                   "sluice_queue_wait_seconds",
                                   "sluice_queue_timeouts_total",
                                   "sluice_queue_overflows_total",
                                   "sluice_backend_connects_total",
                                   "sluice_backend_connect_failures_total",
                                   "sluice_backend_connect_duration_seconds",
                                   "sluice_backend_closed_total",
                                   "sluice_backend_resets_total",
                                   "sluice_state_restores_total",
                                   "sluice_backend_statement_prepares_total",
                                   "sluice_backends",
                                   "sluice_backend_max_connections",
                                   "sluice_clients",
                                   "sluice_clients_pinned",
                                   "sluice_queue_waiting",
                                   "sluice_queue_max_waiting",
                                   "sluice_queue_timeout_seconds",
                                   "sluice_queue_oldest_wait_seconds",
                                   "sluice_pool_paused",
                                   "sluice_backends_reserve_in_use",
                                   "sluice_client_timeouts_total",
                                   "sluice_build_info",
                                   "sluice_up"})
    EXPECT_TRUE(families_with_samples.contains(family)) << family << " has no sample";
  for (const std::string reason :
       {"max_client_connections", "per_user", "per_address", "queue_full", "queue_timeout",
        "backend_unavailable", "auth_failed"})
    EXPECT_TRUE(e.value("sluice_rejections_total", {{"reason", reason}}).has_value()) << reason;
  EXPECT_EQ(metric(e, "sluice_rejections_total", {{"reason", "auth_failed"}}), 1);
  EXPECT_EQ(metric(e, "sluice_queue_timeouts_total", pool_default), 1);
}

TEST_F(MetricsTest, ScrapesSucceedDuringAGracefulDrain) {
  start({{"sluice.shutdown_timeout", "10s"}});
  auto client = connect_app();
  query_result sleeping;
  std::jthread runner([&] { sleeping = client->query("SELECT SLEEP(1)"); });
  const bool started = wait_until(
      [&] {
        return server()
                   .query(
                       "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                       "WHERE INFO LIKE 'SELECT SLEEP(1)%'")
                   .at(0)
                   .at(0) != "0";
      },
      10s);
  ASSERT_TRUE(started) << "SELECT SLEEP(1) never reached the backend";

  sluice().send_signal(SIGTERM);
  // Draining: sluice stops accepting clients while the statement still runs.
  const bool draining = wait_until([&] { return !port_accepts(sluice_port()); }, 900ms, 10ms);
  const auto response = http_get(metrics_port_, "/metrics", 2s);
  const bool still_running = sluice().running();
  runner.join();

  EXPECT_TRUE(draining) << "sluice still accepted clients after SIGTERM";
  ASSERT_TRUE(response.has_value()) << "the scrape during the drain got no answer";
  EXPECT_EQ(response->status, 200);
  EXPECT_TRUE(still_running) << "sluice exited before the running statement ended";
  const exposition e = parse_exposition(response->body);
  EXPECT_TRUE(e.errors.empty()) << ::testing::PrintToString(e.errors);
  EXPECT_EQ(e.value("sluice_up", {}).value_or(0), 1);
  EXPECT_TRUE(sleeping.ok) << sleeping.describe();
  const auto status = sluice().wait_for_exit(10s);
  ASSERT_TRUE(status.has_value()) << "sluice did not exit after the drain";
  EXPECT_EQ(*status, 0);
}

}  // namespace
}  // namespace sluice::test
