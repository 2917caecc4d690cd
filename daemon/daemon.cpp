// Start-up, the upkeep timer, reload and graceful drain.
#include "daemon/daemon.h"

#include "config/config_file.h"
#include "config/config_keys.h"
#include "config/config_values.h"
#include "proxy/client_session.h"
#include "proxy/log.h"

namespace sluice {
namespace {

using proxy::log;

proxy::backend_login login_of(const config& c, const proxy::tls_contexts* tls) {
  proxy::backend_login login;
  login.address = c.backend;
  // In [auth] mode server the backend user may be left out: the auth user serves then.
  const bool auth_user_serves = c.auth_mode == auth_mode::server && c.backend_user.empty();
  login.user = auth_user_serves ? c.auth_user : c.backend_user;
  login.password = auth_user_serves ? c.auth_password : c.backend_password;
  login.connect_timeout = c.connect_timeout;
  login.max_prepared_statements = c.max_prepared_statements;
  login.tls = tls;
  return login;
}

}  // namespace

daemon::daemon(asio::io_context& io, config settings, std::string config_path,
               std::function<void()> on_stopped)
    : io_(io),
      settings_(std::move(settings)),
      config_path_(std::move(config_path)),
      on_stopped_(std::move(on_stopped)),
      metrics_("default", SLUICE_VERSION),
      pool_(io.get_executor(), "default", login_of(settings_, &tls_), settings_.pool, metrics_),
      listener_(io, context_),
      upkeep_(context_),
      commands_(context_,
                admin::daemon_control{[this] { return reload(); },
                                      [this](std::optional<std::chrono::milliseconds> timeout) {
                                        drain(timeout.value_or(settings_.shutdown_timeout));
                                      },
                                      [this](const config& next) { apply(next); }}),
      upkeep_timer_(io) {
  context_.settings = &settings_;
  context_.pool = &pool_;
  context_.health = &health_;
  context_.tls = &tls_;
  context_.large_frames.set_limit(settings_.large_command_memory);
  if (settings_.auth_mode == auth_mode::server) {
    proxy::backend_login auth_login = login_of(settings_, &tls_);
    auth_login.user = settings_.auth_user;
    auth_login.password = settings_.auth_password;
    accounts_ = std::make_unique<proxy::account_directory>(
        io.get_executor(), std::move(auth_login), settings_.auth_query, settings_.auth_refresh);
    context_.accounts = accounts_.get();
    pool_.set_credentials_source([accounts = accounts_.get()](const std::string& account) {
      return accounts->stage1_of(account);
    });
  }
}

daemon::~daemon() = default;

void daemon::start() {
  // Certificates that do not load are a start-up error, as a port that cannot be bound is.
  if (auto failure = tls_.load_client_side(settings_.tls)) throw std::runtime_error(*failure);
  if (auto failure = tls_.load_backend_side(settings_.backend_tls, settings_.backend))
    throw std::runtime_error(*failure);
  if (settings_.tls.enabled())
    log(log_level::info, "",
        "tls offered to clients: ", proxy::describe_certificate(tls_.for_clients()));
  // SO_REUSEPORT lets a new sluice bind the same port while this one drains (README).
  listener_.start(settings_.listen, settings_.so_reuseport);
  health_.loop_heartbeat_ms = proxy::health_state::now_ms();
  if (settings_.metrics_listen) {
    http_ = std::make_unique<admin::http_endpoint>(*settings_.metrics_listen, metrics_.registry(),
                                                   health_);
    http_->start();
    log(log_level::info, "", "metrics on http://", endpoint_text(settings_.metrics_listen),
        "/metrics (and /ready, /live)");
  }
  if (settings_.admin_listen) {
    admin_ = std::make_unique<admin::admin_server>(
        io_, *settings_.admin_listen, settings_.admin_password,
        [this](const admin::admin_command& cmd) { return commands_.run(cmd); });
    admin_->start();
  }
  apply_shares();
  pool_.start();
  upkeep_.round();
  schedule_upkeep();
  log(log_level::info, "", "listening on ", endpoint_text(settings_.listen),
      " backend=", endpoint_text(settings_.backend),
      " max_connections=", settings_.pool.max_connections,
      " pool_mode=", settings_.pool_mode == pool_mode::transaction ? "transaction" : "session");
}

void daemon::apply_shares() {
  std::map<std::string, pool::tenant_limits> shares;
  for (const auto& [user, policy] : settings_.user_policies) shares[user] = policy.share;
  pool_.set_shares(shares, settings_.max_waiting_per_user);
}

void daemon::schedule_upkeep() {
  upkeep_timer_.expires_after(proxy::upkeep::interval);
  upkeep_timer_.async_wait([this](error_code ec) {
    if (ec) return;
    upkeep_.round();
    commands_.sample();
    schedule_upkeep();
  });
}

std::string daemon::reload() {
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

void daemon::apply(const config& next) {
  // What needs new sockets or a new backend login stays until a restart.
  for (const std::string& key : restart_only_changes(settings_, next))
    log(log_level::warn, "", "reload: ", key, " changes only with a restart");
  config merged = keep_restart_only(settings_, next);
  apply_tls(merged);
  settings_ = std::move(merged);
  if (admin_) admin_->set_password(settings_.admin_password);
  apply_shares();
  proxy::set_log_level(settings_.log);
  proxy::set_log_format(settings_.log_format);
  proxy::set_log_info_rate_limit(settings_.log_info_rate_limit);
  pool_.set_limits(settings_.pool);
  context_.large_frames.set_limit(settings_.large_command_memory);
  if (accounts_) accounts_->set_refresh(settings_.auth_refresh);
  upkeep_.round();
}

void daemon::apply_tls(config& next) {
  const std::string before = proxy::describe_certificate(tls_.for_clients());
  if (auto failure = tls_.load_client_side(next.tls)) {
    log(log_level::error, "", "reload: [tls] not applied: ", *failure,
        " (new clients keep getting the running certificate)");
    next.tls = settings_.tls;
  } else if (const std::string after = proxy::describe_certificate(tls_.for_clients());
             after != before) {
    log(log_level::info, "", "tls offered to clients: ", next.tls.enabled() ? after : "off");
  }
  if (auto failure = tls_.load_backend_side(next.backend_tls, next.backend)) {
    log(log_level::error, "", "reload: [backend] tls not applied: ", *failure,
        " (new backend connections keep the running settings)");
    next.backend_tls = settings_.backend_tls;
  }
}

void daemon::drain(std::chrono::milliseconds timeout) {
  if (context_.draining) return;
  context_.draining = true;
  log(log_level::info, "", "drain started clients=", context_.sessions.size(),
      " timeout_ms=", timeout.count());
  listener_.stop();
  for (proxy::client_session* s : context_.sessions) s->close_if_idle();
  asio::co_spawn(io_, wait_for_drain(timeout), asio::detached);
}

awaitable<void> daemon::wait_for_drain(std::chrono::milliseconds timeout) {
  const auto deadline = pool::clock::now() + timeout;
  asio::steady_timer tick(io_);
  while (!context_.sessions.empty() && pool::clock::now() < deadline) {
    for (proxy::client_session* s : context_.sessions) s->close_if_idle();
    tick.expires_after(std::chrono::milliseconds(20));
    co_await tick.async_wait(use_nothrow);
  }
  if (!context_.sessions.empty()) {
    log(log_level::warn, "", "drain timeout: closing ", context_.sessions.size(), " clients");
    for (proxy::client_session* s : context_.sessions) s->force_close();
    while (!context_.sessions.empty()) {
      tick.expires_after(std::chrono::milliseconds(10));
      co_await tick.async_wait(use_nothrow);
    }
  }
  pool_.shutdown();
  if (admin_) admin_->stop();
  upkeep_timer_.cancel();
  log(log_level::info, "", "drain finished");
  if (on_stopped_) on_stopped_();
}

}  // namespace sluice
