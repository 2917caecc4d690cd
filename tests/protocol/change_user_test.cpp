// Tests of COM_CHANGE_USER.
#include "protocol/change_user.h"

#include <gtest/gtest.h>

#include "protocol/constants.h"
#include "tests/protocol/codec_case.h"

namespace sluice::protocol::test {
namespace {

using namespace capability;

const bytes token = hex("01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14");

// The fields after the database are optional, so the message is complete after each of them.
const std::vector<codec_case<change_user_request>> cases = {
    {.name = "libmariadb_with_attributes",
     .decoded = {.username = "app",
                 .auth_response = std::string(token.begin(), token.end()),
                 .database = "shop",
                 .character_set = 45,
                 .auth_plugin_name = "mysql_native_password",
                 .connect_attributes = {{"_client_name", "libmariadb"}, {"_pid", "4242"}}},
     .capabilities = protocol_41 | secure_connection | plugin_auth | connect_attrs,
     .encoded =
         cat({hex("11"), text("app"), hex("00 | 14"), token, text("shop"), hex("00 | 2d 00"),
              text("mysql_native_password"), hex("00 | 22 | 0c"), text("_client_name"), hex("0a"),
              text("libmariadb"), hex("04"), text("_pid"), hex("04"), text("4242")}),
     .decodable_prefixes = {31, 33, 55}},
    {.name = "null_terminated_auth",
     .decoded = {.username = "bob", .auth_response = "tok", .database = "db", .character_set = 33},
     .capabilities = protocol_41,
     .encoded = cat({hex("11"), text("bob"), hex("00"), text("tok"), hex("00"), text("db"),
                     hex("00 | 21 00")}),
     .decodable_prefixes = {12}},
    {.name = "without_optional_fields",
     .decoded = {.username = "a"},
     .capabilities = protocol_41 | secure_connection,
     .encoded = hex("11 | 61 00 | 00 | 00"),
     .canonical = false},
};

const auto decode = [](std::span<const std::uint8_t> b, std::uint32_t caps) {
  return decode_change_user(b, caps);
};
const auto encode = [](const change_user_request& m, std::uint32_t caps, bytes& out) {
  encode_change_user(m, caps, out);
};

class change_user_codec : public ::testing::TestWithParam<codec_case<change_user_request>> {};
TEST_P(change_user_codec, decodes) {
  expect_decodes(GetParam(), decode);
}
TEST_P(change_user_codec, encodes) {
  expect_encodes(GetParam(), encode, decode);
}
TEST_P(change_user_codec, rejects_truncations) {
  expect_truncations_rejected(GetParam(), decode);
}
INSTANTIATE_TEST_SUITE_P(change_user, change_user_codec, ::testing::ValuesIn(cases),
                         case_name<change_user_request>);

}  // namespace
}  // namespace sluice::protocol::test
