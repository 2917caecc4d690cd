// The connection-phase handshake: the server greeting and the client's response.
#include "protocol/handshake.h"

#include <algorithm>

#include "protocol/codec_errc.h"
#include "protocol/connect_attributes.h"
#include "protocol/constants.h"
#include "protocol/try.h"
#include "protocol/wire.h"

namespace sluice::protocol {
namespace {

constexpr std::uint8_t protocol_version = 10;
constexpr std::size_t scramble_part1_size = 8;
constexpr std::size_t scramble_part2_min_size = 13;  // includes the trailing NUL
constexpr std::size_t greeting_reserved_size = 6;    // then 4 bytes of MariaDB capabilities
constexpr std::size_t response_filler_size = 23;
constexpr std::size_t ssl_request_size = 4 + 4 + 1 + response_filler_size;

}  // namespace

boost::system::result<handshake_v10> decode_handshake_v10(std::span<const std::uint8_t> payload) {
  wire_reader r(payload);
  handshake_v10 g;
  SLUICE_TRY(const auto version, r.u8());
  if (version != protocol_version) return codec_errc::unsupported;
  SLUICE_TRY(g.server_version, r.null_terminated_string());
  SLUICE_TRY(g.connection_id, r.u32());
  SLUICE_TRY(g.auth_plugin_data, r.fixed_string(scramble_part1_size));
  if (auto filler = r.skip(1); !filler) return filler.error();
  SLUICE_TRY(const auto caps_lower, r.u16());
  g.capabilities = caps_lower;
  if (r.empty()) return g;

  SLUICE_TRY(g.character_set, r.u8());
  SLUICE_TRY(g.status_flags, r.u16());
  SLUICE_TRY(const auto caps_upper, r.u16());
  g.capabilities |= std::uint32_t{caps_upper} << 16;
  SLUICE_TRY(const auto scramble_length, r.u8());
  if (auto reserved = r.skip(greeting_reserved_size); !reserved) return reserved.error();
  SLUICE_TRY(const auto mariadb_caps, r.u32());
  // MariaDB reuses these reserved bytes and says so by clearing CLIENT_LONG_PASSWORD.
  if ((g.capabilities & capability::long_password) == 0) g.mariadb_capabilities = mariadb_caps;

  if (g.capabilities & capability::secure_connection) {
    const std::size_t part2_size = std::max<std::size_t>(
        scramble_part2_min_size,
        scramble_length > scramble_part1_size ? scramble_length - scramble_part1_size : 0);
    SLUICE_TRY(auto part2, r.fixed_string(part2_size));
    if (part2.ends_with('\0')) part2.remove_suffix(1);
    g.auth_plugin_data += part2;
  }
  if (g.capabilities & capability::plugin_auth) {
    SLUICE_TRY(g.auth_plugin_name, r.null_terminated_string());
  }
  return g;
}

void encode_handshake_v10(const handshake_v10& g, std::vector<std::uint8_t>& out) {
  wire_writer w(out);
  // The layout carries at most 20 bytes of scramble without CLIENT_PLUGIN_AUTH (readers take 12
  // of part 2), and with it no more than its length byte (8 + part 2 + NUL <= 255) describes.
  const std::size_t carried = (g.capabilities & capability::plugin_auth)
                                  ? 255 - 1
                                  : scramble_part1_size + scramble_part2_min_size - 1;
  const std::string_view scramble = std::string_view(g.auth_plugin_data).substr(0, carried);
  const auto part1 = scramble.substr(0, scramble_part1_size);
  const auto part2 = scramble.substr(part1.size());
  const std::size_t part2_size = std::max(scramble_part2_min_size, part2.size() + 1);

  w.u8(protocol_version);
  w.null_terminated_string(g.server_version);
  w.u32(g.connection_id);
  w.bytes(part1);
  w.zeros(scramble_part1_size - part1.size() + 1);  // pad part 1, then the filler
  w.u16(static_cast<std::uint16_t>(g.capabilities));
  w.u8(g.character_set);
  w.u16(g.status_flags);
  w.u16(static_cast<std::uint16_t>(g.capabilities >> 16));
  w.u8(g.capabilities & capability::plugin_auth
           ? static_cast<std::uint8_t>(scramble_part1_size + part2_size)
           : 0);
  w.zeros(greeting_reserved_size);
  w.u32(g.capabilities & capability::long_password ? 0 : g.mariadb_capabilities);
  if (g.capabilities & capability::secure_connection) {
    w.bytes(part2);
    w.zeros(part2_size - part2.size());
  }
  if (g.capabilities & capability::plugin_auth) w.null_terminated_string(g.auth_plugin_name);
}

boost::system::result<handshake_response_41> decode_handshake_response_41(
    std::span<const std::uint8_t> payload) {
  wire_reader r(payload);
  handshake_response_41 m;
  SLUICE_TRY(m.capabilities, r.u32());
  if ((m.capabilities & capability::protocol_41) == 0) return codec_errc::unsupported;
  SLUICE_TRY(m.max_packet_size, r.u32());
  SLUICE_TRY(m.character_set, r.u8());
  if (auto filler = r.skip(response_filler_size); !filler) return filler.error();
  // "Protocol::SSLRequest" is this packet cut short after the filler.
  if ((m.capabilities & capability::ssl) && r.empty()) return codec_errc::unsupported;
  SLUICE_TRY(m.username, r.null_terminated_string());

  if (m.capabilities & capability::plugin_auth_lenenc_client_data) {
    SLUICE_TRY(m.auth_response, r.lenenc_string());
  } else if (m.capabilities & capability::secure_connection) {
    SLUICE_TRY(const auto length, r.u8());
    SLUICE_TRY(m.auth_response, r.fixed_string(length));
  } else {
    SLUICE_TRY(m.auth_response, r.null_terminated_string());
  }
  if (m.capabilities & capability::connect_with_db) {
    SLUICE_TRY(m.database, r.null_terminated_string());
  }
  if (m.capabilities & capability::plugin_auth) {
    SLUICE_TRY(m.auth_plugin_name, r.null_terminated_string());
  }
  if (m.capabilities & capability::connect_attrs) {
    SLUICE_TRY(m.connect_attributes, decode_connect_attributes(r));
  }
  return m;
}

namespace {

// The 32 bytes a HandshakeResponse41 and an SSLRequest both begin with.
void write_response_prefix(wire_writer& w, std::uint32_t capabilities,
                           std::uint32_t max_packet_size, std::uint8_t character_set) {
  w.u32(capabilities);
  w.u32(max_packet_size);
  w.u8(character_set);
  w.zeros(response_filler_size);
}

}  // namespace

void encode_handshake_response_41(const handshake_response_41& m, std::vector<std::uint8_t>& out) {
  wire_writer w(out);
  write_response_prefix(w, m.capabilities, m.max_packet_size, m.character_set);
  w.null_terminated_string(m.username);
  if (m.capabilities & capability::plugin_auth_lenenc_client_data) {
    w.lenenc_string(m.auth_response);
  } else if (m.capabilities & capability::secure_connection) {
    const auto auth = std::string_view(m.auth_response).substr(0, 0xFF);
    w.u8(static_cast<std::uint8_t>(auth.size()));
    w.bytes(auth);
  } else {
    w.null_terminated_string(m.auth_response);
  }
  if (m.capabilities & capability::connect_with_db) w.null_terminated_string(m.database);
  if (m.capabilities & capability::plugin_auth) w.null_terminated_string(m.auth_plugin_name);
  if (m.capabilities & capability::connect_attrs)
    encode_connect_attributes(m.connect_attributes, w);
}

boost::system::result<ssl_request> decode_ssl_request(std::span<const std::uint8_t> payload) {
  wire_reader r(payload);
  ssl_request m;
  SLUICE_TRY(m.capabilities, r.u32());
  SLUICE_TRY(m.max_packet_size, r.u32());
  SLUICE_TRY(m.character_set, r.u8());
  if (auto filler = r.skip(response_filler_size); !filler) return filler.error();
  if (payload.size() != ssl_request_size) return codec_errc::unsupported;
  if ((m.capabilities & capability::ssl) == 0 || (m.capabilities & capability::protocol_41) == 0)
    return codec_errc::unsupported;
  return m;
}

void encode_ssl_request(const ssl_request& m, std::vector<std::uint8_t>& out) {
  wire_writer w(out);
  write_response_prefix(w, m.capabilities, m.max_packet_size, m.character_set);
}

}  // namespace sluice::protocol
