// The generic server responses: OK, ERR and EOF packets.
#pragma once

#include <boost/system/result.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/constants.h"

namespace sluice::protocol {

// "OK_Packet":
//   int<1> header 0x00 (0xFE when it replaces an EOF under CLIENT_DEPRECATE_EOF),
//   int<lenenc> affected rows, int<lenenc> last insert id,
//   if CLIENT_PROTOCOL_41: int<2> status flags, int<2> warnings
//   else if CLIENT_TRANSACTIONS: int<2> status flags,
//   if CLIENT_SESSION_TRACK:
//     (only if status has SESSION_STATE_CHANGED or info is not empty) string<lenenc> info,
//     if status has SESSION_STATE_CHANGED: string<lenenc> session state info
//   else: string<EOF> info.
// MySQL and MariaDB write `info` length-encoded even without CLIENT_SESSION_TRACK, so the decoder
// takes a length-encoded string when it spans exactly the rest of the packet, else the raw rest.
struct ok_packet {
  std::uint64_t affected_rows = 0, last_insert_id = 0;
  std::uint16_t status_flags = 0, warnings = 0;
  std::string_view info{};                // views into the payload
  std::string_view session_state_info{};  // see session_state.h

  bool operator==(const ok_packet&) const = default;
};

boost::system::result<ok_packet> decode_ok(std::span<const std::uint8_t> payload,
                                           std::uint32_t capabilities);
// `header` is ok_header, or eof_header for the OK that ends a result set under DEPRECATE_EOF.
void encode_ok(const ok_packet& ok, std::uint32_t capabilities, std::vector<std::uint8_t>& out,
               std::uint8_t header = ok_header);

// "ERR_Packet":
//   int<1> header 0xFF, int<2> error code,
//   if CLIENT_PROTOCOL_41: string[1] '#' marker, string[5] sql state,
//   string<EOF> error message.
// Servers omit the marker and state before they know the client's capabilities, so the decoder
// also accepts an ERR without '#' under CLIENT_PROTOCOL_41 (sql_state stays empty).
struct err_packet {
  std::uint16_t error_code = 0;
  std::string sql_state{};  // 5 characters, or empty
  std::string message{};

  bool operator==(const err_packet&) const = default;
};

boost::system::result<err_packet> decode_err(std::span<const std::uint8_t> payload,
                                             std::uint32_t capabilities);
// With CLIENT_PROTOCOL_41 a non-empty sql_state that is not 5 characters is written as "HY000".
void encode_err(const err_packet& err, std::uint32_t capabilities, std::vector<std::uint8_t>& out);

// "EOF_Packet":
//   int<1> header 0xFE, if CLIENT_PROTOCOL_41: int<2> warnings, int<2> status flags.
// A 0xFE packet of 9 bytes or more is a row or an OK, not an EOF, and is `malformed` here.
struct eof_packet {
  std::uint16_t warnings = 0, status_flags = 0;

  bool operator==(const eof_packet&) const = default;
};

boost::system::result<eof_packet> decode_eof(std::span<const std::uint8_t> payload,
                                             std::uint32_t capabilities);
void encode_eof(const eof_packet& eof, std::uint32_t capabilities, std::vector<std::uint8_t>& out);

}  // namespace sluice::protocol
