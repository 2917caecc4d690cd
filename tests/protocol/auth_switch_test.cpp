// Tests of AuthSwitchRequest and AuthMoreData.
#include "protocol/auth_switch.h"

#include <gtest/gtest.h>

#include "tests/protocol/codec_case.h"

namespace sluice::protocol::test {
namespace {

const std::string scramble = "x}-e6|/qmP*~]9A|l,2X";

// The data is rest-of-packet, so every prefix past the plugin name's NUL is complete.
const std::vector<codec_case<auth_switch_request>> switch_cases = {
    {.name = "to_native_password",
     .decoded = {.plugin_name = "mysql_native_password", .plugin_data = scramble},
     .encoded =
         cat({hex("fe"), text("mysql_native_password"), hex("00"), text(scramble), hex("00")}),
     .decodable_prefixes = prefixes_from(23, 44)},
    {.name = "to_caching_sha2",
     .decoded = {.plugin_name = "caching_sha2_password", .plugin_data = scramble},
     .encoded =
         cat({hex("fe"), text("caching_sha2_password"), hex("00"), text(scramble), hex("00")}),
     .decodable_prefixes = prefixes_from(23, 44)},
    {.name = "data_without_trailing_nul",
     .decoded = {.plugin_name = "mysql_native_password", .plugin_data = scramble},
     .encoded = cat({hex("fe"), text("mysql_native_password"), hex("00"), text(scramble)}),
     .decodable_prefixes = prefixes_from(23, 43),
     .canonical = false},
    {.name = "clear_password_without_data",
     .decoded = {.plugin_name = "mysql_clear_password"},
     .encoded = cat({hex("fe"), text("mysql_clear_password"), hex("00 00")}),
     .decodable_prefixes = {22}},
};

const auto decode_switch = [](std::span<const std::uint8_t> b, std::uint32_t) {
  return decode_auth_switch_request(b);
};
const auto encode_switch = [](const auth_switch_request& m, std::uint32_t, bytes& out) {
  encode_auth_switch_request(m, out);
};

class auth_switch_request_codec : public ::testing::TestWithParam<codec_case<auth_switch_request>> {
};
TEST_P(auth_switch_request_codec, decodes) {
  expect_decodes(GetParam(), decode_switch);
}
TEST_P(auth_switch_request_codec, encodes) {
  expect_encodes(GetParam(), encode_switch, decode_switch);
}
TEST_P(auth_switch_request_codec, rejects_truncations) {
  expect_truncations_rejected(GetParam(), decode_switch);
}
INSTANTIATE_TEST_SUITE_P(auth_switch, auth_switch_request_codec, ::testing::ValuesIn(switch_cases),
                         case_name<auth_switch_request>);

const std::string public_key_start = "-----BEGIN PUBLIC KEY-----\n";

// caching_sha2_password's exchanges: 0x03 fast auth success, 0x04 perform full authentication.
const std::vector<codec_case<auth_more_data>> more_data_cases = {
    {.name = "fast_auth_success",
     .decoded = {.data = "\x03"},
     .encoded = hex("01 03"),
     .decodable_prefixes = {1}},
    {.name = "perform_full_authentication",
     .decoded = {.data = "\x04"},
     .encoded = hex("01 04"),
     .decodable_prefixes = {1}},
    {.name = "public_key",
     .decoded = {.data = public_key_start},
     .encoded = cat({hex("01"), text(public_key_start)}),
     .decodable_prefixes = prefixes_from(1, 1 + public_key_start.size())},
};

const auto decode_more = [](std::span<const std::uint8_t> b, std::uint32_t) {
  return decode_auth_more_data(b);
};
const auto encode_more = [](const auth_more_data& m, std::uint32_t, bytes& out) {
  encode_auth_more_data(m, out);
};

class auth_more_data_codec : public ::testing::TestWithParam<codec_case<auth_more_data>> {};
TEST_P(auth_more_data_codec, decodes) {
  expect_decodes(GetParam(), decode_more);
}
TEST_P(auth_more_data_codec, encodes) {
  expect_encodes(GetParam(), encode_more, decode_more);
}
TEST_P(auth_more_data_codec, rejects_truncations) {
  expect_truncations_rejected(GetParam(), decode_more);
}
INSTANTIATE_TEST_SUITE_P(auth_switch, auth_more_data_codec, ::testing::ValuesIn(more_data_cases),
                         case_name<auth_more_data>);

}  // namespace
}  // namespace sluice::protocol::test
