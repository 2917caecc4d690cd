// The waiting queue: statements wait for a backend, time out (7001) or are refused when full
// (7002).
#include <atomic>
#include <chrono>
#include <thread>

#include "proxy/errors.h"
#include "tests/support/client.h"
#include "tests/support/fixtures.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr unsigned queue_timeout_error = proxy::sluice_error::queue_timeout;
constexpr unsigned queue_full_error = proxy::sluice_error::queue_full;

class QueueTest : public integration_test {
 protected:
  // Client A takes the only backend connection and keeps it inside a transaction.
  std::unique_ptr<mysql_client> hold_the_only_backend() {
    auto holder = connect_app();
    holder->execute("BEGIN");
    EXPECT_EQ(holder->scalar("SELECT 1"), "1");
    return holder;
  }
};

TEST_F(QueueTest, WaitingLongerThanTheQueueTimeoutFailsWith7001) {
  start_sluice({{"backend.max_connections", "1"}, {"queue.timeout", "300ms"}});
  auto a = hold_the_only_backend();
  auto b = connect_app();

  const auto start = std::chrono::steady_clock::now();
  const query_result timed_out = b->query("SELECT 1");
  const auto waited = elapsed_ms(start);

  EXPECT_FALSE(timed_out.ok);
  EXPECT_EQ(timed_out.error_code, queue_timeout_error) << timed_out.describe();
  EXPECT_THAT(timed_out.message, HasSubstr("waited"));
  EXPECT_THAT(timed_out.message, HasSubstr("ms"));
  EXPECT_GE(waited, 280) << "failed before the queue timeout";
  EXPECT_LE(waited, 3000) << "queue timeout of 300 ms took far longer";

  // B stays connected and gets the backend once A's transaction ends.
  a->execute("COMMIT");
  EXPECT_EQ(b->scalar("SELECT 1"), "1");
  EXPECT_EQ(a->scalar("SELECT 2"), "2");
}

TEST_F(QueueTest, WaiterGetsTheBackendAsSoonAsItIsReleased) {
  start_sluice({{"backend.max_connections", "1"}, {"queue.timeout", "10s"}});
  auto a = hold_the_only_backend();
  auto b = connect_app();

  using clock = std::chrono::steady_clock;
  query_result waited_result;
  std::atomic<bool> b_sent{false};
  clock::time_point b_answered;
  std::jthread waiter([&] {
    b_sent = true;
    waited_result = b->query("SELECT 42");
    b_answered = clock::now();
  });
  EXPECT_TRUE(wait_until([&] { return b_sent.load(); }, 5s));
  std::this_thread::sleep_for(400ms);
  const auto committed = clock::now();
  a->execute("COMMIT");
  waiter.join();

  ASSERT_TRUE(waited_result.ok) << waited_result.describe();
  EXPECT_EQ(waited_result.rows.at(0).at(0), "42");
  EXPECT_GE(b_answered, committed) << "B ran while A still held the only backend in a transaction";
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(b_answered - committed).count(),
            5000)
      << "B was not woken up when A committed";
}

TEST_F(QueueTest, FullQueueRefusesAtOnceWith7002) {
  start_sluice(
      {{"backend.max_connections", "1"}, {"queue.max_waiting", "1"}, {"queue.timeout", "10s"}});
  auto a = hold_the_only_backend();
  auto b = connect_app();
  auto c = connect_app();

  query_result b_result;
  std::atomic<bool> b_sent{false};
  std::jthread b_waits([&] {
    b_sent = true;
    b_result = b->query("SELECT 2");
  });
  EXPECT_TRUE(wait_until([&] { return b_sent.load(); }, 5s));
  // Give B time to reach the queue; nothing observable from outside says when it has.
  std::this_thread::sleep_for(500ms);

  const auto start = std::chrono::steady_clock::now();
  const query_result refused = c->query("SELECT 3");
  const auto took = elapsed_ms(start);

  a->execute("COMMIT");
  b_waits.join();

  EXPECT_FALSE(refused.ok);
  EXPECT_EQ(refused.error_code, queue_full_error) << refused.describe();
  EXPECT_LT(took, 2000) << "a full queue must refuse at once, not after the 10 s timeout";
  ASSERT_TRUE(b_result.ok) << "the statement waiting in the queue failed: " << b_result.describe();
  EXPECT_EQ(b_result.rows.at(0).at(0), "2");
}

}  // namespace
}  // namespace sluice::test
