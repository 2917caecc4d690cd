// Host matching and the choice of an account row, as the server makes it for a client address.
#include "session/accounts.h"

#include <gtest/gtest.h>

namespace sluice::session {
namespace {

struct host_case {
  const char* name;
  const char* pattern;
  const char* address;
  bool matches;
};

class host_matches_table : public ::testing::TestWithParam<host_case> {};

TEST_P(host_matches_table, matches) {
  EXPECT_EQ(host_matches(GetParam().pattern, GetParam().address), GetParam().matches);
}

INSTANTIATE_TEST_SUITE_P(
    cases, host_matches_table,
    ::testing::Values(host_case{"any", "%", "10.1.2.3", true},
                      host_case{"empty_is_any", "", "10.1.2.3", true},
                      host_case{"exact", "127.0.0.1", "127.0.0.1", true},
                      host_case{"exact_other", "127.0.0.1", "127.0.0.2", false},
                      host_case{"prefix_pattern", "192.168.%", "192.168.7.9", true},
                      host_case{"prefix_pattern_other", "192.168.%", "192.169.7.9", false},
                      host_case{"one_character", "10.0.0._", "10.0.0.7", true},
                      host_case{"one_character_not_two", "10.0.0._", "10.0.0.17", false},
                      host_case{"netmask", "10.1.0.0/255.255.0.0", "10.1.200.3", true},
                      host_case{"netmask_other", "10.1.0.0/255.255.0.0", "10.2.0.3", false},
                      host_case{"localhost_v4", "localhost", "127.0.0.1", true},
                      host_case{"localhost_v6", "localhost", "::1", true},
                      host_case{"localhost_not_remote", "localhost", "10.0.0.1", false},
                      host_case{"names_never_resolved", "db.example.com", "10.0.0.1", false}),
    [](const auto& info) { return std::string(info.param.name); });

const std::vector<account_row> rows = {
    {"%", "mysql_native_password", "*AAAA"},
    {"127.0.0.1", "mysql_native_password", "*BBBB"},
    {"10.0.%", "mysql_native_password", "*CCCC"},
};

TEST(match_account, the_most_specific_host_wins) {
  EXPECT_EQ(match_account(rows, "127.0.0.1").row->hash, "*BBBB") << "'u'@'127.0.0.1' over '%'";
  EXPECT_EQ(match_account(rows, "10.0.3.4").row->hash, "*CCCC") << "a pattern over '%'";
  EXPECT_EQ(match_account(rows, "172.16.0.1").row->hash, "*AAAA") << "'%' for the rest";
}

TEST(match_account, no_matching_host_is_no_account) {
  const std::vector<account_row> local_only = {{"localhost", "", "*AAAA"}};
  EXPECT_EQ(match_account(local_only, "10.0.0.1").row, nullptr);
  EXPECT_FALSE(match_account(local_only, "10.0.0.1").ambiguous);
}

TEST(match_account, equally_specific_rows_that_differ_are_refused) {
  const std::vector<account_row> two = {{"10.0.%", "", "*AAAA"}, {"%.0.0.1", "", "*BBBB"}};
  const account_match m = match_account(two, "10.0.0.1");
  EXPECT_TRUE(m.ambiguous);
  EXPECT_EQ(m.row, nullptr);
  const std::vector<account_row> same = {{"10.0.%", "", "*AAAA"}, {"%.0.0.1", "", "*AAAA"}};
  EXPECT_FALSE(match_account(same, "10.0.0.1").ambiguous) << "the same credentials either way";
}

}  // namespace
}  // namespace sluice::session
