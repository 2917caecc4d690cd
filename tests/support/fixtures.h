// GoogleTest fixtures of the integration tests: one MariaDB per process, one sluice per test.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "tests/support/client.h"
#include "tests/support/mariadb_server.h"
#include "tests/support/sluice_config.h"
#include "tests/support/sluice_process.h"

namespace sluice::test {

// Polls `condition` every `interval` until it holds (true) or `timeout` passes (false).
template <typename Condition>
bool wait_until(Condition condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval = std::chrono::milliseconds{20}) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
}

// Milliseconds since `start`, for timing assertions.
inline long long elapsed_ms(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

// Base fixture: the shared MariaDB and a sluice in front of it that each test starts itself.
class integration_test : public ::testing::Test {
 protected:
  static mariadb_server& server() { return mariadb_server::shared(); }

  // basic_sluice_config on a fresh free port, with `overrides` applied.
  static sluice_config make_config(const config_overrides& overrides = {});
  // Starts sluice for this test (stopped when the test ends); throws if it does not come up.
  sluice_process& start_sluice(const config_overrides& overrides = {});
  sluice_process& start_sluice(const sluice_config& config);
  sluice_process& sluice();
  std::uint16_t sluice_port() const;
  // Stops this test's sluice now (SIGTERM, then SIGKILL after `timeout`); returns its status.
  int stop_sluice(std::chrono::milliseconds timeout = std::chrono::seconds{15});

  // A client logged in to this test's sluice; throws std::runtime_error with the MySQL error if
  // the login fails.
  std::unique_ptr<mysql_client> connect_to_sluice(const std::string& user,
                                                  const std::string& password,
                                                  const std::string& db = "",
                                                  unsigned long flags = 0,
                                                  const client_options& options = {});
  std::unique_ptr<mysql_client> connect_app(const std::string& db = "", unsigned long flags = 0,
                                            const client_options& options = {});

  void TearDown() override { sluice_.reset(); }

 private:
  std::unique_ptr<sluice_process> sluice_;
};

// Where a parameterised test sends its clients: straight to MariaDB (a control run that checks
// the test itself; the client accounts app and other exist there too) or through sluice.
enum class target { direct, sluice };

std::string target_name(const ::testing::TestParamInfo<target>& info);

// Creates the client accounts (app, other) on MariaDB itself, for target::direct.
void create_client_accounts_on_backend(mariadb_server& server);

class target_test : public integration_test, public ::testing::WithParamInterface<target> {
 protected:
  void SetUp() override;
  // Overrides of the sluice configuration for target::sluice.
  virtual config_overrides sluice_overrides() const { return {}; }

  bool through_sluice() const { return GetParam() == target::sluice; }
  std::string target_host() const { return "127.0.0.1"; }
  std::uint16_t target_port() const;

  // Logs in to the target; throws std::runtime_error with the MySQL error on failure.
  std::unique_ptr<mysql_client> connect_as(const std::string& user, const std::string& password,
                                           const std::string& db = "", unsigned long flags = 0,
                                           const client_options& options = {});
  std::unique_ptr<mysql_client> connect_app(const std::string& db = "", unsigned long flags = 0,
                                            const client_options& options = {});
};

}  // namespace sluice::test
