// The backend pool's state machine: which connections are idle, leased or opening, and who waits.
//
// Pure: no I/O and no clock of its own (every call takes `now`), so tests drive time and a fake
// connector answers opens. A connection's state is the list it is on: `idle_` (ready, most recently
// used first), leased (owned by a client session; counted), opening (a connect in flight; counted).
// The cap `idle + leased + opening <= max_connections` is checked at the single place that grows
// it.
#pragma once

#include <array>
#include <cassert>
#include <chrono>
#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <utility>

#include "pool/pool_errc.h"

namespace sluice::pool {

using clock = std::chrono::steady_clock;
using time_point = clock::time_point;

struct pool_limits {
  std::size_t max_connections = 16;
  std::size_t min_idle = 0;
  std::size_t max_waiting = 10000;
  std::chrono::milliseconds queue_timeout{10'000};
  std::chrono::milliseconds idle_timeout{300'000};
  std::chrono::milliseconds max_lifetime{3'600'000};
  // After a failed connect, how long statements that find no live backend fail fast before the
  // pool tries to connect again.
  std::chrono::milliseconds connect_retry{1'000};
};

// Connections opened with different wire-affecting capabilities (e.g. CLIENT_FOUND_ROWS) are not
// interchangeable; each is tagged with its variant and only leased to clients of that variant.
inline constexpr int max_variants = 4;

template <class Conn>
struct pooled {
  Conn conn;
  int variant = 0;
  time_point opened_at{};
};

enum class close_reason { idle_timeout, max_lifetime, variant_swap, cap_lowered, shutdown, broken };

inline const char* to_string(close_reason r) noexcept {
  switch (r) {
    case close_reason::idle_timeout:
      return "idle_timeout";
    case close_reason::max_lifetime:
      return "max_lifetime";
    case close_reason::variant_swap:
      return "variant_swap";
    case close_reason::cap_lowered:
      return "cap_lowered";
    case close_reason::shutdown:
      return "shutdown";
    case close_reason::broken:
      return "broken";
  }
  return "unknown";
}

// What the pool asks of the outside world. Implementations answer opens later (on_opened /
// on_open_failed), never from inside open_connection, so the core is never re-entered.
template <class Conn>
class pool_hooks {
 public:
  virtual void open_connection(int variant) = 0;
  virtual void close_connection(pooled<Conn> c, close_reason why) = 0;

 protected:
  ~pool_hooks() = default;
};

template <class Conn>
class pool_core;

// A statement waiting for a backend. Owned by the caller; linked into the queue while it waits.
// The callbacks run inside pool calls and must not call back into the pool.
template <class Conn>
class waiter {
 public:
  int variant = 0;
  time_point deadline{};

  virtual void on_granted(pooled<Conn> c) = 0;
  virtual void on_failed(pool_errc why) = 0;
  bool queued() const noexcept { return queued_; }

 protected:
  ~waiter() = default;

 private:
  friend class pool_core<Conn>;
  bool queued_ = false;
  typename std::list<waiter*>::iterator position_{};
};

template <class Conn>
class pool_core {
 public:
  enum class acquire_status { granted, queued, rejected };
  struct acquire_result {
    acquire_status status;
    std::optional<pooled<Conn>> connection;  // when granted
    pool_errc error{};                       // when rejected
  };

  pool_core(pool_limits limits, pool_hooks<Conn>& hooks) : limits_(limits), hooks_(hooks) {}
  pool_core(const pool_core&) = delete;
  pool_core& operator=(const pool_core&) = delete;

  // A statement wants a backend: an idle one at once, or a place in the FIFO queue, or a refusal.
  acquire_result acquire(waiter<Conn>& w, time_point now) {
    assert(w.variant >= 0 && w.variant < max_variants && !w.queued_);
    if (shutting_down_) return {acquire_status::rejected, std::nullopt, pool_errc::shutting_down};
    if (auto c = paused_ ? std::nullopt : take_idle(w.variant)) {
      ++leased_;
      return {acquire_status::granted, std::move(c), {}};
    }
    // Nothing alive and connects failing: say so now rather than after the queue timeout.
    if (backend_down(now) && leased_ == 0 && idle_.empty())
      return {acquire_status::rejected, std::nullopt, pool_errc::backend_unavailable};
    if (waiters_.size() >= limits_.max_waiting)
      return {acquire_status::rejected, std::nullopt, pool_errc::queue_full};
    w.queued_ = true;
    w.position_ = waiters_.insert(waiters_.end(), &w);
    pump(now);
    return {acquire_status::queued, std::nullopt, {}};
  }

  // The fast path: an idle connection of the variant, without queueing.
  std::optional<pooled<Conn>> try_acquire_idle(int variant) {
    if (shutting_down_ || paused_) return std::nullopt;
    auto c = take_idle(variant);
    if (c) ++leased_;
    return c;
  }

  // Takes a waiter out of the queue (its client left). False when it was already granted or
  // failed: the caller then owns whatever the callback delivered.
  bool cancel(waiter<Conn>& w) {
    if (!w.queued_) return false;
    waiters_.erase(w.position_);
    w.queued_ = false;
    return true;
  }

  // A lease ends with the connection in a clean, known state.
  void release(pooled<Conn> c, time_point now) {
    assert(leased_ > 0);
    --leased_;
    if (shutting_down_) {
      hooks_.close_connection(std::move(c), close_reason::shutdown);
    } else if (now - c.opened_at >= limits_.max_lifetime) {
      hooks_.close_connection(std::move(c), close_reason::max_lifetime);
    } else if (total() >= limits_.max_connections) {
      hooks_.close_connection(std::move(c), close_reason::cap_lowered);
    } else {
      idle_.push_front({std::move(c), now});
    }
    pump(now);
  }

  // A lease ends with the connection broken or in an unknown state: it is closed, never pooled.
  void discard(pooled<Conn> c, time_point now) {
    assert(leased_ > 0);
    --leased_;
    hooks_.close_connection(std::move(c), close_reason::broken);
    pump(now);
  }

  void on_opened(pooled<Conn> c, time_point now) {
    finish_opening(c.variant);
    failures_ = 0;
    last_error_.clear();
    if (shutting_down_) {
      hooks_.close_connection(std::move(c), close_reason::shutdown);
      return;
    }
    if (total() >= limits_.max_connections) {
      // The cap was lowered while this connect was in flight; as in release(), it goes.
      hooks_.close_connection(std::move(c), close_reason::cap_lowered);
    } else {
      idle_.push_front({std::move(c), now});
    }
    pump(now);
  }

  void on_open_failed(int variant, std::string error, time_point now) {
    finish_opening(variant);
    ++failures_;
    last_error_ = std::move(error);
    down_until_ = now + limits_.connect_retry;
    // No connection exists that could come back to the waiters: fail them now.
    if (leased_ == 0 && idle_.empty() && opening_total_ == 0)
      fail_all_waiters(pool_errc::backend_unavailable);
  }

  // Fails waiters whose deadline passed. Deadlines grow along the queue (one timeout for all), so
  // only the front needs looking at.
  void expire(time_point now) {
    while (!waiters_.empty() && waiters_.front()->deadline <= now)
      fail(waiters_.begin(), pool_errc::queue_timeout);
  }

  std::optional<time_point> next_deadline() const {
    if (waiters_.empty()) return std::nullopt;
    return waiters_.front()->deadline;
  }

  // Periodic upkeep: idle and lifetime limits, min_idle, retry after a failed connect.
  void maintain(time_point now) {
    for (auto it = idle_.begin(); it != idle_.end();) {
      const bool too_old = now - it->connection.opened_at >= limits_.max_lifetime;
      const bool idle_too_long =
          idle_.size() > limits_.min_idle && now - it->idle_since >= limits_.idle_timeout;
      if (too_old || idle_too_long) {
        auto c = std::move(it->connection);
        it = idle_.erase(it);
        hooks_.close_connection(std::move(c),
                                too_old ? close_reason::max_lifetime : close_reason::idle_timeout);
      } else {
        ++it;
      }
    }
    expire(now);
    while (!shutting_down_ && waiters_.empty() &&
           idle_.size() + opening_total_ < limits_.min_idle && total() < limits_.max_connections &&
           may_connect(now))
      start_open(0);
    pump(now);
  }

  // Removes one idle connection the caller found dead (e.g. the server closed it).
  template <class Pred>
  bool discard_idle_if(Pred matches, time_point now) {
    for (auto it = idle_.begin(); it != idle_.end(); ++it) {
      if (matches(it->connection.conn)) {
        auto c = std::move(it->connection);
        idle_.erase(it);
        hooks_.close_connection(std::move(c), close_reason::broken);
        pump(now);
        return true;
      }
    }
    return false;
  }

  // Visits every idle connection (e.g. to watch its socket); must not change the pool.
  template <class F>
  void for_each_idle(F&& visit) {
    for (auto& entry : idle_) visit(entry.connection.conn);
  }

  // Visits every waiting statement, in queue order; must not change the pool.
  template <class F>
  void for_each_waiter(F&& visit) {
    for (waiter<Conn>* w : waiters_) visit(*w);
  }

  // New limits (config reload). A lower cap closes idle connections first and never touches a
  // leased one; leases over the cap close when they come back.
  void set_limits(const pool_limits& limits, time_point now) {
    limits_ = limits;
    while (total() > limits_.max_connections && !idle_.empty()) {
      auto c = std::move(idle_.back().connection);
      idle_.pop_back();
      hooks_.close_connection(std::move(c), close_reason::cap_lowered);
    }
    pump(now);
  }

  // Opens one connection when none exists or is being opened, within the cap and the retry
  // delay: how readiness learns whether the backend can be reached.
  void probe(time_point now) {
    if (!shutting_down_ && total() == 0 && may_connect(now))
      start_open(0);
  }

  // Paused: no connection is handed out (statements queue, and time out as usual) and none is
  // opened for waiters; leases in progress finish normally.
  void set_paused(bool paused, time_point now) {
    paused_ = paused;
    pump(now);
  }
  bool paused() const noexcept { return paused_; }

  void shutdown() {
    shutting_down_ = true;
    fail_all_waiters(pool_errc::shutting_down);
    while (!idle_.empty()) {
      auto c = std::move(idle_.front().connection);
      idle_.pop_front();
      hooks_.close_connection(std::move(c), close_reason::shutdown);
    }
  }

  const pool_limits& limits() const noexcept { return limits_; }
  std::size_t idle_count() const noexcept { return idle_.size(); }
  std::size_t leased_count() const noexcept { return leased_; }
  std::size_t opening_count() const noexcept { return opening_total_; }
  std::size_t waiting_count() const noexcept { return waiters_.size(); }
  std::size_t total() const noexcept { return idle_.size() + leased_ + opening_total_; }
  const std::string& last_connect_error() const noexcept { return last_error_; }
  bool backend_down(time_point now) const noexcept { return failures_ > 0 && now < down_until_; }
  unsigned consecutive_connect_failures() const noexcept { return failures_; }

 private:
  struct idle_entry {
    pooled<Conn> connection;
    time_point idle_since;
  };

  std::optional<pooled<Conn>> take_idle(int variant) {
    for (auto it = idle_.begin(); it != idle_.end(); ++it) {
      if (it->connection.variant == variant) {
        auto c = std::move(it->connection);
        idle_.erase(it);
        return c;
      }
    }
    return std::nullopt;
  }

  bool may_connect(time_point now) const noexcept {
    // While the backend is failing, one probe at a time once the retry delay has passed.
    return failures_ == 0 || (now >= down_until_ && opening_total_ == 0);
  }

  void start_open(int variant) {
    assert(total() < limits_.max_connections && "pool cap exceeded");
    ++opening_[variant];
    ++opening_total_;
    hooks_.open_connection(variant);
  }

  void finish_opening(int variant) {
    assert(opening_[variant] > 0 && opening_total_ > 0);
    --opening_[variant];
    --opening_total_;
  }

  // Hands idle connections to waiters of their variant, then opens connections for waiters
  // that no opening in flight will serve, within the cap.
  void pump(time_point now) {
    if (paused_) return;
    for (auto it = waiters_.begin(); it != waiters_.end() && !idle_.empty();) {
      auto next = std::next(it);
      if (auto c = take_idle((*it)->variant)) grant(it, std::move(*c));
      it = next;
    }
    if (waiters_.empty() || shutting_down_) return;
    std::array<std::size_t, max_variants> uncovered{};
    for (const waiter<Conn>* w : waiters_) ++uncovered[w->variant];
    for (int v = 0; v < max_variants; ++v) uncovered[v] -= std::min(uncovered[v], opening_[v]);
    for (const waiter<Conn>* w : waiters_) {
      const int v = w->variant;
      if (uncovered[v] == 0) continue;
      if (!may_connect(now)) break;
      if (total() >= limits_.max_connections) {
        // Idle connections left now are of variants nobody waits for: swap the oldest.
        if (idle_.empty()) break;
        auto c = std::move(idle_.back().connection);
        idle_.pop_back();
        hooks_.close_connection(std::move(c), close_reason::variant_swap);
      }
      start_open(v);
      --uncovered[v];
    }
  }

  void grant(typename std::list<waiter<Conn>*>::iterator it, pooled<Conn> c) {
    waiter<Conn>* w = *it;
    waiters_.erase(it);
    w->queued_ = false;
    ++leased_;
    w->on_granted(std::move(c));
  }

  void fail(typename std::list<waiter<Conn>*>::iterator it, pool_errc why) {
    waiter<Conn>* w = *it;
    waiters_.erase(it);
    w->queued_ = false;
    w->on_failed(why);
  }

  void fail_all_waiters(pool_errc why) {
    while (!waiters_.empty()) fail(waiters_.begin(), why);
  }

  pool_limits limits_;
  pool_hooks<Conn>& hooks_;
  std::list<idle_entry> idle_;
  std::list<waiter<Conn>*> waiters_;
  std::size_t leased_ = 0;
  std::array<std::size_t, max_variants> opening_{};
  std::size_t opening_total_ = 0;
  unsigned failures_ = 0;
  time_point down_until_{};
  std::string last_error_;
  bool shutting_down_ = false;
  bool paused_ = false;
};

}  // namespace sluice::pool
