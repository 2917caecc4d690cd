// The command line and configuration file: bad configs are refused by key, good ones start.
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "tests/support/child_process.h"
#include "tests/support/fixtures.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

// A config file that lives as long as the object.
class config_file {
 public:
  explicit config_file(const std::string& text) : dir_(make_temp_dir("sluice-config-")) {
    std::ofstream(path()) << text;
  }
  ~config_file() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  config_file(const config_file&) = delete;
  config_file& operator=(const config_file&) = delete;
  std::filesystem::path path() const { return dir_ / "sluice.ini"; }

 private:
  std::filesystem::path dir_;
};

struct bad_config_case {
  std::string name;
  std::function<void(sluice_config&)> break_it;
  std::string named_key;  // the key the error message must name
};

std::string case_name(const ::testing::TestParamInfo<bad_config_case>& info) {
  return info.param.name;
}

class BadConfigTest : public integration_test,
                      public ::testing::WithParamInterface<bad_config_case> {};

TEST_P(BadConfigTest, ExitsNonZeroNamingTheKey) {
  sluice_config config = make_config();
  GetParam().break_it(config);
  config_file file(config.text());
  const command_result run = run_sluice({"--config", file.path().string()}, 15s);
  ASSERT_FALSE(run.timed_out) << "sluice kept running with a bad config; output:\n" << run.output;
  EXPECT_NE(run.status, 0) << "output:\n" << run.output;
  EXPECT_THAT(run.output, HasSubstr(GetParam().named_key));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadConfigTest,
    ::testing::Values(
        bad_config_case{"unknown_key_in_backend",
                        [](sluice_config& c) { c.set("backend", "max_conections", "16"); },
                        "max_conections"},
        bad_config_case{"unknown_key_in_sluice",
                        [](sluice_config& c) { c.set("sluice", "listen_port", "6033"); },
                        "listen_port"},
        bad_config_case{"duration_with_unknown_unit",
                        [](sluice_config& c) { c.set("backend", "connect_timeout", "5parsecs"); },
                        "connect_timeout"},
        bad_config_case{"duration_that_is_not_a_number",
                        [](sluice_config& c) { c.set("queue", "timeout", "soon"); }, "timeout"},
        bad_config_case{"missing_backend_address",
                        [](sluice_config& c) { c.erase("backend", "address"); }, "address"},
        bad_config_case{"bogus_pool_mode",
                        [](sluice_config& c) { c.set("sluice", "pool_mode", "bogus"); },
                        "pool_mode"}),
    case_name);

class CommandLineTest : public integration_test {};

TEST_F(CommandLineTest, HelpExits0AndDescribesConfig) {
  const command_result run = run_sluice({"--help"});
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("--config"));
}

TEST_F(CommandLineTest, VersionExits0AndPrintsTheVersion) {
  const command_result run = run_sluice({"--version"});
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr(SLUICE_VERSION));
}

TEST_F(CommandLineTest, MissingConfigFileExitsNonZero) {
  const command_result run = run_sluice({"--config", "/nonexistent/sluice.ini"});
  ASSERT_FALSE(run.timed_out) << run.output;
  EXPECT_NE(run.status, 0);
  EXPECT_THAT(run.output, HasSubstr("/nonexistent/sluice.ini"));
}

TEST_F(CommandLineTest, GoodConfigWithEveryDurationUnitStarts) {
  sluice_config config = make_config();
  config.set("backend", "connect_timeout", "5000ms");
  config.set("backend", "idle_timeout", "5m");
  config.set("backend", "max_lifetime", "1h");
  config.set("queue", "timeout", "10");  // bare number: seconds
  config.set("sluice", "shutdown_timeout", "2s");
  config.set("sluice", "pool_mode", "session");
  start_sluice(config);
  auto client = connect_app();
  EXPECT_EQ(client->scalar("SELECT 1"), "1");
  client.reset();
  EXPECT_EQ(stop_sluice(10s), 0);
}

}  // namespace
}  // namespace sluice::test
