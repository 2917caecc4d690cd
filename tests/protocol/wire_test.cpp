// Tests of the primitive wire types: fixed and length-encoded integers, strings.
#include "protocol/wire.h"

#include <gtest/gtest.h>

#include <limits>

#include "protocol/codec_errc.h"
#include "tests/protocol/codec_case.h"

namespace sluice::protocol::test {
namespace {

// "Length-Encoded Integer Type": each width at both of its edges.
const std::vector<codec_case<std::uint64_t>> lenenc_int_cases = {
    {.name = "zero", .decoded = 0, .encoded = hex("00")},
    {.name = "one_byte_max", .decoded = 250, .encoded = hex("fa")},
    {.name = "two_byte_min", .decoded = 251, .encoded = hex("fc fb 00")},
    {.name = "two_byte_max", .decoded = 0xFFFF, .encoded = hex("fc ff ff")},
    {.name = "three_byte_min", .decoded = 0x10000, .encoded = hex("fd 00 00 01")},
    {.name = "three_byte_max", .decoded = 0xFFFFFF, .encoded = hex("fd ff ff ff")},
    {.name = "eight_byte_min", .decoded = 0x1000000, .encoded = hex("fe 00 00 00 01 00 00 00 00")},
    {.name = "eight_byte_max",
     .decoded = std::numeric_limits<std::uint64_t>::max(),
     .encoded = hex("fe ff ff ff ff ff ff ff ff")},
};

const auto decode_lenenc_int = [](std::span<const std::uint8_t> b, std::uint32_t) {
  return wire_reader(b).lenenc_int();
};
const auto encode_lenenc_int = [](std::uint64_t v, std::uint32_t, bytes& out) {
  wire_writer(out).lenenc_int(v);
};

class lenenc_int_codec : public ::testing::TestWithParam<codec_case<std::uint64_t>> {};
TEST_P(lenenc_int_codec, decodes) {
  expect_decodes(GetParam(), decode_lenenc_int);
}
TEST_P(lenenc_int_codec, encodes) {
  expect_encodes(GetParam(), encode_lenenc_int, decode_lenenc_int);
}
TEST_P(lenenc_int_codec, rejects_truncations) {
  expect_truncations_rejected(GetParam(), decode_lenenc_int);
}
INSTANTIATE_TEST_SUITE_P(wire, lenenc_int_codec, ::testing::ValuesIn(lenenc_int_cases),
                         case_name<std::uint64_t>);

TEST(wire_reader, reads_little_endian_integers) {
  const auto b = hex("01 | 01 02 | 01 02 03 | 01 02 03 04 | 01 02 03 04 05 06 07 08");
  wire_reader r(b);
  EXPECT_EQ(*r.u8(), 0x01);
  EXPECT_EQ(*r.u16(), 0x0201);
  EXPECT_EQ(*r.u24(), 0x030201u);
  EXPECT_EQ(*r.u32(), 0x04030201u);
  EXPECT_EQ(*r.u64(), 0x0807060504030201u);
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.consumed(), b.size());
  EXPECT_EQ(r.u8().error(), codec_errc::truncated);
}

TEST(wire_reader, reads_strings_as_views_into_the_payload) {
  const auto b = cat({hex("03"), text("abc"), text("nul"), hex("00"), text("fixedrest")});
  wire_reader r(b);
  EXPECT_EQ(*r.lenenc_string(), "abc");
  EXPECT_EQ(*r.null_terminated_string(), "nul");
  EXPECT_EQ(*r.fixed_string(5), "fixed");
  EXPECT_EQ(r.remaining(), 4u);
  EXPECT_EQ(r.rest(), "rest");
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.rest(), "");
}

TEST(wire_reader, failed_reads_leave_the_position_unchanged) {
  const auto b = hex("fc 01 | 05 61 62 | 61 62");
  wire_reader r(b);
  ASSERT_TRUE(r.skip(2));
  EXPECT_EQ(r.lenenc_string().error(), codec_errc::truncated);  // 5 bytes announced, 4 present
  EXPECT_EQ(r.consumed(), 2u);
  EXPECT_EQ(r.fixed_string(6).error(), codec_errc::truncated);
  EXPECT_EQ(r.skip(6).error(), codec_errc::truncated);
  EXPECT_EQ(r.consumed(), 2u);

  const auto half_int = hex("fc 01");
  wire_reader short_int(half_int);
  EXPECT_EQ(short_int.lenenc_int().error(), codec_errc::truncated);  // 0xFC needs two more bytes
  EXPECT_EQ(short_int.consumed(), 0u);

  const auto no_nul = text("abc");
  wire_reader unterminated(no_nul);
  EXPECT_EQ(unterminated.null_terminated_string().error(), codec_errc::truncated);
  EXPECT_EQ(unterminated.consumed(), 0u);
}

TEST(wire_reader, null_and_err_prefixes_are_not_lengths) {
  for (const auto& prefix : {hex("fb"), hex("ff 01 02")}) {
    wire_reader r(prefix);
    EXPECT_EQ(r.lenenc_int().error(), codec_errc::malformed);
    EXPECT_EQ(r.consumed(), 0u);
    wire_reader s(prefix);
    EXPECT_EQ(s.lenenc_string().error(), codec_errc::malformed);
  }
}

TEST(wire_writer, appends_every_primitive) {
  bytes out = hex("aa");
  wire_writer w(out);
  w.u8(0x01);
  w.u16(0x0201);
  w.u24(0x030201);
  w.u32(0x04030201);
  w.u64(0x0807060504030201);
  w.lenenc_string("ab");
  w.null_terminated_string("c");
  w.bytes(std::string_view("d"));
  w.bytes(hex("ee"));
  w.zeros(2);
  EXPECT_EQ(to_hex(out),
            to_hex(cat({hex("aa 01 01 02 01 02 03 01 02 03 04 01 02 03 04 05 06 07 08"), hex("02"),
                        text("ab"), text("c"), hex("00"), text("d"), hex("ee 00 00")})));
}

TEST(wire_writer, writes_long_strings_with_wider_lengths) {
  const std::string long_string(300, 'x');
  bytes out;
  wire_writer(out).lenenc_string(long_string);
  ASSERT_EQ(out.size(), 3 + long_string.size());
  EXPECT_EQ(to_hex(std::span(out).first(3)), "fc 2c 01");
  EXPECT_EQ(*wire_reader(out).lenenc_string(), long_string);
}

}  // namespace
}  // namespace sluice::protocol::test
