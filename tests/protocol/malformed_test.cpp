// One table of malformed inputs across every decoder, each with the error it must produce.
#include <gtest/gtest.h>

#include <functional>

#include "protocol/auth_switch.h"
#include "protocol/change_user.h"
#include "protocol/codec_errc.h"
#include "protocol/generic_response.h"
#include "protocol/handshake.h"
#include "protocol/session_tracker.h"
#include "protocol/stmt_prepare_ok.h"
#include "protocol/wire.h"
#include "tests/protocol/codec_case.h"

namespace sluice::protocol::test {
namespace {

using namespace capability;
using decoder =
    std::function<boost::system::error_code(std::span<const std::uint8_t>, std::uint32_t)>;

template <class Decode>
decoder error_of(Decode decode) {
  return [decode](std::span<const std::uint8_t> b, std::uint32_t caps) {
    const auto result = decode(b, caps);
    return result ? boost::system::error_code{} : result.error();
  };
}

template <auto Decode>
decoder without_caps() {
  return error_of([](std::span<const std::uint8_t> b, std::uint32_t) { return Decode(b); });
}

template <auto Decode>
decoder with_caps() {
  return error_of(
      [](std::span<const std::uint8_t> b, std::uint32_t caps) { return Decode(b, caps); });
}

const decoder lenenc_int = error_of(
    [](std::span<const std::uint8_t> b, std::uint32_t) { return wire_reader(b).lenenc_int(); });
const decoder session_state = error_of([](std::span<const std::uint8_t> b, std::uint32_t) {
  return decode_session_state(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
});
const decoder greeting = without_caps<decode_handshake_v10>();
const decoder response = without_caps<decode_handshake_response_41>();
const decoder ssl = without_caps<decode_ssl_request>();
const decoder ok = with_caps<decode_ok>();
const decoder err = with_caps<decode_err>();
const decoder eof = with_caps<decode_eof>();
const decoder auth_switch = without_caps<decode_auth_switch_request>();
const decoder more_data = without_caps<decode_auth_more_data>();
const decoder change_user = with_caps<decode_change_user>();
const decoder prepare_ok = without_caps<decode_stmt_prepare_ok>();

struct malformed_case {
  std::string name;
  decoder decode;
  std::uint32_t capabilities;
  bytes input;
  codec_errc expected;
};

const bytes filler(23, 0);
constexpr std::uint32_t tracking = protocol_41 | transactions | capability::session_track;

const std::vector<malformed_case> cases = {
    {"lenenc_null_prefix", lenenc_int, 0, hex("fb"), codec_errc::malformed},
    {"lenenc_err_prefix", lenenc_int, 0, hex("ff 00 00"), codec_errc::malformed},

    {"greeting_empty", greeting, 0, {}, codec_errc::truncated},
    {"greeting_protocol_9", greeting, 0, cat({hex("09"), text("3.22"), hex("00")}),
     codec_errc::unsupported},
    {"greeting_is_an_err", greeting, 0, cat({hex("ff 10 04"), text("Too many connections")}),
     codec_errc::unsupported},
    {"greeting_unterminated_version", greeting, 0, hex("0a 35 2e 35"), codec_errc::truncated},

    {"response_ssl_request", response, 0, cat({hex("00 8a 00 00 | 00 00 00 01 | 2d"), filler}),
     codec_errc::unsupported},
    {"response_pre_41_client", response, 0, cat({hex("05 a0 | ff ff ff"), text("root"), hex("00")}),
     codec_errc::unsupported},
    {"response_auth_length_is_null", response, 0,
     cat({hex("00 02 20 00 | 00 00 00 01 | 2d"), filler, text("u"), hex("00 | fb")}),
     codec_errc::malformed},
    {"response_attribute_overflows_block", response, 0,
     cat({hex("00 02 10 00 | 00 00 00 01 | 2d"), filler, text("u"), hex("00 | 00 | 03 05 61 62")}),
     codec_errc::malformed},

    {"ssl_request_without_ssl_flag", ssl, 0, cat({hex("00 82 00 00 | 00 00 00 01 | 2d"), filler}),
     codec_errc::unsupported},
    {"ssl_request_pre_41_client", ssl, 0, cat({hex("00 08 00 00 | 00 00 00 01 | 2d"), filler}),
     codec_errc::unsupported},
    {"ssl_request_one_byte_too_long", ssl, 0,
     cat({hex("00 8a 00 00 | 00 00 00 01 | 2d"), filler, hex("00")}), codec_errc::unsupported},

    {"ok_wrong_header", ok, tracking, hex("01 00 00 02 00 00 00"), codec_errc::malformed},
    {"ok_eof_header_without_deprecate_eof", ok, tracking, hex("fe 00 00 02 00 00 00"),
     codec_errc::malformed},
    {"ok_affected_rows_is_null", ok, tracking, hex("00 fb 00 02 00 00 00"), codec_errc::malformed},
    {"ok_state_info_beyond_packet", ok, tracking, hex("00 00 00 02 40 00 00 00 08 01"),
     codec_errc::truncated},
    {"ok_empty", ok, tracking, {}, codec_errc::truncated},

    {"err_wrong_header", err, protocol_41, hex("00 15 04"), codec_errc::malformed},
    {"err_short_sql_state", err, protocol_41, hex("ff 15 04 23 32 38"), codec_errc::truncated},
    {"err_empty", err, protocol_41, {}, codec_errc::truncated},

    {"eof_long_enough_to_be_a_row", eof, protocol_41, hex("fe 00 00 02 00 00 00 00 00"),
     codec_errc::malformed},
    {"eof_wrong_header", eof, protocol_41, hex("00 00 00 02 00"), codec_errc::malformed},

    {"state_entry_beyond_info", session_state, 0, cat({hex("01 09 04"), text("test")}),
     codec_errc::truncated},
    {"state_schema_overflows_entry", session_state, 0, hex("01 03 05 61 62"),
     codec_errc::malformed},
    {"state_variable_without_value", session_state, 0, cat({hex("00 0b 0a"), text("autocommit")}),
     codec_errc::malformed},
    {"state_empty_variables_entry", session_state, 0, hex("00 00"), codec_errc::malformed},
    {"state_gtids_without_encoding", session_state, 0, hex("03 00"), codec_errc::malformed},

    {"switch_old_auth_method", auth_switch, 0, hex("fe"), codec_errc::unsupported},
    {"switch_wrong_header", auth_switch, 0, cat({hex("01"), text("x"), hex("00")}),
     codec_errc::malformed},
    {"switch_unterminated_plugin", auth_switch, 0, cat({hex("fe"), text("mysql")}),
     codec_errc::truncated},
    {"more_data_empty", more_data, 0, {}, codec_errc::truncated},
    {"more_data_wrong_header", more_data, 0, hex("02 03"), codec_errc::malformed},

    {"change_user_wrong_command", change_user, secure_connection, hex("03 61 00 00 00"),
     codec_errc::malformed},
    {"change_user_auth_beyond_packet", change_user, secure_connection, hex("11 61 00 14 01 02"),
     codec_errc::truncated},
    {"change_user_half_character_set", change_user, secure_connection, hex("11 61 00 00 00 2d"),
     codec_errc::truncated},

    {"prepare_ok_is_an_err", prepare_ok, 0, hex("ff 10 04 00 00 00 00 00 00 00 00 00"),
     codec_errc::malformed},
    {"prepare_ok_half_warning_count", prepare_ok, 0, hex("00 01 00 00 00 00 00 00 00 00 02"),
     codec_errc::truncated},
};

class malformed_input : public ::testing::TestWithParam<malformed_case> {};

// Decoded from an exact-size copy, so the sanitizer build catches any read past the end.
TEST_P(malformed_input, is_rejected_with_its_error) {
  const auto& c = GetParam();
  const bytes input = c.input;
  EXPECT_EQ(c.decode(input, c.capabilities), make_error_code(c.expected));
}

INSTANTIATE_TEST_SUITE_P(protocol, malformed_input, ::testing::ValuesIn(cases),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace sluice::protocol::test
