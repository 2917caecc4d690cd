// The pool on the event loop: drives pool_core with real connections, timers and waiters.
#pragma once

#include <boost/system/result.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "metrics/sluice_metrics.h"
#include "pool/pool_core.h"
#include "proxy/asio_types.h"
#include "proxy/backend_connection.h"
#include "proxy/backend_connector.h"

namespace sluice::proxy {

using lease = pool::pooled<backend_ptr>;

class backend_pool final : private pool::pool_hooks<backend_ptr> {
 public:
  backend_pool(asio::any_io_executor executor, std::string name, backend_login login,
               pool::pool_limits limits, metrics::sluice_metrics& metrics);
  ~backend_pool();

  // Starts periodic upkeep (idle and lifetime limits, min_idle, connect retries).
  void start();
  // A backend for a client's statement: at once, after a FIFO wait, or an error
  // (pool::pool_errc, or operation_aborted when the client left while waiting).
  // `client` is watched while waiting so that a client who disconnects leaves the queue.
  awaitable<boost::system::result<lease>> acquire(int variant, int tenant, tcp::socket& client);
  // The pool's tenant number for a client user (created on first use).
  int tenant_of(const std::string& user);
  // Applies [user.NAME] shares and [queue] max_waiting_per_user to the tenants.
  void set_shares(const std::map<std::string, pool::tenant_limits>& shares,
                  std::size_t default_max_waiting);
  // The lease ends with the connection clean (schema etc. are restored per client).
  void release(lease l);
  // The lease ends with the connection broken or in an unknown state.
  void discard(lease l);
  void shutdown();

  const std::string& name() const noexcept { return name_; }
  const backend_login& login() const noexcept { return login_; }
  // The pool variant for a client: its capability variant and the account its statements run as
  // ("" for the configured backend user).
  int variant_for(int capability_variant, const std::string& account);
  // Where the accounts' credentials come from ([auth] mode server): SHA1(password) of an account
  // with clients logged in, or nullopt.
  using credentials_source = std::function<std::optional<std::string>(const std::string& account)>;
  void set_credentials_source(credentials_source source) { credentials_ = std::move(source); }
  // The login for `account` ("" for the configured backend user); nullopt without credentials.
  std::optional<backend_login> login_for(const std::string& account) const;
  // Connections converted to another account (COM_CHANGE_USER) instead of closed and reopened.
  void count_account_switch() { metrics_.account_switches.Increment(); }
  const pool::pool_core<backend_ptr>& core() const noexcept { return core_; }
  metrics::sluice_metrics& metrics() noexcept { return metrics_; }
  // PAUSE: leases stop (statements queue, subject to the queue timeout); RESUME hands out again.
  void pause();
  // Opens one connection when none exists (readiness: can a backend connection be made?).
  void probe();
  // query_timeout: KILL QUERY on a separate, short-lived connection (outside the cap: it holds
  // no session and lives for one statement).
  // `account`: the client's ("" for the configured backend user), who may kill its own statements.
  void kill_query(std::uint32_t server_thread_id, const std::string& account);
  bool ever_connected() const noexcept { return ever_connected_; }
  // A connection broke (e.g. the server closed it) since the last successful connect: whether
  // the backend can still be reached is unknown until a connect succeeds again.
  bool lost_since_connect() const noexcept { return lost_since_connect_; }
  void resume();
  bool paused() const noexcept { return core_.paused(); }
  void set_limits(const pool::pool_limits& limits);
  // How long the oldest waiting statement has waited.
  std::chrono::milliseconds oldest_wait() const;
  // What the server gives new sessions, learnt with the first backend connection (its defaults,
  // and no collations, until then).
  const session::server_defaults& server_defaults() const noexcept { return server_defaults_; }
  bool server_defaults_known() const noexcept { return server_known_; }
  const session::collation_table& collations() const noexcept {
    return server_defaults_.collations;
  }
  // The server's version string, as the first backend handshake reported it.
  const std::string& server_version() const noexcept { return server_version_; }
  // The server's default collation id from its greeting (0 until a backend connected): sluice's
  // own greeting says the same, so a client that takes the server's character set gets the one
  // it would get directly.
  std::uint8_t server_collation() const noexcept { return server_collation_; }
  std::string last_connect_error() const { return core_.last_connect_error(); }

 private:
  void open_connection(int variant) override;
  // Accounts convert (COM_CHANGE_USER), capabilities do not.
  bool convertible(int from, int to) const override;
  void close_connection(lease c, pool::close_reason why) override;
  void watch_idle(backend_connection& c);
  void stop_watching(backend_connection& c);
  void watch_waiting_clients();
  void count_failure(pool::pool_errc why);
  void arm_deadline_timer();
  void schedule_upkeep();

  asio::any_io_executor executor_;
  std::string name_;
  backend_login login_;
  pool::pool_core<backend_ptr> core_;
  asio::steady_timer deadline_timer_;
  bool deadline_armed_ = false;
  std::uint64_t deadline_generation_ = 0;
  asio::steady_timer upkeep_timer_;
  std::uint64_t next_backend_id_ = 1;
  std::string server_version_;
  std::uint8_t server_collation_ = 0;
  session::server_defaults server_defaults_;
  bool server_known_ = false;
  bool ever_connected_ = false;
  pool::time_point last_failure_logged_{};
  bool lost_since_connect_ = false;
  std::map<std::string, int, std::less<>> tenants_;
  std::map<std::string, int, std::less<>> accounts_;  // account -> number (from 1)
  std::vector<std::string> account_names_;            // number - 1 -> account
  credentials_source credentials_;
  std::map<std::string, pool::tenant_limits, std::less<>> shares_;
  std::size_t default_max_waiting_ = 0;
  metrics::sluice_metrics& metrics_;
  bool stopped_ = false;
  // Outstanding opens and idle watches check this before touching the pool.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace sluice::proxy
