// Every configuration key sluice knows, declared once in one table (as PgBouncer's CF_* table):
// its name, unit, when a change takes effect, how its value parses and prints. The INI parser,
// the environment overrides, SHOW CONFIG / SHOW LIMITS, the admin SET command, reload and the
// sample-config test all read this table, so they cannot disagree.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"

namespace sluice {

// When a new value takes effect.
enum class key_change {
  set,      // at once: the admin port's SET, and reload
  reload,   // on reload (SIGHUP / RELOAD), for new work
  restart,  // only when sluice restarts (a reload keeps the running value and says so)
};
std::string_view to_string(key_change change) noexcept;

struct config_key {
  std::string_view name;  // "section.key"
  std::string_view unit;  // duration, size, count, rate, endpoint, text, on/off, or the choices
  key_change change;
  bool limit;   // listed by SHOW LIMITS
  bool secret;  // shown as "***" when set
  std::function<void(config& c, const std::string& value, const std::string& key)> apply;  // throws
  std::function<std::string(const config& c)> show;  // parses back to the same value
};

// In the order deploy/sluice.ini lists them.
const std::vector<config_key>& config_keys();
const config_key* find_config_key(std::string_view name);

// `base` with one key set, validated as a whole; throws config_error.
config with_setting(const config& base, const std::string& key, const std::string& value);
// Every key and its current value, in table order; secrets shown as "***" when set.
std::vector<std::pair<std::string, std::string>> describe_config(const config& c);
// The restart-only keys whose value differs between the two configurations.
std::vector<std::string> restart_only_changes(const config& running, const config& next);
// `next` with every restart-only key put back to its value in `running`.
config keep_restart_only(const config& running, config next);

}  // namespace sluice
