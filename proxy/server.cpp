// Listener, periodic gauge refresh, reload and graceful drain.
#include "proxy/server.h"

#include <sys/socket.h>

#include "proxy/client_session.h"
#include "proxy/log.h"
#include "proxy/socket_io.h"

namespace sluice::proxy {
namespace {

backend_login login_of(const config& c) {
  return {c.backend, c.backend_user, c.backend_password, c.connect_timeout,
          c.max_prepared_statements};
}

constexpr auto refresh_interval = std::chrono::milliseconds(250);

std::string address_of(const endpoint& e) {
  return e.host.find(':') != std::string::npos ? "[" + e.host + "]:" + std::to_string(e.port)
                                               : e.host + ":" + std::to_string(e.port);
}

}  // namespace

server::server(asio::io_context& io, config settings, std::string config_path,
               std::function<void()> on_stopped)
    : io_(io),
      settings_(std::move(settings)),
      config_path_(std::move(config_path)),
      on_stopped_(std::move(on_stopped)),
      metrics_("default", SLUICE_VERSION),
      pool_(io.get_executor(), "default", login_of(settings_), settings_.pool, metrics_),
      acceptor_(io),
      commands_(*this),
      refresh_timer_(io) {
  context_.settings = &settings_;
  context_.pool = &pool_;
}

server::~server() = default;

void server::start() {
  // SO_REUSEPORT lets a new sluice bind the same port while this one drains (README).
  listen_on(acceptor_, settings_.listen, settings_.so_reuseport);
  health_.loop_heartbeat_ms = health_state::now_ms();
  if (settings_.metrics_listen) {
    http_ =
        std::make_unique<http_endpoint>(*settings_.metrics_listen, metrics_.registry(), health_);
    http_->start();
    log(log_level::info, "", "metrics on http://", address_of(*settings_.metrics_listen),
        "/metrics (and /ready, /live)");
  }
  if (settings_.admin_listen) {
    admin_ = std::make_unique<admin_server>(
        io_, *settings_.admin_listen, settings_.admin_password,
        [this](const admin_command& cmd) { return commands_.run(cmd); });
    admin_->start();
  }
  apply_shares();
  pool_.start();
  refresh_gauges();
  schedule_refresh();
  asio::co_spawn(io_, accept_loop(), asio::detached);
  log(log_level::info, "", "listening on ", address_of(settings_.listen),
      " backend=", address_of(settings_.backend),
      " max_connections=", settings_.pool.max_connections,
      " pool_mode=", settings_.pool_mode == pool_mode::transaction ? "transaction" : "session");
}

awaitable<void> server::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_nothrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || context_.draining) co_return;
      // Out of file descriptors and the like: log, pause briefly, keep serving.
      log(log_level::error, "", "accept failed: ", ec.message());
      asio::steady_timer pause(io_, std::chrono::milliseconds(100));
      co_await pause.async_wait(use_nothrow);
      continue;
    }
    asio::co_spawn(io_, serve_client(std::move(socket), context_), asio::detached);
  }
}

void server::apply_shares() {
  std::map<std::string, pool::tenant_limits> shares;
  for (const auto& [user, policy] : settings_.user_policies) shares[user] = policy.share;
  pool_.set_shares(shares, settings_.max_waiting_per_user);
}

void server::schedule_refresh() {
  refresh_timer_.expires_after(refresh_interval);
  refresh_timer_.async_wait([this](error_code ec) {
    if (ec) return;
    refresh_gauges();
    schedule_refresh();
  });
}

void server::refresh_gauges() {
  const auto& core = pool_.core();
  // Health: the loop turns (this runs on it), and a backend connection exists or can be made.
  // With none open, the last connect must have succeeded and nothing have broken since (else a
  // probe finds out).
  health_.loop_heartbeat_ms = health_state::now_ms();
  const bool ready = core.idle_count() + core.leased_count() > 0 ||
                     (pool_.ever_connected() && !pool_.lost_since_connect() &&
                      core.consecutive_connect_failures() == 0);
  health_.ready = ready;
  if (!ready && !context_.draining) pool_.probe();
  std::size_t active = 0, waiting = 0, pinned_backends = 0;
  std::map<std::string, std::size_t> waiting_by_user;
  std::map<std::string_view, std::size_t> pinned;
  for (const client_session* s : context_.sessions) {
    if (s->waiting()) {
      ++waiting;
      ++waiting_by_user[s->user()];
    } else if (s->state() == "active" || s->holds_backend()) {
      ++active;
    }
    if (s->pinned() != pin_reason::none) {
      ++pinned[to_string(s->pinned())];
      if (s->holds_backend()) ++pinned_backends;
    }
  }
  using metrics::backend_state;
  metrics_.backends(backend_state::idle).Set(static_cast<double>(core.idle_count()));
  metrics_.backends(backend_state::active).Set(static_cast<double>(core.leased_count()));
  metrics_.backends(backend_state::opening).Set(static_cast<double>(core.opening_count()));
  metrics_.backends(backend_state::resetting).Set(static_cast<double>(context_.resetting));
  metrics_.backends(backend_state::pinned).Set(static_cast<double>(pinned_backends));
  metrics_.backend_max_connections.Set(static_cast<double>(core.limits().max_connections));
  metrics_.clients_connected.Set(static_cast<double>(context_.sessions.size()));
  metrics_.clients_active.Set(static_cast<double>(active));
  metrics_.clients_waiting.Set(static_cast<double>(waiting));
  for (auto reason : metrics::pin_reasons) {
    auto it = pinned.find(reason);
    metrics_.clients_pinned(reason).Set(it == pinned.end() ? 0.0 : static_cast<double>(it->second));
  }
  for (const auto& [user, password] : settings_.users) {
    (void)password;
    auto it = waiting_by_user.find(user);
    metrics_.waiting_by_user(user).Set(
        it == waiting_by_user.end() ? 0.0 : static_cast<double>(it->second));
  }
  metrics_.queue_max_waiting.Set(static_cast<double>(core.limits().max_waiting));
  metrics_.queue_timeout_seconds.Set(
      std::chrono::duration<double>(core.limits().queue_timeout).count());
  metrics_.max_wait_seconds.Set(std::chrono::duration<double>(pool_.oldest_wait()).count());
  metrics_.paused.Set(pool_.paused() ? 1.0 : 0.0);
  metrics_.reserve_in_use.Set(static_cast<double>(core.reserve_in_use()));
  commands_.sample();
  enforce_timeouts();
}

void server::enforce_timeouts() {
  // Checked on this periodic round rather than with a timer per statement: nothing is paid on
  // the forwarding path, and a quarter second is precision enough for these limits.
  const auto now = pool::clock::now();
  const auto& s = settings_;
  std::vector<client_session*> idle_clients, idle_in_transaction;
  for (client_session* c : context_.sessions) {
    if (!c->authenticated()) continue;
    const auto idle = c->idle_for(now);
    if (!c->busy() && c->in_transaction() && s.idle_in_transaction_timeout.count() > 0 &&
        idle >= s.idle_in_transaction_timeout) {
      idle_in_transaction.push_back(c);
    } else if (!c->busy() && s.client_idle_timeout.count() > 0 && idle >= s.client_idle_timeout) {
      idle_clients.push_back(c);
    } else if (c->busy() && s.query_timeout.count() > 0 && !c->kill_requested &&
               c->backend_thread_id() != 0 && c->running_for(now) >= s.query_timeout) {
      c->kill_requested = true;
      metrics_.timeouts("query").Increment();
      log(log_level::info, c->subject_text(), "kill_query reason=query_timeout backend=S-",
          c->backend_id());
      pool_.kill_query(c->backend_thread_id());
    }
  }
  for (client_session* c : idle_in_transaction) {
    metrics_.timeouts("idle_in_transaction").Increment();
    c->close_for("idle_in_transaction_timeout");  // its backend is rolled back and returned
  }
  for (client_session* c : idle_clients) {
    metrics_.timeouts("client_idle").Increment();
    c->close_for("client_idle_timeout");
  }
}

std::string server::reload() {
  config next;
  try {
    next = load_config_file(config_path_);
  } catch (const config_error& e) {
    log(log_level::error, "", "reload refused: ", e.what(), " (the running configuration stays)");
    return e.what();
  }
  apply(next);
  log(log_level::info, "", "reload done from ", config_path_);
  return {};
}

void server::apply(const config& next) {
  // What needs new sockets or a new backend login stays until a restart.
  const auto restart_only = [&](bool changed, const char* key) {
    if (changed) log(log_level::warn, "", "reload: ", key, " changes only with a restart");
  };
  restart_only(
      next.listen.host != settings_.listen.host || next.listen.port != settings_.listen.port,
      "sluice.listen");
  restart_only(next.backend.host != settings_.backend.host ||
                   next.backend.port != settings_.backend.port ||
                   next.backend_user != settings_.backend_user ||
                   next.backend_password != settings_.backend_password,
               "backend.address/user/password");
  restart_only(
      next.metrics_listen.has_value() != settings_.metrics_listen.has_value() ||
          (next.metrics_listen && (next.metrics_listen->host != settings_.metrics_listen->host ||
                                   next.metrics_listen->port != settings_.metrics_listen->port)),
      "metrics.listen");
  restart_only(next.admin_listen.has_value() != settings_.admin_listen.has_value() ||
                   (next.admin_listen && (next.admin_listen->host != settings_.admin_listen->host ||
                                          next.admin_listen->port != settings_.admin_listen->port)),
               "admin.listen");
  const config kept = settings_;
  settings_ = next;
  settings_.listen = kept.listen;
  settings_.backend = kept.backend;
  settings_.backend_user = kept.backend_user;
  settings_.backend_password = kept.backend_password;
  settings_.connect_timeout = kept.connect_timeout;
  settings_.metrics_listen = kept.metrics_listen;
  settings_.admin_listen = kept.admin_listen;
  if (admin_) admin_->set_password(settings_.admin_password);
  apply_shares();
  set_log_level(settings_.log);
  set_log_format(settings_.log_format);
  set_log_info_rate_limit(settings_.log_info_rate_limit);
  pool_.set_limits(settings_.pool);
  refresh_gauges();
}

void server::drain(std::chrono::milliseconds timeout) {
  if (context_.draining) return;
  context_.draining = true;
  log(log_level::info, "", "drain started clients=", context_.sessions.size(),
      " timeout_ms=", timeout.count());
  error_code ignored;
  acceptor_.close(ignored);
  for (client_session* s : context_.sessions) s->close_if_idle();
  asio::co_spawn(io_, wait_for_drain(timeout), asio::detached);
}

awaitable<void> server::wait_for_drain(std::chrono::milliseconds timeout) {
  const auto deadline = pool::clock::now() + timeout;
  asio::steady_timer tick(io_);
  while (!context_.sessions.empty() && pool::clock::now() < deadline) {
    for (client_session* s : context_.sessions) s->close_if_idle();
    tick.expires_after(std::chrono::milliseconds(20));
    co_await tick.async_wait(use_nothrow);
  }
  if (!context_.sessions.empty()) {
    log(log_level::warn, "", "drain timeout: closing ", context_.sessions.size(), " clients");
    for (client_session* s : context_.sessions) s->force_close();
    while (!context_.sessions.empty()) {
      tick.expires_after(std::chrono::milliseconds(10));
      co_await tick.async_wait(use_nothrow);
    }
  }
  pool_.shutdown();
  if (admin_) admin_->stop();
  refresh_timer_.cancel();
  log(log_level::info, "", "drain finished");
  if (on_stopped_) on_stopped_();
}

}  // namespace sluice::proxy
