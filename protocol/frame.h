// Packet framing ("MySQL Packets"): the 4-byte header and splitting payloads into packets.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace sluice::protocol {

// int<3> payload_length, int<1> sequence_id.
struct frame_header {
  std::uint32_t payload_length;
  std::uint8_t sequence_id;

  bool operator==(const frame_header&) const = default;
};

frame_header decode_frame_header(std::span<const std::uint8_t, 4> bytes);
// Only the low 24 bits of payload_length are written.
void encode_frame_header(frame_header header, std::span<std::uint8_t, 4> out);

// Appends `payload` as one or more packets starting at `first_sequence_id`: payloads of 0xFFFFFF
// bytes or more are split, and a payload whose length is an exact multiple of 0xFFFFFF (including
// exactly 0xFFFFFF) is followed by an empty packet ("Sending More Than 16Mb").
// Returns the sequence id the next packet would use (wrapping mod 256).
std::uint8_t append_packets(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> payload,
                            std::uint8_t first_sequence_id);

}  // namespace sluice::protocol
