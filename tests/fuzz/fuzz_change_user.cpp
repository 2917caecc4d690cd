// Fuzz target: COM_CHANGE_USER (protocol/change_user.h) from a client. The first byte picks the
// negotiated capabilities that decide its layout; the rest is the payload.
#include <cstddef>
#include <cstdint>
#include <span>

#include "protocol/change_user.h"
#include "protocol/constants.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sluice::protocol;
  if (size == 0) return 0;
  namespace cap = capability;
  std::uint32_t caps = cap::protocol_41;
  if (data[0] & 1) caps |= cap::secure_connection;
  if (data[0] & 2) caps |= cap::plugin_auth;
  if (data[0] & 4) caps |= cap::connect_attrs;
  const auto request = decode_change_user(std::span<const std::uint8_t>(data + 1, size - 1), caps);
  if (!request) return 0;
  const auto encode = [caps](const change_user_request& m, std::vector<std::uint8_t>& out) {
    encode_change_user(m, caps, out);
  };
  const auto decode = [caps](std::span<const std::uint8_t> b) {
    return decode_change_user(b, caps);
  };
  sluice::fuzz::check_exact_round_trip(*request, encode, decode);
  sluice::fuzz::check_round_trip(*request, encode, decode);
  return 0;
}
