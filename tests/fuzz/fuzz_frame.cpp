// Fuzz target: packet framing (protocol/frame.h). Any four bytes are a header, and whatever
// complete packets the input holds, framed again by append_packets, read back the same.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "protocol/constants.h"
#include "protocol/frame.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace sluice::protocol;
using sluice::fuzz::check;

struct reassembly {
  std::vector<std::vector<std::uint8_t>> payloads;  // complete messages only
  std::vector<std::uint8_t> sequence_ids;           // of every packet read
  std::size_t used = 0;                             // bytes of the complete messages
};

// Joins packets into payloads the way a reader must: a 0xFFFFFF-byte packet continues in the
// next one ("Sending More Than 16Mb").
reassembly reassemble(std::span<const std::uint8_t> stream) {
  reassembly r;
  std::vector<std::uint8_t> current;
  std::size_t at = 0;
  while (stream.size() - at >= frame_header_size) {
    const auto header = decode_frame_header(stream.subspan(at).first<frame_header_size>());
    const auto payload = stream.subspan(at + frame_header_size);
    if (payload.size() < header.payload_length) break;
    current.insert(current.end(), payload.begin(), payload.begin() + header.payload_length);
    r.sequence_ids.push_back(header.sequence_id);
    at += frame_header_size + header.payload_length;
    if (header.payload_length < max_packet_payload) {
      r.payloads.push_back(std::move(current));
      current.clear();
      r.used = at;
    }
  }
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  if (size >= frame_header_size) {
    const auto header = decode_frame_header(input.first<frame_header_size>());
    check(header.payload_length <= max_packet_payload, "a header holds 24 bits of length");
    std::array<std::uint8_t, frame_header_size> again{};
    encode_frame_header(header, again);
    check(std::ranges::equal(again, input.first<frame_header_size>()),
          "encode_frame_header(decode_frame_header(h)) == h");
  }

  // The input as a stream of packets: its complete messages, framed again, read back the same.
  const reassembly read = reassemble(input);
  check(read.used <= size, "reassembly stays inside the stream");
  const std::uint8_t first_id = size > 0 ? data[0] : 0;
  std::vector<std::uint8_t> framed;
  std::uint8_t next_id = first_id;
  for (const auto& payload : read.payloads) {
    const std::size_t before = framed.size();
    const std::size_t packets = payload.size() / max_packet_payload + 1;
    const std::uint8_t returned = append_packets(framed, payload, next_id);
    check(returned == static_cast<std::uint8_t>(next_id + packets),
          "append_packets returns the next sequence id");
    check(framed.size() - before == payload.size() + packets * frame_header_size,
          "append_packets writes one header per packet");
    next_id = returned;
  }
  const reassembly back = reassemble(framed);
  check(back.used == framed.size(), "everything append_packets writes is complete");
  check(back.payloads == read.payloads, "reassemble(append_packets(p)) == p");
  for (std::size_t i = 0; i < back.sequence_ids.size(); ++i)
    check(back.sequence_ids[i] == static_cast<std::uint8_t>(first_id + i),
          "sequence ids count up from the first");

  // The whole input as one payload.
  std::vector<std::uint8_t> one;
  append_packets(one, input, 0);
  const reassembly whole = reassemble(one);
  check(whole.payloads.size() == 1 && std::ranges::equal(whole.payloads[0], input),
        "one payload framed reads back as itself");
  return 0;
}
