// Client login: sluice checks clients against its own [users] with both MySQL auth plugins.
#include <string>

#include "tests/support/client.h"
#include "tests/support/fixtures.h"

namespace sluice::test {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class LoginTest : public target_test {
 protected:
  // A failed login, for checking the error the target sends.
  mysql_client failed_login(const std::string& user, const std::string& password,
                            const client_options& options = {}) {
    mysql_client client;
    EXPECT_FALSE(client.connect(target_host(), target_port(), user, password, "", 0, options))
        << "login as '" << user << "' with password '" << password << "' was accepted";
    return client;
  }
};

TEST_P(LoginTest, CorrectPasswordLogsIn) {
  auto client = connect_app();
  EXPECT_EQ(client->scalar("SELECT 1"), "1");
}

TEST_P(LoginTest, EveryConfiguredUserLogsIn) {
  auto other = connect_as("other", "other-pw");
  EXPECT_EQ(other->scalar("SELECT 2"), "2");
}

TEST_P(LoginTest, WrongPasswordIsAccessDenied) {
  mysql_client client = failed_login("app", "not-the-password");
  EXPECT_EQ(client.error_code(), 1045u);
  EXPECT_EQ(client.sql_state(), "28000");
  EXPECT_THAT(client.error_message(), StartsWith("Access denied for user 'app'"));
}

TEST_P(LoginTest, EmptyPasswordIsAccessDenied) {
  mysql_client client = failed_login("app", "");
  EXPECT_EQ(client.error_code(), 1045u);
  EXPECT_EQ(client.sql_state(), "28000");
}

TEST_P(LoginTest, AnotherUsersPasswordIsAccessDenied) {
  mysql_client client = failed_login("app", "other-pw");
  EXPECT_EQ(client.error_code(), 1045u);
}

TEST_P(LoginTest, UnknownUserIsAccessDenied) {
  mysql_client client = failed_login("nobody", "app-pw");
  EXPECT_EQ(client.error_code(), 1045u);
  EXPECT_EQ(client.sql_state(), "28000");
  EXPECT_THAT(client.error_message(), StartsWith("Access denied for user 'nobody'"));
}

TEST_P(LoginTest, DefaultDatabaseFromTheHandshakeIsSelected) {
  auto client = connect_app(mariadb_server::test_database);
  EXPECT_EQ(client->scalar("SELECT DATABASE()"), mariadb_server::test_database);
}

TEST_P(LoginTest, EachClientGetsItsOwnConnectionId) {
  auto first = connect_app();
  auto second = connect_app();
  auto third = connect_app();
  EXPECT_NE(first->thread_id(), 0u);
  EXPECT_NE(first->thread_id(), second->thread_id());
  EXPECT_NE(first->thread_id(), third->thread_id());
  EXPECT_NE(second->thread_id(), third->thread_id());
}

TEST_P(LoginTest, MysqlNativePasswordLogsIn) {
  client_options options;
  options.auth_plugin = "mysql_native_password";
  auto client = connect_app("", 0, options);
  EXPECT_EQ(client->scalar("SELECT 3"), "3");

  mysql_client denied = failed_login("app", "wrong", options);
  EXPECT_EQ(denied.error_code(), 1045u);
}

TEST_P(LoginTest, CachingSha2PasswordLogsIn) {
  if (!client_auth_plugin_available("caching_sha2_password")) {
    GTEST_SKIP() << "Connector/C has no caching_sha2_password plugin here";
  }
  client_options options;
  options.auth_plugin = "caching_sha2_password";
  auto client = connect_app("", 0, options);
  EXPECT_EQ(client->scalar("SELECT 4"), "4");
  // A second login exercises sluice's fast path if it caches verified users.
  auto again = connect_app("", 0, options);
  EXPECT_EQ(again->scalar("SELECT 5"), "5");

  mysql_client denied = failed_login("app", "wrong", options);
  EXPECT_EQ(denied.error_code(), 1045u);
  EXPECT_EQ(denied.sql_state(), "28000");
}

INSTANTIATE_TEST_SUITE_P(Targets, LoginTest, ::testing::Values(target::direct, target::sluice),
                         target_name);

}  // namespace
}  // namespace sluice::test
