// The configuration's own rules: validation, per-address and per-user limits, level words.
#include "config/config.h"

#include <arpa/inet.h>

#include <algorithm>

namespace sluice {
namespace {

bool in_block(const config::address_limit& block, const std::array<std::uint8_t, 16>& address) {
  unsigned bits = block.prefix_bits;
  for (std::size_t i = 0; bits > 0; ++i) {
    const unsigned take = std::min(bits, 8u);
    const auto mask = static_cast<std::uint8_t>(0xFF << (8 - take));
    if ((address[i] & mask) != (block.network[i] & mask)) return false;
    bits -= take;
  }
  return true;
}

}  // namespace

void validate(const config& c, const std::string& origin) {
  if (c.auth_mode == auth_mode::config) {
    for (const auto& entry : c.user_policies) {
      if (!c.users.contains(entry.first))
        throw config_error(origin + ": [user." + entry.first +
                           "] names a user missing from [users]");
    }
  } else {
    if (c.auth_user.empty())
      throw config_error(origin + ": auth.user is required with auth.mode = server");
    const auto marks = std::count(c.auth_query.begin(), c.auth_query.end(), '?');
    if (marks != 1) throw config_error(origin + ": auth.query must hold one '?' for the user name");
  }
  // TLS: what cannot work whatever the files hold (the files themselves are read when the
  // contexts are built, at start and on reload).
  const auto& tls = c.tls;
  if (tls.cert_file.empty() != tls.key_file.empty())
    throw config_error(origin + ": tls.cert_file and tls.key_file go together");
  if (tls.verify_client != client_certificates::off && tls.ca_file.empty())
    throw config_error(origin +
                       ": tls.verify_client needs tls.ca_file (the CA of client certificates)");
  if (tls.verify_client != client_certificates::off && !tls.enabled())
    throw config_error(origin + ": tls.verify_client needs tls.cert_file and tls.key_file");
  if (tls.require_secure_transport && !tls.enabled())
    throw config_error(origin +
                       ": tls.require_secure_transport = on needs tls.cert_file and tls.key_file "
                       "(no client could log in)");
  const auto& backend_tls = c.backend_tls;
  if (backend_tls.cert_file.empty() != backend_tls.key_file.empty())
    throw config_error(origin + ": backend.tls_cert_file and backend.tls_key_file go together");
  if ((backend_tls.mode == backend_tls_mode::verify_ca ||
       backend_tls.mode == backend_tls_mode::verify_identity) &&
      backend_tls.ca_file.empty())
    throw config_error(origin +
                       ": backend.tls = verify_ca and verify_identity need backend.tls_ca_file");
  if (c.min_idle_exceeds_cap())
    throw config_error(origin + ": backend.min_idle (" + std::to_string(c.pool.min_idle) +
                       ") exceeds backend.max_connections (" +
                       std::to_string(c.pool.max_connections) + ")");
}

std::size_t config::connections_allowed_from(const std::string& address) const {
  std::array<std::uint8_t, 16> bytes{};
  const bool v6 = address.find(':') != std::string::npos;
  if (inet_pton(v6 ? AF_INET6 : AF_INET, address.c_str(), bytes.data()) != 1)
    return max_connections_per_address;
  const address_limit* best = nullptr;
  for (const auto& block : address_limits)
    if (block.v6 == v6 && in_block(block, bytes) &&
        (!best || block.prefix_bits > best->prefix_bits))
      best = &block;
  return best ? best->max_connections : max_connections_per_address;
}

std::size_t config::connections_allowed_for(const std::string& user) const {
  std::size_t own = 0;
  if (const auto it = user_policies.find(user); it != user_policies.end())
    own = it->second.max_connections;
  if (own == 0) return max_connections_per_user;
  if (max_connections_per_user == 0) return own;
  return std::min(own, max_connections_per_user);
}

const char* to_string(log_level level) noexcept {
  switch (level) {
    case log_level::error:
      return "error";
    case log_level::warn:
      return "warn";
    case log_level::info:
      return "info";
    case log_level::debug:
      return "debug";
  }
  return "info";
}

}  // namespace sluice
