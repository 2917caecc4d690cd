// Fuzz target: the authentication exchanges after the handshake (protocol/auth_switch.h): a
// backend's AuthSwitchRequest and AuthMoreData.
#include <cstddef>
#include <cstdint>
#include <span>

#include "protocol/auth_switch.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sluice::protocol;
  const std::span<const std::uint8_t> payload(data, size);
  if (const auto request = decode_auth_switch_request(payload)) {
    sluice::fuzz::check_exact_round_trip(
        *request,
        [](const auth_switch_request& m, std::vector<std::uint8_t>& out) {
          encode_auth_switch_request(m, out);
        },
        [](std::span<const std::uint8_t> b) { return decode_auth_switch_request(b); });
  }
  if (const auto more = decode_auth_more_data(payload)) {
    sluice::fuzz::check_exact_round_trip(
        *more,
        [](const auth_more_data& m, std::vector<std::uint8_t>& out) {
          encode_auth_more_data(m, out);
        },
        [](std::span<const std::uint8_t> b) { return decode_auth_more_data(b); });
  }
  return 0;
}
