// sluice's configuration: the INI keys, their defaults (written here and nowhere else) and parsing.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>

#include "pool/pool_core.h"

namespace sluice::proxy {

enum class pool_mode { transaction, session };

struct endpoint {
  std::string host;  // an IP address literal
  std::uint16_t port = 0;
};

enum class log_level { error, warn, info, debug };

struct config {
  // [sluice]
  endpoint listen{"127.0.0.1", 6033};
  enum pool_mode pool_mode = pool_mode::transaction;
  std::chrono::milliseconds shutdown_timeout{10'000};
  std::size_t max_allowed_packet = 64 * 1024 * 1024;  // largest client command sluice accepts
  // [backend]
  endpoint backend{"127.0.0.1", 3306};
  std::string backend_user = "sluice";
  std::string backend_password;
  std::chrono::milliseconds connect_timeout{5'000};
  // [backend] max_connections/min_idle/idle_timeout/max_lifetime and [queue] timeout/max_waiting
  pool::pool_limits pool;
  // [users] name = password
  std::map<std::string, std::string> users;
  // [log]
  log_level log = log_level::info;
};

// A configuration error that names the key and the problem.
class config_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses INI text; `origin` (a file name) prefixes error messages.
config parse_config(const std::string& text, const std::string& origin);
config load_config_file(const std::string& path);

}  // namespace sluice::proxy
