// The shared budget of large frames: charged as bytes arrive, the oldest holder always admitted.
#include "proxy/frame_budget.h"

#include <gtest/gtest.h>

namespace sluice::proxy {
namespace {

constexpr std::size_t mib = 1024 * 1024;

TEST(frame_budget, the_first_reader_is_admitted_even_beyond_the_limit) {
  frame_budget budget(1 * mib);
  frame_budget::ticket t = 0;
  EXPECT_TRUE(budget.try_charge(t, 4 * mib));
  EXPECT_NE(t, 0u);
  EXPECT_EQ(budget.charged(), 4 * mib);
  budget.release(t, 4 * mib);
  EXPECT_EQ(t, 0u);
  EXPECT_EQ(budget.charged(), 0u);
  EXPECT_EQ(budget.holders(), 0u);
}

TEST(frame_budget, others_wait_beyond_the_limit_while_the_oldest_holder_keeps_growing) {
  frame_budget budget(32 * mib);
  frame_budget::ticket oldest = 0, second = 0, third = 0;
  ASSERT_TRUE(budget.try_charge(oldest, 8 * mib));
  ASSERT_TRUE(budget.try_charge(second, 16 * mib));
  EXPECT_FALSE(budget.try_charge(third, 16 * mib)) << "8 + 16 + 16 MiB is over 32";
  EXPECT_EQ(third, 0u) << "a refused reader holds nothing";
  EXPECT_FALSE(budget.try_charge(second, 16 * mib)) << "the second holder waits too";
  EXPECT_TRUE(budget.try_charge(oldest, 8 * mib)) << "the oldest always progresses";
  EXPECT_EQ(budget.charged(), 32 * mib);
  budget.release(oldest, 16 * mib);
  EXPECT_TRUE(budget.try_charge(second, 16 * mib)) << "now the oldest";
  EXPECT_FALSE(budget.try_charge(third, 16 * mib));
  budget.release(second, 32 * mib);
  EXPECT_TRUE(budget.try_charge(third, 16 * mib));
  EXPECT_EQ(budget.holders(), 1u);
}

TEST(frame_budget, releasing_without_a_charge_changes_nothing) {
  frame_budget budget(1 * mib);
  frame_budget::ticket none = 0;
  budget.release(none, 0);
  EXPECT_EQ(budget.charged(), 0u);
  EXPECT_EQ(budget.holders(), 0u);
}

}  // namespace
}  // namespace sluice::proxy
