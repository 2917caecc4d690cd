// Which configuration keys the sluice under test knows.
#include "tests/support/older_binary.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>

#include "tests/support/child_process.h"
#include "tests/support/mariadb_server.h"
#include "tests/support/ports.h"
#include "tests/support/sluice_process.h"

namespace sluice::test {

bool testing_another_binary() {
  const char* chosen = std::getenv("SLUICE_BINARY");
  return chosen != nullptr && *chosen != '\0' && std::string(chosen) != SLUICE_BINARY;
}

bool binary_knows_key(const std::string& dotted_key, const std::string& value,
                      const mariadb_server& server) {
  static std::mutex mutex;
  static std::map<std::string, bool> known;
  std::lock_guard lock(mutex);
  if (auto it = known.find(dotted_key); it != known.end()) return it->second;
  sluice_config config = basic_sluice_config(free_port(), server);
  config.set(dotted_key, value);
  const auto dir = make_temp_dir("sluice-keys-");
  const auto path = dir / "sluice.ini";
  std::ofstream(path) << config.text();
  const command_result checked = run_sluice({"--check-config", path.string()});
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  // A value it refuses is the test's problem, shown when sluice starts; only the key is asked.
  return known[dotted_key] =
             checked.status == 0 || checked.output.find("unknown key") == std::string::npos;
}

config_overrides without_unknown_keys(const config_overrides& overrides,
                                      const mariadb_server& server) {
  if (!testing_another_binary()) return overrides;
  config_overrides kept;
  for (const auto& [key, value] : overrides) {
    if (binary_knows_key(key, value, server)) {
      kept.emplace(key, value);
    } else {
      std::cout << "note: " << sluice_binary() << " does not know " << key
                << "; this run goes without " << key << " = " << value << "\n";
    }
  }
  return kept;
}

}  // namespace sluice::test
