// Decoding a small text result set.
#include "protocol/text_resultset.h"

#include "protocol/codec_errc.h"
#include "protocol/constants.h"
#include "protocol/frame.h"
#include "protocol/wire.h"

namespace sluice::protocol {
namespace {

// Splits the framed bytes into payloads.
boost::system::result<std::vector<std::span<const std::uint8_t>>> packets_of(
    std::span<const std::uint8_t> framed) {
  std::vector<std::span<const std::uint8_t>> packets;
  while (!framed.empty()) {
    if (framed.size() < frame_header_size) return codec_errc::truncated;
    const auto header =
        decode_frame_header(std::span<const std::uint8_t, frame_header_size>(framed.data(), 4));
    if (header.payload_length >= max_packet_payload) return codec_errc::unsupported;
    if (framed.size() - frame_header_size < header.payload_length) return codec_errc::truncated;
    packets.push_back(framed.subspan(frame_header_size, header.payload_length));
    framed = framed.subspan(frame_header_size + header.payload_length);
  }
  return packets;
}

bool is_eof(std::span<const std::uint8_t> payload) {
  return !payload.empty() && payload[0] == eof_header && payload.size() < 9;
}

}  // namespace

boost::system::result<std::vector<text_row>> decode_text_resultset(
    std::span<const std::uint8_t> framed) {
  auto packets = packets_of(framed);
  if (!packets) return packets.error();
  if (packets->empty()) return codec_errc::truncated;
  const auto& all = *packets;
  if (all[0].empty() || all[0][0] == err_header || all[0][0] == ok_header)
    return codec_errc::unsupported;
  wire_reader head(all[0]);
  auto columns = head.lenenc_int();
  if (!columns || *columns == 0 || !head.empty()) return codec_errc::malformed;
  // Column definitions, then the EOF that ends them.
  if (all.size() < *columns + 2) return codec_errc::truncated;
  std::size_t i = 1 + static_cast<std::size_t>(*columns);
  if (!is_eof(all[i])) return codec_errc::malformed;
  std::vector<text_row> rows;
  for (++i; i < all.size(); ++i) {
    const auto payload = all[i];
    if (is_eof(payload)) {
      if (i + 1 != all.size()) return codec_errc::malformed;
      return rows;
    }
    if (!payload.empty() && payload[0] == err_header) return codec_errc::unsupported;
    wire_reader reader(payload);
    text_row row;
    row.reserve(static_cast<std::size_t>(*columns));
    for (std::uint64_t c = 0; c < *columns; ++c) {
      if (!reader.empty() && payload[reader.consumed()] == 0xFB) {
        (void)reader.skip(1);
        row.emplace_back(std::nullopt);
        continue;
      }
      auto value = reader.lenenc_string();
      if (!value) return codec_errc::malformed;
      row.emplace_back(std::string(*value));
    }
    if (!reader.empty()) return codec_errc::malformed;
    rows.push_back(std::move(row));
  }
  return codec_errc::truncated;  // no EOF after the rows
}

}  // namespace sluice::protocol
