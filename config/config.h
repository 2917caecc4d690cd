// sluice's configuration as the daemon uses it, with every default (written here and nowhere else).
// config_keys.h says how each key is spelled, parsed and printed; config_file.h reads INI files.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "pool/pool_core.h"

namespace sluice {

enum class pool_mode { transaction, session };

// Whose accounts clients log in with: [users] in the file, or the server's own (mysql.user).
enum class auth_mode { config, server };

struct endpoint {
  std::string host;  // an IP address literal
  std::uint16_t port = 0;
};

// [tls] verify_client: whether clients must show a certificate signed by ca_file.
enum class client_certificates { off, optional, required };
enum class tls_version { v1_2, v1_3 };
// [backend] tls, as MySQL clients' --ssl-mode: disabled, TLS if the server offers it, TLS required
// (unverified), a certificate the CA signed, and one that also names the server.
enum class backend_tls_mode { disabled, preferred, required, verify_ca, verify_identity };

// [tls]: TLS towards clients. Without a certificate sluice does not offer TLS.
struct client_tls_settings {
  std::string cert_file;  // the certificate chain, PEM, the server's own certificate first
  std::string key_file;
  std::string ca_file;  // CAs client certificates must chain to
  client_certificates verify_client = client_certificates::off;
  tls_version min_version = tls_version::v1_2;
  std::string ciphers;  // OpenSSL cipher list for TLS 1.2 (empty: OpenSSL's default)
  bool require_secure_transport = false;  // refuse logins that did not start TLS (3159)

  bool enabled() const noexcept { return !cert_file.empty(); }
  bool operator==(const client_tls_settings&) const = default;
};

// [backend] tls*: TLS towards the server.
struct backend_tls_settings {
  backend_tls_mode mode = backend_tls_mode::disabled;
  std::string ca_file;
  std::string cert_file;  // a client certificate, when the server asks for one
  std::string key_file;
  // The name the server's certificate must carry under verify_identity (and the SNI sent);
  // empty: the address's IP.
  std::string server_name;

  bool operator==(const backend_tls_settings&) const = default;
};

enum class log_level { error, warn, info, debug };
enum class log_format { plain, json };
// The word for a level, as the config file and log lines spell it.
const char* to_string(log_level level) noexcept;

struct config {
  // [sluice]
  endpoint listen{"127.0.0.1", 6033};
  enum pool_mode pool_mode = pool_mode::transaction;
  std::chrono::milliseconds shutdown_timeout{10'000};
  std::size_t max_allowed_packet = 64 * 1024 * 1024;  // largest client command sluice accepts
  // SO_REUSEPORT on the client listener: a new sluice can bind the port while the old drains.
  bool so_reuseport = false;
  // [backend]
  endpoint backend{"127.0.0.1", 3306};
  std::string backend_user = "sluice";
  std::string backend_password;
  std::chrono::milliseconds connect_timeout{5'000};
  backend_tls_settings backend_tls;
  // [backend] max_connections/min_idle/idle_timeout/max_lifetime and [queue] timeout/max_waiting
  pool::pool_limits pool = [] {
    pool::pool_limits limits;
    limits.connect_rate = 100;  // a burst of new statements cannot become a reconnect storm
    return limits;
  }();
  // [users] name = password (auth mode config)
  std::map<std::string, std::string> users;
  // [auth]: in mode server, clients log in with their MariaDB/MySQL accounts, verified against
  // the hashes the auth query reads as `auth_user`; statements run as those accounts.
  enum auth_mode auth_mode = auth_mode::config;
  std::string auth_user;
  std::string auth_password;
  // `?` stands for the user name (sluice quotes it); the rows are host, plugin, hash.
  std::string auth_query =
      "SELECT Host, plugin, authentication_string FROM mysql.user WHERE User = ?";
  // How long a hash read by the auth query is reused for new logins: a password changed on the
  // server takes effect for new logins within this.
  std::chrono::milliseconds auth_refresh{5'000};
  // [user.NAME] a user's own limits (absent: none of its own)
  struct user_policy {
    std::size_t max_connections = 0;  // client connections of this user (0: no own limit)
    pool::tenant_limits share;        // max_backend_connections, weight, max_waiting
  };
  std::map<std::string, user_policy> user_policies;
  // [limits] frontend limits and timeouts that free backends (0: off)
  std::size_t max_client_connections = 10000;
  std::size_t max_connections_per_user = 0;
  std::size_t max_connections_per_address = 0;
  std::chrono::milliseconds client_idle_timeout{0};
  std::chrono::milliseconds idle_in_transaction_timeout{0};
  std::chrono::milliseconds query_timeout{0};
  // Deadlines on what the protocol says a client owes (as MySQL's net_read_timeout and
  // net_write_timeout): the rest of a command or an auth reply, and reading the response it asked
  // for. Past them the client is closed and its backend freed.
  std::chrono::milliseconds client_read_timeout{30'000};
  std::chrono::milliseconds client_write_timeout{60'000};
  // From accept to logged in.
  std::chrono::milliseconds login_timeout{10'000};
  // Connections still logging in; beyond it the oldest is closed (0: no limit).
  std::size_t max_pending_logins = 1000;
  // The texts of one client's open binary prepared statements, which sluice keeps for lazy
  // prepares on other backends (0: no limit).
  std::size_t client_statement_memory = 16 * 1024 * 1024;
  // Buffers over 256 KiB of commands being received, all clients together, charged as the bytes
  // arrive: beyond it frames are read as memory frees (the oldest holder always grows), so stalled
  // large commands cannot exhaust memory, and a bare header holds nothing.
  std::size_t large_command_memory = 32 * 1024 * 1024;
  // [address_limits] CIDR = max connections from addresses in it (overrides the per-address limit)
  struct address_limit {
    std::string cidr;
    std::array<std::uint8_t, 16> network{};
    unsigned prefix_bits = 0;
    bool v6 = false;
    std::size_t max_connections = 0;
  };
  std::vector<address_limit> address_limits;
  // [backend] binary prepared statements each backend connection keeps for reuse (LRU beyond)
  std::size_t max_prepared_statements = 256;
  // [queue] max_waiting_per_user (0: only the global max_waiting)
  std::size_t max_waiting_per_user = 0;

  // The per-address limit for an address (its most specific [address_limits] entry, else
  // max_connections_per_address); 0 means no limit.
  std::size_t connections_allowed_from(const std::string& address) const;
  // The user's client connection limit (the smaller of its own and max_connections_per_user).
  std::size_t connections_allowed_for(const std::string& user) const;
  // [tls]
  client_tls_settings tls;
  // [log]
  log_level log = log_level::info;
  enum log_format log_format = log_format::plain;
  // Info lines per second before the rest are counted and summarised (0: no limit), so that a
  // connection storm cannot flood the log. Warnings and errors are never held back.
  std::size_t log_info_rate_limit = 100;
  // [metrics] Prometheus scrape target (/metrics); an empty listen turns it off.
  std::optional<endpoint> metrics_listen = endpoint{"127.0.0.1", 9033};
  // [admin] plain-text stats and control port; an empty listen turns it off.
  std::optional<endpoint> admin_listen = endpoint{"127.0.0.1", 6034};
  std::string admin_password;  // empty: no password asked

  bool min_idle_exceeds_cap() const noexcept { return pool.min_idle > pool.max_connections; }
};

// A configuration error that names the key and the problem.
class config_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Checks what single keys cannot: [user.NAME] names a user in [users], min_idle <= max_connections.
// Throws config_error prefixed with `origin`.
void validate(const config& c, const std::string& origin);

}  // namespace sluice
