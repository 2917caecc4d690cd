// How a login's collation id reads as the server would take it.
#include "session/collations.h"

#include <gtest/gtest.h>

namespace sluice::session {
namespace {

collation_table server() {
  collation_table t;
  t.add(8, "latin1_swedish_ci", "latin1");
  t.add(224, "utf8mb4_unicode_ci", "utf8mb4");
  t.add(35, "ucs2_general_ci", "ucs2");
  t.add(60, "utf32_general_ci", "utf32");
  t.add(54, "utf16_general_ci", "utf16");
  t.add(56, "utf16le_general_ci", "utf16le");
  return t;
}

TEST(collation_table, a_known_collation_of_another_character_set_is_taken) {
  const collation_table table = server();
  const auto* names = table.at_login(224);
  ASSERT_NE(names, nullptr);
  EXPECT_EQ(names->collation, "utf8mb4_unicode_ci");
  EXPECT_EQ(names->charset, "utf8mb4");
}

TEST(collation_table, unknown_ids_keep_the_servers_globals) {
  EXPECT_EQ(server().at_login(255), nullptr);
  EXPECT_EQ(server().at_login(0), nullptr);
  const collation_table table = server();
  ASSERT_NE(table.at_login(8), nullptr) << "a collation of the server's own character set";
  EXPECT_EQ(table.at_login(8)->collation, "latin1_swedish_ci");
}

TEST(collation_table, character_sets_the_parser_cannot_read_are_refused) {
  for (std::uint16_t id : {35, 60, 54, 56}) EXPECT_TRUE(server().refused_client_charset(id)) << id;
  EXPECT_EQ(server().refused_client_charset(60).value_or(""), "utf32");
  EXPECT_FALSE(server().refused_client_charset(224));
  EXPECT_FALSE(server().refused_client_charset(255));
}

TEST(collation_id_of, reads_the_handshake_spelling_only) {
  EXPECT_EQ(collation_id_of("#224"), 224);
  EXPECT_FALSE(collation_id_of("utf8mb4"));
  EXPECT_FALSE(collation_id_of("#"));
  EXPECT_FALSE(collation_id_of("#12x"));
  EXPECT_FALSE(collation_id_of("#70000"));
}

}  // namespace
}  // namespace sluice::session
