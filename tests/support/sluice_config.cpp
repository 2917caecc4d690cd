// Building sluice INI configuration files for tests, with per-test overrides of single keys.
#include "tests/support/sluice_config.h"

#include <algorithm>
#include <stdexcept>

#include "tests/support/mariadb_server.h"
#include "tests/support/sluice_process.h"

namespace sluice::test {

sluice_config::section_entry& sluice_config::section(const std::string& name) {
  auto it = std::find_if(sections_.begin(), sections_.end(),
                         [&](const section_entry& s) { return s.name == name; });
  if (it != sections_.end()) return *it;
  sections_.push_back(section_entry{name, {}});
  return sections_.back();
}

void sluice_config::set(const std::string& section_name, const std::string& key,
                        const std::string& value) {
  auto& keys = section(section_name).keys;
  auto it = std::find_if(keys.begin(), keys.end(), [&](const auto& kv) { return kv.first == key; });
  if (it != keys.end()) {
    it->second = value;
  } else {
    keys.emplace_back(key, value);
  }
}

void sluice_config::set(const std::string& dotted_key, const std::string& value) {
  const auto dot = dotted_key.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == dotted_key.size()) {
    throw std::invalid_argument("config override key must be section.key: " + dotted_key);
  }
  set(dotted_key.substr(0, dot), dotted_key.substr(dot + 1), value);
}

void sluice_config::apply(const config_overrides& overrides) {
  for (const auto& [key, value] : overrides) set(key, value);
}

void sluice_config::erase(const std::string& section_name, const std::string& key) {
  for (auto& s : sections_) {
    if (s.name != section_name) continue;
    std::erase_if(s.keys, [&](const auto& kv) { return kv.first == key; });
  }
}

void sluice_config::erase_section(const std::string& section_name) {
  std::erase_if(sections_, [&](const section_entry& s) { return s.name == section_name; });
}

std::string sluice_config::get(const std::string& section_name, const std::string& key) const {
  for (const auto& s : sections_) {
    if (s.name != section_name) continue;
    for (const auto& [k, v] : s.keys) {
      if (k == key) return v;
    }
  }
  return "";
}

std::uint16_t sluice_config::listen_port(const std::string& section) const {
  const std::string listen = get(section, "listen");
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    throw std::runtime_error("config has no [" + section + "] listen = host:port (got '" + listen +
                             "')");
  }
  const int port = std::stoi(listen.substr(colon + 1));
  if (port <= 0 || port > 65535) throw std::runtime_error("bad listen port in '" + listen + "'");
  return static_cast<std::uint16_t>(port);
}

std::string sluice_config::text() const {
  std::string out;
  for (const auto& s : sections_) {
    if (!out.empty()) out += '\n';
    out += '[' + s.name + "]\n";
    for (const auto& [key, value] : s.keys) out += key + " = " + value + '\n';
  }
  return out + raw_tail_;
}

sluice_config basic_sluice_config(std::uint16_t listen_port, const mariadb_server& server) {
  sluice_config config;
  config.set("sluice", "listen", "127.0.0.1:" + std::to_string(listen_port));
  config.set("sluice", "pool_mode", "transaction");
  config.set("sluice", "shutdown_timeout", "10s");
  config.set("backend", "address", server.host() + ':' + std::to_string(server.port()));
  config.set("backend", "user", mariadb_server::backend_user);
  config.set("backend", "password", mariadb_server::backend_password);
  config.set("backend", "max_connections", "16");
  config.set("backend", "min_idle", "0");
  config.set("backend", "connect_timeout", "5s");
  config.set("backend", "idle_timeout", "300s");
  config.set("backend", "max_lifetime", "3600s");
  config.set("queue", "timeout", "10s");
  config.set("queue", "max_waiting", "10000");
  config.set("users", "app", "app-pw");
  config.set("users", "other", "other-pw");
  config.set("log", "level", "info");
  // Free ports, so that parallel tests never fight over the defaults (9033, 6034).
  config.set("metrics", "listen", "127.0.0.1:" + std::to_string(free_port()));
  config.set("admin", "listen", "127.0.0.1:" + std::to_string(free_port()));
  return config;
}

std::string basic_config(std::uint16_t listen_port, const mariadb_server& server,
                         const config_overrides& overrides) {
  sluice_config config = basic_sluice_config(listen_port, server);
  config.apply(overrides);
  return config.text();
}

}  // namespace sluice::test
