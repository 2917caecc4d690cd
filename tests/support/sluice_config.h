// Building sluice INI configuration files for tests, with per-test overrides of single keys.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace sluice::test {

class mariadb_server;

// "section.key" -> value, e.g. {{"backend.max_connections", "1"}, {"queue.timeout", "300ms"}}.
using config_overrides = std::map<std::string, std::string>;

// An INI document as ordered sections of ordered keys. Setting a key that exists replaces its
// value in place, so a test's override can never produce a duplicated key or section.
class sluice_config {
 public:
  void set(const std::string& section, const std::string& key, const std::string& value);
  // "section.key" form; throws std::invalid_argument if there is no dot.
  void set(const std::string& dotted_key, const std::string& value);
  void apply(const config_overrides& overrides);
  // Removes the key (no-op if absent); the section stays, even if empty.
  void erase(const std::string& section, const std::string& key);
  void erase_section(const std::string& section);
  // The value, or "" if absent.
  std::string get(const std::string& section, const std::string& key) const;
  // Appends raw text after the rendered sections (for deliberately malformed files).
  void append_raw(const std::string& text) { raw_tail_ += text; }

  // The port of [section] listen = host:port ("sluice" by default, also "admin", "metrics");
  // throws std::runtime_error if missing or malformed.
  std::uint16_t listen_port(const std::string& section = "sluice") const;
  std::string text() const;

 private:
  struct section_entry {
    std::string name;
    std::vector<std::pair<std::string, std::string>> keys;
  };
  section_entry& section(const std::string& name);

  std::vector<section_entry> sections_;
  std::string raw_tail_;
};

// The configuration every test starts from: sluice on 127.0.0.1:listen_port in front of
// `server` as its backend account, transaction pooling, client users app = app-pw and
// other = other-pw.
sluice_config basic_sluice_config(std::uint16_t listen_port, const mariadb_server& server);

// basic_sluice_config with `overrides` applied, rendered as INI text.
std::string basic_config(std::uint16_t listen_port, const mariadb_server& server,
                         const config_overrides& overrides = {});

}  // namespace sluice::test
