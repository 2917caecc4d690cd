// Tests of COM_STMT_PREPARE_OK.
#include "protocol/stmt_prepare_ok.h"

#include <gtest/gtest.h>

#include "tests/protocol/codec_case.h"

namespace sluice::protocol::test {
namespace {

// A packet may end after the filler (no warning count).
const std::vector<codec_case<stmt_prepare_ok>> cases = {
    {.name = "select_with_one_param",
     .decoded = {.statement_id = 1, .num_columns = 2, .num_params = 1},
     .encoded = hex("00 | 01 00 00 00 | 02 00 | 01 00 | 00 | 00 00"),
     .decodable_prefixes = {10}},
    {.name = "insert_with_warnings",
     .decoded = {.statement_id = 0x01020304, .num_params = 3, .warnings = 2},
     .encoded = hex("00 | 04 03 02 01 | 00 00 | 03 00 | 00 | 02 00"),
     .decodable_prefixes = {10}},
    {.name = "short_packet_without_warnings",
     .decoded = {.statement_id = 7, .num_columns = 1},
     .encoded = hex("00 | 07 00 00 00 | 01 00 | 00 00 | 00"),
     .canonical = false},
};

const auto decode = [](std::span<const std::uint8_t> b, std::uint32_t) {
  return decode_stmt_prepare_ok(b);
};
const auto encode = [](const stmt_prepare_ok& m, std::uint32_t, bytes& out) {
  encode_stmt_prepare_ok(m, out);
};

class stmt_prepare_ok_codec : public ::testing::TestWithParam<codec_case<stmt_prepare_ok>> {};
TEST_P(stmt_prepare_ok_codec, decodes) {
  expect_decodes(GetParam(), decode);
}
TEST_P(stmt_prepare_ok_codec, encodes) {
  expect_encodes(GetParam(), encode, decode);
}
TEST_P(stmt_prepare_ok_codec, rejects_truncations) {
  expect_truncations_rejected(GetParam(), decode);
}
INSTANTIATE_TEST_SUITE_P(stmt_prepare_ok, stmt_prepare_ok_codec, ::testing::ValuesIn(cases),
                         case_name<stmt_prepare_ok>);

}  // namespace
}  // namespace sluice::protocol::test
