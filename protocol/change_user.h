// COM_CHANGE_USER: a client re-authenticating on an open connection.
#pragma once

#include <boost/system/result.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace sluice::protocol {

// "COM_CHANGE_USER":
//   int<1> 0x11, string<NUL> username,
//   auth response: int<1> length + string[length] if CLIENT_SECURE_CONNECTION, else string<NUL>,
//   string<NUL> database,
//   -- optional from here: each field is present only if bytes remain --
//   int<2> character set,
//   if CLIENT_PLUGIN_AUTH: string<NUL> auth plugin name,
//   if CLIENT_CONNECT_ATTRS: int<lenenc> length, then {string<lenenc> key, string<lenenc> value}...
struct change_user_request {
  std::string username{};
  std::string auth_response{};
  std::string database{};
  std::uint16_t character_set = 0;
  std::string auth_plugin_name{};
  std::vector<std::pair<std::string, std::string>> connect_attributes{};

  bool operator==(const change_user_request&) const = default;
};

// `payload` starts with the command byte; `capabilities` are those negotiated on the connection.
boost::system::result<change_user_request> decode_change_user(std::span<const std::uint8_t> payload,
                                                              std::uint32_t capabilities);
// Writes every optional field the capabilities allow.
void encode_change_user(const change_user_request& request, std::uint32_t capabilities,
                        std::vector<std::uint8_t>& out);

}  // namespace sluice::protocol
