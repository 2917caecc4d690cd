// The key table. Defaults live in `struct config`; the table says how each key reads and prints.
#include "config/config_keys.h"

#include <utility>

#include "config/config_values.h"

namespace sluice {
namespace {

using change = key_change;
using std::chrono::milliseconds;

// What a key is for the table: its place in the file, when it changes, and whether SHOW LIMITS
// lists it. `Get` reads the field it sets from a config (const or not: a generic lambda).
struct key_place {
  std::string_view name;
  change when;
  bool limit = false;
};

template <class Get>
config_key duration_key(key_place at, Get get) {
  return {at.name,
          "duration",
          at.when,
          at.limit,
          false,
          [get](config& c, const std::string& v, const std::string& k) {
            get(c) = parse_duration(v, k);
          },
          [get](const config& c) { return duration_text(get(c)); }};
}

// A whole number; `minimum` 1 refuses 0 ("must be at least 1").
template <class Get>
config_key count_key(key_place at, Get get, std::uint64_t minimum = 0) {
  return {at.name,
          "count",
          at.when,
          at.limit,
          false,
          [get, minimum](config& c, const std::string& v, const std::string& k) {
            const std::uint64_t n = parse_unsigned(v, k);
            if (n < minimum)
              throw config_error(k + ": must be at least " + std::to_string(minimum));
            get(c) = static_cast<std::remove_reference_t<decltype(get(c))>>(n);
          },
          [get](const config& c) { return std::to_string(get(c)); }};
}

template <class Get>
config_key size_key(key_place at, Get get, std::size_t minimum = 0) {
  return {at.name,
          "size",
          at.when,
          at.limit,
          false,
          [get, minimum](config& c, const std::string& v, const std::string& k) {
            const std::size_t n = parse_size(v, k);
            if (n < minimum) throw config_error(k + ": must be at least " + size_text(minimum));
            get(c) = n;
          },
          [get](const config& c) { return size_text(get(c)); }};
}

template <class Get>
config_key endpoint_key(key_place at, Get get) {
  return {at.name,
          "endpoint",
          at.when,
          at.limit,
          false,
          [get](config& c, const std::string& v, const std::string& k) {
            get(c) = parse_endpoint(v, k);
          },
          [get](const config& c) { return endpoint_text(get(c)); }};
}

// An endpoint, or "off" (or empty) to turn the listener off.
template <class Get>
config_key optional_endpoint_key(key_place at, Get get) {
  return {at.name,
          "endpoint or off",
          at.when,
          at.limit,
          false,
          [get](config& c, const std::string& v, const std::string& k) {
            if (v.empty() || lower(v) == "off")
              get(c).reset();
            else
              get(c) = parse_endpoint(v, k);
          },
          [get](const config& c) { return endpoint_text(get(c)); }};
}

template <class Get>
config_key text_key(key_place at, Get get, bool secret, bool required = false) {
  return {at.name,
          "text",
          at.when,
          at.limit,
          secret,
          [get, required](config& c, const std::string& v, const std::string& k) {
            if (required && v.empty()) throw config_error(k + ": must not be empty");
            get(c) = v;
          },
          [get](const config& c) { return get(c); }};
}

template <class Get>
config_key on_off_key(key_place at, Get get) {
  return {
      at.name,
      "on/off",
      at.when,
      at.limit,
      false,
      [get](config& c, const std::string& v, const std::string& k) { get(c) = parse_bool(v, k); },
      [get](const config& c) { return std::string(get(c) ? "on" : "off"); }};
}

template <class Get>
config_key rate_key(key_place at, Get get) {
  return {
      at.name,
      "rate",
      at.when,
      at.limit,
      false,
      [get](config& c, const std::string& v, const std::string& k) { get(c) = parse_rate(v, k); },
      [get](const config& c) { return rate_text(get(c)); }};
}

// One of a few words, each naming a value (a value prints as the first word naming it).
template <class E, class Get>
config_key choice_key(key_place at, std::string_view expected,
                      std::vector<std::pair<std::string, E>> words, Get get) {
  return {at.name,
          expected,
          at.when,
          at.limit,
          false,
          [get, words, expected](config& c, const std::string& v, const std::string& k) {
            const std::string word = lower(v);
            for (const auto& [w, value] : words) {
              if (w != word) continue;
              get(c) = value;
              return;
            }
            throw config_error(k + ": expected " + std::string(expected) + ", got '" + v + "'");
          },
          [get, words](const config& c) {
            for (const auto& [w, value] : words)
              if (value == get(c)) return w;
            return std::string();
          }};
}

// One entry per key, in the order deploy/sluice.ini lists them.
const std::vector<config_key>& table() {
  static const std::vector<config_key> keys = {
      endpoint_key(
          {"sluice.listen", change::restart}, [](auto& c) -> auto& { return c.listen; }),
      choice_key<pool_mode>(
          {"sluice.pool_mode", change::reload}, "transaction or session",
          {{"transaction", pool_mode::transaction}, {"session", pool_mode::session}},
          [](auto& c) -> auto& { return c.pool_mode; }),
      duration_key(
          {"sluice.shutdown_timeout", change::set, true},
          [](auto& c) -> auto& { return c.shutdown_timeout; }),
      size_key(
          {"sluice.max_allowed_packet", change::set, true},
          [](auto& c) -> auto& { return c.max_allowed_packet; }, 1024),
      on_off_key(
          {"sluice.so_reuseport", change::restart},
          [](auto& c) -> auto& { return c.so_reuseport; }),
      endpoint_key(
          {"backend.address", change::restart}, [](auto& c) -> auto& { return c.backend; }),
      text_key(
          {"backend.user", change::restart}, [](auto& c) -> auto& { return c.backend_user; }, false,
          true),
      text_key(
          {"backend.password", change::restart},
          [](auto& c) -> auto& { return c.backend_password; }, true),
      count_key(
          {"backend.max_connections", change::set, true},
          [](auto& c) -> auto& { return c.pool.max_connections; }, 1),
      count_key(
          {"backend.min_idle", change::set, true},
          [](auto& c) -> auto& { return c.pool.min_idle; }),
      duration_key(
          {"backend.connect_timeout", change::restart},
          [](auto& c) -> auto& { return c.connect_timeout; }),
      choice_key<backend_tls_mode>(
          {"backend.tls", change::reload},
          "disabled, preferred, required, verify_ca or verify_identity",
          {{"disabled", backend_tls_mode::disabled},
           {"preferred", backend_tls_mode::preferred},
           {"required", backend_tls_mode::required},
           {"verify_ca", backend_tls_mode::verify_ca},
           {"verify_identity", backend_tls_mode::verify_identity}},
          [](auto& c) -> auto& { return c.backend_tls.mode; }),
      text_key(
          {"backend.tls_ca_file", change::reload},
          [](auto& c) -> auto& { return c.backend_tls.ca_file; }, false),
      text_key(
          {"backend.tls_cert_file", change::reload},
          [](auto& c) -> auto& { return c.backend_tls.cert_file; }, false),
      text_key(
          {"backend.tls_key_file", change::reload},
          [](auto& c) -> auto& { return c.backend_tls.key_file; }, false),
      text_key(
          {"backend.tls_server_name", change::reload},
          [](auto& c) -> auto& { return c.backend_tls.server_name; }, false),
      duration_key(
          {"backend.idle_timeout", change::set, true},
          [](auto& c) -> auto& { return c.pool.idle_timeout; }),
      duration_key(
          {"backend.max_lifetime", change::set, true},
          [](auto& c) -> auto& { return c.pool.max_lifetime; }),
      count_key(
          {"backend.max_prepared_statements", change::restart, true},
          [](auto& c) -> auto& { return c.max_prepared_statements; }, 1),
      duration_key(
          {"queue.timeout", change::set, true},
          [](auto& c) -> auto& { return c.pool.queue_timeout; }),
      count_key(
          {"queue.max_waiting", change::set, true},
          [](auto& c) -> auto& { return c.pool.max_waiting; }),
      count_key(
          {"queue.max_waiting_per_user", change::set, true},
          [](auto& c) -> auto& { return c.max_waiting_per_user; }),
      count_key(
          {"backend.reserve_connections", change::set, true},
          [](auto& c) -> auto& { return c.pool.reserve_connections; }),
      duration_key(
          {"backend.reserve_after", change::set, true},
          [](auto& c) -> auto& { return c.pool.reserve_after; }),
      rate_key(
          {"backend.connect_rate", change::set, true},
          [](auto& c) -> auto& { return c.pool.connect_rate; }),
      count_key(
          {"limits.max_client_connections", change::set, true},
          [](auto& c) -> auto& { return c.max_client_connections; }),
      count_key(
          {"limits.max_connections_per_user", change::set, true},
          [](auto& c) -> auto& { return c.max_connections_per_user; }),
      count_key(
          {"limits.max_connections_per_address", change::set, true},
          [](auto& c) -> auto& { return c.max_connections_per_address; }),
      duration_key(
          {"limits.client_idle_timeout", change::set, true},
          [](auto& c) -> auto& { return c.client_idle_timeout; }),
      duration_key(
          {"limits.idle_in_transaction_timeout", change::set, true},
          [](auto& c) -> auto& { return c.idle_in_transaction_timeout; }),
      duration_key(
          {"limits.query_timeout", change::set, true},
          [](auto& c) -> auto& { return c.query_timeout; }),
      duration_key(
          {"limits.client_read_timeout", change::set, true},
          [](auto& c) -> auto& { return c.client_read_timeout; }),
      duration_key(
          {"limits.client_write_timeout", change::set, true},
          [](auto& c) -> auto& { return c.client_write_timeout; }),
      duration_key(
          {"limits.login_timeout", change::set, true},
          [](auto& c) -> auto& { return c.login_timeout; }),
      count_key(
          {"limits.max_pending_logins", change::set, true},
          [](auto& c) -> auto& { return c.max_pending_logins; }),
      size_key(
          {"limits.client_statement_memory", change::set, true},
          [](auto& c) -> auto& { return c.client_statement_memory; }),
      size_key(
          {"limits.large_command_memory", change::set, true},
          [](auto& c) -> auto& { return c.large_command_memory; }),
      text_key(
          {"tls.cert_file", change::reload}, [](auto& c) -> auto& { return c.tls.cert_file; },
          false),
      text_key(
          {"tls.key_file", change::reload}, [](auto& c) -> auto& { return c.tls.key_file; }, false),
      text_key(
          {"tls.ca_file", change::reload}, [](auto& c) -> auto& { return c.tls.ca_file; }, false),
      choice_key<client_certificates>(
          {"tls.verify_client", change::reload}, "off, optional or required",
          {{"off", client_certificates::off},
           {"optional", client_certificates::optional},
           {"required", client_certificates::required}},
          [](auto& c) -> auto& { return c.tls.verify_client; }),
      choice_key<tls_version>(
          {"tls.min_version", change::reload}, "TLSv1.2 or TLSv1.3",
          {{"tlsv1.2", tls_version::v1_2},
           {"tlsv1.3", tls_version::v1_3},
           {"1.2", tls_version::v1_2},
           {"1.3", tls_version::v1_3}},
          [](auto& c) -> auto& { return c.tls.min_version; }),
      text_key(
          {"tls.ciphers", change::reload}, [](auto& c) -> auto& { return c.tls.ciphers; }, false),
      on_off_key(
          {"tls.require_secure_transport", change::set},
          [](auto& c) -> auto& { return c.tls.require_secure_transport; }),
      choice_key<auth_mode>(
          {"auth.mode", change::restart}, "config or server",
          {{"config", auth_mode::config}, {"server", auth_mode::server}},
          [](auto& c) -> auto& { return c.auth_mode; }),
      text_key(
          {"auth.user", change::restart}, [](auto& c) -> auto& { return c.auth_user; }, false),
      text_key(
          {"auth.password", change::restart}, [](auto& c) -> auto& { return c.auth_password; },
          true),
      text_key(
          {"auth.query", change::restart}, [](auto& c) -> auto& { return c.auth_query; }, false,
          true),
      duration_key(
          {"auth.refresh", change::set}, [](auto& c) -> auto& { return c.auth_refresh; }),
      choice_key<log_level>(
          {"log.level", change::set}, "error, warn, info or debug",
          {{"info", log_level::info},
           {"error", log_level::error},
           {"warn", log_level::warn},
           {"warning", log_level::warn},
           {"debug", log_level::debug}},
          [](auto& c) -> auto& { return c.log; }),
      choice_key<log_format>(
          {"log.format", change::reload}, "plain or json",
          {{"plain", log_format::plain}, {"json", log_format::json}},
          [](auto& c) -> auto& { return c.log_format; }),
      count_key(
          {"log.info_rate_limit", change::set},
          [](auto& c) -> auto& { return c.log_info_rate_limit; }),
      optional_endpoint_key(
          {"metrics.listen", change::restart}, [](auto& c) -> auto& { return c.metrics_listen; }),
      optional_endpoint_key(
          {"admin.listen", change::restart}, [](auto& c) -> auto& { return c.admin_listen; }),
      text_key(
          {"admin.password", change::reload}, [](auto& c) -> auto& { return c.admin_password; },
          true),
  };
  return keys;
}

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
  return table();
}

const config_key* find_config_key(std::string_view name) {
  for (const config_key& key : table())
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
  out.reserve(table().size());
  for (const config_key& key : table()) {
    std::string value = key.show(c);
    if (key.secret && !value.empty()) value = "***";
    out.emplace_back(std::string(key.name), std::move(value));
  }
  return out;
}

std::vector<std::string> restart_only_changes(const config& running, const config& next) {
  std::vector<std::string> changed;
  for (const config_key& key : table())
    if (key.change == key_change::restart && key.show(running) != key.show(next))
      changed.emplace_back(key.name);
  return changed;
}

config keep_restart_only(const config& running, config next) {
  for (const config_key& key : table())
    if (key.change == key_change::restart)
      key.apply(next, key.show(running), std::string(key.name));
  return next;
}

}  // namespace sluice
