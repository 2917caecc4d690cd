// storm_client: the connection storm of bench/storm.sh. N clients at once each connect, run a few
// statements and disconnect; it reports how many made it, the failures by MySQL error code, the
// latencies and, through sluice, the queue wait from sluice's sluice_queue_wait_seconds histogram.
//
// The clients run on Connector/C's non-blocking API (MYSQL_OPT_NONBLOCK with the *_start / *_cont
// calls), one poll() loop per thread over ~50 of them: 2,000 concurrent clients take 40 threads
// instead of 2,000, and no client waits for another's blocking call.
#include <arpa/inet.h>
#include <mysql.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct options {
  std::string host = "127.0.0.1";
  unsigned port = 0;
  std::string user;
  std::string password;
  std::string database;
  std::size_t clients = 2000;
  std::size_t clients_per_thread = 50;
  int statements = 3;
  std::string statement = "SELECT SLEEP(0.05), 1";
  unsigned connect_timeout_s = 30;
  unsigned read_timeout_s = 60;
  unsigned metrics_port = 0;  // sluice's /metrics, for the queue wait; 0: not through sluice
  std::string label = "target";
  std::string ssl_ca;  // non-empty: every client insists on TLS and verifies the server with it
};

void usage(std::FILE* out) {
  std::fprintf(
      out,
      "Usage: storm_client --port P --user U --password PW [options]\n"
      "\n"
      "  --host H                 server address (default 127.0.0.1)\n"
      "  --database D             default schema (default none)\n"
      "  --clients N              concurrent clients (default 2000)\n"
      "  --clients-per-thread N   clients driven by one thread (default 50)\n"
      "  --statements N           statements per client (default 3)\n"
      "  --statement SQL          the statement (default \"SELECT SLEEP(0.05), 1\")\n"
      "  --connect-timeout S      Connector/C connect timeout, seconds (default 30)\n"
      "  --read-timeout S         Connector/C read timeout, seconds (default 60)\n"
      "  --metrics-port P         sluice's /metrics port: report its queue wait\n"
      "  --label NAME             name of the target in the report (default target)\n"
      "  --ssl-ca FILE            TLS for every client, the server's certificate verified\n"
      "                           against FILE (default: no TLS)\n"
      "\n"
      "Prints a report, and a last line 'RESULT key=value ...' for scripts. Exit status 0\n"
      "whatever the clients' fate (failures are the measurement), 2 on bad usage.\n");
}

std::optional<options> parse_options(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      usage(stdout);
      std::exit(0);
    }
    if (i + 1 >= argc) return std::nullopt;
    const std::string value = argv[++i];
    char* end = nullptr;
    const unsigned long number = std::strtoul(value.c_str(), &end, 10);
    const bool numeric = !value.empty() && *end == '\0';
    if (arg == "--host") {
      o.host = value;
    } else if (arg == "--user") {
      o.user = value;
    } else if (arg == "--password") {
      o.password = value;
    } else if (arg == "--database") {
      o.database = value;
    } else if (arg == "--statement") {
      o.statement = value;
    } else if (arg == "--ssl-ca") {
      o.ssl_ca = value;
    } else if (arg == "--label") {
      o.label = value;
    } else if (!numeric) {
      return std::nullopt;
    } else if (arg == "--port") {
      o.port = static_cast<unsigned>(number);
    } else if (arg == "--clients") {
      o.clients = number;
    } else if (arg == "--clients-per-thread") {
      o.clients_per_thread = number;
    } else if (arg == "--statements") {
      o.statements = static_cast<int>(number);
    } else if (arg == "--connect-timeout") {
      o.connect_timeout_s = static_cast<unsigned>(number);
    } else if (arg == "--read-timeout") {
      o.read_timeout_s = static_cast<unsigned>(number);
    } else if (arg == "--metrics-port") {
      o.metrics_port = static_cast<unsigned>(number);
    } else {
      return std::nullopt;
    }
  }
  if (o.port == 0 || o.port > 65535 || o.user.empty() || o.clients == 0 ||
      o.clients_per_thread == 0)
    return std::nullopt;
  return o;
}

// ---- One client's life as a state machine over non-blocking calls ---------------------------

enum class step { connect, query, store, close, done };

struct client {
  MYSQL* mysql = nullptr;
  step at = step::connect;
  bool in_call = false;  // the current step's *_start returned "wait"; continue with *_cont
  int waiting_for = 0;   // MYSQL_WAIT_* bits of the call in progress
  steady::time_point timeout_at{};
  int statements_left = 0;
  MYSQL* connected = nullptr;
  int query_error = 0;
  MYSQL_RES* result = nullptr;
  bool failed = false;
  unsigned error = 0;
  std::string message;
  steady::time_point started{}, statement_started{}, finished{};
};

// What one thread saw; merged at the end.
struct tally {
  std::size_t ok = 0;
  std::size_t statements = 0;
  std::map<unsigned, std::pair<std::size_t, std::string>> errors;  // code -> count, a message
  std::vector<double> statement_ms;
  std::vector<double> client_s;
};

class storm_thread {
 public:
  storm_thread(const options& o, std::size_t count) : options_(o), clients_(count) {}

  tally run() {
    for (auto& c : clients_) start(c);
    std::vector<pollfd> fds;
    std::vector<client*> owners;
    for (;;) {
      fds.clear();
      owners.clear();
      auto next_timeout = steady::time_point::max();
      for (auto& c : clients_) {
        if (c.at == step::done) continue;
        short events = 0;
        if (c.waiting_for & MYSQL_WAIT_READ) events |= POLLIN;
        if (c.waiting_for & MYSQL_WAIT_WRITE) events |= POLLOUT;
        if (c.waiting_for & MYSQL_WAIT_EXCEPT) events |= POLLPRI;
        if (c.waiting_for & MYSQL_WAIT_TIMEOUT) next_timeout = std::min(next_timeout, c.timeout_at);
        fds.push_back({static_cast<int>(mysql_get_socket(c.mysql)), events, 0});
        owners.push_back(&c);
      }
      if (owners.empty()) break;
      int wait_ms = -1;
      if (next_timeout != steady::time_point::max()) {
        const auto left =
            std::chrono::duration_cast<milliseconds>(next_timeout - steady::now()).count();
        wait_ms = static_cast<int>(std::clamp<long long>(left + 1, 0, 60'000));
      }
      if (::poll(fds.data(), fds.size(), wait_ms) < 0 && errno != EINTR) {
        std::perror("storm_client: poll");
        std::exit(1);
      }
      const auto now = steady::now();
      for (std::size_t i = 0; i < owners.size(); ++i) {
        client& c = *owners[i];
        const short got = fds[i].revents;
        int ready = 0;
        // An error or hang-up wakes whatever the call waits for; the library then sees it.
        if (got & (POLLIN | POLLERR | POLLHUP)) ready |= MYSQL_WAIT_READ;
        if (got & (POLLOUT | POLLERR | POLLHUP)) ready |= MYSQL_WAIT_WRITE;
        if (got & POLLPRI) ready |= MYSQL_WAIT_EXCEPT;
        ready &= c.waiting_for;
        if (ready == 0 && (c.waiting_for & MYSQL_WAIT_TIMEOUT) && now >= c.timeout_at)
          ready = MYSQL_WAIT_TIMEOUT;
        if (ready != 0) drive(c, ready);
      }
    }
    return std::move(tally_);
  }

 private:
  void start(client& c) {
    c.mysql = mysql_init(nullptr);
    if (c.mysql == nullptr) {
      std::fprintf(stderr, "storm_client: mysql_init: out of memory\n");
      std::exit(1);
    }
    unsigned int protocol = MYSQL_PROTOCOL_TCP;
    mysql_options(c.mysql, MYSQL_OPT_NONBLOCK, nullptr);
    mysql_options(c.mysql, MYSQL_OPT_PROTOCOL, &protocol);
    mysql_options(c.mysql, MYSQL_OPT_CONNECT_TIMEOUT, &options_.connect_timeout_s);
    mysql_options(c.mysql, MYSQL_OPT_READ_TIMEOUT, &options_.read_timeout_s);
    mysql_options(c.mysql, MYSQL_OPT_WRITE_TIMEOUT, &options_.read_timeout_s);
    if (!options_.ssl_ca.empty()) {
      my_bool on = 1;
      mysql_options(c.mysql, MYSQL_OPT_SSL_ENFORCE, &on);
      mysql_options(c.mysql, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on);
      mysql_options(c.mysql, MYSQL_OPT_SSL_CA, options_.ssl_ca.c_str());
    }
    c.statements_left = options_.statements;
    c.started = steady::now();
    drive(c, 0);
  }

  void fail(client& c) {
    c.failed = true;
    c.error = mysql_errno(c.mysql);
    c.message = mysql_error(c.mysql);
    c.at = step::close;
  }

  // Runs the client's current call (started, or continued with the `ready` events) and the
  // steps after it until one has to wait for the network, or the client is done.
  void drive(client& c, int ready) {
    for (;;) {
      int wait = 0;
      switch (c.at) {
        case step::connect:
          wait = c.in_call ? mysql_real_connect_cont(&c.connected, c.mysql, ready)
                           : mysql_real_connect_start(
                                 &c.connected, c.mysql, options_.host.c_str(),
                                 options_.user.c_str(), options_.password.c_str(),
                                 options_.database.empty() ? nullptr : options_.database.c_str(),
                                 options_.port, nullptr, 0);
          if (wait == 0) {
            if (c.connected == nullptr)
              fail(c);
            else
              c.at = c.statements_left > 0 ? step::query : step::close;
          }
          break;
        case step::query:
          if (!c.in_call) c.statement_started = steady::now();
          wait = c.in_call
                     ? mysql_real_query_cont(&c.query_error, c.mysql, ready)
                     : mysql_real_query_start(&c.query_error, c.mysql, options_.statement.data(),
                                              options_.statement.size());
          if (wait == 0) {
            if (c.query_error != 0)
              fail(c);
            else
              c.at = step::store;
          }
          break;
        case step::store:
          wait = c.in_call ? mysql_store_result_cont(&c.result, c.mysql, ready)
                           : mysql_store_result_start(&c.result, c.mysql);
          if (wait == 0) {
            if (c.result == nullptr && mysql_errno(c.mysql) != 0) {
              fail(c);
            } else {
              mysql_free_result(c.result);  // stored whole: no network I/O left
              c.result = nullptr;
              ++tally_.statements;
              tally_.statement_ms.push_back(
                  std::chrono::duration<double, std::milli>(steady::now() - c.statement_started)
                      .count());
              c.at = --c.statements_left > 0 ? step::query : step::close;
            }
          }
          break;
        case step::close:
          wait = c.in_call ? mysql_close_cont(c.mysql, ready) : mysql_close_start(c.mysql);
          if (wait == 0) finish(c);
          break;
        case step::done:
          return;
      }
      if (wait != 0) {
        c.in_call = true;
        c.waiting_for = wait;
        if (wait & MYSQL_WAIT_TIMEOUT)
          c.timeout_at = steady::now() + milliseconds(mysql_get_timeout_value_ms(c.mysql));
        return;
      }
      c.in_call = false;
      c.waiting_for = 0;
      ready = 0;
    }
  }

  void finish(client& c) {
    c.mysql = nullptr;  // mysql_close freed it
    c.at = step::done;
    c.finished = steady::now();
    if (c.failed) {
      auto& entry = tally_.errors[c.error];
      if (entry.first++ == 0) entry.second = c.message;
      return;
    }
    ++tally_.ok;
    tally_.client_s.push_back(std::chrono::duration<double>(c.finished - c.started).count());
  }

  const options& options_;
  std::vector<client> clients_;
  tally tally_;
};

// ---- sluice's queue-wait histogram ------------------------------------------------------------

// GET /metrics from 127.0.0.1:port (HTTP/1.0: the server closes after the answer); "" on failure.
std::string scrape_metrics(unsigned port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string raw;
  const std::string request = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0 &&
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
    char chunk[16384];
    for (ssize_t n; (n = ::recv(fd, chunk, sizeof chunk, 0)) > 0;)
      raw.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(fd);
  const auto body = raw.find("\r\n\r\n");
  return body == std::string::npos ? "" : raw.substr(body + 4);
}

// Cumulative bucket counts of sluice_queue_wait_seconds by upper bound (+Inf as infinity).
std::map<double, double> queue_wait_buckets(const std::string& exposition) {
  std::map<double, double> buckets;
  std::istringstream in(exposition);
  std::string line;
  const std::string prefix = "sluice_queue_wait_seconds_bucket{";
  while (std::getline(in, line)) {
    if (!line.starts_with(prefix)) continue;
    const auto le = line.find("le=\"");
    const auto close = line.find("\"}", le);
    if (le == std::string::npos || close == std::string::npos) continue;
    const std::string bound = line.substr(le + 4, close - le - 4);
    const double upper = bound == "+Inf" ? INFINITY : std::strtod(bound.c_str(), nullptr);
    buckets[upper] += std::strtod(line.c_str() + close + 3, nullptr);
  }
  return buckets;
}

// A quantile read from a histogram: the bucket it falls in, and a value interpolated linearly
// inside it (as Prometheus's histogram_quantile does). The bucket is the fact; the value is only
// as good as the bucket is narrow.
struct quantile {
  double value = 0;
  double bucket_lower = 0;
  double bucket_upper = 0;
};

// The q-quantile of a cumulative histogram; nullopt when the histogram is empty.
std::optional<quantile> histogram_quantile(const std::map<double, double>& buckets, double q) {
  if (buckets.empty() || buckets.rbegin()->second <= 0) return std::nullopt;
  const double rank = q * buckets.rbegin()->second;
  double lower = 0, below = 0;
  for (const auto& [upper, count] : buckets) {
    if (count >= rank) {
      if (std::isinf(upper)) return quantile{lower, lower, upper};
      const double value =
          count == below ? upper : lower + (upper - lower) * (rank - below) / (count - below);
      return quantile{value, lower, upper};
    }
    lower = upper;
    below = count;
  }
  return quantile{lower, lower, lower};
}

// "2500" for 2.5 s; "+Inf" for the last bucket's bound.
std::string milliseconds_text(double seconds) {
  if (std::isinf(seconds)) return "+Inf";
  char text[32];
  std::snprintf(text, sizeof text, "%g", seconds * 1000);
  return text;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(rank, values.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  const auto parsed = parse_options(argc, argv);
  if (!parsed) {
    usage(stderr);
    return 2;
  }
  const options& o = *parsed;
  if (mysql_library_init(0, nullptr, nullptr) != 0) {
    std::fprintf(stderr, "storm_client: mysql_library_init failed\n");
    return 1;
  }
  std::map<double, double> buckets_before;
  if (o.metrics_port != 0) buckets_before = queue_wait_buckets(scrape_metrics(o.metrics_port));

  const std::size_t thread_count = (o.clients + o.clients_per_thread - 1) / o.clients_per_thread;
  std::printf("storm_client: %zu clients on %zu threads, %d x \"%s\" each, against %s:%u (%s)\n",
              o.clients, thread_count, o.statements, o.statement.c_str(), o.host.c_str(), o.port,
              o.label.c_str());
  std::fflush(stdout);
  std::mutex merge_mutex;
  tally total;
  const auto started = steady::now();
  {
    std::vector<std::jthread> threads;
    for (std::size_t t = 0; t < thread_count; ++t) {
      const std::size_t first = t * o.clients_per_thread;
      const std::size_t count = std::min(o.clients_per_thread, o.clients - first);
      threads.emplace_back([&, count] {
        mysql_thread_init();
        tally mine = storm_thread(o, count).run();
        mysql_thread_end();
        std::lock_guard lock(merge_mutex);
        total.ok += mine.ok;
        total.statements += mine.statements;
        for (const auto& [code, entry] : mine.errors) {
          auto& merged = total.errors[code];
          if (merged.first == 0) merged.second = entry.second;
          merged.first += entry.first;
        }
        total.statement_ms.insert(total.statement_ms.end(), mine.statement_ms.begin(),
                                  mine.statement_ms.end());
        total.client_s.insert(total.client_s.end(), mine.client_s.begin(), mine.client_s.end());
      });
    }
  }
  const double wall_s = std::chrono::duration<double>(steady::now() - started).count();
  const std::size_t failed = o.clients - total.ok;

  std::printf("  clients ok:     %zu\n  clients failed: %zu\n", total.ok, failed);
  std::string error_list;
  for (const auto& [code, entry] : total.errors) {
    std::printf("    error %-5u x %-5zu %s\n", code, entry.first, entry.second.c_str());
    error_list +=
        (error_list.empty() ? "" : ",") + std::to_string(code) + ":" + std::to_string(entry.first);
  }
  std::printf("  wall time %.1f s, %zu statements ok\n", wall_s, total.statements);
  if (!total.client_s.empty())
    std::printf(
        "  time per successful client (connect to close) p50 %.2f s, p99 %.2f s, max %.2f s\n",
        percentile(total.client_s, 0.5), percentile(total.client_s, 0.99),
        percentile(total.client_s, 1.0));
  if (!total.statement_ms.empty())
    std::printf("  statement latency seen by the client p50 %.0f ms, p99 %.0f ms\n",
                percentile(total.statement_ms, 0.5), percentile(total.statement_ms, 0.99));

  std::string queue_fields;
  if (o.metrics_port != 0) {
    auto after = queue_wait_buckets(scrape_metrics(o.metrics_port));
    for (auto& [upper, count] : after) count -= buckets_before[upper];
    const auto p50 = histogram_quantile(after, 0.5), p99 = histogram_quantile(after, 0.99);
    const double waits = after.empty() ? 0 : after.rbegin()->second;
    if (p50 && p99) {
      std::printf("  sluice queue wait (sluice_queue_wait_seconds, %.0f statements):\n", waits);
      for (const auto& [name, q] : {std::pair{"p50", *p50}, std::pair{"p99", *p99}}) {
        const std::string bucket =
            milliseconds_text(q.bucket_lower) + "-" + milliseconds_text(q.bucket_upper);
        std::printf("    %s in the %s ms bucket (interpolated: %.0f ms)\n", name, bucket.c_str(),
                    q.value * 1000);
        queue_fields += std::string(" queue_wait_") + name + "_bucket_ms=" + bucket +
                        " queue_wait_" + name +
                        "_ms=" + std::to_string(std::lround(q.value * 1000));
      }
    } else {
      std::printf("  sluice queue wait: no observations on :%u/metrics\n", o.metrics_port);
    }
  }
  std::printf(
      "RESULT label=%s clients=%zu ok=%zu failed=%zu errors=%s wall_s=%.1f client_p50_s=%.2f "
      "client_p99_s=%.2f statement_p50_ms=%.0f statement_p99_ms=%.0f%s\n",
      o.label.c_str(), o.clients, total.ok, failed,
      error_list.empty() ? "none" : error_list.c_str(), wall_s, percentile(total.client_s, 0.5),
      percentile(total.client_s, 0.99), percentile(total.statement_ms, 0.5),
      percentile(total.statement_ms, 0.99), queue_fields.c_str());
  mysql_library_end();
  return 0;
}
