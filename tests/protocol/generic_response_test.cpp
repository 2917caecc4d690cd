// Tests of the generic server responses: OK, ERR and EOF.
#include "protocol/generic_response.h"

#include <gtest/gtest.h>

#include "tests/protocol/codec_case.h"

namespace sluice::protocol::test {
namespace {

using namespace capability;

constexpr std::uint32_t tracking = protocol_41 | transactions | capability::session_track;
constexpr std::string_view rows_matched = "Rows matched: 1  Changed: 1  Warnings: 0";

const std::vector<codec_case<ok_packet>> ok_cases = {
    // Captured from MariaDB 10.11 (client negotiated session tracking): no info, nothing changed.
    {.name = "captured_mariadb_10_11",
     .decoded = {.status_flags = server_status::autocommit},
     .capabilities = tracking,
     .encoded = hex("00 | 00 | 00 | 02 00 | 00 00")},
    // `USE test` with session_track_schema=ON: one SESSION_TRACK_SCHEMA entry.
    {.name = "schema_change",
     .decoded = {.status_flags = server_status::autocommit | server_status::session_state_changed,
                 .session_state_info = "\x01\x05\x04test"},
     .capabilities = tracking,
     .encoded = hex("00 | 00 | 00 | 02 40 | 00 00 | 00 | 07 | 01 05 04 74 65 73 74"),
     .decodable_prefixes = {7}},
    {.name = "update_with_info",
     .decoded = {.affected_rows = 1,
                 .last_insert_id = 0x1234,
                 .status_flags = server_status::autocommit,
                 .warnings = 1,
                 .info = rows_matched},
     .capabilities = tracking,
     .encoded = cat({hex("00 | 01 | fc 34 12 | 02 00 | 01 00 | 28"), text(rows_matched)}),
     .decodable_prefixes = {9}},
    // Without CLIENT_SESSION_TRACK servers still length-encode info; any tail is a valid info.
    {.name = "info_without_tracking",
     .decoded = {.affected_rows = 1,
                 .status_flags = server_status::autocommit,
                 .info = rows_matched},
     .capabilities = protocol_41 | transactions,
     .encoded = cat({hex("00 | 01 | 00 | 02 00 | 00 00 | 28"), text(rows_matched)}),
     .decodable_prefixes = prefixes_from(7, 8 + rows_matched.size())},
    {.name = "info_as_rest_of_packet",
     .decoded = {.affected_rows = 1,
                 .status_flags = server_status::autocommit,
                 .info = rows_matched},
     .capabilities = protocol_41 | transactions,
     .encoded = cat({hex("00 | 01 | 00 | 02 00 | 00 00"), text(rows_matched)}),
     .decodable_prefixes = prefixes_from(7, 7 + rows_matched.size()),
     .canonical = false},
    {.name = "eof_replaced_by_ok",
     .decoded = {.status_flags = server_status::autocommit | server_status::no_index_used},
     .capabilities = tracking | deprecate_eof,
     .encoded = hex("fe | 00 | 00 | 22 00 | 00 00"),
     .canonical = false},
    {.name = "large_counts",
     .decoded = {.affected_rows = 0x1000000,
                 .last_insert_id = 0x10000,
                 .status_flags = server_status::in_trans | server_status::autocommit,
                 .warnings = 0x0102},
     .capabilities = protocol_41,
     .encoded = hex("00 | fe 00 00 00 01 00 00 00 00 | fd 00 00 01 | 03 00 | 02 01")},
    {.name = "pre_41_with_transactions",
     .decoded = {.affected_rows = 5, .status_flags = server_status::autocommit},
     .capabilities = transactions,
     .encoded = hex("00 | 05 | 00 | 02 00")},
    {.name = "pre_41", .decoded = {.affected_rows = 1}, .encoded = hex("00 | 01 | 00")},
};

const auto decode_ok_case = [](std::span<const std::uint8_t> b, std::uint32_t caps) {
  return decode_ok(b, caps);
};
const auto encode_ok_case = [](const ok_packet& m, std::uint32_t caps, bytes& out) {
  encode_ok(m, caps, out);
};

class ok_codec : public ::testing::TestWithParam<codec_case<ok_packet>> {};
TEST_P(ok_codec, decodes) {
  expect_decodes(GetParam(), decode_ok_case);
}
TEST_P(ok_codec, encodes) {
  expect_encodes(GetParam(), encode_ok_case, decode_ok_case);
}
TEST_P(ok_codec, rejects_truncations) {
  expect_truncations_rejected(GetParam(), decode_ok_case);
}
INSTANTIATE_TEST_SUITE_P(generic_response, ok_codec, ::testing::ValuesIn(ok_cases),
                         case_name<ok_packet>);

TEST(ok_codec, encodes_the_ok_that_replaces_an_eof) {
  bytes out;
  encode_ok({.status_flags = server_status::autocommit}, protocol_41 | deprecate_eof, out,
            eof_header);
  EXPECT_EQ(to_hex(out), "fe 00 00 02 00 00 00");
}

constexpr std::string_view access_denied =
    "Access denied for user 'app'@'localhost' (using password: YES)";

const std::vector<codec_case<err_packet>> err_cases = {
    {.name = "access_denied",
     .decoded = {.error_code = server_error::access_denied,
                 .sql_state = "28000",
                 .message = std::string(access_denied)},
     .capabilities = protocol_41,
     .encoded = cat({hex("ff | 15 04 | 23"), text("28000"), text(access_denied)}),
     .decodable_prefixes = prefixes_from(9, 9 + access_denied.size(), {3})},
    // Sent before the server knows the client's capabilities: no marker, no state.
    {.name = "too_many_connections_in_greeting",
     .decoded = {.error_code = server_error::too_many_connections,
                 .message = "Too many connections"},
     .encoded = cat({hex("ff | 10 04"), text("Too many connections")}),
     .decodable_prefixes = prefixes_from(3, 23)},
    {.name = "no_marker_under_protocol_41",
     .decoded = {.error_code = server_error::unknown_error, .message = "Unknown error"},
     .capabilities = protocol_41,
     .encoded = cat({hex("ff | 51 04"), text("Unknown error")}),
     .decodable_prefixes = prefixes_from(3, 16)},
};

const auto decode_err_case = [](std::span<const std::uint8_t> b, std::uint32_t caps) {
  return decode_err(b, caps);
};
const auto encode_err_case = [](const err_packet& m, std::uint32_t caps, bytes& out) {
  encode_err(m, caps, out);
};

class err_codec : public ::testing::TestWithParam<codec_case<err_packet>> {};
TEST_P(err_codec, decodes) {
  expect_decodes(GetParam(), decode_err_case);
}
TEST_P(err_codec, encodes) {
  expect_encodes(GetParam(), encode_err_case, decode_err_case);
}
TEST_P(err_codec, rejects_truncations) {
  expect_truncations_rejected(GetParam(), decode_err_case);
}
INSTANTIATE_TEST_SUITE_P(generic_response, err_codec, ::testing::ValuesIn(err_cases),
                         case_name<err_packet>);

TEST(err_codec, writes_a_sql_state_of_the_wrong_length_as_hy000) {
  bytes out;
  encode_err({.error_code = 1105, .sql_state = "HY", .message = "m"}, protocol_41, out);
  EXPECT_EQ(to_hex(out), to_hex(cat({hex("ff 51 04 23"), text("HY000m")})));
}

const std::vector<codec_case<eof_packet>> eof_cases = {
    {.name = "end_of_rows",
     .decoded = {.status_flags = server_status::autocommit},
     .capabilities = protocol_41,
     .encoded = hex("fe | 00 00 | 02 00")},
    {.name = "more_results_follow",
     .decoded = {.warnings = 1,
                 .status_flags = server_status::autocommit | server_status::more_results_exists},
     .capabilities = protocol_41,
     .encoded = hex("fe | 01 00 | 0a 00")},
    {.name = "pre_41", .decoded = {}, .encoded = hex("fe")},
};

const auto decode_eof_case = [](std::span<const std::uint8_t> b, std::uint32_t caps) {
  return decode_eof(b, caps);
};
const auto encode_eof_case = [](const eof_packet& m, std::uint32_t caps, bytes& out) {
  encode_eof(m, caps, out);
};

class eof_codec : public ::testing::TestWithParam<codec_case<eof_packet>> {};
TEST_P(eof_codec, decodes) {
  expect_decodes(GetParam(), decode_eof_case);
}
TEST_P(eof_codec, encodes) {
  expect_encodes(GetParam(), encode_eof_case, decode_eof_case);
}
TEST_P(eof_codec, rejects_truncations) {
  expect_truncations_rejected(GetParam(), decode_eof_case);
}
INSTANTIATE_TEST_SUITE_P(generic_response, eof_codec, ::testing::ValuesIn(eof_cases),
                         case_name<eof_packet>);

}  // namespace
}  // namespace sluice::protocol::test
