// The client state transition table: every pair, legal or not, as docs/ARCHITECTURE.md draws it.
#include "proxy/client_state.h"

#include <gtest/gtest.h>

#include <set>
#include <utility>

namespace sluice::proxy {
namespace {

using enum client_state;

const std::set<std::pair<client_state, client_state>> legal = {
    {login, idle},     {login, closing},  {idle, active},    {idle, closing},   {active, idle},
    {active, waiting}, {active, closing}, {waiting, active}, {waiting, closing}};

TEST(client_state, only_the_documented_moves_are_legal) {
  const client_state all[] = {login, idle, active, waiting, closing};
  for (client_state from : all)
    for (client_state to : all)
      EXPECT_EQ(allowed_transition(from, to), legal.contains({from, to}))
          << to_string(from) << " -> " << to_string(to);
}

TEST(client_state, words_are_the_admin_columns) {
  EXPECT_EQ(to_string(login), "login");
  EXPECT_EQ(to_string(idle), "idle");
  EXPECT_EQ(to_string(active), "active");
  EXPECT_EQ(to_string(waiting), "waiting");
  EXPECT_EQ(to_string(closing), "closing");
}

}  // namespace
}  // namespace sluice::proxy
