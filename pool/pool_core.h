// The backend pool's state machine: which connections are idle, leased or opening, and who waits.
//
// Pure: no I/O and no clock of its own (every call takes `now`), so tests drive time and a fake
// connector answers opens. A connection's state is the list it is on: `idle_` (ready, most recently
// used first), leased (owned by a client session; counted), opening (a connect in flight; counted).
// The cap `idle + leased + opening <= max_connections (+ reserve while in use)` is checked at the
// single place that grows it.
//
// Waiting statements queue per tenant (a client user): FIFO within a tenant, and a freed backend
// goes to the tenants in weighted round robin, so a user who floods the queue only makes its own
// statements wait longer. A tenant may also be capped in concurrent leases and waiting statements.
#pragma once

#include <algorithm>
#include <array>
#include <cassert>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <deque>
#include <list>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

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
  // Extra connections beyond max_connections, for statements that waited reserve_after.
  std::size_t reserve_connections = 0;
  std::chrono::milliseconds reserve_after{5'000};
  // Connection attempts per second (0: no limit), so a burst cannot become a reconnect storm.
  double connect_rate = 0;
};

// A tenant's share (a client user's): 0 means no limit of its own.
struct tenant_limits {
  std::size_t max_leases = 0;   // concurrent backends it may hold
  unsigned weight = 1;          // backends it gets per round when several tenants wait
  std::size_t max_waiting = 0;  // its statements that may wait at once
};

// Connections of different variants are not interchangeable (wire-affecting capabilities such as
// CLIENT_FOUND_ROWS, or the account they are logged in as); each is tagged with its variant and
// only leased to clients of that variant. Some can be converted (another account, by
// COM_CHANGE_USER): the hooks say which, and at the cap an idle one is converted rather than
// closed and reopened.

template <class Conn>
struct pooled {
  Conn conn;
  int variant = 0;
  time_point opened_at{};
  int tenant = 0;  // who holds the lease (set when leased)
};

enum class close_reason {
  idle_timeout,
  max_lifetime,
  variant_swap,
  cap_lowered,
  reserve_returned,
  shutdown,
  broken
};

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
    case close_reason::reserve_returned:
      return "reserve_returned";
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
  // Whether a connection of variant `from` can serve variant `to` once converted by its lessee
  // (which then sees a connection whose variant tag says `to`).
  virtual bool convertible(int from, int to) const {
    (void)from;
    (void)to;
    return false;
  }

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
  int tenant = 0;
  time_point deadline{};

  virtual void on_granted(pooled<Conn> c) = 0;
  virtual void on_failed(pool_errc why) = 0;
  bool queued() const noexcept { return queued_; }
  time_point queued_at() const noexcept { return queued_at_; }

 protected:
  ~waiter() = default;

 private:
  friend class pool_core<Conn>;
  bool queued_ = false;
  time_point queued_at_{};
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

  pool_core(pool_limits limits, pool_hooks<Conn>& hooks) : limits_(limits), hooks_(hooks) {
    tenants_.resize(1);
  }
  pool_core(const pool_core&) = delete;
  pool_core& operator=(const pool_core&) = delete;

  // A statement wants a backend: an idle one at once, or a place in its tenant's FIFO queue, or
  // a refusal.
  acquire_result acquire(waiter<Conn>& w, time_point now) {
    assert(w.variant >= 0 && !w.queued_ && w.tenant >= 0);
    if (shutting_down_) return {acquire_status::rejected, std::nullopt, pool_errc::shutting_down};
    tenant_state& t = tenant(w.tenant);
    if (!paused_ && under_cap(t)) {
      if (auto c = take_idle(w.variant))
        return {acquire_status::granted, lease(std::move(*c), w.tenant), {}};
    }
    // Nothing alive and connects failing: say so now rather than after the queue timeout.
    if (backend_down(now) && leased_ == 0 && idle_.empty())
      return {acquire_status::rejected, std::nullopt, pool_errc::backend_unavailable};
    if (waiting_ >= limits_.max_waiting)
      return {acquire_status::rejected, std::nullopt, pool_errc::queue_full};
    if (t.limits.max_waiting > 0 && t.queue.size() >= t.limits.max_waiting)
      return {acquire_status::rejected, std::nullopt, pool_errc::user_queue_full};
    w.queued_ = true;
    w.queued_at_ = now;
    w.position_ = t.queue.insert(t.queue.end(), &w);
    ++waiting_;
    pump(now);
    return {acquire_status::queued, std::nullopt, {}};
  }

  // The fast path: an idle connection of the variant, without queueing.
  std::optional<pooled<Conn>> try_acquire_idle(int variant, int tenant_id = 0) {
    if (shutting_down_ || paused_ || !under_cap(tenant(tenant_id))) return std::nullopt;
    auto c = take_idle(variant);
    if (!c) return std::nullopt;
    return lease(std::move(*c), tenant_id);
  }

  // Takes a waiter out of the queue (its client left). False when it was already granted or
  // failed: the caller then owns whatever the callback delivered.
  bool cancel(waiter<Conn>& w) {
    if (!w.queued_) return false;
    tenants_[w.tenant].queue.erase(w.position_);
    w.queued_ = false;
    --waiting_;
    return true;
  }

  // A lease ends with the connection in a clean, known state.
  void release(pooled<Conn> c, time_point now) {
    end_lease(c);
    if (shutting_down_) {
      hooks_.close_connection(std::move(c), close_reason::shutdown);
    } else if (now - c.opened_at >= limits_.max_lifetime) {
      hooks_.close_connection(std::move(c), close_reason::max_lifetime);
    } else if (total() >= cap(now)) {
      // Over the cap in force. Short of max + reserve, that cap is max_connections because the
      // reserve is closed (no statement waited reserve_after): a reserve connection came back.
      const bool reserve = limits_.reserve_connections > 0 &&
                           total() < limits_.max_connections + limits_.reserve_connections;
      hooks_.close_connection(std::move(c),
                              reserve ? close_reason::reserve_returned : close_reason::cap_lowered);
    } else if (total() >= limits_.max_connections && waiting_ == 0) {
      hooks_.close_connection(std::move(c), close_reason::reserve_returned);
    } else {
      idle_.push_front({std::move(c), now});
    }
    pump(now);
  }

  // A lease ends with the connection broken or in an unknown state: it is closed, never pooled.
  void discard(pooled<Conn> c, time_point now) {
    end_lease(c);
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
    if (total() >= cap(now)) {
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

  // A connection for `variant` was refused for a reason of its own (its account's login failed):
  // that variant's waiters fail now. The server answered, so no retry pause holds the others.
  void on_open_refused(int variant, std::string error) {
    finish_opening(variant);
    last_error_ = std::move(error);
    for (auto& t : tenants_) {
      for (auto it = t.queue.begin(); it != t.queue.end();) {
        const auto next = std::next(it);
        if ((*it)->variant == variant) fail(t, it, pool_errc::backend_unavailable);
        it = next;
      }
    }
  }

  // Fails waiters whose deadline passed. Deadlines grow along each tenant's queue (one timeout
  // for all), so only the fronts need looking at.
  void expire(time_point now) {
    for (auto& t : tenants_)
      while (!t.queue.empty() && t.queue.front()->deadline <= now)
        fail(t, t.queue.begin(), pool_errc::queue_timeout);
  }

  std::optional<time_point> next_deadline() const {
    std::optional<time_point> earliest;
    for (const auto& t : tenants_)
      if (!t.queue.empty() && (!earliest || t.queue.front()->deadline < *earliest))
        earliest = t.queue.front()->deadline;
    return earliest;
  }

  // When the longest-waiting statement started to wait.
  std::optional<time_point> oldest_queued_at() const {
    std::optional<time_point> oldest;
    for (const auto& t : tenants_)
      if (!t.queue.empty() && (!oldest || t.queue.front()->queued_at_ < *oldest))
        oldest = t.queue.front()->queued_at_;
    return oldest;
  }

  // Periodic upkeep: idle and lifetime limits, reserve return, min_idle, retry after a failed
  // connect or a connect-rate pause.
  void maintain(time_point now) {
    for (auto it = idle_.begin(); it != idle_.end();) {
      const bool too_old = now - it->connection.opened_at >= limits_.max_lifetime;
      const bool idle_too_long =
          idle_.size() > limits_.min_idle && now - it->idle_since >= limits_.idle_timeout;
      const bool reserve = total() > limits_.max_connections && waiting_ == 0;
      if (too_old || idle_too_long || reserve) {
        auto c = std::move(it->connection);
        it = idle_.erase(it);
        hooks_.close_connection(std::move(c), too_old         ? close_reason::max_lifetime
                                              : idle_too_long ? close_reason::idle_timeout
                                                              : close_reason::reserve_returned);
      } else {
        ++it;
      }
    }
    expire(now);
    while (!shutting_down_ && waiting_ == 0 && idle_.size() + opening_total_ < limits_.min_idle &&
           total() < limits_.max_connections && may_connect(now))
      start_open(0, now);
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
  template <typename F>
  void for_each_idle(F&& visit) const {
    for (const auto& entry : idle_) visit(entry.connection.conn);
  }

  // Visits every waiting statement; must not change the pool.
  template <class F>
  void for_each_waiter(F&& visit) {
    for (auto& t : tenants_)
      for (waiter<Conn>* w : t.queue) visit(*w);
  }

  // New limits (config reload). A lower cap closes idle connections first and never touches a
  // leased one; leases over the cap close when they come back.
  void set_limits(const pool_limits& limits, time_point now) {
    limits_ = limits;
    // The timeout in force applies to every waiting statement (order within a queue is kept,
    // since all of them share it), so a lowered timeout reaches those already queued.
    for (auto& t : tenants_)
      for (waiter<Conn>* w : t.queue) w->deadline = w->queued_at_ + limits_.queue_timeout;
    expire(now);
    while (total() > cap(now) && !idle_.empty()) {
      auto c = std::move(idle_.back().connection);
      idle_.pop_back();
      hooks_.close_connection(std::move(c), close_reason::cap_lowered);
    }
    pump(now);
  }

  // A tenant's share (reload-safe: leases above a lowered share finish normally).
  void set_tenant_limits(int tenant_id, const tenant_limits& limits, time_point now) {
    tenant(tenant_id).limits = limits;
    if (tenant(tenant_id).limits.weight == 0) tenant(tenant_id).limits.weight = 1;
    pump(now);
  }

  // Opens one connection when none exists or is being opened, within the retry delay and the
  // connect rate: how readiness learns whether the backend can be reached.
  void probe(time_point now) {
    if (!shutting_down_ && total() == 0 && may_connect(now)) start_open(0, now);
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
  std::size_t waiting_count() const noexcept { return waiting_; }
  std::size_t total() const noexcept { return idle_.size() + leased_ + opening_total_; }
  // Connections above max_connections, i.e. taken from the reserve.
  std::size_t reserve_in_use() const noexcept {
    return total() > limits_.max_connections ? total() - limits_.max_connections : 0;
  }
  std::size_t tenant_leased(int tenant_id) const {
    return tenant_id < static_cast<int>(tenants_.size()) ? tenants_[tenant_id].leased : 0;
  }
  std::size_t tenant_waiting(int tenant_id) const {
    return tenant_id < static_cast<int>(tenants_.size()) ? tenants_[tenant_id].queue.size() : 0;
  }
  const std::string& last_connect_error() const noexcept { return last_error_; }
  bool backend_down(time_point now) const noexcept { return failures_ > 0 && now < down_until_; }
  unsigned consecutive_connect_failures() const noexcept { return failures_; }
  // Idle connections retagged for another variant (to be converted by their lessee).
  std::uint64_t conversions() const noexcept { return conversions_; }

 private:
  struct idle_entry {
    pooled<Conn> connection;
    time_point idle_since;
  };
  struct tenant_state {
    tenant_limits limits;
    std::list<waiter<Conn>*> queue;
    std::size_t leased = 0;
    unsigned credits = 0;  // grants left in its current round-robin turn
  };

  tenant_state& tenant(int id) {
    if (id >= static_cast<int>(tenants_.size())) tenants_.resize(static_cast<std::size_t>(id) + 1);
    return tenants_[static_cast<std::size_t>(id)];
  }

  static bool under_cap(const tenant_state& t) noexcept {
    return t.limits.max_leases == 0 || t.leased < t.limits.max_leases;
  }

  pooled<Conn> lease(pooled<Conn> c, int tenant_id) {
    ++leased_;
    ++tenant(tenant_id).leased;
    c.tenant = tenant_id;
    return c;
  }

  void end_lease(const pooled<Conn>& c) {
    assert(leased_ > 0);
    --leased_;
    tenant_state& t = tenant(c.tenant);
    assert(t.leased > 0);
    --t.leased;
  }

  // The cap in force: max_connections, plus the reserve once a statement waited reserve_after.
  std::size_t cap(time_point now) const {
    if (limits_.reserve_connections == 0) return limits_.max_connections;
    const auto oldest = oldest_queued_at();
    const bool reserve_open =
        (oldest && now - *oldest >= limits_.reserve_after) || total() > limits_.max_connections;
    return limits_.max_connections + (reserve_open ? limits_.reserve_connections : 0);
  }

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

  bool has_idle(int variant) const {
    return std::any_of(idle_.begin(), idle_.end(),
                       [variant](const idle_entry& e) { return e.connection.variant == variant; });
  }

  bool rate_limited() const noexcept {
    return limits_.connect_rate > 0 && std::isfinite(limits_.connect_rate);
  }

  // connect_rate: at most N attempts in any N / rate seconds (N = the rate, at least 1), so a
  // burst may open N at once but no second sees more attempts than the rate. (A token bucket
  // holding N lets its full bucket and its refill through in the same second: twice the rate.)
  bool may_connect(time_point now) {
    // While the backend is failing, one probe at a time once the retry delay has passed.
    if (failures_ > 0 && (now < down_until_ || opening_total_ > 0)) return false;
    if (!rate_limited()) return true;
    const double allowed = std::max(1.0, std::floor(limits_.connect_rate));
    const auto window = std::chrono::duration_cast<clock::duration>(
        std::chrono::duration<double>(allowed / limits_.connect_rate));
    while (!recent_attempts_.empty() && now - recent_attempts_.front() >= window)
      recent_attempts_.pop_front();
    return static_cast<double>(recent_attempts_.size()) < allowed;
  }

  void start_open(int variant, time_point now) {
    assert(total() < cap(now) && "pool cap exceeded");
    if (rate_limited()) recent_attempts_.push_back(now);
    ++opening_[variant];
    ++opening_total_;
    hooks_.open_connection(variant);
  }

  void finish_opening(int variant) {
    assert(opening_[variant] > 0 && opening_total_ > 0);
    --opening_[variant];
    --opening_total_;
  }

  // An even share of max_connections among the tenants that hold or wait for backends. A tenant
  // below it may take another variant's idle connection (converted) on its turn, so that when
  // variants are accounts, an account whose backends all went to others is not starved by
  // accounts that always have waiters of their own. At or above it, a tenant takes only idle
  // connections of its own variants, which costs no conversion.
  std::size_t fair_share() const {
    std::size_t active = 0;
    for (const auto& other : tenants_)
      if (other.leased > 0 || !other.queue.empty()) ++active;
    return std::max<std::size_t>(1, limits_.max_connections / std::max<std::size_t>(1, active));
  }

  // How long a connection given back by a tenant with nothing waiting, at or below its share,
  // stays its own: about a client's think time, so that a small account's backend is not switched
  // away between two of its statements and back again (two switches, ~300 µs of the backend
  // each). A tenant with statements waiting competes for it in the round robin instead.
  static constexpr clock::duration conversion_grace = std::chrono::milliseconds(20);

  bool kept_for_its_tenant(const idle_entry& e, time_point now) const {
    if (now - e.idle_since >= conversion_grace) return false;
    const auto owner = static_cast<std::size_t>(e.connection.tenant);
    if (owner >= tenants_.size()) return false;
    const tenant_state& t = tenants_[owner];
    return t.queue.empty() && t.leased <= fair_share();
  }

  // The oldest idle connection that converts to `variant` and may be converted now (or also one
  // kept for its tenant, for a tenant that holds nothing), if any.
  auto convertible_idle(int variant, time_point now, bool even_kept) {
    for (auto it = idle_.rbegin(); it != idle_.rend(); ++it)
      if (hooks_.convertible(it->connection.variant, variant) &&
          (even_kept || !kept_for_its_tenant(*it, now)))
        return std::next(it).base();
    return idle_.end();
  }

  bool opening_for(int variant) const {
    const auto it = opening_.find(variant);
    return it != opening_.end() && it->second > 0;
  }

  // Whether a waiter of a tenant below its fair share may take another variant's idle
  // connection: no connection of its own variant is being opened (that one will serve it). A
  // tenant that holds nothing may also take one kept for its tenant, or two accounts on one
  // backend would leave the waiting one starved by the other's next statements.
  bool may_convert_for(const tenant_state& t, const waiter<Conn>& w, time_point now) {
    return !opening_for(w.variant) &&
           convertible_idle(w.variant, now, t.leased == 0) != idle_.end();
  }

  // Whether tenant `t` can use an idle connection now: one of its waiters' variant, or, below its
  // fair share, one that converts to it (may_convert_for).
  bool can_use_idle(const tenant_state& t, time_point now) {
    const bool below_share = t.leased < fair_share();
    return std::any_of(
        t.queue.begin(), t.queue.end(), [this, &t, now, below_share](const waiter<Conn>* w) {
          return has_idle(w->variant) || (below_share && may_convert_for(t, *w, now));
        });
  }

  // The tenant whose turn it is and who can use an idle connection now (weighted round robin:
  // each tenant takes up to `weight` grants per turn), or -1.
  int next_turn(time_point now) {
    const std::size_t n = tenants_.size();
    for (std::size_t step = 0; step < 2 * n + 1; ++step) {
      tenant_state& t = tenants_[turn_];
      if (t.credits > 0 && under_cap(t) && can_use_idle(t, now)) {
        --t.credits;
        return static_cast<int>(turn_);
      }
      turn_ = (turn_ + 1) % n;
      tenants_[turn_].credits = tenants_[turn_].limits.weight;
    }
    return -1;
  }

  // The connection convertible_idle finds, retagged for `variant`; its lessee converts it.
  std::optional<pooled<Conn>> take_converted(int variant, time_point now, bool even_kept) {
    const auto it = convertible_idle(variant, now, even_kept);
    if (it == idle_.end()) return std::nullopt;
    auto c = std::move(it->connection);
    idle_.erase(it);
    c.variant = variant;
    ++conversions_;
    return c;
  }

  // Hands idle connections to waiting tenants in weighted round robin (FIFO within a tenant),
  // then opens connections for waiters no opening in flight will serve, within the caps; at the
  // cap, converts an idle connection of another variant, or swaps it when it cannot be.
  void pump(time_point now) {
    while (pump_once(now)) {
    }
  }

  // One round of pump(); true when an idle connection was converted and the round must start over.
  bool pump_once(time_point now) {
    if (paused_ || shutting_down_) return false;
    while (!idle_.empty() && waiting_ > 0) {
      const int id = next_turn(now);
      if (id < 0) break;
      tenant_state& t = tenants_[static_cast<std::size_t>(id)];
      if (!grant_idle(t, id)) grant_converted(t, id, now);
    }
    if (waiting_ == 0) return false;
    // Statements that could use a backend now, by variant: a tenant at its share waits for its
    // own leases to end instead.
    std::map<int, std::size_t> wanted;
    for (const auto& t : tenants_) {
      std::size_t room = t.limits.max_leases == 0          ? t.queue.size()
                         : t.leased >= t.limits.max_leases ? 0
                                                           : t.limits.max_leases - t.leased;
      for (const waiter<Conn>* w : t.queue) {
        if (room == 0) break;
        ++wanted[w->variant];
        --room;
      }
    }
    for (const auto& [v, count] : wanted) {
      const auto opening = opening_.find(v);
      std::size_t uncovered =
          count - std::min(count, opening == opening_.end() ? 0 : opening->second);
      while (uncovered > 0) {
        if (total() >= cap(now)) {
          // Idle connections left now are of variants nobody can use: convert the oldest that
          // can serve this one, else swap the oldest.
          if (idle_.empty() || has_idle(v)) return false;
          const conversion converted = convert_idle(v, now);
          if (converted == conversion::done) return true;
          if (converted == conversion::too_soon) return false;
          if (!may_connect(now)) return false;
          auto c = std::move(idle_.back().connection);
          idle_.pop_back();
          hooks_.close_connection(std::move(c), close_reason::variant_swap);
        } else if (!may_connect(now)) {
          return false;
        }
        start_open(v, now);
        --uncovered;
      }
    }
    return false;
  }

  enum class conversion { done, too_soon, impossible };

  // Retags the oldest idle connection that can serve variant `v` and may be converted now
  // (kept_for_its_tenant); its lessee converts it.
  conversion convert_idle(int v, time_point now) {
    bool convertible_later = false;
    for (auto it = idle_.rbegin(); it != idle_.rend(); ++it) {
      if (!hooks_.convertible(it->connection.variant, v)) continue;
      if (kept_for_its_tenant(*it, now)) {
        convertible_later = true;
        continue;
      }
      it->connection.variant = v;
      ++conversions_;
      return conversion::done;
    }
    return convertible_later ? conversion::too_soon : conversion::impossible;
  }

  // Grants the first of `t`'s waiters an idle connection of its own variant finds (grant erases
  // the waiter from the queue: the loop ends there).
  bool grant_idle(tenant_state& t, int tenant_id) {
    for (auto it = t.queue.begin(); it != t.queue.end(); ++it) {
      if (auto c = take_idle((*it)->variant)) {
        grant(t, it, std::move(*c), tenant_id);
        return true;
      }
    }
    return false;
  }

  // next_turn chose `t` below its fair share with only other variants idle: the first waiter
  // that may convert one gets it.
  bool grant_converted(tenant_state& t, int tenant_id, time_point now) {
    if (t.leased >= fair_share()) return false;
    for (auto it = t.queue.begin(); it != t.queue.end(); ++it) {
      if (!may_convert_for(t, **it, now)) continue;
      if (auto c = take_converted((*it)->variant, now, t.leased == 0)) {
        grant(t, it, std::move(*c), tenant_id);
        return true;
      }
    }
    return false;
  }

  void grant(tenant_state& t, typename std::list<waiter<Conn>*>::iterator it, pooled<Conn> c,
             int tenant_id) {
    waiter<Conn>* w = *it;
    t.queue.erase(it);
    --waiting_;
    w->queued_ = false;
    w->on_granted(lease(std::move(c), tenant_id));
  }

  void fail(tenant_state& t, typename std::list<waiter<Conn>*>::iterator it, pool_errc why) {
    waiter<Conn>* w = *it;
    t.queue.erase(it);
    --waiting_;
    w->queued_ = false;
    w->on_failed(why);
  }

  void fail_all_waiters(pool_errc why) {
    for (auto& t : tenants_)
      while (!t.queue.empty()) fail(t, t.queue.begin(), why);
  }

  pool_limits limits_;
  pool_hooks<Conn>& hooks_;
  std::list<idle_entry> idle_;
  std::vector<tenant_state> tenants_;
  std::size_t turn_ = 0;
  std::size_t waiting_ = 0;
  std::size_t leased_ = 0;
  std::map<int, std::size_t> opening_;
  std::uint64_t conversions_ = 0;
  std::size_t opening_total_ = 0;
  unsigned failures_ = 0;
  time_point down_until_{};
  std::deque<time_point> recent_attempts_;  // connection attempts within the connect_rate window
  std::string last_error_;
  bool shutting_down_ = false;
  bool paused_ = false;
};

}  // namespace sluice::pool
