// Tests of decoding the session-state changes carried by OK packets.
#include "protocol/session_tracker.h"

#include <gtest/gtest.h>

#include "protocol/generic_response.h"
#include "tests/protocol/codec_case.h"

namespace sluice::protocol::test {
namespace {

using changes = std::vector<session_state_change>;
using enum session_track;

// Prefixes that end between entries are complete (shorter) lists of changes.
const std::vector<codec_case<changes>> cases = {
    {.name = "schema",
     .decoded = {{schema, "test", "test"}},
     .encoded = cat({hex("01 05 04"), text("test")}),
     .decodable_prefixes = {0}},
    {.name = "one_variable",
     .decoded = {{system_variables, "autocommit", "OFF"}},
     .encoded = cat({hex("00 0f 0a"), text("autocommit"), hex("03"), text("OFF")}),
     .decodable_prefixes = {0}},
    {.name = "two_variables_in_one_entry",
     .decoded = {{system_variables, "autocommit", "ON"}, {system_variables, "sql_mode", ""}},
     .encoded = cat({hex("00 18 0a"), text("autocommit"), hex("02"), text("ON"), hex("08"),
                     text("sql_mode"), hex("00")}),
     .decodable_prefixes = {0}},
    {.name = "state_change",
     .decoded = {{state_change, "", "1"}},
     .encoded = hex("02 02 01 31"),
     .decodable_prefixes = {0}},
    {.name = "state_change_as_mariadb_sends_it",
     .decoded = {{state_change, "", "1"}},
     .encoded = hex("02 01 31"),
     .decodable_prefixes = {0}},
    {.name = "gtids",
     .decoded = {{gtids, "", "0-1-42"}},
     .encoded = cat({hex("03 08 00 06"), text("0-1-42")}),
     .decodable_prefixes = {0}},
    {.name = "transaction_characteristics",
     .decoded = {{transaction_characteristics, "", "SET TRANSACTION READ ONLY;"}},
     .encoded = cat({hex("04 1b 1a"), text("SET TRANSACTION READ ONLY;")}),
     .decodable_prefixes = {0}},
    {.name = "transaction_state",
     .decoded = {{transaction_state, "", "T_______"}},
     .encoded = cat({hex("05 09 08"), text("T_______")}),
     .decodable_prefixes = {0}},
    {.name = "unknown_type_is_skipped",
     .decoded = {{schema, "db", "db"}},
     .encoded = cat({hex("07 02 aa bb | 01 03 02"), text("db")}),
     .decodable_prefixes = {0, 4}},
    // SET autocommit=0 with session_track_system_variables and session_track_state_change on.
    {.name = "variable_and_state_change",
     .decoded = {{system_variables, "autocommit", "OFF"}, {state_change, "", "1"}},
     .encoded =
         cat({hex("00 0f 0a"), text("autocommit"), hex("03"), text("OFF"), hex("02 02 01 31")}),
     .decodable_prefixes = {0, 17}},
    {.name = "empty", .decoded = {}, .encoded = {}},
};

const auto decode_state = [](std::span<const std::uint8_t> b, std::uint32_t) {
  return decode_session_state(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
};

class session_state_decoder : public ::testing::TestWithParam<codec_case<changes>> {};
TEST_P(session_state_decoder, decodes) {
  expect_decodes(GetParam(), decode_state);
}
TEST_P(session_state_decoder, rejects_truncations) {
  expect_truncations_rejected(GetParam(), decode_state);
}
INSTANTIATE_TEST_SUITE_P(session_state, session_state_decoder, ::testing::ValuesIn(cases),
                         case_name<changes>);

TEST(session_state, schema_change_from_an_ok_packet) {
  const auto payload = hex("00 | 00 | 00 | 02 40 | 00 00 | 00 | 07 | 01 05 04 74 65 73 74");
  const auto ok = decode_ok(payload, capability::protocol_41 | capability::session_track);
  ASSERT_TRUE(ok);
  const auto state = decode_session_state(ok->session_state_info);
  ASSERT_TRUE(state);
  EXPECT_EQ(*state, (changes{{schema, "test", "test"}}));
}

}  // namespace
}  // namespace sluice::protocol::test
