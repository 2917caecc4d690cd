// The auth query's user name is spliced in as a hex literal, so that no name can change the query.
#include <gtest/gtest.h>

#include <string>

#include "proxy/account_directory.h"

namespace sluice::proxy {
namespace {

const std::string query =
    "SELECT Host, plugin, authentication_string FROM mysql.user WHERE User = ?";

TEST(AccountQueryTest, TheUserNameBecomesAHexLiteralConvertedToUtf8mb4) {
  EXPECT_EQ(account_directory::query_for(query, "app"),
            "SELECT Host, plugin, authentication_string FROM mysql.user WHERE User = "
            "CONVERT(X'617070' USING utf8mb4)");
}

TEST(AccountQueryTest, QuotesAndCommentsInANameStayInsideTheLiteral) {
  const std::string hostile = "x' OR 1=1 -- \\\"; DROP TABLE t; /*";
  const std::string sql = account_directory::query_for(query, hostile);
  const std::string prefix =
      "SELECT Host, plugin, authentication_string FROM mysql.user WHERE User = ";
  ASSERT_TRUE(sql.starts_with(prefix + "CONVERT(X'"));
  const std::string literal = sql.substr(prefix.size());
  EXPECT_TRUE(literal.ends_with("' USING utf8mb4)"));
  const std::string hex = literal.substr(10, literal.size() - 10 - 16);
  EXPECT_EQ(hex.size(), hostile.size() * 2);
  EXPECT_EQ(hex.find_first_not_of("0123456789ABCDEF"), std::string::npos) << hex;
}

TEST(AccountQueryTest, EmptyAndNonAsciiNamesAreEncodedByteForByte) {
  EXPECT_EQ(account_directory::query_for("SELECT ?", ""), "SELECT CONVERT(X'' USING utf8mb4)");
  EXPECT_EQ(account_directory::query_for("SELECT ?", "\xc3\xa9"),
            "SELECT CONVERT(X'C3A9' USING utf8mb4)");
  EXPECT_EQ(account_directory::query_for("SELECT ?", std::string("a\0b", 3)),
            "SELECT CONVERT(X'610062' USING utf8mb4)");
}

TEST(AccountQueryTest, OnlyTheFirstMarkIsReplaced) {
  // The configuration refuses a query without exactly one '?'; a '?' that a user name contains
  // is inside the hex literal and never seen as a mark.
  EXPECT_EQ(account_directory::query_for("SELECT ? , '?'", "?"),
            "SELECT CONVERT(X'3F' USING utf8mb4) , '?'");
}

}  // namespace
}  // namespace sluice::proxy
