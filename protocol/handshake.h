// The connection-phase handshake: the server greeting and the client's response.
#pragma once

#include <boost/system/result.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace sluice::protocol {

// "Protocol::HandshakeV10":
//   int<1> protocol version (10), string<NUL> server version, int<4> connection id,
//   string[8] auth-plugin-data part 1, int<1> filler, int<2> capabilities (lower),
//   -- the rest may be missing (very old servers) --
//   int<1> character set, int<2> status flags, int<2> capabilities (upper),
//   int<1> auth-plugin-data length (0 without CLIENT_PLUGIN_AUTH),
//   string[6] reserved, int<4> MariaDB extended capabilities (reserved zeros in MySQL),
//   if CLIENT_SECURE_CONNECTION: string[max(13, length - 8)] auth-plugin-data part 2 (NUL-ended),
//   if CLIENT_PLUGIN_AUTH: string<NUL> auth plugin name.
struct handshake_v10 {
  std::string server_version{};
  std::uint32_t connection_id = 0;
  std::string
      auth_plugin_data{};  // the full scramble (normally 20 bytes, without the trailing NUL)
  std::uint32_t capabilities = 0;  // lower 32 bits
  // MariaDB extended caps from the reserved bytes (only meaningful when long_password bit is clear)
  std::uint32_t mariadb_capabilities = 0;
  std::uint8_t character_set = 0;
  std::uint16_t status_flags = 0;
  std::string auth_plugin_name{};

  bool operator==(const handshake_v10&) const = default;
};

// A greeting with another protocol version (an ERR packet, or protocol 9) is `unsupported`.
boost::system::result<handshake_v10> decode_handshake_v10(std::span<const std::uint8_t> payload);
// A scramble longer than the layout can carry (20 bytes without CLIENT_PLUGIN_AUTH, 254 with it)
// is cut to that length.
void encode_handshake_v10(const handshake_v10& greeting, std::vector<std::uint8_t>& out);

// "Protocol::HandshakeResponse41":
//   int<4> client capabilities, int<4> max packet size, int<1> character set, string[23] filler,
//   string<NUL> username,
//   auth response: string<lenenc> if CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA, else
//                  int<1> length + string[length] if CLIENT_SECURE_CONNECTION, else string<NUL>,
//   if CLIENT_CONNECT_WITH_DB: string<NUL> database,
//   if CLIENT_PLUGIN_AUTH: string<NUL> auth plugin name,
//   if CLIENT_CONNECT_ATTRS: int<lenenc> length, then {string<lenenc> key, string<lenenc> value}...
struct handshake_response_41 {
  std::uint32_t capabilities = 0;
  std::uint32_t max_packet_size = 0;
  std::uint8_t character_set = 0;
  std::string username{};
  std::string auth_response{};
  std::string database{};
  std::string auth_plugin_name{};
  std::vector<std::pair<std::string, std::string>> connect_attributes{};

  bool operator==(const handshake_response_41&) const = default;
};

// Field presence follows the capability field in the packet itself (the server only honours the
// flags it offered, and a well-behaved client sets no others). A 32-byte SSLRequest (ssl flag, no
// username: see decode_ssl_request) and a client without protocol_41 are `unsupported`.
boost::system::result<handshake_response_41> decode_handshake_response_41(
    std::span<const std::uint8_t> payload);
// With CLIENT_SECURE_CONNECTION (and no lenenc client data) at most 255 auth bytes are written.
void encode_handshake_response_41(const handshake_response_41& response,
                                  std::vector<std::uint8_t>& out);

// "Protocol::SSLRequest": the first 32 bytes of a HandshakeResponse41 and nothing else,
//   int<4> client capabilities (with CLIENT_SSL), int<4> max packet size, int<1> character set,
//   string[23] filler (MariaDB clients put their extended capabilities in its last 4 bytes).
// The client starts the TLS handshake right after it; the HandshakeResponse41 follows over TLS
// with the next sequence id.
struct ssl_request {
  std::uint32_t capabilities = 0;
  std::uint32_t max_packet_size = 0;
  std::uint8_t character_set = 0;

  bool operator==(const ssl_request&) const = default;
};

// A packet of another length (a full HandshakeResponse41) or without CLIENT_SSL is `unsupported`,
// so the one answer tells a login that upgrades to TLS from one that does not; without
// CLIENT_PROTOCOL_41 it is `unsupported` too (no pre-4.1 TLS).
boost::system::result<ssl_request> decode_ssl_request(std::span<const std::uint8_t> payload);
void encode_ssl_request(const ssl_request& request, std::vector<std::uint8_t>& out);

}  // namespace sluice::protocol
