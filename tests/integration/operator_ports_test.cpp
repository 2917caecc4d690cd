// The operator's ports under hostile use: silent and non-reading connections flooding the metrics
// port and the admin port must not lock out health probes or the operator, and KILL CLIENT reads
// its id strictly.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/admin_client.h"
#include "tests/support/fixtures.h"
#include "tests/support/http_client.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using json = nlohmann::json;
using steady = std::chrono::steady_clock;

// Loopback TCP connections the test opens and closes at the end.
class open_sockets {
 public:
  open_sockets() = default;
  ~open_sockets() {
    for (const int fd : fds_) ::close(fd);
  }
  open_sockets(const open_sockets&) = delete;
  open_sockets& operator=(const open_sockets&) = delete;

  // Connects to 127.0.0.1:port. `slow_reader`: a 4 KiB receive buffer and 536-byte segments,
  // set before connecting, as over a small-MTU link: the peer's send buffer then stays small
  // (on loopback's 64 KiB segments the kernel would buffer megabytes for a peer that never
  // reads, and every write would finish).
  int connect(std::uint16_t port, bool slow_reader = false) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket() failed");
    fds_.push_back(fd);
    if (slow_reader) {
      const int receive_buffer = 4096, segment = 536;
      ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
      ::setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &segment, sizeof segment);
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
      throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
    return fd;
  }
  const std::vector<int>& fds() const { return fds_; }
  void close_all() {
    for (const int fd : fds_) ::close(fd);
    fds_.clear();
  }

 private:
  std::vector<int> fds_;
};

void send_text(int fd, const std::string& text) {
  ASSERT_EQ(::send(fd, text.data(), text.size(), MSG_NOSIGNAL), static_cast<ssize_t>(text.size()));
}

// The server side of loopback TCP connections to 127.0.0.1:port, as /proc/net/tcp lists them.
struct served_connection {
  bool open = false;               // ESTABLISHED or CLOSE_WAIT: the server has not closed it
  unsigned long unsent_bytes = 0;  // tx_queue: written by the server, not taken by the peer
};
std::vector<served_connection> served_connections(std::uint16_t port) {
  std::ifstream table("/proc/net/tcp");
  std::string line;
  std::getline(table, line);  // header
  char local_port[5];
  std::snprintf(local_port, sizeof local_port, "%04X", port);
  const std::string local_end = std::string("0100007F:") + local_port;
  std::vector<served_connection> served;
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues;
    fields >> slot >> local >> remote >> state >> queues;
    if (local != local_end || state == "0A") continue;  // 0A: the listening socket
    served.push_back({state == "01" || state == "08",
                      std::stoul(queues.substr(0, queues.find(':')), nullptr, 16)});
  }
  return served;
}

std::size_t count_open(const std::vector<served_connection>& connections) {
  return static_cast<std::size_t>(
      std::count_if(connections.begin(), connections.end(), [](auto& c) { return c.open; }));
}

class OperatorPortsTest : public integration_test {
 protected:
  void start(const sluice_config& config) {
    admin_port_ = config.listen_port("admin");
    metrics_port_ = config.listen_port("metrics");
    start_sluice(config);
    // The harness waits for the client port; the admin and metrics ports open just after it.
    EXPECT_TRUE(wait_until([&] { return port_accepts(admin_port_); }, 5s));
    EXPECT_TRUE(wait_until([&] { return http_get(metrics_port_, "/live", 1s).has_value(); }, 5s));
  }
  void start(const config_overrides& overrides = {}) { start(make_config(overrides)); }

  // Four /live probes in a row, each answered 200 within 1 s (a kubelet's probe timeout is 1 s by
  // default). Returns how long each took, in ms (-1: no answer).
  std::vector<long long> probe_live_four_times() {
    std::vector<long long> took;
    for (int i = 0; i < 4; ++i) {
      const auto start = steady::now();
      const auto response = http_get(metrics_port_, "/live", 1s);
      const long long ms = elapsed_ms(start);
      took.push_back(response ? ms : -1);
      EXPECT_TRUE(response.has_value()) << "probe " << i + 1 << ": no answer";
      if (response) {
        EXPECT_EQ(response->status, 200) << "probe " << i + 1 << ": " << response->body;
        EXPECT_LE(ms, 1000) << "probe " << i + 1;
      }
    }
    return took;
  }

  void silent_flood_then_probes(std::size_t silent_count) {
    start();
    open_sockets silent;
    for (std::size_t i = 0; i < silent_count; ++i) silent.connect(metrics_port_);
    // Time for the endpoint to take them all up.
    std::this_thread::sleep_for(300ms);
    const auto took = probe_live_four_times();
    std::cout << silent_count << " silent metrics connections; /live took (ms):";
    for (const auto ms : took) std::cout << ' ' << ms;
    std::cout << '\n';
    EXPECT_TRUE(sluice().running());
    // Stopped only once the endpoint let every connection go: a stop beside open ones is the
    // test below.
    silent.close_all();
    EXPECT_TRUE(wait_until([&] { return count_open(served_connections(metrics_port_)) == 0; }, 5s));
  }

  std::uint16_t admin_port_ = 0;
  std::uint16_t metrics_port_ = 0;
};

// ---- 15. Operator ports under flood -------------------------------------------------------

// The metrics port serves 32 connections at once; silent ones must make room for a probe.
TEST_F(OperatorPortsTest, LiveProbesAnswerBeside32SilentMetricsConnections) {
  silent_flood_then_probes(32);
}

TEST_F(OperatorPortsTest, LiveProbesAnswerBeside64SilentMetricsConnections) {
  silent_flood_then_probes(64);
}

// Scrapers that ask for /metrics and never read the answer. With 5,000 users the exposition is
// some 300 KB, more than the kernel buffers towards a slow reader (about 90 KB were seen queued),
// so the write of each answer cannot finish: 32 of them must not hold the probes out.
TEST_F(OperatorPortsTest, LiveProbesAnswerBesideScrapersThatNeverRead) {
  sluice_config config = make_config();
  // One labelled sample per user makes a large /metrics.
  for (int i = 0; i < 5000; ++i) config.set("users", "scrape_user_" + std::to_string(i), "pw");
  start(config);
  // The per-user samples appear with the first upkeep round.
  std::optional<http_response> full;
  ASSERT_TRUE(wait_until(
      [&] {
        full = http_get(metrics_port_, "/metrics", 5s);
        return full && full->body.find("scrape_user_4999") != std::string::npos;
      },
      5s));
  std::cout << "/metrics body: " << full->body.size() << " bytes\n";
  ASSERT_GT(full->body.size(), 256u * 1024) << "too small to stall a write to a slow reader";

  open_sockets stalled;
  for (int i = 0; i < 32; ++i) {
    const int fd = stalled.connect(metrics_port_, true);
    send_text(fd, "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
  }
  // Every answer written as far as the kernel takes it, and stuck there: only then is what
  // follows about the non-readers, not about the time 32 large scrapes take to render.
  ASSERT_TRUE(wait_until(
      [&] {
        const auto served = served_connections(metrics_port_);
        return std::count_if(served.begin(), served.end(),
                             [](auto& c) { return c.open && c.unsent_bytes > 0; }) == 32;
      },
      10s))
      << "the 32 answers to the scrapers were not all written";
  const auto took = probe_live_four_times();
  std::cout << "32 scrapers that never read; /live took (ms):";
  for (const auto ms : took) std::cout << ' ' << ms;
  std::cout << '\n';
  EXPECT_TRUE(sluice().running());
  stalled.close_all();
  EXPECT_TRUE(wait_until([&] { return count_open(served_connections(metrics_port_)) == 0; }, 5s));
}

// A stop (SIGTERM) while metrics connections are open, as when a scrape or a probe is under way
// during a rolling restart: sluice drains and exits 0.
TEST_F(OperatorPortsTest, StopWithMetricsConnectionsOpenExitsCleanly) {
  start();
  open_sockets silent;
  for (int i = 0; i < 8; ++i) silent.connect(metrics_port_);
  ASSERT_TRUE(wait_until([&] { return count_open(served_connections(metrics_port_)) == 8; }, 5s));
  EXPECT_EQ(stop_sluice(), 0) << "sluice did not exit cleanly (139: SIGSEGV)";
}

// The admin port serves 16 connections at once; with all of them silent, the operator's
// connection evicts the one silent longest and is answered at once.
TEST_F(OperatorPortsTest, OperatorIsAnsweredBeside16SilentAdminConnections) {
  start();
  open_sockets silent;
  for (int i = 0; i < 16; ++i) silent.connect(admin_port_);
  std::this_thread::sleep_for(300ms);  // time for the admin port to take them all up

  const auto start = steady::now();
  std::string answer;
  try {
    admin_client operator_connection(admin_port_);
    answer = operator_connection.command("SHOW VERSION");
  } catch (const std::exception& e) {
    ADD_FAILURE() << "operator connection after " << elapsed_ms(start) << " ms: " << e.what();
  }
  const long long took_ms = elapsed_ms(start);
  std::cout << "SHOW VERSION beside 16 silent admin connections: " << took_ms << " ms\n";
  EXPECT_THAT(answer, StartsWith("sluice "));
  EXPECT_LE(took_ms, 1000);
  // The evicted one is the first: it has been silent longest.
  pollfd first{silent.fds().front(), POLLIN, 0};
  char scratch[4096];
  bool first_closed = false;
  while (!first_closed && ::poll(&first, 1, 1000) == 1) {
    const ssize_t n = ::recv(first.fd, scratch, sizeof scratch, 0);
    first_closed = n <= 0;
  }
  EXPECT_TRUE(first_closed) << "the longest-silent admin connection is still open";
  EXPECT_TRUE(sluice().running());
}

// ---- 16. KILL CLIENT reads its id strictly ------------------------------------------------

class KillClientTest : public OperatorPortsTest {
 protected:
  bool listed(admin_client& admin, unsigned long id) {
    for (const auto& row : json::parse(admin.command("SHOW CLIENTS FORMAT JSON")))
      if (row.at("id").get<unsigned long>() == id) return true;
    return false;
  }
};

// std::stoul-style parsing read "4294967297" as 1 (after a cast to 32 bits), "1e3" as 1, "+1"
// as 1: each killed client 1. None is a client id. Each is tried on a client of its own, so that
// every one is seen to kill nobody.
TEST_F(KillClientTest, IdsThatAreNotPlainDecimalKillNobody) {
  start();
  admin_client admin(admin_port_);
  const std::vector<std::string> forms = {
      "2^32+ID", "IDe3", "0x10", "-1", "+ID", "IDabc", "99999999999999999999999"};
  for (const auto& form : forms) {
    auto client = connect_app();
    const unsigned long id = client->thread_id();
    ASSERT_TRUE(listed(admin, id));
    std::string word = form == "2^32+ID" ? std::to_string((1ULL << 32) + id) : form;
    if (const auto at = word.find("ID"); at != std::string::npos)
      word.replace(at, 2, std::to_string(id));
    const std::string answer = admin.command("KILL CLIENT " + word);
    EXPECT_THAT(answer, StartsWith("ERROR: usage")) << "KILL CLIENT " << word;
    EXPECT_TRUE(listed(admin, id)) << "KILL CLIENT " << word << " killed client " << id;
    EXPECT_TRUE(client->query("SELECT 1").ok) << "KILL CLIENT " << word;
  }

  // A plain id still works.
  auto client = connect_app();
  const unsigned long id = client->thread_id();
  EXPECT_EQ(admin.command("KILL CLIENT " + std::to_string(id)),
            "OK: client " + std::to_string(id) + " disconnected");
  EXPECT_TRUE(wait_until([&] { return !listed(admin, id); }, 5s));
  EXPECT_FALSE(client->query("SELECT 1").ok);
  EXPECT_TRUE(sluice().running());
}

// An id of blanks only is no id either: the answer is the usage, as for any other bad id.
TEST_F(KillClientTest, BlankIdAnswersUsageAndKillsNobody) {
  start();
  auto client = connect_app();
  const unsigned long id = client->thread_id();
  admin_client admin(admin_port_);
  for (const std::string line : {"KILL CLIENT  ", "KILL CLIENT \t"}) {
    const std::string answer = admin.command(line);
    EXPECT_THAT(answer, StartsWith("ERROR: usage")) << "'" << line << "' answered " << answer;
    EXPECT_TRUE(listed(admin, id));
  }
  EXPECT_EQ(client->scalar("SELECT 1"), "1");
  EXPECT_TRUE(sluice().running());
}

}  // namespace
}  // namespace sluice::test
