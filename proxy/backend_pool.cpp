// Asio side of the pool: connects and closes backends, wakes waiting statements, runs upkeep.
#include "proxy/backend_pool.h"

#include "proxy/backend_commands.h"
#include "proxy/log.h"

namespace sluice::proxy {
namespace {

using pool::clock;

// A statement waiting for a backend. Its timer, set to "never", is the condition variable: the
// pool cancels it to wake the statement (granted or failed); the client watch does the same.
struct lease_waiter final : pool::waiter<backend_ptr>, std::enable_shared_from_this<lease_waiter> {
  explicit lease_waiter(const asio::any_io_executor& executor) : wake(executor) {
    wake.expires_at(asio::steady_timer::time_point::max());
  }
  void on_granted(lease c) override {
    granted = std::move(c);
    wake.cancel();
  }
  void on_failed(pool::pool_errc why) override {
    failure = why;
    wake.cancel();
  }

  asio::steady_timer wake;
  std::optional<lease> granted;
  std::optional<pool::pool_errc> failure;
  bool client_gone = false;
  tcp::socket* client = nullptr;  // valid while the statement waits
  bool watching_client = false;
  pool::time_point wait_started{};
  char peek_byte[1] = {};
};

constexpr auto upkeep_interval = std::chrono::milliseconds(250);

}  // namespace

backend_pool::backend_pool(asio::any_io_executor executor, std::string name, backend_login login,
                           pool::pool_limits limits, metrics::sluice_metrics& metrics)
    : executor_(executor),
      name_(std::move(name)),
      login_(std::move(login)),
      core_(limits, *this),
      deadline_timer_(executor),
      upkeep_timer_(executor),
      metrics_(metrics) {}

backend_pool::~backend_pool() {
  *alive_ = false;
  deadline_timer_.cancel();
  upkeep_timer_.cancel();
}

void backend_pool::start() {
  core_.maintain(clock::now());
  schedule_upkeep();
}

void backend_pool::schedule_upkeep() {
  upkeep_timer_.expires_after(upkeep_interval);
  upkeep_timer_.async_wait([this, alive = alive_](error_code ec) {
    if (ec || !*alive || stopped_) return;
    core_.maintain(clock::now());
    // Connections that sat idle since the last round get a watch; ones reused sooner never pay
    // for it on the statement path.
    core_.for_each_idle([this](backend_ptr& c) {
      if (!c->idle_watched) watch_idle(*c);
    });
    watch_waiting_clients();
    arm_deadline_timer();
    schedule_upkeep();
  });
}

int backend_pool::tenant_of(const std::string& user) {
  const auto it = tenants_.find(user);
  if (it != tenants_.end()) return it->second;
  const int id = static_cast<int>(tenants_.size()) + 1;  // 0 stays the unnamed default
  tenants_.emplace(user, id);
  pool::tenant_limits share;
  if (const auto s = shares_.find(user); s != shares_.end()) share = s->second;
  if (share.max_waiting == 0) share.max_waiting = default_max_waiting_;
  core_.set_tenant_limits(id, share, clock::now());
  return id;
}

void backend_pool::set_shares(const std::map<std::string, pool::tenant_limits>& shares,
                              std::size_t default_max_waiting) {
  shares_.clear();
  for (const auto& [user, share] : shares) shares_.emplace(user, share);
  default_max_waiting_ = default_max_waiting;
  for (const auto& [user, id] : tenants_) {
    pool::tenant_limits share;
    if (const auto s = shares_.find(user); s != shares_.end()) share = s->second;
    if (share.max_waiting == 0) share.max_waiting = default_max_waiting_;
    core_.set_tenant_limits(id, share, clock::now());
  }
}

awaitable<boost::system::result<lease>> backend_pool::acquire(int variant, int tenant,
                                                              tcp::socket& client) {
  if (auto idle = core_.try_acquire_idle(variant, tenant)) {
    stop_watching(*idle->conn);
    metrics_.queue_wait_seconds.Observe(0);
    co_return std::move(*idle);
  }
  auto w = std::make_shared<lease_waiter>(executor_);
  w->variant = variant;
  w->tenant = tenant;
  const auto now = clock::now();
  w->deadline = now + core_.limits().queue_timeout;
  auto first = core_.acquire(*w, now);
  using status = pool::pool_core<backend_ptr>::acquire_status;
  if (first.status == status::granted) {
    stop_watching(*first.connection->conn);
    metrics_.queue_wait_seconds.Observe(0);
    co_return std::move(*first.connection);
  }
  if (first.status == status::rejected) {
    count_failure(first.error);
    co_return make_error_code(first.error);
  }
  arm_deadline_timer();
  // Most waits end within a millisecond; the upkeep round starts watching the clients of the
  // ones that last (watch_waiting_clients), so a short wait costs no system call.
  w->client = &client;
  w->wait_started = now;
  while (!w->granted && !w->failure && !w->client_gone) co_await w->wake.async_wait(use_nothrow);
  error_code ignored;
  if (w->watching_client) client.cancel(ignored);
  w->client = nullptr;
  metrics_.queue_wait_seconds.Observe(
      std::chrono::duration<double>(clock::now() - w->wait_started).count());
  if (w->granted) {
    stop_watching(*w->granted->conn);
    co_return std::move(*w->granted);
  }
  if (w->failure) {
    count_failure(*w->failure);
    co_return make_error_code(*w->failure);
  }
  core_.cancel(*w);
  co_return make_error_code(asio::error::operation_aborted);
}

void backend_pool::release(lease l) {
  core_.release(std::move(l), clock::now());
}

void backend_pool::discard(lease l) {
  core_.discard(std::move(l), clock::now());
}

void backend_pool::shutdown() {
  stopped_ = true;
  upkeep_timer_.cancel();
  deadline_timer_.cancel();
  core_.shutdown();
}

int backend_pool::variant_for(int capability, const std::string& account) {
  if (account.empty()) return pool_variant(0, capability);
  auto it = accounts_.find(account);
  if (it == accounts_.end()) {
    account_names_.push_back(account);
    it = accounts_.emplace(account, static_cast<int>(account_names_.size())).first;
  }
  return pool_variant(it->second, capability);
}

std::optional<backend_login> backend_pool::login_for(const std::string& account) const {
  if (account.empty() || account == login_.user) return login_;
  if (!credentials_) return std::nullopt;
  std::optional<std::string> stage1 = credentials_(account);
  if (!stage1) return std::nullopt;
  backend_login login = login_;
  login.user = account;
  login.password.clear();
  login.native_stage1 = std::move(stage1);
  return login;
}

bool backend_pool::convertible(int from, int to) const {
  return from != to && capability_variant(from) == capability_variant(to);
}

void backend_pool::open_connection(int variant) {
  asio::co_spawn(
      executor_,
      [this, alive = alive_, variant]() -> awaitable<void> {
        // The pool must not be answered from inside open_connection: start on a later turn.
        co_await asio::post(executor_, asio::use_awaitable);
        const std::uint64_t id = next_backend_id_++;
        const auto started = clock::now();
        // The first connection also learns the server's defaults, before any client uses it.
        const bool learn_server = !server_known_;
        const int account = account_of_variant(variant);
        const std::string account_name =
            account == 0 ? std::string() : account_names_[static_cast<std::size_t>(account - 1)];
        const std::optional<backend_login> login = login_for(account_name);
        if (!login) {
          // Its clients left before the connect started: nobody needs it any more.
          core_.on_open_refused(variant, "no credentials held for the account");
          co_return;
        }
        auto opened = co_await open_backend(*login, variant, id, learn_server);
        if (!*alive) {
          if (opened) close_backend(*opened->connection);
          co_return;
        }
        const auto now = clock::now();
        metrics_.backend_connect_seconds.Observe(
            std::chrono::duration<double>(now - started).count());
        if (!opened) {
          metrics_.backend_connect_failures.Increment();
          // A client account's own login refused (its password changed since its clients logged
          // in): the server is up, only that account's waiters fail.
          if (account != 0 && opened.error().starts_with(auth_failure_prefix)) {
            log(log_level::warn, "S-" + std::to_string(id), "connect failed account=", account_name,
                " reason=", opened.error());
            core_.on_open_refused(variant, opened.error());
            co_return;
          }
          core_.on_open_failed(variant, opened.error(), now);
          // While the backend stays down, probes fail every connect_retry: log the first failure
          // and then one line per half minute, so an outage cannot flood the journal.
          const unsigned failures = core_.consecutive_connect_failures();
          if (failures == 1 || now - last_failure_logged_ >= std::chrono::seconds(30)) {
            last_failure_logged_ = now;
            log(log_level::warn, "S-" + std::to_string(id), "connect failed attempts=", failures,
                " reason=", opened.error());
          }
          co_return;
        }
        metrics_.backend_connects.Increment();
        ever_connected_ = true;
        lost_since_connect_ = false;
        if (server_version_.empty()) server_version_ = opened->server_version;
        if (server_collation_ == 0) server_collation_ = opened->server_collation;
        if (opened->server && !server_known_) {
          server_defaults_ = std::move(*opened->server);
          server_known_ = true;
        }
        auto& c = *opened->connection;
        log(log_level::debug, c.subject(), "connected server_thread_id=", c.server_thread_id);
        core_.on_opened({std::move(opened->connection), variant, now}, now);
      },
      asio::detached);
}

void backend_pool::close_connection(lease c, pool::close_reason why) {
  metrics_.backend_closed(pool::to_string(why)).Increment();
  if (why == pool::close_reason::broken) lost_since_connect_ = true;
  log(why == pool::close_reason::broken ? log_level::info : log_level::debug, c.conn->subject(),
      "close reason=", pool::to_string(why));
  close_backend(*c.conn);
}

void backend_pool::count_failure(pool::pool_errc why) {
  switch (why) {
    case pool::pool_errc::queue_full:
    case pool::pool_errc::user_queue_full:
      metrics_.queue_overflows.Increment();
      metrics_.rejected(metrics::rejection::queue_full).Increment();
      break;
    case pool::pool_errc::queue_timeout:
      metrics_.queue_timeouts.Increment();
      metrics_.rejected(metrics::rejection::queue_timeout).Increment();
      break;
    case pool::pool_errc::backend_unavailable:
      metrics_.rejected(metrics::rejection::backend_unavailable).Increment();
      break;
    case pool::pool_errc::shutting_down:
      break;
  }
}

void backend_pool::kill_query(std::uint32_t server_thread_id, const std::string& account) {
  const std::optional<backend_login> login = login_for(account);
  if (!login) {
    log(log_level::warn, "", "kill_query failed reason=no credentials held for the account");
    return;
  }
  asio::co_spawn(
      executor_,
      [alive = alive_, server_thread_id, login = *login]() -> awaitable<void> {
        auto opened = co_await open_backend(login, 0, 0);
        if (!opened) {
          log(log_level::warn, "", "kill_query failed reason=", opened.error());
          co_return;
        }
        std::vector<std::uint8_t> framed;
        append_command(framed, protocol::command::query,
                       "KILL QUERY " + std::to_string(server_thread_id));
        auto replies = co_await run_commands(*opened->connection, framed, 1);
        if (*alive && (!replies || (*replies)[0].error))
          log(log_level::warn, "", "kill_query failed thread=", server_thread_id);
        close_backend(*opened->connection);
      },
      asio::detached);
}

void backend_pool::probe() {
  if (!stopped_) core_.probe(clock::now());
}

void backend_pool::pause() {
  core_.set_paused(true, clock::now());
  log(log_level::info, "", "pool ", name_, " paused");
}

void backend_pool::resume() {
  core_.set_paused(false, clock::now());
  log(log_level::info, "", "pool ", name_, " resumed");
}

void backend_pool::set_limits(const pool::pool_limits& limits) {
  core_.set_limits(limits, clock::now());
  arm_deadline_timer();
}

std::chrono::milliseconds backend_pool::oldest_wait() const {
  const auto queued = core_.oldest_queued_at();
  if (!queued) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - *queued);
}

void backend_pool::watch_waiting_clients() {
  // A client that disconnects while it waits must leave the queue. A peek on its socket ends
  // with end-of-stream then; pipelined input is left in place (a peek, unlike async_wait, also
  // costs no epoll re-arm).
  const auto now = clock::now();
  core_.for_each_waiter([now](pool::waiter<backend_ptr>& base) {
    auto& w = static_cast<lease_waiter&>(base);
    if (w.watching_client || w.client == nullptr || now - w.wait_started < upkeep_interval) return;
    w.watching_client = true;
    w.client->async_receive(asio::buffer(w.peek_byte), tcp::socket::message_peek,
                            [self = w.shared_from_this()](error_code ec, std::size_t) {
                              if (ec == asio::error::operation_aborted || !ec) return;
                              self->client_gone = true;  // end of stream or reset
                              self->wake.cancel();
                            });
  });
}

void backend_pool::stop_watching(backend_connection& c) {
  if (!c.idle_watched) return;
  c.idle_watched = false;
  error_code ignored;
  c.stream.socket().cancel(ignored);
}

void backend_pool::watch_idle(backend_connection& c) {
  c.idle_watched = true;
  // An idle connection that becomes readable was closed or killed by the server: drop it now
  // rather than hand it to the next statement. A peek costs no epoll re-arm, unlike async_wait.
  c.stream.socket().async_receive(asio::buffer(c.buffer.data(), 1), tcp::socket::message_peek,
                                  [this, alive = alive_, conn = &c](error_code ec, std::size_t) {
                                    if (ec == asio::error::operation_aborted || !*alive) return;
                                    core_.discard_idle_if(
                                        [conn](const backend_ptr& p) { return p.get() == conn; },
                                        clock::now());
                                  });
}

void backend_pool::arm_deadline_timer() {
  const auto next = core_.next_deadline();
  if (!next) return;
  // Re-arm only for an earlier deadline; the generation tells a stale wake-up from the current.
  if (deadline_armed_ && deadline_timer_.expiry() <= *next) return;
  deadline_armed_ = true;
  const std::uint64_t generation = ++deadline_generation_;
  deadline_timer_.expires_at(*next);
  deadline_timer_.async_wait([this, alive = alive_, generation](error_code ec) {
    if (!*alive || generation != deadline_generation_) return;
    deadline_armed_ = false;
    if (ec || stopped_) return;
    core_.expire(clock::now());
    arm_deadline_timer();
  });
}

}  // namespace sluice::proxy
