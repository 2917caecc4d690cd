// Tests of the connection-phase handshake: server greeting and client response.
#include "protocol/handshake.h"

#include <gtest/gtest.h>

#include "protocol/codec_errc.h"
#include "protocol/constants.h"
#include "tests/protocol/codec_case.h"

namespace sluice::protocol::test {
namespace {

using namespace capability;

// Captured from the MariaDB 10.11 server of the test machine (payload of the first packet).
const bytes mariadb_10_11_greeting = hex(
    "0a 35 2e 35 2e 35 2d 31 30 2e 31 31 2e 31 39 2d 4d 61 72 69 61 44 42 2d 30 2b 64 65 62 31 32 "
    "75 31 00 06 00 00 00 78 7d 2d 65 36 7c 2f 71 00 fe f7 08 02 00 ff 81 15 00 00 00 00 00 00 1d "
    "00 00 00 6d 50 2a 7e 5d 39 41 7c 6c 2c 32 58 00 6d 79 73 71 6c 5f 6e 61 74 69 76 65 5f 70 61 "
    "73 73 77 6f 72 64 00");

const std::string scramble = "abcdefghijklmnopqrst";
constexpr std::uint32_t mysql8_caps = 0xdfffffff;  // everything MySQL 8.0 offers but the ssl bit
constexpr std::uint32_t legacy_caps =
    long_password | found_rows | long_flag | connect_with_db | transactions;

const std::vector<codec_case<handshake_v10>> greeting_cases = {
    {.name = "captured_mariadb_10_11",
     .decoded = {.server_version = "5.5.5-10.11.19-MariaDB-0+deb12u1",
                 .connection_id = 6,
                 .auth_plugin_data = "x}-e6|/qmP*~]9A|l,2X",
                 .capabilities = 0x81fff7fe,
                 .mariadb_capabilities = 0x1d,
                 .character_set = 8,
                 .status_flags = server_status::autocommit,
                 .auth_plugin_name = "mysql_native_password"},
     .encoded = mariadb_10_11_greeting,
     .decodable_prefixes = {49}},  // a greeting may end after the lower capabilities
    {.name = "mysql_8_caching_sha2",
     .decoded = {.server_version = "8.0.36",
                 .connection_id = 0x01020304,
                 .auth_plugin_data = scramble,
                 .capabilities = mysql8_caps,
                 .character_set = 0xff,
                 .status_flags = server_status::autocommit,
                 .auth_plugin_name = "caching_sha2_password"},
     .encoded = cat({hex("0a"), text("8.0.36"), hex("00 | 04 03 02 01"), text("abcdefgh"),
                     hex("00 | ff ff | ff | 02 00 | ff df | 15 | 00 00 00 00 00 00 | 00 00 00 00"),
                     text("ijklmnopqrst"), hex("00"), text("caching_sha2_password"), hex("00")}),
     .decodable_prefixes = {23}},
    {.name = "secure_connection_without_plugin_auth",
     .decoded = {.server_version = "5.1.73",
                 .connection_id = 9,
                 .auth_plugin_data = scramble,
                 .capabilities = long_password | protocol_41 | secure_connection | transactions,
                 .character_set = 8},
     .encoded = cat({hex("0a"), text("5.1.73"), hex("00 | 09 00 00 00"), text("abcdefgh"),
                     hex("00 | 01 a2 | 08 | 00 00 | 00 00 | 00 | 00 00 00 00 00 00 | 00 00 00 00"),
                     text("ijklmnopqrst"), hex("00")}),
     .decodable_prefixes = {23}},
    {.name = "legacy_ends_after_lower_capabilities",
     .decoded = {.server_version = "4.0.30",
                 .connection_id = 1,
                 .auth_plugin_data = "abcdefgh",
                 .capabilities = legacy_caps},
     .encoded = cat(
         {hex("0a"), text("4.0.30"), hex("00 | 01 00 00 00"), text("abcdefgh"), hex("00 | 0f 20")}),
     .canonical = false},
};

const auto decode_greeting = [](std::span<const std::uint8_t> b, std::uint32_t) {
  return decode_handshake_v10(b);
};
const auto encode_greeting = [](const handshake_v10& m, std::uint32_t, bytes& out) {
  encode_handshake_v10(m, out);
};

class handshake_v10_codec : public ::testing::TestWithParam<codec_case<handshake_v10>> {};
TEST_P(handshake_v10_codec, decodes) {
  expect_decodes(GetParam(), decode_greeting);
}
TEST_P(handshake_v10_codec, encodes) {
  expect_encodes(GetParam(), encode_greeting, decode_greeting);
}
TEST_P(handshake_v10_codec, rejects_truncations) {
  expect_truncations_rejected(GetParam(), decode_greeting);
}
INSTANTIATE_TEST_SUITE_P(handshake, handshake_v10_codec, ::testing::ValuesIn(greeting_cases),
                         case_name<handshake_v10>);

// What libmariadb 3.3 sends to MariaDB 10.11 (client flags 0x00bea28c).
constexpr std::uint32_t mariadb_client_caps = 0x00bea28c;
const bytes token = hex("01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14");
const std::string token_string(token.begin(), token.end());
const bytes filler(23, 0);

const std::vector<codec_case<handshake_response_41>> response_cases = {
    {.name = "libmariadb_with_attributes",
     .decoded = {.capabilities = mariadb_client_caps,
                 .max_packet_size = 0x01000000,
                 .character_set = 45,
                 .username = "app",
                 .auth_response = token_string,
                 .database = "shop",
                 .auth_plugin_name = "mysql_native_password",
                 .connect_attributes = {{"_client_name", "libmariadb"}, {"_pid", "4242"}}},
     .encoded = cat({hex("8c a2 be 00 | 00 00 00 01 | 2d"), filler, text("app"), hex("00 | 14"),
                     token, text("shop"), hex("00"), text("mysql_native_password"),
                     hex("00 | 22 | 0c"), text("_client_name"), hex("0a"), text("libmariadb"),
                     hex("04"), text("_pid"), hex("04"), text("4242")})},
    {.name = "one_byte_auth_length_no_database",
     .decoded = {.capabilities =
                     long_password | protocol_41 | transactions | secure_connection | plugin_auth,
                 .max_packet_size = 0xFFFFFF,
                 .character_set = 33,
                 .username = "root",
                 .auth_response = token_string,
                 .auth_plugin_name = "mysql_native_password"},
     .encoded = cat({hex("01 a2 08 00 | ff ff ff 00 | 21"), filler, text("root"), hex("00 | 14"),
                     token, text("mysql_native_password"), hex("00")})},
    {.name = "null_terminated_auth",
     .decoded = {.capabilities = long_password | protocol_41 | connect_with_db,
                 .max_packet_size = 0x40000000,
                 .character_set = 8,
                 .username = "u",
                 .auth_response = "abc",
                 .database = "db"},
     .encoded = cat({hex("09 02 00 00 | 00 00 00 40 | 08"), filler, text("u"), hex("00"),
                     text("abc"), hex("00"), text("db"), hex("00")})},
    {.name = "empty_password_and_attributes",
     .decoded = {.capabilities = protocol_41 | secure_connection | plugin_auth | connect_attrs |
                                 plugin_auth_lenenc_client_data | connect_with_db,
                 .max_packet_size = 0x01000000,
                 .character_set = 45,
                 .username = "guest",
                 .auth_plugin_name = "caching_sha2_password"},
     .encoded = cat({hex("08 82 38 00 | 00 00 00 01 | 2d"), filler, text("guest"), hex("00 | 00"),
                     hex("00"), text("caching_sha2_password"), hex("00 | 00")})},
    {.name = "after_ssl_request",
     .decoded = {.capabilities = protocol_41 | secure_connection | ssl,
                 .max_packet_size = 0x01000000,
                 .character_set = 45,
                 .username = "tls",
                 .auth_response = "x"},
     .encoded = cat(
         {hex("00 8a 00 00 | 00 00 00 01 | 2d"), filler, text("tls"), hex("00 | 01"), text("x")})},
};

const auto decode_response = [](std::span<const std::uint8_t> b, std::uint32_t) {
  return decode_handshake_response_41(b);
};
const auto encode_response = [](const handshake_response_41& m, std::uint32_t, bytes& out) {
  encode_handshake_response_41(m, out);
};

class handshake_response_41_codec
    : public ::testing::TestWithParam<codec_case<handshake_response_41>> {};
TEST_P(handshake_response_41_codec, decodes) {
  expect_decodes(GetParam(), decode_response);
}
TEST_P(handshake_response_41_codec, encodes) {
  expect_encodes(GetParam(), encode_response, decode_response);
}
TEST_P(handshake_response_41_codec, rejects_truncations) {
  expect_truncations_rejected(GetParam(), decode_response);
}
INSTANTIATE_TEST_SUITE_P(handshake, handshake_response_41_codec,
                         ::testing::ValuesIn(response_cases), case_name<handshake_response_41>);

// SSLRequest as libmariadb 3.3 sends it before the TLS handshake (`mariadb --ssl`), and as
// sluice sends it to a backend.
const std::vector<codec_case<ssl_request>> ssl_request_cases = {
    {.name = "libmariadb_before_tls",
     .decoded = {.capabilities = mariadb_client_caps | ssl,
                 .max_packet_size = 0x01000000,
                 .character_set = 45},
     .encoded = cat({hex("8c aa be 00 | 00 00 00 01 | 2d"), filler})},
    {.name = "sluice_to_backend",
     .decoded = {.capabilities = long_password | long_flag | local_files | protocol_41 | ssl |
                                 transactions | secure_connection | plugin_auth,
                 .max_packet_size = 0x40000000,
                 .character_set = 33},
     .encoded = cat({hex("85 aa 08 00 | 00 00 00 40 | 21"), filler})},
};

const auto decode_ssl = [](std::span<const std::uint8_t> b, std::uint32_t) {
  return decode_ssl_request(b);
};
const auto encode_ssl = [](const ssl_request& m, std::uint32_t, bytes& out) {
  encode_ssl_request(m, out);
};

class ssl_request_codec : public ::testing::TestWithParam<codec_case<ssl_request>> {};
TEST_P(ssl_request_codec, decodes) {
  expect_decodes(GetParam(), decode_ssl);
}
TEST_P(ssl_request_codec, encodes) {
  expect_encodes(GetParam(), encode_ssl, decode_ssl);
}
TEST_P(ssl_request_codec, rejects_truncations) {
  expect_truncations_rejected(GetParam(), decode_ssl);
}
INSTANTIATE_TEST_SUITE_P(handshake, ssl_request_codec, ::testing::ValuesIn(ssl_request_cases),
                         case_name<ssl_request>);

// The two packets a client may send first are told apart by these two decoders: each refuses
// the other's packet, whatever the capability bits say.
TEST(first_client_packet, ssl_request_and_handshake_response_refuse_each_other) {
  const bytes ssl_only = ssl_request_cases[0].encoded;
  EXPECT_EQ(decode_handshake_response_41(ssl_only).error(), codec_errc::unsupported);
  const bytes full = response_cases[4].encoded;  // after_ssl_request: the ssl bit is set
  EXPECT_EQ(decode_ssl_request(full).error(), codec_errc::unsupported);
  ASSERT_TRUE(decode_handshake_response_41(full).has_value());
}

}  // namespace
}  // namespace sluice::protocol::test
