// Fuzz target: the client's HandshakeResponse41 with its connection attributes
// (protocol/handshake.h, connect_attributes.h), the first bytes a client sends after the greeting.
#include <cstddef>
#include <cstdint>
#include <span>

#include "protocol/handshake.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sluice::protocol;
  const auto response = decode_handshake_response_41(std::span<const std::uint8_t>(data, size));
  if (!response) return 0;
  const auto encode = [](const handshake_response_41& m, std::vector<std::uint8_t>& out) {
    encode_handshake_response_41(m, out);
  };
  const auto decode = [](std::span<const std::uint8_t> b) {
    return decode_handshake_response_41(b);
  };
  // Every field the decoder reads, the encoder writes back under the same capabilities.
  sluice::fuzz::check_exact_round_trip(*response, encode, decode);
  sluice::fuzz::check_round_trip(*response, encode, decode);
  return 0;
}
