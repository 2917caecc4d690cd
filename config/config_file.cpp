// Reading the INI file: sections, keys from the key table, [users], [user.NAME] and
// [address_limits], then SLUICE_<SECTION>_<KEY> environment overrides.
#include "config/config_file.h"

#include <arpa/inet.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "config/config_keys.h"
#include "config/config_values.h"

namespace sluice {
namespace {

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

std::size_t positive(std::uint64_t n, const std::string& key) {
  if (n == 0) throw config_error(key + ": must be at least 1");
  return static_cast<std::size_t>(n);
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
      static const std::set<std::string> sections = {
          "sluice", "backend", "queue", "users",  "log",           "tls",
          "auth",   "metrics", "admin", "limits", "address_limits"};
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
    const config_key* entry = find_config_key(full);
    if (!entry) fail("unknown key '" + key + "' in [" + section + "]");
    if (!seen.insert(full).second) fail(full + ": defined twice");
    try {
      entry->apply(c, value, full);
    } catch (const config_error& e) {
      fail(e.what());
    }
  }
  // Environment overrides: SLUICE_BACKEND_PASSWORD for backend.password, and so on.
  const auto getenv_fn = environment ? environment : +[](const char* name) -> const char* {
    return std::getenv(name);
  };
  for (const config_key& entry : config_keys()) {
    const std::string key(entry.name);
    std::string name = "SLUICE_" + key;
    for (auto& ch : name) ch = ch == '.' ? '_' : static_cast<char>(std::toupper(ch));
    if (const char* value = getenv_fn(name.c_str())) {
      try {
        entry.apply(c, value, key);
      } catch (const config_error& e) {
        throw config_error(origin + ": environment " + name + ": " + e.what());
      }
      seen.insert(key);
    }
  }
  if (!seen.contains("backend.address"))
    throw config_error(origin + ": backend.address is required");
  if (c.users.empty() && c.auth_mode == auth_mode::config)
    throw config_error(origin +
                       ": [users] must list at least one 'name = password' account (or set "
                       "[auth] mode = server)");
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

}  // namespace sluice
