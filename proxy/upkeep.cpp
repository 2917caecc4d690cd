// The upkeep round.
#include "proxy/upkeep.h"

#include <map>
#include <vector>

#include "proxy/client_session.h"
#include "proxy/log.h"

namespace sluice::proxy {

void upkeep::round() {
  refresh_health();
  refresh_gauges();
  enforce_timeouts();
}

void upkeep::refresh_health() {
  // Health: the loop turns (this runs on it), and a backend connection exists or can be made.
  // With none open, the last connect must have succeeded and nothing have broken since (else a
  // probe finds out).
  backend_pool& pool = *context_.pool;
  const auto& core = pool.core();
  health_state& health = *context_.health;
  health.loop_heartbeat_ms = health_state::now_ms();
  const bool ready = core.idle_count() + core.leased_count() > 0 ||
                     (pool.ever_connected() && !pool.lost_since_connect() &&
                      core.consecutive_connect_failures() == 0);
  health.ready = ready;
  if (!ready && !context_.draining) pool.probe();
}

void upkeep::refresh_gauges() {
  backend_pool& pool = *context_.pool;
  const auto& core = pool.core();
  auto& metrics = pool.metrics();
  std::size_t active = 0, pinned_backends = 0;
  std::map<std::string, std::size_t> waiting_by_user;
  std::map<std::string_view, std::size_t> pinned;
  for (const client_session* s : context_.sessions) {
    if (s->state() == client_state::waiting) {
      ++waiting_by_user[s->user()];
    } else if (s->state() == client_state::active || s->holds_backend()) {
      ++active;
    }
    const sql::pin_reason pin = s->tracked().pins.reason();
    if (pin != sql::pin_reason::none) {
      ++pinned[to_string(pin)];
      if (s->holds_backend()) ++pinned_backends;
    }
  }
  using metrics::backend_state;
  metrics.backends(backend_state::idle).Set(static_cast<double>(core.idle_count()));
  metrics.backends(backend_state::active).Set(static_cast<double>(core.leased_count()));
  metrics.backends(backend_state::opening).Set(static_cast<double>(core.opening_count()));
  metrics.backends(backend_state::resetting).Set(static_cast<double>(context_.resetting));
  metrics.backends(backend_state::pinned).Set(static_cast<double>(pinned_backends));
  metrics.backend_max_connections.Set(static_cast<double>(core.limits().max_connections));
  metrics.clients_connected.Set(static_cast<double>(context_.sessions.size()));
  metrics.clients_active.Set(static_cast<double>(active));
  metrics.clients_waiting.Set(static_cast<double>(
      context_.clients_by_state[static_cast<std::size_t>(client_state::waiting)]));
  for (auto reason : metrics::pin_reasons) {
    auto it = pinned.find(reason);
    metrics.clients_pinned(reason).Set(it == pinned.end() ? 0.0 : static_cast<double>(it->second));
  }
  for (const auto& [user, password] : context_.settings->users) {
    (void)password;
    auto it = waiting_by_user.find(user);
    metrics.waiting_by_user(user).Set(
        it == waiting_by_user.end() ? 0.0 : static_cast<double>(it->second));
  }
  // Backend connections by account: leased ones through their clients, then the idle ones.
  std::map<std::string, std::size_t> by_account;
  for (const client_session* s : context_.sessions)
    if (s->holds_backend()) ++by_account[s->backend_account()];
  core.for_each_idle([&](const backend_ptr& c) { ++by_account[c->account]; });
  metrics.zero_account_gauges();
  for (const auto& [account, count] : by_account) {
    auto& gauge = metrics.backends_of_account(account);
    gauge.Set(gauge.Value() + static_cast<double>(count));  // "other" sums several
  }
  metrics.queue_max_waiting.Set(static_cast<double>(core.limits().max_waiting));
  metrics.queue_timeout_seconds.Set(
      std::chrono::duration<double>(core.limits().queue_timeout).count());
  metrics.max_wait_seconds.Set(std::chrono::duration<double>(pool.oldest_wait()).count());
  metrics.paused.Set(pool.paused() ? 1.0 : 0.0);
  metrics.reserve_in_use.Set(static_cast<double>(core.reserve_in_use()));
}

void upkeep::enforce_timeouts() {
  const auto now = pool::clock::now();
  const config& s = *context_.settings;
  auto& metrics = context_.pool->metrics();
  const auto exceeded = [](std::chrono::milliseconds lasted, std::chrono::milliseconds limit) {
    return limit.count() > 0 && lasted >= limit;
  };
  // Closing a client ends its coroutine later, never inside this loop: collect first.
  std::vector<std::pair<client_session*, std::string_view>> to_close;
  for (client_session* c : context_.sessions) {
    if (!c->client().is_open()) continue;
    const client_connection& client = c->client();
    if (c->state() == client_state::login) {
      if (exceeded(std::chrono::duration_cast<std::chrono::milliseconds>(now - c->accepted_at()),
                   s.login_timeout))
        to_close.emplace_back(c, "login");
      continue;
    }
    if (exceeded(client.owed_auth().lasted(now), s.login_timeout)) {
      to_close.emplace_back(c, "login");  // COM_CHANGE_USER's authentication
      continue;
    }
    if (exceeded(client.owed_read().lasted(now), s.client_read_timeout)) {
      to_close.emplace_back(c, "client_read");
      continue;
    }
    if (exceeded(client.owed_write().lasted(now), s.client_write_timeout)) {
      to_close.emplace_back(c, "client_write");
      continue;
    }
    const auto idle = c->idle_for(now);
    if (c->state() == client_state::idle) {
      if (c->tracked().in_transaction && exceeded(idle, s.idle_in_transaction_timeout)) {
        to_close.emplace_back(c, "idle_in_transaction");
      } else if (exceeded(idle, s.client_idle_timeout)) {
        to_close.emplace_back(c, "client_idle");
      } else if (exceeded(idle, c->wait_timeout())) {
        // Its own session's wait_timeout: the server would close it now, so sluice does (as
        // MariaDB, without an error packet), and drivers' "gone away" handling works the same.
        to_close.emplace_back(c, "wait");
      } else if (idle >= release_buffers_after) {
        c->client().release_buffer_while_idle();
      }
    } else if (c->state() == client_state::active &&
               exceeded(c->running_for(now), s.query_timeout) && c->backend_thread_id() != 0 &&
               c->kill_running_statement()) {
      metrics.timeouts("query").Increment();
      log(log_level::info, c->subject(), "kill_query reason=query_timeout backend=S-",
          c->backend_id());
    }
  }
  for (const auto& [c, kind] : to_close) {
    metrics.timeouts(kind).Increment();
    const std::string reason = std::string(kind) + "_timeout";
    c->close_for(reason);  // a backend it held is reset (rolled back) or closed
  }
}

}  // namespace sluice::proxy
