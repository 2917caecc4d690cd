// INI parsing for sluice's configuration: one table of known keys, each with its parser.
#include "proxy/config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <sstream>
#include <vector>

namespace sluice::proxy {
namespace {

std::string trim(std::string_view s) {
  auto begin = s.find_first_not_of(" \t\r");
  if (begin == std::string_view::npos) return {};
  auto end = s.find_last_not_of(" \t\r");
  return std::string(s.substr(begin, end - begin + 1));
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// A value: "quoted" keeps everything; otherwise a ';' or '#' after whitespace starts a comment.
std::string parse_value(std::string_view raw) {
  std::string v = trim(raw);
  if (v.size() >= 2 && v.front() == '"') {
    auto close = v.find('"', 1);
    if (close != std::string::npos) return v.substr(1, close - 1);
  }
  if (!v.empty() && (v[0] == ';' || v[0] == '#')) return {};  // "key =   ; comment"
  for (std::size_t i = 1; i < v.size(); ++i) {
    if ((v[i] == ';' || v[i] == '#') && (v[i - 1] == ' ' || v[i - 1] == '\t'))
      return trim(std::string_view(v).substr(0, i));
  }
  return v;
}

std::uint64_t parse_unsigned(const std::string& v, const std::string& key) {
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || v.empty())
    throw config_error(key + ": expected a whole number, got '" + v + "'");
  return n;
}

// "250ms", "10s", "5m", "1h"; a bare number is seconds (fractions allowed: "0.5").
std::chrono::milliseconds parse_duration(const std::string& v, const std::string& key) {
  std::size_t digits = 0;
  while (digits < v.size() &&
         (std::isdigit(static_cast<unsigned char>(v[digits])) || v[digits] == '.'))
    ++digits;
  const std::string number = v.substr(0, digits);
  const std::string unit = lower(trim(v.substr(digits)));
  double value = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (number.empty() || ec != std::errc() || end != number.data() + number.size())
    throw config_error(key + ": expected a duration such as 500ms, 10s, 5m or 1h, got '" + v + "'");
  double scale = 0;
  if (unit.empty() || unit == "s")
    scale = 1000;
  else if (unit == "ms")
    scale = 1;
  else if (unit == "m" || unit == "min")
    scale = 60'000;
  else if (unit == "h")
    scale = 3'600'000;
  else
    throw config_error(key + ": unknown duration unit '" + unit + "' (use ms, s, m or h)");
  // Durations are added to steady_clock time points (64-bit nanoseconds): keep them far from
  // overflowing, and keep the conversion below defined.
  constexpr double max_ms = 100.0 * 365 * 24 * 3'600'000;
  if (value * scale > max_ms)
    throw config_error(key + ": '" + v + "' is too long (at most 100 years)");
  return std::chrono::milliseconds(static_cast<std::int64_t>(value * scale));
}

// "65536", "64K", "64M", "1G".
std::size_t parse_size(const std::string& v, const std::string& key) {
  if (v.empty()) throw config_error(key + ": expected a size such as 16M");
  std::uint64_t scale = 1;
  std::string number = v;
  switch (std::toupper(static_cast<unsigned char>(v.back()))) {
    case 'K':
      scale = 1024;
      break;
    case 'M':
      scale = 1024 * 1024;
      break;
    case 'G':
      scale = 1024ull * 1024 * 1024;
      break;
    default:
      scale = 1;
  }
  if (scale != 1) number.pop_back();
  const std::uint64_t n = parse_unsigned(number, key);
  if (n > std::numeric_limits<std::size_t>::max() / scale)
    throw config_error(key + ": '" + v + "' is too large");
  return static_cast<std::size_t>(n * scale);
}

endpoint parse_endpoint(const std::string& v, const std::string& key) {
  auto colon = v.rfind(':');
  if (colon == std::string::npos || colon == 0)
    throw config_error(key + ": expected IP:PORT, got '" + v + "'");
  endpoint e;
  e.host = v.substr(0, colon);
  if (e.host.size() > 2 && e.host.front() == '[' && e.host.back() == ']')
    e.host = e.host.substr(1, e.host.size() - 2);
  const auto port = parse_unsigned(v.substr(colon + 1), key);
  if (port == 0 || port > 65535) throw config_error(key + ": port must be 1-65535");
  e.port = static_cast<std::uint16_t>(port);
  unsigned char buf[16];
  if (inet_pton(AF_INET, e.host.c_str(), buf) != 1 && inet_pton(AF_INET6, e.host.c_str(), buf) != 1)
    throw config_error(key + ": '" + e.host +
                       "' is not an IP address (sluice does not resolve host names, so that no "
                       "lookup can block it)");
  return e;
}

bool parse_bool(const std::string& v, const std::string& key) {
  const auto b = lower(v);
  if (b == "on" || b == "true" || b == "yes" || b == "1") return true;
  if (b == "off" || b == "false" || b == "no" || b == "0") return false;
  throw config_error(key + ": expected on or off, got '" + v + "'");
}

std::size_t positive(std::uint64_t n, const std::string& key) {
  if (n == 0) throw config_error(key + ": must be at least 1");
  return static_cast<std::size_t>(n);
}

using setter = std::function<void(config&, const std::string& value, const std::string& key)>;

// Every key sluice knows, by "section.key". Defaults live in `struct config`.
const std::map<std::string, setter>& known_keys() {
  static const std::map<std::string, setter> keys = {
      {"sluice.listen", [](config& c, const std::string& v,
                           const std::string& k) { c.listen = parse_endpoint(v, k); }},
      {"sluice.pool_mode",
       [](config& c, const std::string& v, const std::string& k) {
         const auto m = lower(v);
         if (m == "transaction")
           c.pool_mode = pool_mode::transaction;
         else if (m == "session")
           c.pool_mode = pool_mode::session;
         else
           throw config_error(k + ": expected transaction or session, got '" + v + "'");
       }},
      {"sluice.shutdown_timeout",
       [](config& c, const std::string& v, const std::string& k) {
         c.shutdown_timeout = parse_duration(v, k);
       }},
      {"sluice.max_allowed_packet",
       [](config& c, const std::string& v, const std::string& k) {
         c.max_allowed_packet = parse_size(v, k);
         if (c.max_allowed_packet < 1024) throw config_error(k + ": must be at least 1K");
       }},
      {"backend.address", [](config& c, const std::string& v,
                             const std::string& k) { c.backend = parse_endpoint(v, k); }},
      {"backend.user",
       [](config& c, const std::string& v, const std::string& k) {
         if (v.empty()) throw config_error(k + ": must not be empty");
         c.backend_user = v;
       }},
      {"backend.password",
       [](config& c, const std::string& v, const std::string&) { c.backend_password = v; }},
      {"backend.max_connections",
       [](config& c, const std::string& v, const std::string& k) {
         c.pool.max_connections = positive(parse_unsigned(v, k), k);
       }},
      {"backend.min_idle", [](config& c, const std::string& v,
                              const std::string& k) { c.pool.min_idle = parse_unsigned(v, k); }},
      {"backend.connect_timeout",
       [](config& c, const std::string& v, const std::string& k) {
         c.connect_timeout = parse_duration(v, k);
       }},
      {"backend.idle_timeout",
       [](config& c, const std::string& v, const std::string& k) {
         c.pool.idle_timeout = parse_duration(v, k);
       }},
      {"backend.max_prepared_statements",
       [](config& c, const std::string& v, const std::string& k) {
         c.max_prepared_statements = parse_unsigned(v, k);
         if (c.max_prepared_statements == 0)
           throw config_error(k + ": must be at least 1, got '" + v + "'");
       }},
      {"backend.max_lifetime",
       [](config& c, const std::string& v, const std::string& k) {
         c.pool.max_lifetime = parse_duration(v, k);
       }},
      {"queue.timeout", [](config& c, const std::string& v,
                           const std::string& k) { c.pool.queue_timeout = parse_duration(v, k); }},
      {"queue.max_waiting",
       [](config& c, const std::string& v, const std::string& k) {
         c.pool.max_waiting = parse_unsigned(v, k);
       }},
      {"limits.max_client_connections", [](config& c, const std::string& v, const std::string& k) {
         c.max_client_connections = parse_unsigned(v, k);
       }},
      {"limits.max_connections_per_user", [](config& c, const std::string& v, const std::string& k) {
         c.max_connections_per_user = parse_unsigned(v, k);
       }},
      {"limits.max_connections_per_address",
       [](config& c, const std::string& v, const std::string& k) {
         c.max_connections_per_address = parse_unsigned(v, k);
       }},
      {"limits.client_idle_timeout", [](config& c, const std::string& v, const std::string& k) {
         c.client_idle_timeout = parse_duration(v, k);
       }},
      {"limits.idle_in_transaction_timeout",
       [](config& c, const std::string& v, const std::string& k) {
         c.idle_in_transaction_timeout = parse_duration(v, k);
       }},
      {"limits.query_timeout", [](config& c, const std::string& v, const std::string& k) {
         c.query_timeout = parse_duration(v, k);
       }},
      {"queue.max_waiting_per_user", [](config& c, const std::string& v, const std::string& k) {
         c.max_waiting_per_user = parse_unsigned(v, k);
       }},
      {"backend.reserve_connections", [](config& c, const std::string& v, const std::string& k) {
         c.pool.reserve_connections = parse_unsigned(v, k);
       }},
      {"backend.reserve_after", [](config& c, const std::string& v, const std::string& k) {
         c.pool.reserve_after = parse_duration(v, k);
       }},
      {"backend.connect_rate",
       [](config& c, const std::string& v, const std::string& k) {
         double rate = 0;
         auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), rate);
         if (v.empty() || ec != std::errc() || end != v.data() + v.size() || rate < 0)
           throw config_error(k + ": expected connection attempts per second (0: no limit), got '" +
                              v + "'");
         c.pool.connect_rate = rate;
       }},
      {"metrics.listen",
       [](config& c, const std::string& v, const std::string& k) {
         if (v.empty() || lower(v) == "off")
           c.metrics_listen.reset();
         else
           c.metrics_listen = parse_endpoint(v, k);
       }},
      {"admin.listen",
       [](config& c, const std::string& v, const std::string& k) {
         if (v.empty() || lower(v) == "off")
           c.admin_listen.reset();
         else
           c.admin_listen = parse_endpoint(v, k);
       }},
      {"admin.password",
       [](config& c, const std::string& v, const std::string&) { c.admin_password = v; }},
      {"log.format",
       [](config& c, const std::string& v, const std::string& k) {
         const auto f = lower(v);
         if (f == "plain")
           c.log_format = log_format::plain;
         else if (f == "json")
           c.log_format = log_format::json;
         else
           throw config_error(k + ": expected plain or json, got '" + v + "'");
       }},
      {"log.info_rate_limit", [](config& c, const std::string& v,
                                 const std::string& k) { c.log_info_rate_limit = parse_unsigned(v, k); }},
      {"sluice.so_reuseport",
       [](config& c, const std::string& v, const std::string& k) { c.so_reuseport = parse_bool(v, k); }},
      {"log.level",
       [](config& c, const std::string& v, const std::string& k) {
         const auto l = lower(v);
         if (l == "error")
           c.log = log_level::error;
         else if (l == "warn" || l == "warning")
           c.log = log_level::warn;
         else if (l == "info")
           c.log = log_level::info;
         else if (l == "debug")
           c.log = log_level::debug;
         else
           throw config_error(k + ": expected error, warn, info or debug, got '" + v + "'");
       }},
  };
  return keys;
}

void apply_user_key(config::user_policy& p, const std::string& key, const std::string& value,
                    const std::string& where) {
  if (key == "max_connections")
    p.max_connections = parse_unsigned(value, where);
  else if (key == "max_backend_connections")
    p.share.max_leases = parse_unsigned(value, where);
  else if (key == "weight")
    p.share.weight = static_cast<unsigned>(positive(parse_unsigned(value, where), where));
  else if (key == "max_waiting")
    p.share.max_waiting = parse_unsigned(value, where);
  else
    throw config_error(where +
                       ": unknown key (use max_connections, max_backend_connections, "
                       "weight or max_waiting)");
}

config::address_limit parse_address_limit(const std::string& cidr, const std::string& value) {
  config::address_limit limit;
  limit.cidr = cidr;
  const auto slash = cidr.find('/');
  const std::string address = cidr.substr(0, slash);
  limit.v6 = address.find(':') != std::string::npos;
  if (inet_pton(limit.v6 ? AF_INET6 : AF_INET, address.c_str(), limit.network.data()) != 1)
    throw config_error("[address_limits] " + cidr + ": not an IP address or CIDR block");
  const unsigned max_bits = limit.v6 ? 128 : 32;
  limit.prefix_bits = slash == std::string::npos
                          ? max_bits
                          : static_cast<unsigned>(
                                parse_unsigned(cidr.substr(slash + 1), "[address_limits] " + cidr));
  if (limit.prefix_bits > max_bits)
    throw config_error("[address_limits] " + cidr + ": prefix longer than the address");
  limit.max_connections = parse_unsigned(value, "[address_limits] " + cidr);
  return limit;
}

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

void validate(const config& c, const std::string& origin) {
  for (const auto& entry : c.user_policies) {
    if (!c.users.contains(entry.first))
      throw config_error(origin + ": [user." + entry.first + "] names a user missing from [users]");
  }
  if (c.min_idle_exceeds_cap())
    throw config_error(origin + ": backend.min_idle (" + std::to_string(c.pool.min_idle) +
                       ") exceeds backend.max_connections (" +
                       std::to_string(c.pool.max_connections) + ")");
}

std::string duration_text(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

std::string rate_text(double rate) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", rate);
  return text;
}

std::string endpoint_text(const std::optional<endpoint>& e) {
  if (!e) return "off";
  return (e->host.find(':') != std::string::npos ? "[" + e->host + "]" : e->host) + ":" +
         std::to_string(e->port);
}

std::string size_text(std::size_t n) {
  if (n % (1024 * 1024) == 0) return std::to_string(n / (1024 * 1024)) + "M";
  if (n % 1024 == 0) return std::to_string(n / 1024) + "K";
  return std::to_string(n);
}

}  // namespace

config parse_config(const std::string& text, const std::string& origin,
                    const char* (*environment)(const char*)) {
  config c;
  std::istringstream in(text);
  std::string line;
  std::string section;
  std::set<std::string> seen;
  int line_no = 0;
  const auto fail = [&](const std::string& what) {
    throw config_error(origin + ":" + std::to_string(line_no) + ": " + what);
  };
  while (std::getline(in, line)) {
    ++line_no;
    const std::string stripped = trim(line);
    if (stripped.empty() || stripped[0] == ';' || stripped[0] == '#') continue;
    if (stripped.front() == '[') {
      if (stripped.back() != ']') fail("section header '" + stripped + "' lacks a closing ]");
      const std::string name = trim(std::string_view(stripped).substr(1, stripped.size() - 2));
      // [user.NAME] keeps the user name's case.
      section = lower(name).starts_with("user.") ? "user." + name.substr(5) : lower(name);
      static const std::set<std::string> sections = {"sluice", "backend", "queue",
                                                     "users",  "log",     "metrics",
                                                     "admin",  "limits",  "address_limits"};
      if (!sections.contains(section) && !section.starts_with("user."))
        fail("unknown section [" + section + "]");
      if (section.starts_with("user.")) c.user_policies[section.substr(5)];
      continue;
    }
    const auto eq = stripped.find('=');
    if (eq == std::string::npos) fail("expected 'key = value', got '" + stripped + "'");
    const std::string key = trim(std::string_view(stripped).substr(0, eq));
    const std::string value = parse_value(std::string_view(stripped).substr(eq + 1));
    if (section.empty()) fail("key '" + key + "' appears before any [section]");
    if (key.empty()) fail("empty key");
    if (section == "users") {
      if (c.users.contains(key)) fail("[users] " + key + ": defined twice");
      c.users[key] = value;
      continue;
    }
    if (section == "address_limits") {
      try {
        c.address_limits.push_back(parse_address_limit(key, value));
      } catch (const config_error& e) {
        fail(e.what());
      }
      continue;
    }
    if (section.starts_with("user.")) {
      try {
        apply_user_key(c.user_policies[section.substr(5)], lower(key), value,
                       "[" + section + "] " + key);
      } catch (const config_error& e) {
        fail(e.what());
      }
      continue;
    }
    const std::string full = section + "." + lower(key);
    const auto& keys = known_keys();
    const auto it = keys.find(full);
    if (it == keys.end()) fail("unknown key '" + key + "' in [" + section + "]");
    if (!seen.insert(full).second) fail(full + ": defined twice");
    try {
      it->second(c, value, full);
    } catch (const config_error& e) {
      fail(e.what());
    }
  }
  // Environment overrides: SLUICE_BACKEND_PASSWORD for backend.password, and so on.
  const auto getenv_fn = environment ? environment : +[](const char* name) -> const char* {
    return std::getenv(name);
  };
  for (const auto& [key, apply] : known_keys()) {
    std::string name = "SLUICE_" + key;
    for (auto& ch : name) ch = ch == '.' ? '_' : static_cast<char>(std::toupper(ch));
    if (const char* value = getenv_fn(name.c_str())) {
      try {
        apply(c, value, key);
      } catch (const config_error& e) {
        throw config_error(origin + ": environment " + name + ": " + e.what());
      }
      seen.insert(key);
    }
  }
  if (!seen.contains("backend.address"))
    throw config_error(origin + ": backend.address is required");
  if (c.users.empty())
    throw config_error(origin + ": [users] must list at least one 'name = password' account");
  validate(c, origin);
  return c;
}

config load_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw config_error(path + ": cannot read the file");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path);
}

}  // namespace sluice::proxy

namespace sluice::proxy {

config with_setting(const config& base, const std::string& key, const std::string& value) {
  const auto& keys = known_keys();
  const auto it = keys.find(key);
  if (it == keys.end()) throw config_error("unknown key '" + key + "'");
  config next = base;
  it->second(next, value, key);
  validate(next, key);
  return next;
}

std::vector<std::string> known_config_keys() {
  std::vector<std::string> keys;
  for (const auto& [key, apply] : known_keys()) keys.push_back(key);
  return keys;
}

bool runtime_changeable(const std::string& key) {
  static const std::set<std::string> keys = {"backend.max_connections",
                                             "backend.min_idle",
                                             "backend.idle_timeout",
                                             "backend.max_lifetime",
                                             "queue.timeout",
                                             "queue.max_waiting",
                                             "queue.max_waiting_per_user",
                                             "backend.reserve_connections",
                                             "backend.reserve_after",
                                             "backend.connect_rate",
                                             "limits.max_client_connections",
                                             "limits.max_connections_per_user",
                                             "limits.max_connections_per_address",
                                             "limits.client_idle_timeout",
                                             "limits.idle_in_transaction_timeout",
                                             "limits.query_timeout",
                                             "log.info_rate_limit",
                                             "log.level",
                                             "sluice.shutdown_timeout",
                                             "sluice.max_allowed_packet"};
  return keys.contains(key);
}

std::vector<std::pair<std::string, std::string>> describe_config(const config& c) {
  return {
      {"sluice.listen", endpoint_text(c.listen)},
      {"sluice.pool_mode", c.pool_mode == pool_mode::transaction ? "transaction" : "session"},
      {"sluice.shutdown_timeout", duration_text(c.shutdown_timeout)},
      {"sluice.max_allowed_packet", size_text(c.max_allowed_packet)},
      {"sluice.so_reuseport", c.so_reuseport ? "on" : "off"},
      {"backend.address", endpoint_text(c.backend)},
      {"backend.user", c.backend_user},
      {"backend.password", c.backend_password.empty() ? "" : "***"},
      {"backend.max_connections", std::to_string(c.pool.max_connections)},
      {"backend.min_idle", std::to_string(c.pool.min_idle)},
      {"backend.connect_timeout", duration_text(c.connect_timeout)},
      {"backend.idle_timeout", duration_text(c.pool.idle_timeout)},
      {"backend.max_lifetime", duration_text(c.pool.max_lifetime)},
      {"backend.max_prepared_statements", std::to_string(c.max_prepared_statements)},
      {"queue.timeout", duration_text(c.pool.queue_timeout)},
      {"queue.max_waiting", std::to_string(c.pool.max_waiting)},
      {"queue.max_waiting_per_user", std::to_string(c.max_waiting_per_user)},
      {"backend.reserve_connections", std::to_string(c.pool.reserve_connections)},
      {"backend.reserve_after", duration_text(c.pool.reserve_after)},
      {"backend.connect_rate", rate_text(c.pool.connect_rate)},
      {"limits.max_client_connections", std::to_string(c.max_client_connections)},
      {"limits.max_connections_per_user", std::to_string(c.max_connections_per_user)},
      {"limits.max_connections_per_address", std::to_string(c.max_connections_per_address)},
      {"limits.client_idle_timeout", duration_text(c.client_idle_timeout)},
      {"limits.idle_in_transaction_timeout", duration_text(c.idle_in_transaction_timeout)},
      {"limits.query_timeout", duration_text(c.query_timeout)},
      {"log.level", to_string(c.log)},
      {"log.format", c.log_format == log_format::json ? "json" : "plain"},
      {"log.info_rate_limit", std::to_string(c.log_info_rate_limit)},
      {"metrics.listen", endpoint_text(c.metrics_listen)},
      {"admin.listen", endpoint_text(c.admin_listen)},
      {"admin.password", c.admin_password.empty() ? "" : "***"},
  };
}

}  // namespace sluice::proxy

namespace sluice::proxy {

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

}  // namespace sluice::proxy

namespace sluice::proxy {

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

}  // namespace sluice::proxy
