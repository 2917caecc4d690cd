// GoogleTest fixtures of the integration tests: one MariaDB per process, one sluice per test.
#include "tests/support/fixtures.h"

#include <stdexcept>

namespace sluice::test {
namespace {

std::unique_ptr<mysql_client> connect_or_throw(const std::string& host, std::uint16_t port,
                                               const std::string& user, const std::string& password,
                                               const std::string& db, unsigned long flags,
                                               const client_options& options) {
  auto client = std::make_unique<mysql_client>();
  if (!client->connect(host, port, user, password, db, flags, options)) {
    throw std::runtime_error("login as '" + user + "' to " + host + ":" + std::to_string(port) +
                             " failed: " + std::to_string(client->error_code()) + " (" +
                             client->sql_state() + "): " + client->error_message());
  }
  return client;
}

}  // namespace

sluice_config integration_test::make_config(const config_overrides& overrides) {
  sluice_config config = basic_sluice_config(free_port(), server());
  config.apply(overrides);
  return config;
}

sluice_process& integration_test::start_sluice(const config_overrides& overrides) {
  return start_sluice(make_config(overrides));
}

sluice_process& integration_test::start_sluice(const sluice_config& config) {
  if (sluice_) throw std::logic_error("start_sluice: this test already started sluice");
  sluice_ = std::make_unique<sluice_process>(config);
  return *sluice_;
}

sluice_process& integration_test::sluice() {
  if (!sluice_) throw std::logic_error("sluice(): the test has not started sluice");
  return *sluice_;
}

std::uint16_t integration_test::sluice_port() const {
  if (!sluice_) throw std::logic_error("sluice_port(): the test has not started sluice");
  return sluice_->port();
}

int integration_test::stop_sluice(std::chrono::milliseconds timeout) {
  return sluice().stop(timeout);
}

std::unique_ptr<mysql_client> integration_test::connect_to_sluice(const std::string& user,
                                                                  const std::string& password,
                                                                  const std::string& db,
                                                                  unsigned long flags,
                                                                  const client_options& options) {
  return connect_or_throw("127.0.0.1", sluice_port(), user, password, db, flags, options);
}

std::unique_ptr<mysql_client> integration_test::connect_app(const std::string& db,
                                                            unsigned long flags,
                                                            const client_options& options) {
  return connect_to_sluice("app", "app-pw", db, flags, options);
}

std::string target_name(const ::testing::TestParamInfo<target>& info) {
  return info.param == target::direct ? "direct" : "sluice";
}

void create_client_accounts_on_backend(mariadb_server& server) {
  server.run_sql(
      "CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY 'app-pw';"
      "GRANT ALL ON *.* TO 'app'@'%';"
      "CREATE USER IF NOT EXISTS 'other'@'%' IDENTIFIED BY 'other-pw';"
      "GRANT ALL ON *.* TO 'other'@'%'");
}

void target_test::SetUp() {
  if (through_sluice()) {
    start_sluice(sluice_overrides());
  } else {
    create_client_accounts_on_backend(server());
  }
}

std::uint16_t target_test::target_port() const {
  return through_sluice() ? sluice_port() : server().port();
}

std::unique_ptr<mysql_client> target_test::connect_as(const std::string& user,
                                                      const std::string& password,
                                                      const std::string& db, unsigned long flags,
                                                      const client_options& options) {
  return connect_or_throw(target_host(), target_port(), user, password, db, flags, options);
}

std::unique_ptr<mysql_client> target_test::connect_app(const std::string& db, unsigned long flags,
                                                       const client_options& options) {
  return connect_as("app", "app-pw", db, flags, options);
}

}  // namespace sluice::test
