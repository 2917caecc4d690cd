// Admin commands over the running server's state.
#include "admin/admin_commands.h"

#include <charconv>
#include <ctime>

#include "config/config_keys.h"
#include "proxy/client_session.h"
#include "proxy/log.h"

namespace sluice::admin {

using proxy::client_session;
using proxy::client_state;
using proxy::log;
namespace {

constexpr const char* help_text =
    "Commands (case-insensitive; ';' chains several on one line; add FORMAT JSON for JSON):\n"
    "  SHOW POOLS      clients and backends per pool (cl_active, cl_waiting, sv_active, ...)\n"
    "  SHOW CLIENTS    one row per client: id, user, address, state, pinned, waiting_ms, ...\n"
    "  SHOW SERVERS    one row per backend connection\n"
    "  SHOW STATS      totals and per-second rates over the last 10 s\n"
    "  SHOW LIMITS     limits in force, and whether SET can change them\n"
    "  SHOW CONFIG     every setting in force\n"
    "  SHOW VERSION    the sluice version\n"
    "  SHOW HEALTH     ready (a backend connection can be made), live, draining\n"
    "  SET key = value change a runtime limit, e.g. SET backend.max_connections = 32\n"
    "  PAUSE / RESUME  stop handing out backends (statements queue) / hand them out again\n"
    "  KILL CLIENT id  disconnect one client\n"
    "  RELOAD          re-read the configuration file (as SIGHUP)\n"
    "  SHUTDOWN [WAIT] stop now / drain like SIGTERM, then exit\n"
    "  QUIT            close this connection";

std::string iso_time(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char text[32];
  const auto n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return std::string(text, n);
}

std::string number(double v) {
  char text[64];
  if (v == static_cast<double>(static_cast<long long>(v)))
    std::snprintf(text, sizeof text, "%lld", static_cast<long long>(v));
  else
    std::snprintf(text, sizeof text, "%.2f", v);
  return text;
}

std::string error(const std::string& what) {
  return "ERROR: " + what;
}

}  // namespace

std::string admin_commands::show(const admin_table& table, bool json) const {
  return json ? render_json(table) : render_text(table);
}

std::string admin_commands::run(const admin_command& cmd) {
  if (cmd.words.empty()) return error("empty command (try HELP)");
  if (cmd.is({"HELP"})) return help_text;
  if (cmd.is({"SHOW", "POOLS"})) return show(pools(), cmd.json);
  if (cmd.is({"SHOW", "CLIENTS"})) return show(clients(), cmd.json);
  if (cmd.is({"SHOW", "SERVERS"})) return show(servers(), cmd.json);
  if (cmd.is({"SHOW", "STATS"})) return show(stats(), cmd.json);
  if (cmd.is({"SHOW", "LIMITS"})) return show(limits(), cmd.json);
  if (cmd.is({"SHOW", "CONFIG"})) return show(settings_table(), cmd.json);
  if (cmd.is({"SHOW", "HEALTH"})) {
    const auto& health = (*context_.health);
    admin_table t{{"ready", "live", "draining", "last_connect_error"}, {}};
    t.rows.push_back({health.ready ? "yes" : "no", health.live() ? "yes" : "no",
                      context_.draining ? "yes" : "no", context_.pool->last_connect_error()});
    return show(t, cmd.json);
  }
  if (cmd.is({"SHOW", "VERSION"})) {
    if (cmd.json) return render_json({{"version"}, {{std::string("sluice ") + SLUICE_VERSION}}});
    return std::string("sluice ") + SLUICE_VERSION;
  }
  if (!cmd.words.empty() && cmd.words[0] == "SET") return set(cmd);
  if (cmd.is({"PAUSE"})) {
    context_.pool->pause();
    return "OK: pool paused; statements wait (and time out after [queue] timeout) until RESUME";
  }
  if (cmd.is({"RESUME"})) {
    context_.pool->resume();
    return "OK: pool resumed";
  }
  if (cmd.words.size() >= 2 && cmd.words[0] == "KILL" && cmd.words[1] == "CLIENT")
    return kill_client(cmd);
  if (cmd.is({"RELOAD"})) {
    const std::string failure = control_.reload();
    return failure.empty() ? "OK: configuration reloaded" : error("reload refused: " + failure);
  }
  if (cmd.is({"SHUTDOWN"})) {
    log(log_level::info, "admin", "shutdown requested");
    control_.drain(std::chrono::milliseconds(0));
    return "OK: shutting down now";
  }
  if (cmd.is({"SHUTDOWN", "WAIT"})) {
    log(log_level::info, "admin", "shutdown wait requested");
    control_.drain(std::nullopt);
    return "OK: draining (running statements and transactions may finish within "
           "shutdown_timeout)";
  }
  std::string text;
  for (const auto& w : cmd.words) text += (text.empty() ? "" : " ") + w;
  return error("unknown command '" + text + "' (try HELP)");
}

admin_table admin_commands::pools() const {
  auto& pool = *context_.pool;
  const auto& core = pool.core();
  std::size_t active = 0, waiting = 0, pinned = 0;
  for (const client_session* s : context_.sessions) {
    if (s->state() == client_state::waiting)
      ++waiting;
    else if (s->state() == client_state::active || s->holds_backend())
      ++active;
    if (s->tracked().pins.reason() != sql::pin_reason::none && s->holds_backend()) ++pinned;
  }
  admin_table t{{"pool", "cl_active", "cl_waiting", "sv_active", "sv_idle", "sv_opening",
                 "sv_pinned", "max_connections", "maxwait_ms", "pool_mode", "paused"},
                {}};
  t.rows.push_back(
      {pool.name(), std::to_string(active), std::to_string(waiting),
       std::to_string(core.leased_count()), std::to_string(core.idle_count()),
       std::to_string(core.opening_count()), std::to_string(pinned),
       std::to_string(core.limits().max_connections), std::to_string(pool.oldest_wait().count()),
       (*context_.settings).pool_mode == pool_mode::transaction ? "transaction" : "session",
       pool.paused() ? "yes" : "no"});
  return t;
}

admin_table admin_commands::clients() const {
  admin_table t{
      {"id", "user", "address", "state", "pinned", "waiting_ms", "backend", "connected_since"}, {}};
  const auto now = pool::clock::now();
  for (const client_session* s : context_.sessions) {
    if (!s->authenticated()) continue;  // a name not yet verified is nobody's
    const sql::pin_reason pin = s->tracked().pins.reason();
    t.rows.push_back({std::to_string(s->id()), s->user(), s->peer(),
                      std::string(to_string(s->state())),
                      pin == sql::pin_reason::none ? "" : std::string(to_string(pin)),
                      std::to_string(s->waited(now).count()),
                      s->backend_id() ? "S-" + std::to_string(s->backend_id()) : "",
                      iso_time(s->connected_at())});
  }
  return t;
}

admin_table admin_commands::servers() const {
  admin_table t{{"id", "state", "client", "server_thread_id", "account"}, {}};
  for (const client_session* s : context_.sessions) {
    if (!s->holds_backend()) continue;
    t.rows.push_back({"S-" + std::to_string(s->backend_id()),
                      s->tracked().pins.reason() == sql::pin_reason::none ? "active" : "pinned",
                      "C-" + std::to_string(s->id()), std::to_string(s->backend_thread_id()),
                      s->backend_account()});
  }
  context_.pool->core().for_each_idle([&t](const proxy::backend_ptr& c) {
    t.rows.push_back({"S-" + std::to_string(c->id), "idle", "", std::to_string(c->server_thread_id),
                      c->account});
  });
  return t;
}

std::map<std::string, double> admin_commands::totals() const {
  auto& m = context_.pool->metrics();
  double rejected = 0;
  for (std::size_t i = 0; i < metrics::rejection_count; ++i)
    rejected += m.rejected(static_cast<metrics::rejection>(i)).Value();
  return {
      {"statements", m.statements.Value()},
      {"transactions", m.transactions.Value()},
      {"client_connections", m.client_connections.Value()},
      {"bytes_in", m.bytes_from_clients.Value()},
      {"bytes_out", m.bytes_to_clients.Value()},
      {"queue_timeouts", m.queue_timeouts.Value()},
      {"queue_overflows", m.queue_overflows.Value()},
      {"rejections", rejected},
      {"backend_connects", m.backend_connects.Value()},
      {"backend_connect_failures", m.backend_connect_failures.Value()},
      {"resets", m.resets.Value()},
      {"state_restores", m.restores.Value()},
      {"account_switches", m.account_switches.Value()},
  };
}

void admin_commands::sample() {
  const auto now = std::chrono::steady_clock::now();
  samples_.push_back({now, totals()});
  while (samples_.size() > 2 && now - samples_.front().at > std::chrono::seconds(10))
    samples_.pop_front();
}

admin_table admin_commands::stats() const {
  admin_table t{{"name", "total", "per_second"}, {}};
  const auto current = totals();
  const stats_sample* oldest = samples_.empty() ? nullptr : &samples_.front();
  const double seconds =
      oldest ? std::chrono::duration<double>(std::chrono::steady_clock::now() - oldest->at).count()
             : 0;
  for (const auto& [name, value] : current) {
    double rate = 0;
    if (oldest && seconds > 0.1) {
      const auto it = oldest->values.find(name);
      if (it != oldest->values.end()) rate = (value - it->second) / seconds;
    }
    t.rows.push_back({name, number(value), number(rate)});
  }
  return t;
}

admin_table admin_commands::limits() const {
  admin_table t{{"key", "value", "changeable"}, {}};
  for (const config_key& key : config_keys()) {
    if (key.limit)
      t.rows.push_back({std::string(key.name), key.show(*context_.settings),
                        std::string(to_string(key.change))});
  }
  return t;
}

admin_table admin_commands::settings_table() const {
  admin_table t{{"key", "value"}, {}};
  for (const auto& [key, value] : describe_config(*context_.settings))
    t.rows.push_back({key, value});
  return t;
}

std::string admin_commands::set(const admin_command& cmd) {
  if (cmd.set_key.empty()) return error("usage: SET section.key = value");
  const config_key* key = find_config_key(cmd.set_key);
  if (!key || key->change != key_change::set)
    return error("'" + cmd.set_key +
                 "' cannot be changed at runtime (SHOW LIMITS lists the keys SET can change)");
  try {
    const config next = with_setting(*context_.settings, cmd.set_key, cmd.set_value);
    control_.apply(next);
  } catch (const config_error& e) {
    return error(e.what());
  }
  log(log_level::info, "admin", "set ", cmd.set_key, "=", cmd.set_value);
  return "OK: " + cmd.set_key + " = " + cmd.set_value;
}

std::string admin_commands::kill_client(const admin_command& cmd) {
  // Strictly one decimal client id: "1e3", "0x10" or a number beyond 32 bits names no client.
  if (cmd.words.size() != 3) return error("usage: KILL CLIENT <id> (ids are in SHOW CLIENTS)");
  const std::string& word = cmd.words[2];
  std::uint32_t id = 0;
  const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), id);
  if (word.empty() || ec != std::errc() || end != word.data() + word.size())
    return error("usage: KILL CLIENT <id> (ids are in SHOW CLIENTS)");
  for (client_session* s : context_.sessions) {
    if (s->id() == id) {
      log(log_level::info, "admin", "kill client C-", id);
      s->force_close();
      return "OK: client " + std::to_string(id) + " disconnected";
    }
  }
  return error("no client with id " + std::to_string(id));
}

}  // namespace sluice::admin
