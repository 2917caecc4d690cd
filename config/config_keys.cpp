// The key table. Defaults live in `struct config`; the table says how each key reads and prints.
#include "config/config_keys.h"

#include "config/config_values.h"

namespace sluice {
namespace {

std::size_t positive(std::uint64_t n, const std::string& key) {
  if (n == 0) throw config_error(key + ": must be at least 1");
  return static_cast<std::size_t>(n);
}

std::optional<endpoint> parse_optional_endpoint(const std::string& v, const std::string& key) {
  if (v.empty() || lower(v) == "off") return std::nullopt;
  return parse_endpoint(v, key);
}

using change = key_change;

// One line per key. The lambdas are the key's parser and printer.
const std::vector<config_key> table = {
    {"sluice.listen", "endpoint", change::restart, false, false,
     [](config& c, const std::string& v, const std::string& k) { c.listen = parse_endpoint(v, k); },
     [](const config& c) { return endpoint_text(c.listen); }},
    {"sluice.pool_mode", "transaction | session", change::reload, false, false,
     [](config& c, const std::string& v, const std::string& k) {
       const auto m = lower(v);
       if (m == "transaction")
         c.pool_mode = pool_mode::transaction;
       else if (m == "session")
         c.pool_mode = pool_mode::session;
       else
         throw config_error(k + ": expected transaction or session, got '" + v + "'");
     },
     [](const config& c) {
       return std::string(c.pool_mode == pool_mode::transaction ? "transaction" : "session");
     }},
    {"sluice.shutdown_timeout", "duration", change::set, true, false,
     [](config& c, const std::string& v, const std::string& k) {
       c.shutdown_timeout = parse_duration(v, k);
     },
     [](const config& c) { return duration_text(c.shutdown_timeout); }},
    {"sluice.max_allowed_packet", "size", change::set, true, false,
     [](config& c, const std::string& v, const std::string& k) {
       c.max_allowed_packet = parse_size(v, k);
       if (c.max_allowed_packet < 1024) throw config_error(k + ": must be at least 1K");
     },
     [](const config& c) { return size_text(c.max_allowed_packet); }},
    {"sluice.so_reuseport", "on/off", change::restart, false, false,
     [](config& c, const std::string& v, const std::string& k) {
       c.so_reuseport = parse_bool(v, k);
     },
     [](const config& c) { return std::string(c.so_reuseport ? "on" : "off"); }},
    {"backend.address", "endpoint", change::restart, false, false,
     [](config& c, const std::string& v, const std::string& k) {
       c.backend = parse_endpoint(v, k);
     },
     [](const config& c) { return endpoint_text(c.backend); }},
    {"backend.user", "text", change::restart, false, false,
     [](config& c, const std::string& v, const std::string& k) {
       if (v.empty()) throw config_error(k + ": must not be empty");
       c.backend_user = v;
     },
     [](const config& c) { return c.backend_user; }},
    {"backend.password", "text", change::restart, false, true,
     [](config& c, const std::string& v, const std::string&) { c.backend_password = v; },
     [](const config& c) { return c.backend_password; }},
    {"backend.max_connections", "count", change::set, true, false,
     [](config& c, const std::string& v, const std::string& k) {
       c.pool.max_connections = positive(parse_unsigned(v, k), k);
     },
     [](const config& c) { return std::to_string(c.pool.max_connections); }},
    {"backend.min_idle", "count", change::set, true, false,
     [](config& c, const std::string& v, const std::string& k) {
       c.pool.min_idle = parse_unsigned(v, k);
     },
     [](const config& c) { return std::to_string(c.pool.min_idle); }},
    {"backend.connect_timeout", "duration", change::restart, false, false,
     [](config& c, const std::string& v, const std::string& k) {
       c.connect_timeout = parse_duration(v, k);
     },
     [](const config& c) { return duration_text(c.connect_timeout); }},
    {"backend.idle_timeout", "duration", change::set, true, false,
     [](config& c, const std::string& v, const std::string& k) {
       c.pool.idle_timeout = parse_duration(v, k);
     },
     [](const config& c) { return duration_text(c.pool.idle_timeout); }},
    {"backend.max_lifetime", "duration", change::set, true, false,
     [](config& c, const std::string& v, const std::string& k) {
       c.pool.max_lifetime = parse_duration(v, k);
     },
     [](const config& c) { return duration_text(c.pool.max_lifetime); }},
    {"backend.max_prepared_statements", "count", change::restart, true, false,
     [](config& c, const std::string& v, const std::string& k) {
       c.max_prepared_statements = positive(parse_unsigned(v, k), k);
     },
     [](const config& c) { return std::to_string(c.max_prepared_statements); }},
    {"queue.timeout", "duration", change::set, true, false,
     [](config& c, const std::string& v, const std::string& k) {
       c.pool.queue_timeout = parse_duration(v, k);
     },
     [](const config& c) { return duration_text(c.pool.queue_timeout); }},
    {"queue.max_waiting", "count", change::set, true, false,
     [](config& c, const std::string& v, const std::string& k) {
       c.pool.max_waiting = parse_unsigned(v, k);
     },
     [](const config& c) { return std::to_string(c.pool.max_waiting); }},
    {"queue.max_waiting_per_user", "count", change::set, true, false,
     [](config& c, const std::string& v, const std::string& k) {
       c.max_waiting_per_user = parse_unsigned(v, k);
     },
     [](const config& c) { return std::to_string(c.max_waiting_per_user); }},
    {"backend.reserve_connections", "count", change::set, true, false,
     [](config& c, const std::string& v, const std::string& k) {
       c.pool.reserve_connections = parse_unsigned(v, k);
     },
     [](const config& c) { return std::to_string(c.pool.reserve_connections); }},
    {"backend.reserve_after", "duration", change::set, true, false,
     [](config& c, const std::string& v, const std::string& k) {
       c.pool.reserve_after = parse_duration(v, k);
     },
     [](const config& c) { return duration_text(c.pool.reserve_after); }},
    {"backend.connect_rate", "rate", change::set, true, false,
     [](config& c, const std::string& v, const std::string& k) {
       c.pool.connect_rate = parse_rate(v, k);
     },
     [](const config& c) { return rate_text(c.pool.connect_rate); }},
    {"limits.max_client_connections", "count", change::set, true, false,
     [](config& c, const std::string& v, const std::string& k) {
       c.max_client_connections = parse_unsigned(v, k);
     },
     [](const config& c) { return std::to_string(c.max_client_connections); }},
    {"limits.max_connections_per_user", "count", change::set, true, false,
     [](config& c, const std::string& v, const std::string& k) {
       c.max_connections_per_user = parse_unsigned(v, k);
     },
     [](const config& c) { return std::to_string(c.max_connections_per_user); }},
    {"limits.max_connections_per_address", "count", change::set, true, false,
     [](config& c, const std::string& v, const std::string& k) {
       c.max_connections_per_address = parse_unsigned(v, k);
     },
     [](const config& c) { return std::to_string(c.max_connections_per_address); }},
    {"limits.client_idle_timeout", "duration", change::set, true, false,
     [](config& c, const std::string& v, const std::string& k) {
       c.client_idle_timeout = parse_duration(v, k);
     },
     [](const config& c) { return duration_text(c.client_idle_timeout); }},
    {"limits.idle_in_transaction_timeout", "duration", change::set, true, false,
     [](config& c, const std::string& v, const std::string& k) {
       c.idle_in_transaction_timeout = parse_duration(v, k);
     },
     [](const config& c) { return duration_text(c.idle_in_transaction_timeout); }},
    {"limits.query_timeout", "duration", change::set, true, false,
     [](config& c, const std::string& v, const std::string& k) {
       c.query_timeout = parse_duration(v, k);
     },
     [](const config& c) { return duration_text(c.query_timeout); }},
    {"limits.client_read_timeout", "duration", change::set, true, false,
     [](config& c, const std::string& v, const std::string& k) {
       c.client_read_timeout = parse_duration(v, k);
     },
     [](const config& c) { return duration_text(c.client_read_timeout); }},
    {"limits.client_write_timeout", "duration", change::set, true, false,
     [](config& c, const std::string& v, const std::string& k) {
       c.client_write_timeout = parse_duration(v, k);
     },
     [](const config& c) { return duration_text(c.client_write_timeout); }},
    {"limits.login_timeout", "duration", change::set, true, false,
     [](config& c, const std::string& v, const std::string& k) {
       c.login_timeout = parse_duration(v, k);
     },
     [](const config& c) { return duration_text(c.login_timeout); }},
    {"limits.max_pending_logins", "count", change::set, true, false,
     [](config& c, const std::string& v, const std::string& k) {
       c.max_pending_logins = parse_unsigned(v, k);
     },
     [](const config& c) { return std::to_string(c.max_pending_logins); }},
    {"limits.client_statement_memory", "size", change::set, true, false,
     [](config& c, const std::string& v, const std::string& k) {
       c.client_statement_memory = parse_size(v, k);
     },
     [](const config& c) { return size_text(c.client_statement_memory); }},
    {"limits.large_command_memory", "size", change::set, true, false,
     [](config& c, const std::string& v, const std::string& k) {
       c.large_command_memory = parse_size(v, k);
     },
     [](const config& c) { return size_text(c.large_command_memory); }},
    {"log.level", "error | warn | info | debug", change::set, false, false,
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
     },
     [](const config& c) { return std::string(to_string(c.log)); }},
    {"log.format", "plain | json", change::reload, false, false,
     [](config& c, const std::string& v, const std::string& k) {
       const auto f = lower(v);
       if (f == "plain")
         c.log_format = log_format::plain;
       else if (f == "json")
         c.log_format = log_format::json;
       else
         throw config_error(k + ": expected plain or json, got '" + v + "'");
     },
     [](const config& c) {
       return std::string(c.log_format == log_format::json ? "json" : "plain");
     }},
    {"log.info_rate_limit", "count", change::set, false, false,
     [](config& c, const std::string& v, const std::string& k) {
       c.log_info_rate_limit = parse_unsigned(v, k);
     },
     [](const config& c) { return std::to_string(c.log_info_rate_limit); }},
    {"metrics.listen", "endpoint or off", change::restart, false, false,
     [](config& c, const std::string& v, const std::string& k) {
       c.metrics_listen = parse_optional_endpoint(v, k);
     },
     [](const config& c) { return endpoint_text(c.metrics_listen); }},
    {"admin.listen", "endpoint or off", change::restart, false, false,
     [](config& c, const std::string& v, const std::string& k) {
       c.admin_listen = parse_optional_endpoint(v, k);
     },
     [](const config& c) { return endpoint_text(c.admin_listen); }},
    {"admin.password", "text", change::reload, false, true,
     [](config& c, const std::string& v, const std::string&) { c.admin_password = v; },
     [](const config& c) { return c.admin_password; }},
};

}  // namespace

std::string_view to_string(key_change change) noexcept {
  switch (change) {
    case key_change::set:
      return "SET";
    case key_change::reload:
      return "reload";
    case key_change::restart:
      return "restart";
  }
  return "restart";
}

const std::vector<config_key>& config_keys() {
  return table;
}

const config_key* find_config_key(std::string_view name) {
  for (const config_key& key : table)
    if (key.name == name) return &key;
  return nullptr;
}

config with_setting(const config& base, const std::string& key, const std::string& value) {
  const config_key* entry = find_config_key(key);
  if (!entry) throw config_error("unknown key '" + key + "'");
  config next = base;
  entry->apply(next, value, key);
  validate(next, key);
  return next;
}

std::vector<std::pair<std::string, std::string>> describe_config(const config& c) {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(table.size());
  for (const config_key& key : table) {
    std::string value = key.show(c);
    if (key.secret && !value.empty()) value = "***";
    out.emplace_back(std::string(key.name), std::move(value));
  }
  return out;
}

std::vector<std::string> restart_only_changes(const config& running, const config& next) {
  std::vector<std::string> changed;
  for (const config_key& key : table)
    if (key.change == key_change::restart && key.show(running) != key.show(next))
      changed.emplace_back(key.name);
  return changed;
}

config keep_restart_only(const config& running, config next) {
  for (const config_key& key : table)
    if (key.change == key_change::restart)
      key.apply(next, key.show(running), std::string(key.name));
  return next;
}

}  // namespace sluice
