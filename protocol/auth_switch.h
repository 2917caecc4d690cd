// Authentication-phase exchanges after the handshake: AuthSwitchRequest and AuthMoreData.
#pragma once

#include <boost/system/result.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace sluice::protocol {

// "Protocol::AuthSwitchRequest":
//   int<1> 0xFE, string<NUL> plugin name, string<EOF> plugin data.
// Servers end the data with a NUL that is not part of the scramble: decode drops one trailing NUL
// and encode appends it. A bare 0xFE (the pre-4.1 "OldAuthSwitchRequest") is `unsupported`.
struct auth_switch_request {
  std::string plugin_name{};
  std::string plugin_data{};

  bool operator==(const auth_switch_request&) const = default;
};

boost::system::result<auth_switch_request> decode_auth_switch_request(
    std::span<const std::uint8_t> payload);
void encode_auth_switch_request(const auth_switch_request& request, std::vector<std::uint8_t>& out);

// "Protocol::AuthMoreData": int<1> 0x01, string<EOF> data.
struct auth_more_data {
  std::string data{};

  bool operator==(const auth_more_data&) const = default;
};

boost::system::result<auth_more_data> decode_auth_more_data(std::span<const std::uint8_t> payload);
void encode_auth_more_data(const auth_more_data& more, std::vector<std::uint8_t>& out);

}  // namespace sluice::protocol
