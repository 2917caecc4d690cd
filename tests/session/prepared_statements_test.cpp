// The per-backend statement cache: lookups, replacement under a key, LRU eviction.
#include "session/prepared_statements.h"

#include <gtest/gtest.h>

namespace sluice::session {
namespace {

using ids = std::vector<std::uint32_t>;

TEST(backend_statement_cache, finds_what_was_inserted) {
  backend_statement_cache cache(4);
  EXPECT_EQ(cache.find("a"), nullptr);
  EXPECT_EQ(cache.insert("a", 11), ids{});
  ASSERT_NE(cache.find("a"), nullptr);
  EXPECT_EQ(cache.find("a")->id, 11u);
  EXPECT_TRUE(cache.find("a")->bound_types.empty());
  EXPECT_EQ(cache.size(), 1u);
}

TEST(backend_statement_cache, a_key_prepared_again_closes_the_old_statement) {
  backend_statement_cache cache(4);
  cache.insert("a", 11);
  EXPECT_EQ(cache.insert("a", 12), ids{11});
  EXPECT_EQ(cache.find("a")->id, 12u);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(backend_statement_cache, beyond_the_capacity_the_least_recently_used_is_closed) {
  backend_statement_cache cache(2);
  cache.insert("a", 1);
  cache.insert("b", 2);
  ASSERT_NE(cache.find("a"), nullptr);  // a is now the most recently used
  EXPECT_EQ(cache.insert("c", 3), ids{2});
  EXPECT_EQ(cache.find("b"), nullptr);
  EXPECT_NE(cache.find("a"), nullptr);
  EXPECT_NE(cache.find("c"), nullptr);
  EXPECT_EQ(cache.size(), 2u);
}

TEST(backend_statement_cache, erase_and_clear_forget_statements) {
  backend_statement_cache cache(4);
  cache.insert("a", 1);
  cache.insert("b", 2);
  EXPECT_EQ(cache.erase("a"), std::optional<std::uint32_t>(1));
  EXPECT_EQ(cache.erase("a"), std::nullopt);
  cache.clear();
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.find("b"), nullptr);
  // Usable after a clear (a reset backend prepares again).
  EXPECT_EQ(cache.insert("b", 3), ids{});
  EXPECT_EQ(cache.find("b")->id, 3u);
}

TEST(backend_statement_cache, bound_types_stay_with_the_statement) {
  backend_statement_cache cache(4);
  cache.insert("a", 1);
  cache.find("a")->bound_types = {8, 0};
  cache.insert("b", 2);
  EXPECT_EQ(cache.find("a")->bound_types, (std::vector<std::uint8_t>{8, 0}));
}

}  // namespace
}  // namespace sluice::session
