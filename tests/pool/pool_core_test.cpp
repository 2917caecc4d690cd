// The pool's state machine driven by hand: a fake connector the test answers, fake waiters and a
// test clock; then seeded random walks that check the cap and conservation after every step.
#include "pool/pool_core.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <vector>

namespace sluice::pool {

void PrintTo(pool_errc e, std::ostream* out) {
  *out << to_string(e);
}

namespace {

using namespace std::chrono_literals;
using conn = pooled<int>;  // a connection is its id
using status = pool_core<int>::acquire_status;

struct recorded_close {
  int id;
  int variant;
  close_reason why;
  bool operator==(const recorded_close&) const = default;
};

void PrintTo(const recorded_close& c, std::ostream* out) {
  *out << "{id=" << c.id << " variant=" << c.variant << " " << to_string(c.why) << "}";
}

using closes = std::vector<recorded_close>;

// Records what the pool asks of the outside world; the test answers opens itself.
class fake_connector final : public pool_hooks<int> {
 public:
  std::vector<int> pending;  // variants of unanswered open requests, oldest first
  std::size_t requested = 0;
  closes closed;

  void open_connection(int variant) override {
    pending.push_back(variant);
    ++requested;
  }
  void close_connection(conn c, close_reason why) override {
    closed.push_back({c.conn, c.variant, why});
  }
  // As accounts are: variants with the same remainder mod 4 (the same capabilities) convert.
  bool convertible(int from, int to) const override {
    return convert_accounts && from % 4 == to % 4 && from != to;
  }
  bool convert_accounts = false;
};

class fake_waiter;

// Every callback the pool made, in order.
struct journal {
  std::vector<const fake_waiter*> grants;
  std::vector<const fake_waiter*> failures;
};

class fake_waiter final : public waiter<int> {
 public:
  fake_waiter(journal& log, int v, std::size_t arrival) : arrival(arrival), log_(log) {
    variant = v;
  }

  void on_granted(conn c) override {
    granted = c;
    ++deliveries;
    log_.grants.push_back(this);
  }
  void on_failed(pool_errc why) override {
    failed = why;
    ++deliveries;
    log_.failures.push_back(this);
  }

  const std::size_t arrival;
  std::optional<conn> granted;
  std::optional<pool_errc> failed;
  int deliveries = 0;
  bool cancelled = false;
  bool rejected = false;

 private:
  journal& log_;
};

const time_point epoch = time_point{} + 1h;

// ---------------------------------------------------------------------------------------------
// Directed cases.

class pool_core_test : public ::testing::Test {
 protected:
  pool_core<int>& start(const pool_limits& limits) { return pool.emplace(limits, connector); }

  fake_waiter& waiter_for(int variant = 0) {
    return waiters.emplace_back(log, variant, waiters.size());
  }

  // Asks for a backend with the pool's queue timeout as the deadline.
  pool_core<int>::acquire_result acquire(fake_waiter& w) {
    w.deadline = now + pool->limits().queue_timeout;
    auto r = pool->acquire(w, now);
    if (r.connection) w.granted = r.connection;
    return r;
  }

  // A statement of `tenant` (a user; with accounts, tenant N is account N) for `variant`, asked
  // for at once: granted, or left queued.
  fake_waiter& queue(int variant, int tenant) {
    fake_waiter& w = waiter_for(variant);
    w.tenant = tenant;
    acquire(w);
    return w;
  }

  // Answers the open request at `index` (the oldest by default) with a fresh connection.
  int open_ok(std::size_t index = 0) {
    const int variant = connector.pending.at(index);
    connector.pending.erase(connector.pending.begin() + static_cast<std::ptrdiff_t>(index));
    const int id = next_id++;
    pool->on_opened({id, variant, now}, now);
    return id;
  }

  void open_failed(std::string error = "Connection refused") {
    const int variant = connector.pending.at(0);
    connector.pending.erase(connector.pending.begin());
    pool->on_open_failed(variant, std::move(error), now);
  }

  // A connection leased to the test, from idle or from a fresh open. Only while nobody waits.
  conn lease(int variant = 0) {
    fake_waiter& w = waiter_for(variant);
    if (acquire(w).status == status::queued) {
      const auto pending = std::find(connector.pending.begin(), connector.pending.end(), variant);
      if (pending != connector.pending.end())
        open_ok(static_cast<std::size_t>(pending - connector.pending.begin()));
    }
    if (!w.granted) {
      ADD_FAILURE() << "lease(" << variant << ") was not granted";
      return {-1, variant, now};
    }
    return *w.granted;
  }

  time_point now = epoch;
  fake_connector connector;
  std::optional<pool_core<int>> pool;
  std::deque<fake_waiter> waiters;
  journal log;
  int next_id = 1;
};

TEST_F(pool_core_test, an_idle_connection_is_granted_at_once) {
  start({.max_connections = 2});
  const conn c = lease();
  pool->release(c, now);

  fake_waiter& w = waiter_for();
  const auto r = acquire(w);
  EXPECT_EQ(r.status, status::granted);
  ASSERT_TRUE(r.connection);
  EXPECT_EQ(r.connection->conn, c.conn);
  EXPECT_FALSE(w.queued());
  EXPECT_EQ(log.grants.size(), 1u) << "a direct grant makes no callback";
  EXPECT_EQ(pool->leased_count(), 1u);
  EXPECT_EQ(pool->idle_count(), 0u);
  EXPECT_EQ(connector.requested, 1u);
}

TEST_F(pool_core_test, grants_waiters_in_arrival_order) {
  start({.max_connections = 1});
  const conn first = lease();
  std::vector<const fake_waiter*> queue;
  for (int i = 0; i < 4; ++i) {
    fake_waiter& w = waiter_for();
    EXPECT_EQ(acquire(w).status, status::queued);
    queue.push_back(&w);
  }
  EXPECT_TRUE(connector.pending.empty()) << "at the cap nothing is opened";
  log.grants.clear();

  conn c = first;
  for (const fake_waiter* w : queue) {
    pool->release(c, now);
    ASSERT_TRUE(w->granted);
    c = *w->granted;
  }
  EXPECT_EQ(log.grants, queue);
  EXPECT_EQ(c.conn, first.conn) << "one connection went round every waiter";
  EXPECT_EQ(pool->waiting_count(), 0u);
}

TEST_F(pool_core_test, opens_complete_to_the_oldest_waiter_first) {
  start({.max_connections = 3});
  fake_waiter& a = waiter_for();
  fake_waiter& b = waiter_for();
  fake_waiter& c = waiter_for();
  for (fake_waiter* w : {&a, &b, &c}) EXPECT_EQ(acquire(*w).status, status::queued);
  EXPECT_EQ(connector.pending, (std::vector<int>{0, 0, 0}));
  EXPECT_EQ(pool->opening_count(), 3u);

  const int answered_first = open_ok(1);  // opens may finish out of order; waiters stay in order
  const int answered_second = open_ok(0);
  open_ok(0);
  EXPECT_EQ(log.grants, (std::vector<const fake_waiter*>{&a, &b, &c}));
  EXPECT_EQ(a.granted->conn, answered_first);
  EXPECT_EQ(b.granted->conn, answered_second);
}

TEST_F(pool_core_test, waiters_time_out_at_their_deadline) {
  start({.max_connections = 1, .queue_timeout = 100ms});
  const conn c = lease();
  fake_waiter& early = waiter_for();
  acquire(early);
  now += 30ms;
  fake_waiter& late = waiter_for();
  acquire(late);
  EXPECT_EQ(pool->next_deadline(), early.deadline);

  now = early.deadline - 1ms;
  pool->expire(now);
  EXPECT_FALSE(early.failed);
  EXPECT_TRUE(early.queued());

  now = early.deadline;
  pool->expire(now);
  EXPECT_EQ(early.failed, pool_errc::queue_timeout);
  EXPECT_FALSE(early.queued());
  EXPECT_FALSE(late.failed);
  EXPECT_EQ(pool->next_deadline(), late.deadline);

  now = late.deadline + 5ms;
  pool->maintain(now);  // upkeep expires too
  EXPECT_EQ(late.failed, pool_errc::queue_timeout);
  EXPECT_EQ(pool->next_deadline(), std::nullopt);
  EXPECT_EQ(pool->waiting_count(), 0u);

  pool->release(c, now);
  EXPECT_EQ(pool->idle_count(), 1u) << "nobody left to grant it to";
  EXPECT_EQ(log.grants.size(), 1u) << "only the lease's own grant";
}

TEST_F(pool_core_test, a_full_queue_rejects_with_queue_full) {
  start({.max_connections = 1, .max_waiting = 2});
  lease();
  fake_waiter& a = waiter_for();
  fake_waiter& b = waiter_for();
  EXPECT_EQ(acquire(a).status, status::queued);
  EXPECT_EQ(acquire(b).status, status::queued);

  fake_waiter& c = waiter_for();
  const auto r = acquire(c);
  EXPECT_EQ(r.status, status::rejected);
  EXPECT_EQ(r.error, pool_errc::queue_full);
  EXPECT_FALSE(c.queued());
  EXPECT_EQ(pool->waiting_count(), 2u);

  EXPECT_TRUE(pool->cancel(a));
  fake_waiter& d = waiter_for();
  EXPECT_EQ(acquire(d).status, status::queued) << "a place freed up";
}

TEST_F(pool_core_test, a_cancelled_waiter_is_never_granted) {
  start({.max_connections = 1});
  const conn c = lease();
  fake_waiter& a = waiter_for();
  fake_waiter& gone = waiter_for();
  fake_waiter& b = waiter_for();
  for (fake_waiter* w : {&a, &gone, &b}) acquire(*w);

  EXPECT_TRUE(pool->cancel(gone));
  EXPECT_FALSE(gone.queued());
  EXPECT_EQ(pool->waiting_count(), 2u);
  EXPECT_FALSE(pool->cancel(gone)) << "a second cancel finds nothing";

  pool->release(c, now);
  ASSERT_TRUE(a.granted);
  pool->release(*a.granted, now);
  EXPECT_TRUE(b.granted) << "the cancelled waiter is skipped";
  EXPECT_FALSE(gone.granted);
  EXPECT_FALSE(gone.failed);
  EXPECT_FALSE(pool->cancel(a)) << "already granted: the caller owns the connection";
}

TEST_F(pool_core_test, a_connect_for_a_cancelled_waiter_ends_idle) {
  start({.max_connections = 2});
  fake_waiter& w = waiter_for();
  acquire(w);
  ASSERT_EQ(connector.pending.size(), 1u);
  EXPECT_TRUE(pool->cancel(w));

  open_ok();
  EXPECT_FALSE(w.granted);
  EXPECT_EQ(pool->idle_count(), 1u);
  EXPECT_EQ(pool->leased_count(), 0u);
}

TEST_F(pool_core_test, a_release_at_the_deadline_grants_before_expire) {
  start({.max_connections = 1, .queue_timeout = 100ms});
  const conn c = lease();
  fake_waiter& w = waiter_for();
  acquire(w);

  now = w.deadline;
  pool->release(c, now);
  pool->expire(now);
  ASSERT_TRUE(w.granted);
  EXPECT_EQ(w.granted->conn, c.conn);
  EXPECT_FALSE(w.failed);
  EXPECT_EQ(w.deliveries, 1);
  EXPECT_EQ(pool->leased_count(), 1u);
}

TEST_F(pool_core_test, an_open_finishing_at_the_deadline_grants_before_expire) {
  start({.max_connections = 1, .queue_timeout = 100ms});
  fake_waiter& w = waiter_for();
  acquire(w);

  now = w.deadline;
  const int id = open_ok();
  pool->maintain(now);
  ASSERT_TRUE(w.granted);
  EXPECT_EQ(w.granted->conn, id);
  EXPECT_FALSE(w.failed);
  EXPECT_EQ(w.deliveries, 1);
}

TEST_F(pool_core_test, idle_connections_are_reused_most_recent_first) {
  start({.max_connections = 3});
  const conn a = lease();
  const conn b = lease();
  const conn c = lease();
  pool->release(a, now);
  now += 1ms;
  pool->release(b, now);
  now += 1ms;
  pool->release(c, now);

  EXPECT_EQ(lease().conn, c.conn);
  EXPECT_EQ(pool->try_acquire_idle(0)->conn, b.conn);
  EXPECT_EQ(lease().conn, a.conn);
  EXPECT_EQ(connector.requested, 3u);
}

TEST_F(pool_core_test, try_acquire_idle_only_takes_an_idle_connection_of_the_variant) {
  start({.max_connections = 2});
  EXPECT_EQ(pool->try_acquire_idle(0), std::nullopt);
  EXPECT_TRUE(connector.pending.empty()) << "the fast path never opens";

  const conn c = lease(0);
  pool->release(c, now);
  EXPECT_EQ(pool->try_acquire_idle(1), std::nullopt);
  const auto again = pool->try_acquire_idle(0);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->conn, c.conn);
  EXPECT_EQ(pool->leased_count(), 1u);
}

TEST_F(pool_core_test, idle_timeout_closes_connections_beyond_min_idle) {
  start({.max_connections = 4, .min_idle = 1, .idle_timeout = 100ms});
  const conn a = lease();
  const conn b = lease();
  pool->release(a, now);
  now += 50ms;
  pool->release(b, now);

  now += 49ms;  // a has idled 99ms
  pool->maintain(now);
  EXPECT_TRUE(connector.closed.empty());

  now += 1ms;  // a 100ms, b 50ms
  pool->maintain(now);
  EXPECT_EQ(connector.closed, (closes{{a.conn, 0, close_reason::idle_timeout}}));

  now += 1000ms;  // b is over the timeout too, but it is the last one
  pool->maintain(now);
  EXPECT_EQ(connector.closed.size(), 1u);
  EXPECT_EQ(pool->idle_count(), 1u);
  EXPECT_EQ(connector.requested, 2u) << "min_idle already held";
}

TEST_F(pool_core_test, idle_timeout_without_min_idle_closes_all) {
  start({.max_connections = 4, .idle_timeout = 100ms});
  const conn a = lease();
  const conn b = lease();
  pool->release(a, now);
  pool->release(b, now);
  now += 100ms;
  pool->maintain(now);
  EXPECT_EQ(connector.closed, (closes{{b.conn, 0, close_reason::idle_timeout},
                                      {a.conn, 0, close_reason::idle_timeout}}));
  EXPECT_EQ(pool->total(), 0u);
}

TEST_F(pool_core_test, max_lifetime_closes_on_release) {
  start({.max_connections = 2, .max_lifetime = 1000ms});
  const conn c = lease();
  now += 999ms;
  pool->release(c, now);
  EXPECT_EQ(pool->idle_count(), 1u);

  const conn again = lease();
  EXPECT_EQ(again.conn, c.conn);
  now += 1ms;
  pool->release(again, now);
  EXPECT_EQ(connector.closed, (closes{{c.conn, 0, close_reason::max_lifetime}}));
  EXPECT_EQ(pool->total(), 0u);
}

TEST_F(pool_core_test, max_lifetime_closes_idle_in_maintain_and_min_idle_refills) {
  start({.max_connections = 2, .min_idle = 1, .idle_timeout = 1h, .max_lifetime = 1000ms});
  pool->maintain(now);
  ASSERT_EQ(connector.pending.size(), 1u);
  const int old = open_ok();

  now += 1000ms;
  pool->maintain(now);
  EXPECT_EQ(connector.closed, (closes{{old, 0, close_reason::max_lifetime}}))
      << "lifetime applies even to the min_idle connection";
  EXPECT_EQ(connector.pending.size(), 1u) << "and min_idle opens a replacement";
}

TEST_F(pool_core_test, maintain_fills_min_idle) {
  start({.max_connections = 3, .min_idle = 2});
  pool->maintain(now);
  EXPECT_EQ(connector.pending, (std::vector<int>{0, 0}));
  pool->maintain(now);
  EXPECT_EQ(connector.requested, 2u) << "connects in flight count towards min_idle";
  open_ok();
  open_ok();
  pool->maintain(now);
  EXPECT_EQ(connector.requested, 2u);
  EXPECT_EQ(pool->idle_count(), 2u);
}

TEST_F(pool_core_test, min_idle_stays_within_the_cap) {
  start({.max_connections = 2, .min_idle = 2});
  lease();
  pool->maintain(now);
  EXPECT_EQ(connector.requested, 2u);  // the lease's and one more
  EXPECT_EQ(pool->total(), 2u);
}

TEST_F(pool_core_test, min_idle_waits_while_statements_wait) {
  start({.max_connections = 2, .min_idle = 2});
  fake_waiter& w = waiter_for();
  acquire(w);
  EXPECT_EQ(connector.requested, 1u);
  pool->maintain(now);
  EXPECT_EQ(connector.requested, 1u) << "waiters are served first";
}

TEST_F(pool_core_test, connect_failure_with_nothing_alive_fails_fast_then_probes_once) {
  start({.max_connections = 4, .connect_retry = 1000ms});
  fake_waiter& a = waiter_for();
  fake_waiter& b = waiter_for();
  acquire(a);
  acquire(b);
  ASSERT_EQ(connector.pending.size(), 2u);

  open_failed("first refusal");
  EXPECT_TRUE(a.queued()) << "another connect is still in flight";
  EXPECT_TRUE(b.queued());
  open_failed("Connection refused");
  EXPECT_EQ(a.failed, pool_errc::backend_unavailable);
  EXPECT_EQ(b.failed, pool_errc::backend_unavailable);
  EXPECT_EQ(pool->last_connect_error(), "Connection refused");
  EXPECT_EQ(pool->consecutive_connect_failures(), 2u);

  now += 999ms;
  fake_waiter& early = waiter_for();
  const auto r = acquire(early);
  EXPECT_EQ(r.status, status::rejected);
  EXPECT_EQ(r.error, pool_errc::backend_unavailable);
  pool->maintain(now);
  EXPECT_EQ(connector.requested, 2u) << "no connect before connect_retry";

  now += 1ms;
  fake_waiter& c = waiter_for();
  fake_waiter& d = waiter_for();
  EXPECT_EQ(acquire(c).status, status::queued);
  EXPECT_EQ(acquire(d).status, status::queued);
  pool->maintain(now);
  EXPECT_EQ(connector.pending.size(), 1u) << "one probe at a time";

  open_ok();
  EXPECT_TRUE(c.granted);
  EXPECT_EQ(pool->consecutive_connect_failures(), 0u);
  EXPECT_EQ(pool->last_connect_error(), "");
  EXPECT_EQ(connector.pending.size(), 1u) << "the backend is back: d gets its own connect";
}

TEST_F(pool_core_test, a_failed_probe_fails_the_waiters_again) {
  start({.max_connections = 4, .connect_retry = 1000ms});
  fake_waiter& a = waiter_for();
  acquire(a);
  open_failed();
  ASSERT_EQ(a.failed, pool_errc::backend_unavailable);

  now += 1000ms;
  fake_waiter& b = waiter_for();
  acquire(b);
  open_failed();
  EXPECT_EQ(b.failed, pool_errc::backend_unavailable);
  EXPECT_TRUE(pool->backend_down(now));
  fake_waiter& c = waiter_for();
  EXPECT_EQ(acquire(c).error, pool_errc::backend_unavailable) << "a new retry window";
}

TEST_F(pool_core_test, connect_failure_while_leases_exist_keeps_waiters_queued) {
  start({.max_connections = 2, .connect_retry = 1000ms});
  const conn c = lease();
  fake_waiter& w = waiter_for();
  acquire(w);
  ASSERT_EQ(connector.pending.size(), 1u);

  open_failed();
  EXPECT_TRUE(w.queued());
  EXPECT_FALSE(w.failed);
  EXPECT_TRUE(pool->backend_down(now));
  fake_waiter& x = waiter_for();
  EXPECT_EQ(acquire(x).status, status::queued) << "a lease may come back";

  now += 1000ms;
  pool->maintain(now);
  EXPECT_EQ(connector.pending.size(), 1u) << "after connect_retry, one probe";

  pool->release(c, now);
  ASSERT_TRUE(w.granted);
  EXPECT_EQ(w.granted->conn, c.conn);
}

TEST_F(pool_core_test, a_discarded_lease_is_closed_and_replaced) {
  start({.max_connections = 1});
  const conn c = lease();
  fake_waiter& w = waiter_for();
  acquire(w);
  EXPECT_TRUE(connector.pending.empty());

  pool->discard(c, now);
  EXPECT_EQ(connector.closed, (closes{{c.conn, 0, close_reason::broken}}));
  ASSERT_EQ(connector.pending.size(), 1u);
  const int id = open_ok();
  ASSERT_TRUE(w.granted);
  EXPECT_EQ(w.granted->conn, id);
}

TEST_F(pool_core_test, an_idle_connection_of_another_variant_is_swapped_at_the_cap) {
  start({.max_connections = 2});
  const conn a = lease(0);
  const conn b = lease(0);
  pool->release(a, now);
  pool->release(b, now);

  fake_waiter& w = waiter_for(1);
  EXPECT_EQ(acquire(w).status, status::queued);
  EXPECT_EQ(connector.closed, (closes{{a.conn, 0, close_reason::variant_swap}})) << "the oldest";
  EXPECT_EQ(connector.pending, (std::vector<int>{1}));
  EXPECT_EQ(pool->total(), 2u);

  open_ok();
  ASSERT_TRUE(w.granted);
  EXPECT_EQ(w.granted->variant, 1);
}

TEST_F(pool_core_test, at_the_cap_an_idle_connection_of_another_account_is_converted) {
  connector.convert_accounts = true;
  start({.max_connections = 2});
  const conn a = lease(4);  // account 1
  const conn b = lease(8);  // account 2
  pool->release(a, now);
  pool->release(b, now);

  fake_waiter& w = waiter_for(12);  // account 3, same capabilities
  acquire(w);                       // queued, then granted by the pump within the same call
  ASSERT_TRUE(w.granted) << "no close, no connect: the oldest converts";
  EXPECT_TRUE(connector.closed.empty());
  EXPECT_TRUE(connector.pending.empty());
  ASSERT_TRUE(w.granted);
  EXPECT_EQ(w.granted->conn, a.conn);
  EXPECT_EQ(w.granted->variant, 12) << "the lessee sees the variant it asked for";
  EXPECT_EQ(pool->conversions(), 1u);
  EXPECT_EQ(pool->total(), 2u);

  fake_waiter& other_caps = waiter_for(9);  // account 2 with other capabilities: cannot convert
  EXPECT_EQ(acquire(other_caps).status, status::queued);
  ASSERT_TRUE(other_caps.granted || !connector.closed.empty());
  EXPECT_EQ(connector.closed, (closes{{b.conn, 8, close_reason::variant_swap}}));
}

// Accounts as tenants: tenant 1 is account 1 (variant 4), tenant 2 account 2 (variant 8).
TEST_F(pool_core_test, an_account_whose_backends_all_went_to_others_gets_one_on_its_turn) {
  connector.convert_accounts = true;
  start({.max_connections = 2});
  fake_waiter& first = queue(4, 1);
  fake_waiter& second = queue(4, 1);
  open_ok();
  open_ok();
  ASSERT_TRUE(first.granted && second.granted);
  // Account 1 always has more waiting; account 2 has one statement, and no backend.
  std::vector<fake_waiter*> more_of_1;
  for (int i = 0; i < 4; ++i) more_of_1.push_back(&queue(4, 1));
  fake_waiter& of_2 = queue(8, 2);
  EXPECT_FALSE(of_2.granted);

  // Account 1 releases its two backends one after the other: account 2 gets one of them
  // (converted), instead of account 1's waiters getting both.
  pool->release(*first.granted, now);
  const conn next = of_2.granted ? *second.granted : *more_of_1.front()->granted;
  pool->release(next, now);
  ASSERT_TRUE(of_2.granted) << "account 2 starved behind account 1's queue";
  EXPECT_EQ(of_2.granted->variant, 8);
  EXPECT_EQ(pool->conversions(), 1u);
}

TEST_F(pool_core_test, a_backend_between_two_statements_of_its_account_is_not_switched_away) {
  connector.convert_accounts = true;
  start({.max_connections = 2});
  fake_waiter& small = queue(8, 2);  // account 2: one client
  fake_waiter& big = queue(4, 1);    // account 1: many
  open_ok();
  open_ok();
  ASSERT_TRUE(small.granted && big.granted);
  fake_waiter& big_waiting = queue(4, 1);
  EXPECT_FALSE(big_waiting.granted);

  // Account 2's statement ends; its next one comes 5 ms later and finds its own backend.
  pool->release(*small.granted, now);
  EXPECT_FALSE(big_waiting.granted) << "switched away between two statements of account 2";
  now += std::chrono::milliseconds(5);
  fake_waiter& small_again = queue(8, 2);
  ASSERT_TRUE(small_again.granted);
  EXPECT_EQ(small_again.granted->conn, small.granted->conn);
  EXPECT_EQ(pool->conversions(), 0u);

  // Account 2 stops: after the grace its backend serves account 1.
  pool->release(*small_again.granted, now);
  now += std::chrono::milliseconds(25);
  pool->maintain(now);
  ASSERT_TRUE(big_waiting.granted);
  EXPECT_EQ(big_waiting.granted->variant, 4);
  EXPECT_EQ(pool->conversions(), 1u);
}

TEST_F(pool_core_test, two_accounts_on_one_backend_take_turns) {
  connector.convert_accounts = true;
  start({.max_connections = 1});
  fake_waiter* b = &queue(8, 2);
  open_ok();
  ASSERT_TRUE(b->granted);
  fake_waiter& a = queue(4, 1);
  // Account 2's client sends its next statement at once, each time: account 1 still gets the
  // backend when it is given back, not after the queue timeout.
  pool->release(*b->granted, now);
  ASSERT_TRUE(a.granted) << "account 1 starved by account 2's next statements";
  EXPECT_EQ(a.granted->variant, 4);
  b = &queue(8, 2);
  pool->release(*a.granted, now);
  ASSERT_TRUE(b->granted);
  EXPECT_EQ(b->granted->variant, 8);
  EXPECT_EQ(pool->conversions(), 2u);
}

TEST_F(pool_core_test, accounts_at_their_share_take_only_their_own_backends) {
  connector.convert_accounts = true;
  start({.max_connections = 4});
  std::vector<fake_waiter*> holding;
  for (int i = 0; i < 2; ++i) holding.push_back(&queue(4, 1));
  for (int i = 0; i < 2; ++i) holding.push_back(&queue(8, 2));
  while (!connector.pending.empty()) open_ok();
  for (fake_waiter* w : holding) ASSERT_TRUE(w->granted);
  // Both accounts always have statements waiting; each holds its share (2 of 4).
  std::deque<fake_waiter*> waiting;
  for (int i = 0; i < 20; ++i) waiting.push_back(&queue(i % 2 ? 8 : 4, i % 2 ? 2 : 1));
  std::deque<conn> leased;
  for (fake_waiter* w : holding) leased.push_back(*w->granted);
  for (int round = 0; round < 16; ++round) {
    const conn c = leased.front();
    leased.pop_front();
    pool->release(c, now);
    for (fake_waiter* w : waiting)
      if (w->granted && w->deliveries == 1 &&
          std::find_if(leased.begin(), leased.end(),
                       [&](const conn& l) { return l.conn == w->granted->conn; }) == leased.end()) {
        leased.push_back(*w->granted);
        w->deliveries = 2;  // counted once
      }
  }
  EXPECT_EQ(pool->conversions(), 0u) << "a backend moved between accounts at their share";
  std::size_t of_1 = 0, of_2 = 0;
  for (const conn& c : leased) (c.variant == 4 ? of_1 : of_2) += 1;
  EXPECT_EQ(of_1, 2u);
  EXPECT_EQ(of_2, 2u);
}

TEST_F(pool_core_test, below_the_cap_another_variant_opens_without_a_swap) {
  start({.max_connections = 3});
  pool->release(lease(0), now);
  fake_waiter& w = waiter_for(1);
  acquire(w);
  EXPECT_TRUE(connector.closed.empty());
  EXPECT_EQ(connector.pending, (std::vector<int>{1}));
  EXPECT_EQ(pool->idle_count(), 1u);
}

TEST_F(pool_core_test, a_lower_cap_closes_idle_first_and_leases_on_release) {
  start({.max_connections = 4});
  const conn a = lease();
  const conn b = lease();
  const conn c = lease();
  const conn d = lease();
  pool->release(c, now);
  pool->release(d, now);

  pool->set_limits({.max_connections = 1}, now);
  EXPECT_EQ(connector.closed, (closes{{c.conn, 0, close_reason::cap_lowered},
                                      {d.conn, 0, close_reason::cap_lowered}}));
  EXPECT_EQ(pool->leased_count(), 2u) << "a leased connection is never taken away";

  pool->release(a, now);
  EXPECT_EQ(connector.closed.back(), (recorded_close{a.conn, 0, close_reason::cap_lowered}));
  pool->release(b, now);
  EXPECT_EQ(connector.closed.size(), 3u);
  EXPECT_EQ(pool->idle_count(), 1u) << "back under the cap";
  EXPECT_EQ(pool->total(), 1u);
}

TEST_F(pool_core_test, a_lower_cap_closes_only_the_idle_it_must) {
  start({.max_connections = 4});
  lease();
  const conn b = lease();
  const conn c = lease();
  const conn d = lease();
  pool->release(b, now);
  pool->release(c, now);
  pool->release(d, now);

  pool->set_limits({.max_connections = 2}, now);
  EXPECT_EQ(connector.closed, (closes{{b.conn, 0, close_reason::cap_lowered},
                                      {c.conn, 0, close_reason::cap_lowered}}));
  EXPECT_EQ(pool->total(), 2u);
  EXPECT_EQ(lease().conn, d.conn);
}

TEST_F(pool_core_test, a_higher_cap_opens_for_waiters) {
  start({.max_connections = 1});
  lease();
  fake_waiter& w = waiter_for();
  acquire(w);
  EXPECT_TRUE(connector.pending.empty());
  pool->set_limits({.max_connections = 2}, now);
  EXPECT_EQ(connector.pending.size(), 1u);
}

// A connect in flight when the cap is lowered must not add an idle connection above the cap.
TEST_F(pool_core_test, a_connect_finishing_above_a_lowered_cap_is_closed) {
  start({.max_connections = 3});
  lease();
  lease();
  fake_waiter& w = waiter_for();
  acquire(w);
  ASSERT_EQ(connector.pending.size(), 1u);
  pool->set_limits({.max_connections = 2}, now);
  EXPECT_TRUE(pool->cancel(w));

  const int id = open_ok();
  EXPECT_EQ(connector.closed, (closes{{id, 0, close_reason::cap_lowered}}));
  EXPECT_EQ(pool->idle_count(), 0u);
  EXPECT_EQ(pool->total(), 2u);
}

TEST_F(pool_core_test, a_waiter_whose_connect_lands_above_a_lowered_cap_gets_the_next_release) {
  start({.max_connections = 3});
  const conn a = lease();
  lease();
  fake_waiter& w = waiter_for();
  acquire(w);
  pool->set_limits({.max_connections = 2}, now);

  open_ok();
  EXPECT_LE(pool->total(), 2u);
  EXPECT_TRUE(w.queued());
  pool->release(a, now);
  ASSERT_TRUE(w.granted);
  EXPECT_EQ(w.granted->conn, a.conn);
  EXPECT_EQ(pool->total(), 2u);
}

// With the cap lowered under a connect in flight, a variant swap must not open a connection
// beyond the cap (start_open asserts it).
TEST_F(pool_core_test, a_variant_swap_never_exceeds_a_lowered_cap) {
  start({.max_connections = 3});
  const conn a = lease(0);
  lease(0);
  fake_waiter& w0 = waiter_for(0);
  acquire(w0);
  pool->set_limits({.max_connections = 2}, now);
  fake_waiter& w1 = waiter_for(1);
  acquire(w1);
  EXPECT_TRUE(pool->cancel(w0));

  open_ok();
  EXPECT_LE(pool->total(), 2u);
  pool->release(a, now);
  EXPECT_LE(pool->total(), 2u);
  EXPECT_EQ(connector.closed.back(), (recorded_close{a.conn, 0, close_reason::variant_swap}));
  ASSERT_EQ(connector.pending, (std::vector<int>{1}));
  open_ok();
  ASSERT_TRUE(w1.granted);
  EXPECT_EQ(w1.granted->variant, 1);
}

TEST_F(pool_core_test, shutdown_fails_waiters_and_closes_everything) {
  start({.max_connections = 3, .min_idle = 1});
  const conn a = lease(0);
  const conn b = lease(0);
  pool->release(b, now);
  fake_waiter& w = waiter_for(1);
  acquire(w);
  ASSERT_EQ(connector.pending, (std::vector<int>{1}));

  pool->shutdown();
  EXPECT_EQ(w.failed, pool_errc::shutting_down);
  EXPECT_EQ(connector.closed, (closes{{b.conn, 0, close_reason::shutdown}}));

  fake_waiter& late = waiter_for();
  const auto r = acquire(late);
  EXPECT_EQ(r.status, status::rejected);
  EXPECT_EQ(r.error, pool_errc::shutting_down);
  EXPECT_EQ(pool->try_acquire_idle(0), std::nullopt);

  const int opened = open_ok();
  EXPECT_EQ(connector.closed.back(), (recorded_close{opened, 1, close_reason::shutdown}));
  pool->release(a, now);
  EXPECT_EQ(connector.closed.back(), (recorded_close{a.conn, 0, close_reason::shutdown}));
  pool->maintain(now);
  EXPECT_EQ(connector.requested, 3u) << "no min_idle after shutdown";
  EXPECT_EQ(pool->total(), 0u);
}

TEST_F(pool_core_test, discard_idle_if_closes_the_matching_idle_connection) {
  start({.max_connections = 3});
  const conn a = lease();
  const conn b = lease();
  const conn c = lease();
  for (const conn& x : {a, b, c}) pool->release(x, now);

  EXPECT_TRUE(pool->discard_idle_if([&](int id) { return id == b.conn; }, now));
  EXPECT_EQ(connector.closed, (closes{{b.conn, 0, close_reason::broken}}));
  EXPECT_FALSE(pool->discard_idle_if([](int id) { return id == 99; }, now));
  EXPECT_EQ(connector.closed.size(), 1u);
  EXPECT_EQ(pool->idle_count(), 2u);
  EXPECT_EQ(lease().conn, c.conn);
  EXPECT_EQ(lease().conn, a.conn);
}

TEST(close_reason, names_are_the_log_words) {
  EXPECT_STREQ(to_string(close_reason::idle_timeout), "idle_timeout");
  EXPECT_STREQ(to_string(close_reason::max_lifetime), "max_lifetime");
  EXPECT_STREQ(to_string(close_reason::variant_swap), "variant_swap");
  EXPECT_STREQ(to_string(close_reason::cap_lowered), "cap_lowered");
  EXPECT_STREQ(to_string(close_reason::shutdown), "shutdown");
  EXPECT_STREQ(to_string(close_reason::broken), "broken");
}

// ---------------------------------------------------------------------------------------------
// Seeded random walks: every operation in random order, the books checked after each step.

struct walk_case {
  std::string name;
  std::uint32_t seed;
  bool changes_limits;  // set_limits moves the cap between 2 and 6 during the walk
};

void PrintTo(const walk_case& c, std::ostream* out) {
  *out << c.name;
}

enum class op {
  acquire,
  release,
  discard,
  open_ok,
  open_failed,
  cancel,
  tick,
  maintain,
  try_acquire_idle,
  discard_idle,
  set_limits
};

const char* name(op o) {
  static const char* const names[] = {"acquire",          "release",      "discard",   "open_ok",
                                      "open_failed",      "cancel",       "tick",      "maintain",
                                      "try_acquire_idle", "discard_idle", "set_limits"};
  return names[static_cast<int>(o)];
}

class pool_walk : public ::testing::TestWithParam<walk_case> {
 protected:
  static constexpr int variants = 3;
  static constexpr int steps = 4000;

  static pool_limits limits_with(std::size_t max) {
    return {.max_connections = max,
            .min_idle = 1,
            .max_waiting = 6,
            .queue_timeout = 60ms,
            .idle_timeout = 40ms,
            .max_lifetime = 250ms,
            .connect_retry = 25ms};
  }

  std::size_t pick(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
  }

  bool held(int id) const {
    return std::any_of(leases.begin(), leases.end(), [&](const conn& c) { return c.conn == id; });
  }
  std::vector<int> idle_ids(int variant = -1) const {
    std::vector<int> ids;
    for (const auto& [id, v] : alive)
      if ((variant < 0 || v == variant) && !held(id)) ids.push_back(id);
    return ids;
  }

  op choose() {
    static const std::vector<double> weights = {20, 14, 3, 14, 5, 5, 12, 5, 4, 3, 3};
    std::discrete_distribution<int> d(weights.begin(), weights.end() - (changes_limits ? 0 : 1));
    return static_cast<op>(d(rng));
  }

  void take(conn c) {
    EXPECT_TRUE(alive.contains(c.conn)) << c.conn;
    EXPECT_FALSE(held(c.conn)) << "leased twice: " << c.conn;
    leases.push_back(c);
  }

  conn give_back() {
    const auto i = static_cast<std::ptrdiff_t>(pick(leases.size()));
    const conn c = leases[static_cast<std::size_t>(i)];
    leases.erase(leases.begin() + i);
    return c;
  }

  // Runs one operation; `pumped` says whether it ended in a call that hands out and opens.
  void step(op o) {
    pumped = false;
    switch (o) {
      case op::acquire: {
        fake_waiter& w =
            waiters.emplace_back(log, static_cast<int>(pick(variants)), waiters.size());
        w.deadline = now + pool.limits().queue_timeout;
        const bool had_idle = !idle_ids(w.variant).empty();
        const std::size_t waiting = pool.waiting_count();
        const bool down = pool.backend_down(now);
        const bool nothing_alive = alive.empty();
        const auto r = pool.acquire(w, now);
        switch (r.status) {
          case status::granted:
            EXPECT_TRUE(had_idle);
            ASSERT_TRUE(r.connection);
            EXPECT_EQ(r.connection->variant, w.variant);
            w.granted = r.connection;
            take(*r.connection);
            break;
          case status::queued:
            EXPECT_FALSE(had_idle);
            EXPECT_TRUE(w.queued());
            pumped = true;
            break;
          case status::rejected:
            EXPECT_FALSE(had_idle);
            w.rejected = true;
            if (r.error == pool_errc::queue_full) {
              EXPECT_GE(waiting, pool.limits().max_waiting);
            } else if (r.error == pool_errc::backend_unavailable) {
              EXPECT_TRUE(down && nothing_alive);
            } else {
              ADD_FAILURE() << "rejected with " << to_string(r.error);
            }
            break;
        }
        break;
      }
      case op::release:
        if (!leases.empty()) {
          pool.release(give_back(), now);
          pumped = true;
        }
        break;
      case op::discard:
        if (!leases.empty()) {
          pool.discard(give_back(), now);
          pumped = true;
        }
        break;
      case op::open_ok:
      case op::open_failed:
        if (!connector.pending.empty()) {
          const auto i = static_cast<std::ptrdiff_t>(pick(connector.pending.size()));
          const int variant = connector.pending[static_cast<std::size_t>(i)];
          connector.pending.erase(connector.pending.begin() + i);
          if (o == op::open_failed) {
            pool.on_open_failed(variant, "Connection refused", now);
          } else {
            alive[next_id] = variant;
            pool.on_opened({next_id++, variant, now}, now);
            pumped = true;
          }
        }
        break;
      case op::cancel:
        if (!waiters.empty()) {
          fake_waiter& w = waiters[pick(waiters.size())];
          const bool was_queued = w.queued();
          EXPECT_EQ(pool.cancel(w), was_queued);
          if (was_queued) w.cancelled = true;
        }
        break;
      case op::tick:
        now += std::chrono::milliseconds(pick(31));
        pool.expire(now);
        for (const fake_waiter& w : waiters) {
          if (w.queued()) {
            EXPECT_GT(w.deadline, now) << "expire left a waiter past its deadline";
          }
        }
        break;
      case op::maintain:
        pool.maintain(now);
        pumped = true;
        break;
      case op::try_acquire_idle: {
        const int variant = static_cast<int>(pick(variants));
        const bool had_idle = !idle_ids(variant).empty();
        const auto c = pool.try_acquire_idle(variant);
        EXPECT_EQ(c.has_value(), had_idle);
        if (c) {
          EXPECT_EQ(c->variant, variant);
          take(*c);
        }
        break;
      }
      case op::discard_idle: {
        const auto ids = idle_ids();
        const int id = ids.empty() ? -1 : ids[pick(ids.size())];
        EXPECT_EQ(pool.discard_idle_if([&](int c) { return c == id; }, now), id >= 0);
        pumped = id >= 0;
        break;
      }
      case op::set_limits:
        pool.set_limits(limits_with(2 + pick(5)), now);
        pumped = true;
        break;
    }
  }

  // The books after a step: what the pool says against what the test saw.
  void check() {
    for (; grants_seen < log.grants.size(); ++grants_seen) {
      const fake_waiter& w = *log.grants[grants_seen];
      ASSERT_TRUE(w.granted);
      EXPECT_EQ(w.deliveries, 1);
      EXPECT_FALSE(w.cancelled) << "granted after cancel";
      EXPECT_EQ(w.granted->variant, w.variant);
      for (const fake_waiter& other : waiters) {
        if (other.variant == w.variant && other.arrival < w.arrival) {
          EXPECT_FALSE(other.queued()) << "waiter " << w.arrival << " overtook " << other.arrival;
        }
      }
      take(*w.granted);
    }
    for (; failures_seen < log.failures.size(); ++failures_seen) {
      const fake_waiter& w = *log.failures[failures_seen];
      EXPECT_EQ(w.deliveries, 1);
      EXPECT_FALSE(w.cancelled) << "failed after cancel";
      switch (*w.failed) {
        case pool_errc::queue_timeout:
          EXPECT_LE(w.deadline, now);
          break;
        case pool_errc::backend_unavailable:
          EXPECT_EQ(pool.total(), 0u) << "failed waiters while a connection could come back";
          break;
        default:
          ADD_FAILURE() << "waiter failed with " << to_string(*w.failed);
      }
      ++timeouts_or_failures;
    }
    for (; closes_seen < connector.closed.size(); ++closes_seen) {
      const recorded_close& c = connector.closed[closes_seen];
      const auto it = alive.find(c.id);
      ASSERT_NE(it, alive.end()) << "closed twice or never opened: " << c.id;
      EXPECT_EQ(it->second, c.variant);
      EXPECT_FALSE(held(c.id)) << "closed a leased connection: " << c.id;
      alive.erase(it);
    }

    // Conservation: every connection is idle, leased or opening, and counted once.
    EXPECT_EQ(pool.opening_count(), connector.pending.size());
    EXPECT_EQ(pool.leased_count(), leases.size());
    EXPECT_EQ(pool.idle_count(), alive.size() - leases.size());
    const auto queued = static_cast<std::size_t>(
        std::count_if(waiters.begin(), waiters.end(), [](const auto& w) { return w.queued(); }));
    EXPECT_EQ(pool.waiting_count(), queued);
    for (const fake_waiter& w : waiters)
      EXPECT_EQ(w.deliveries + (w.cancelled ? 1 : 0) + (w.queued() ? 1 : 0) + (w.rejected ? 1 : 0) +
                    (w.granted && w.deliveries == 0 ? 1 : 0),
                1)
          << "waiter " << w.arrival << " is in more or fewer than one state";

    // The cap.
    const std::size_t max = pool.limits().max_connections;
    const std::size_t total = pool.total();
    if (!GetParam().changes_limits) {
      EXPECT_LE(total, max);
    } else {
      EXPECT_TRUE(total <= max || pool.idle_count() == 0) << "idle above the cap " << total;
      if (total > max) {
        EXPECT_LE(total, previous_total) << "grew while above the cap";
      }
    }
    previous_total = total;

    // Nobody waits while an idle connection of their variant exists.
    std::array<std::size_t, 4> waiting{};  // the walk uses variants 0 to 3
    std::array<std::size_t, 4> opening{};
    for (const fake_waiter& w : waiters) {
      if (!w.queued()) continue;
      EXPECT_TRUE(idle_ids(w.variant).empty()) << "waiter " << w.arrival << " waits beside idle";
      ++waiting[static_cast<std::size_t>(w.variant)];
    }
    for (int v : connector.pending) ++opening[static_cast<std::size_t>(v)];

    // Right after a call that pumps, a waiter no connect covers is one the pool cannot connect
    // for now. (Time passing alone may change that until the next such call.)
    if (!pumped) return;
    const bool cannot_connect = pool.consecutive_connect_failures() > 0 &&
                                (pool.backend_down(now) || pool.opening_count() > 0);
    const bool full = total >= max && pool.idle_count() == 0;
    for (int v = 0; v < variants; ++v) {
      if (waiting[static_cast<std::size_t>(v)] > opening[static_cast<std::size_t>(v)]) {
        EXPECT_TRUE(cannot_connect || full)
            << "variant " << v << " waits with nothing coming: total " << total << " max " << max
            << " idle " << pool.idle_count() << " waiting " << waiting[0] << "/" << waiting[1]
            << "/" << waiting[2] << " opening " << opening[0] << "/" << opening[1] << "/"
            << opening[2] << " failures " << pool.consecutive_connect_failures();
      }
    }
  }

  std::mt19937 rng{GetParam().seed};
  bool changes_limits = GetParam().changes_limits;
  time_point now = epoch;
  fake_connector connector;
  pool_core<int> pool{limits_with(5), connector};
  std::deque<fake_waiter> waiters;
  journal log;
  std::vector<conn> leases;  // connections leased to the test
  std::map<int, int> alive;  // id -> variant, of every opened connection not yet closed
  int next_id = 1;
  std::size_t grants_seen = 0;
  std::size_t failures_seen = 0;
  std::size_t closes_seen = 0;
  std::size_t previous_total = 0;
  std::size_t timeouts_or_failures = 0;
  bool pumped = false;
};

TEST_P(pool_walk, keeps_the_cap_and_the_books) {
  for (int i = 0; i < steps; ++i) {
    const op o = choose();
    SCOPED_TRACE(::testing::Message() << "step " << i << " " << name(o));
    step(o);
    check();
    if (HasFailure()) return;
  }
  EXPECT_GT(log.grants.size(), static_cast<std::size_t>(steps / 40)) << "the walk barely ran";
  EXPECT_GT(timeouts_or_failures, 0u) << "the walk never failed a waiter";
  std::map<close_reason, std::size_t> reasons;
  for (const recorded_close& c : connector.closed) ++reasons[c.why];
  for (close_reason why : {close_reason::idle_timeout, close_reason::max_lifetime,
                           close_reason::variant_swap, close_reason::broken}) {
    EXPECT_GT(reasons[why], 0u) << "the walk never closed for " << to_string(why);
  }
  if (GetParam().changes_limits) {
    EXPECT_GT(reasons[close_reason::cap_lowered], 0u);
  }

  // Drain: shutdown, then every connect and lease comes back and is closed.
  pool.shutdown();
  for (const fake_waiter& w : waiters) {
    EXPECT_FALSE(w.queued());
    if (w.failed == pool_errc::shutting_down) ++failures_seen;
  }
  while (!connector.pending.empty()) {
    const int variant = connector.pending.back();
    connector.pending.pop_back();
    alive[next_id] = variant;
    pool.on_opened({next_id++, variant, now}, now);
  }
  while (!leases.empty()) pool.release(give_back(), now);
  for (; closes_seen < connector.closed.size(); ++closes_seen) {
    EXPECT_EQ(connector.closed[closes_seen].why, close_reason::shutdown);
    alive.erase(connector.closed[closes_seen].id);
  }
  EXPECT_TRUE(alive.empty());
  EXPECT_EQ(pool.total(), 0u);
  EXPECT_EQ(failures_seen, log.failures.size());
}

// The distributions are libstdc++'s, so a seed's walk is fixed on this platform; the coverage
// checks at the end of each walk say if a seed stops reaching every close reason.
const std::vector<walk_case> walk_cases = {
    {"seed_1", 1, false},          {"seed_2", 2, false},
    {"seed_3", 3, false},          {"seed_20240601", 20240601, false},
    {"seed_1_cap_moves", 1, true}, {"seed_2_cap_moves", 2, true},
    {"seed_3_cap_moves", 3, true}, {"seed_20240601_cap_moves", 20240601, true},
};

INSTANTIATE_TEST_SUITE_P(pool_core, pool_walk, ::testing::ValuesIn(walk_cases),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace sluice::pool
