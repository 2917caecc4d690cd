// Fuzz target: the INI configuration file (proxy/config.h). Bad input must be a config_error
// (anything else escaping is a finding); a good one, as describe_config prints it (the admin's
// SHOW CONFIG), must load back to the same configuration.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "config/config.h"
#include "config/config_file.h"
#include "config/config_keys.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

const char* no_environment(const char*) {
  return nullptr;
}

// An INI file setting every described key, with the accounts (which describe_config leaves out,
// and a configuration needs); values quoted so comments and spaces survive.
std::string as_ini(const std::vector<std::pair<std::string, std::string>>& described,
                   const std::map<std::string, std::string>& users) {
  std::map<std::string, std::string> sections;
  for (const auto& [name, password] : users)
    sections["users"] += name + " = \"" + password + "\"\n";
  for (const auto& [key, value] : described) {
    const auto dot = key.find('.');
    sections[key.substr(0, dot)] += key.substr(dot + 1) + " = \"" + value + "\"\n";
  }
  std::string out;
  for (const auto& [section, body] : sections) out += "[" + section + "]\n" + body;
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sluice;
  const std::string text(reinterpret_cast<const char*>(data), size);
  config parsed;
  try {
    parsed = parse_config(text, "fuzz.ini", no_environment);
  } catch (const config_error&) {
    return 0;
  }
  const auto described = describe_config(parsed);
  // No INI spelling keeps a '"' in a value, an '=' in a key, or a key that looks like a comment
  // or a section.
  for (const auto& [key, value] : described)
    if (value.find('"') != std::string::npos) return 0;
  for (const auto& [name, password] : parsed.users)
    if (password.find('"') != std::string::npos || name.find('=') != std::string::npos ||
        name.find_first_of("[;#") == 0)
      return 0;
  config reloaded;
  try {
    reloaded = parse_config(as_ini(described, parsed.users), "described.ini", no_environment);
  } catch (const config_error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    sluice::fuzz::check(false, "a described configuration loads");
  }
  sluice::fuzz::check(describe_config(reloaded) == described,
                      "a described configuration loads back the same");
  return 0;
}
