// Tests of packet framing: the header and splitting payloads at the 0xFFFFFF boundary.
#include "protocol/frame.h"

#include <gtest/gtest.h>

#include "protocol/constants.h"
#include "protocol/generic_response.h"
#include "tests/protocol/codec_case.h"

namespace sluice::protocol::test {
namespace {

struct header_case {
  std::string name;
  frame_header header;
  bytes encoded;
};

const std::vector<header_case> header_cases = {
    {"empty_first_packet", {0, 0}, hex("00 00 00 00")},
    {"ok_packet_reply", {7, 2}, hex("07 00 00 02")},
    {"three_byte_length", {0x123456, 1}, hex("56 34 12 01")},
    {"largest", {max_packet_payload, 0xFF}, hex("ff ff ff ff")},
};

class frame_header_codec : public ::testing::TestWithParam<header_case> {};

TEST_P(frame_header_codec, decodes) {
  const auto& c = GetParam();
  EXPECT_EQ(decode_frame_header(std::span<const std::uint8_t, 4>(c.encoded.data(), 4)), c.header);
}

TEST_P(frame_header_codec, encodes) {
  const auto& c = GetParam();
  std::uint8_t out[4];
  encode_frame_header(c.header, out);
  EXPECT_EQ(to_hex(out), to_hex(c.encoded));
}

INSTANTIATE_TEST_SUITE_P(frame, frame_header_codec, ::testing::ValuesIn(header_cases),
                         [](const auto& info) { return info.param.name; });

struct split_case {
  std::string name;
  std::size_t payload_size;
  std::uint8_t first_sequence_id;
  std::vector<frame_header> packets;
  std::uint8_t next_sequence_id;
};

constexpr std::uint32_t max = max_packet_payload;

// "Sending More Than 16Mb": a full packet means more follows, so a payload that fills its last
// packet exactly is terminated by an empty one.
const std::vector<split_case> split_cases = {
    {"empty", 0, 0, {{0, 0}}, 1},
    {"small", 7, 3, {{7, 3}}, 4},
    {"one_below_max", max - 1, 0, {{max - 1, 0}}, 1},
    {"exactly_max", max, 0, {{max, 0}, {0, 1}}, 2},
    {"one_above_max", std::size_t{max} + 1, 0, {{max, 0}, {1, 1}}, 2},
    {"twice_max", std::size_t{max} * 2, 5, {{max, 5}, {max, 6}, {0, 7}}, 8},
    {"sequence_id_wraps", max, 0xFF, {{max, 0xFF}, {0, 0}}, 1},
};

class packet_split : public ::testing::TestWithParam<split_case> {};

TEST_P(packet_split, frames_payload) {
  const auto& c = GetParam();
  bytes payload(c.payload_size);
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<std::uint8_t>(i % 251);
  bytes out = hex("aa");  // append_packets appends

  EXPECT_EQ(append_packets(out, payload, c.first_sequence_id), c.next_sequence_id);

  ASSERT_EQ(out.front(), 0xaa);
  std::span<const std::uint8_t> rest = std::span<const std::uint8_t>(out).subspan(1);
  std::vector<frame_header> packets;
  bytes reassembled;
  while (rest.size() >= frame_header_size) {
    const auto header = decode_frame_header(rest.first<frame_header_size>());
    rest = rest.subspan(frame_header_size);
    ASSERT_LE(header.payload_length, rest.size());
    reassembled.insert(reassembled.end(), rest.begin(), rest.begin() + header.payload_length);
    rest = rest.subspan(header.payload_length);
    packets.push_back(header);
  }
  EXPECT_TRUE(rest.empty());
  EXPECT_EQ(packets, c.packets);
  EXPECT_TRUE(reassembled == payload);
}

INSTANTIATE_TEST_SUITE_P(frame, packet_split, ::testing::ValuesIn(split_cases),
                         [](const auto& info) { return info.param.name; });

// Captured from MariaDB 10.11: the OK answering a client's SET, as one frame.
TEST(frame, captured_mariadb_ok_frame) {
  const auto frame = hex("07 00 00 02 | 00 00 00 02 00 00 00");
  const auto header = decode_frame_header(std::span<const std::uint8_t, 4>(frame.data(), 4));
  ASSERT_EQ(header, (frame_header{7, 2}));
  const auto ok =
      decode_ok(std::span(frame).subspan(4), capability::protocol_41 | capability::session_track);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status_flags, server_status::autocommit);

  bytes reframed;
  EXPECT_EQ(append_packets(reframed, std::span(frame).subspan(4), 2), 3);
  EXPECT_EQ(to_hex(reframed), to_hex(frame));
}

}  // namespace
}  // namespace sluice::protocol::test
