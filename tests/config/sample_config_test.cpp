// deploy/sluice.ini documents every key with the default the code uses: the two cannot drift.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "config/config.h"
#include "config/config_file.h"
#include "config/config_keys.h"

namespace sluice {
namespace {

std::string sample_path() {
  return std::string(SLUICE_SOURCE_DIR) + "/deploy/sluice.ini";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

const char* no_environment(const char*) {
  return nullptr;
}

// The sample's "section.key" entries, in file order.
std::map<std::string, std::string> sample_keys() {
  std::map<std::string, std::string> keys;
  std::istringstream in(read_file(sample_path()));
  std::string line, section;
  const std::regex header(R"(^\[([a-z]+)\])");
  const std::regex entry(R"(^([a-z_]+)\s*=)");
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, header))
      section = m[1];
    else if (std::regex_search(line, m, entry))
      keys[section + "." + m[1].str()] = line;
  }
  return keys;
}

TEST(SampleConfig, ParsesWithoutErrors) {
  EXPECT_NO_THROW(parse_config(read_file(sample_path()), sample_path(), no_environment));
}

TEST(SampleConfig, DocumentsEveryKeyWithAComment) {
  const auto documented = sample_keys();
  for (const config_key& entry : config_keys()) {
    const std::string key(entry.name);
    const auto it = documented.find(key);
    ASSERT_NE(it, documented.end()) << key << " is missing from deploy/sluice.ini";
    EXPECT_NE(it->second.find(';'), std::string::npos)
        << key << " has no one-line explanation in deploy/sluice.ini";
  }
}

TEST(SampleConfig, ShowsTheDefaultsTheCodeUses) {
  const config sample = parse_config(read_file(sample_path()), sample_path(), no_environment);
  config defaults;
  defaults.users = sample.users;  // accounts are examples, not defaults
  EXPECT_EQ(describe_config(sample), describe_config(defaults));
}

// Reload keeps restart-only keys by printing and re-parsing them: every key's printed value must
// parse back to itself, secrets and "off" included.
TEST(SampleConfig, EveryKeyParsesItsPrintedValueBack) {
  config c;
  c.backend_password = "s3cr;t #x";
  c.admin_listen.reset();
  for (const config_key& entry : config_keys()) {
    const std::string printed = entry.show(c);
    config reparsed;
    ASSERT_NO_THROW(entry.apply(reparsed, printed, std::string(entry.name))) << entry.name;
    EXPECT_EQ(entry.show(reparsed), printed) << entry.name;
  }
}

TEST(SampleConfig, EnvironmentOverridesTheFile) {
  const auto environment = +[](const char* name) -> const char* {
    const std::string n = name;
    if (n == "SLUICE_BACKEND_PASSWORD") return "from-env";
    if (n == "SLUICE_BACKEND_MAX_CONNECTIONS") return "3";
    return nullptr;
  };
  const config c = parse_config(read_file(sample_path()), sample_path(), environment);
  EXPECT_EQ(c.backend_password, "from-env");
  EXPECT_EQ(c.pool.max_connections, 3u);
}

TEST(SampleConfig, BadEnvironmentValueNamesTheVariable) {
  const auto environment = +[](const char* name) -> const char* {
    return std::string(name) == "SLUICE_QUEUE_TIMEOUT" ? "soon" : nullptr;
  };
  try {
    parse_config(read_file(sample_path()), sample_path(), environment);
    FAIL() << "expected a config_error";
  } catch (const config_error& e) {
    EXPECT_NE(std::string(e.what()).find("SLUICE_QUEUE_TIMEOUT"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sluice
