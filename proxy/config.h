// sluice's configuration: the INI keys, their defaults (written here and nowhere else) and parsing.
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

namespace sluice::proxy {

enum class pool_mode { transaction, session };

struct endpoint {
  std::string host;  // an IP address literal
  std::uint16_t port = 0;
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
  // [backend] max_connections/min_idle/idle_timeout/max_lifetime and [queue] timeout/max_waiting
  pool::pool_limits pool = [] {
    pool::pool_limits limits;
    limits.connect_rate = 100;  // a burst of new statements cannot become a reconnect storm
    return limits;
  }();
  // [users] name = password
  std::map<std::string, std::string> users;
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

// Parses INI text; `origin` (a file name) prefixes error messages. Environment variables
// SLUICE_<SECTION>_<KEY> (e.g. SLUICE_BACKEND_PASSWORD) override the file's keys, so secrets
// need not sit in a file or an image; `environment` supplies them (getenv when null).
config parse_config(const std::string& text, const std::string& origin,
                    const char* (*environment)(const char*) = nullptr);
config load_config_file(const std::string& path);

// `base` with one key ("section.key") set, validated as a whole; throws config_error.
config with_setting(const config& base, const std::string& key, const std::string& value);
// Every key sluice knows ("section.key"), [users] aside.
std::vector<std::string> known_config_keys();
// Keys the admin SET command may change while sluice runs.
bool runtime_changeable(const std::string& key);
// Every key and its current value, in file order, as the config file would spell it (passwords
// shown as "***" when set).
std::vector<std::pair<std::string, std::string>> describe_config(const config& c);

}  // namespace sluice::proxy
