// Multiplexing: many clients share a bounded pool and the backend cap is never exceeded.
#include <algorithm>
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

// Polls the backend's connection count for the backend account while a load runs.
class backend_connection_sampler {
 public:
  explicit backend_connection_sampler(mariadb_server& server)
      : server_(server), thread_([this] { run(); }) {}
  ~backend_connection_sampler() { finish(); }

  void finish() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int max_seen() const { return max_seen_; }
  int samples() const { return samples_; }
  int errors() const { return errors_; }

 private:
  void run() {
    while (!stop_) {
      try {
        const int n = server_.count_backend_connections();
        max_seen_ = std::max(max_seen_.load(), n);
        ++samples_;
      } catch (const std::exception&) {
        ++errors_;
      }
      std::this_thread::sleep_for(20ms);
    }
  }

  mariadb_server& server_;
  std::atomic<bool> stop_{false};
  std::atomic<int> max_seen_{0};
  std::atomic<int> samples_{0};
  std::atomic<int> errors_{0};
  std::thread thread_;
};

std::string first_failures(const std::vector<std::string>& failures, std::size_t count = 10) {
  std::string text = std::to_string(failures.size()) + " failures, first ones:\n";
  for (std::size_t i = 0; i < failures.size() && i < count; ++i) text += failures[i] + "\n";
  return text;
}

class PoolingTest : public integration_test {};

TEST_F(PoolingTest, FiveHundredClientsShareEightBackendConnections) {
  constexpr int clients = 500;
  constexpr int max_backend = 8;
  server().run_sql(
      "CREATE OR REPLACE TABLE sluice_test.pooling_t ("
      " id INT AUTO_INCREMENT PRIMARY KEY, client INT NOT NULL, value INT NOT NULL)");
  start_sluice(
      {{"backend.max_connections", std::to_string(max_backend)}, {"queue.timeout", "30s"}});

  client_options options;
  options.connect_timeout = 30s;
  options.read_timeout = 60s;
  const std::uint16_t port = sluice_port();

  backend_connection_sampler sampler(server());
  const auto failures = run_threads(clients, [&](std::size_t i) {
    mysql_client client;
    if (!client.connect("127.0.0.1", port, "app", "app-pw", mariadb_server::test_database, 0,
                        options)) {
      throw std::runtime_error("login: " + client.error_message());
    }
    for (int k = 0; k < 5; ++k) {
      // A distinct value per statement: a reply routed to the wrong client shows up here.
      const std::string value = std::to_string(static_cast<int>(i) * 10 + k);
      const query_result r = client.query("SELECT SLEEP(0.01), " + value);
      if (!r.ok) throw std::runtime_error("select: " + r.describe());
      if (r.rows.size() != 1 || r.rows[0].at(1) != value) {
        throw std::runtime_error("select " + value + " returned another value");
      }
    }
    client.execute("BEGIN");
    client.execute("INSERT INTO pooling_t (client, value) VALUES (" + std::to_string(i) + ", " +
                   std::to_string(i * 7) + ")");
    client.execute("COMMIT");
  });
  sampler.finish();

  EXPECT_TRUE(failures.empty()) << first_failures(failures);
  EXPECT_LE(sampler.max_seen(), max_backend) << "backend connections exceeded max_connections";
  EXPECT_GE(sampler.max_seen(), 1) << "the sampler never saw a backend connection";
  EXPECT_GE(sampler.samples(), 10);
  EXPECT_EQ(sampler.errors(), 0);
  const auto rows = server().query(
      "SELECT COUNT(*), COUNT(DISTINCT client), SUM(value = client * 7) FROM "
      "sluice_test.pooling_t");
  EXPECT_EQ(rows.at(0), (std::vector<std::string>{"500", "500", "500"}));
  EXPECT_LE(server().count_backend_connections(), max_backend);
}

TEST_F(PoolingTest, SequentialClientsReuseIdleBackendConnections) {
  constexpr int max_backend = 8;
  start_sluice({{"backend.max_connections", std::to_string(max_backend)}});
  for (int i = 0; i < 50; ++i) {
    auto client = connect_app();
    ASSERT_EQ(client->scalar("SELECT " + std::to_string(i)), std::to_string(i));
  }
  // idle_timeout is 300 s: the connections that served those clients stay in the pool.
  const int open = server().count_backend_connections();
  EXPECT_GE(open, 1);
  EXPECT_LE(open, max_backend);
}

TEST_F(PoolingTest, CapHoldsWhenEveryClientPinsABackendInATransaction) {
  constexpr int clients = 40;
  constexpr int max_backend = 4;
  start_sluice(
      {{"backend.max_connections", std::to_string(max_backend)}, {"queue.timeout", "60s"}});
  client_options options;
  options.read_timeout = 90s;
  const std::uint16_t port = sluice_port();

  backend_connection_sampler sampler(server());
  const auto failures = run_threads(clients, [&](std::size_t i) {
    mysql_client client;
    if (!client.connect("127.0.0.1", port, "app", "app-pw", "", 0, options)) {
      throw std::runtime_error("login: " + client.error_message());
    }
    client.execute("BEGIN");
    if (client.scalar("SELECT SLEEP(0.05), " + std::to_string(i)) != "0") {
      throw std::runtime_error("SLEEP did not return 0");
    }
    client.execute("COMMIT");
  });
  sampler.finish();

  EXPECT_TRUE(failures.empty()) << first_failures(failures);
  EXPECT_LE(sampler.max_seen(), max_backend);
  EXPECT_GE(sampler.max_seen(), 1);
}

}  // namespace
}  // namespace sluice::test
