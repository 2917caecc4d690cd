// Packet framing ("MySQL Packets").
#include "protocol/frame.h"

#include <algorithm>
#include <cstddef>

#include "protocol/constants.h"

namespace sluice::protocol {

frame_header decode_frame_header(std::span<const std::uint8_t, 4> bytes) {
  return {.payload_length = std::uint32_t{bytes[0]} | std::uint32_t{bytes[1]} << 8 |
                            std::uint32_t{bytes[2]} << 16,
          .sequence_id = bytes[3]};
}

void encode_frame_header(frame_header header, std::span<std::uint8_t, 4> out) {
  out[0] = static_cast<std::uint8_t>(header.payload_length);
  out[1] = static_cast<std::uint8_t>(header.payload_length >> 8);
  out[2] = static_cast<std::uint8_t>(header.payload_length >> 16);
  out[3] = header.sequence_id;
}

std::uint8_t append_packets(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> payload,
                            std::uint8_t first_sequence_id) {
  const std::size_t packets = payload.size() / max_packet_payload + 1;
  out.reserve(out.size() + payload.size() + packets * frame_header_size);
  std::uint8_t sequence_id = first_sequence_id;
  for (;;) {
    const auto chunk = payload.first(std::min<std::size_t>(payload.size(), max_packet_payload));
    std::uint8_t header[frame_header_size];
    encode_frame_header({static_cast<std::uint32_t>(chunk.size()), sequence_id++}, header);
    out.insert(out.end(), std::begin(header), std::end(header));
    out.insert(out.end(), chunk.begin(), chunk.end());
    payload = payload.subspan(chunk.size());
    // A full packet means "more follows", so the last packet must be shorter than 0xFFFFFF.
    if (chunk.size() < max_packet_payload) return sequence_id;
  }
}

}  // namespace sluice::protocol
