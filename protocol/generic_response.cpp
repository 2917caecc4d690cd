// The generic server responses: OK, ERR and EOF packets.
#include "protocol/generic_response.h"

#include "protocol/codec_errc.h"
#include "protocol/try.h"
#include "protocol/wire.h"

namespace sluice::protocol {
namespace {

constexpr std::size_t eof_max_payload = 8;
constexpr std::string_view fallback_sql_state = "HY000";

// A length-encoded string covering exactly `rest`, else `rest` itself (see ok_packet).
std::string_view lenient_info(std::string_view rest) {
  wire_reader r(rest);
  auto info = r.lenenc_string();
  return info && r.empty() ? *info : rest;
}

}  // namespace

boost::system::result<ok_packet> decode_ok(std::span<const std::uint8_t> payload,
                                           std::uint32_t capabilities) {
  wire_reader r(payload);
  ok_packet ok;
  SLUICE_TRY(const auto header, r.u8());
  const bool eof_as_ok = header == eof_header && (capabilities & capability::deprecate_eof);
  if (header != ok_header && !eof_as_ok) return codec_errc::malformed;
  SLUICE_TRY(ok.affected_rows, r.lenenc_int());
  SLUICE_TRY(ok.last_insert_id, r.lenenc_int());
  if (capabilities & capability::protocol_41) {
    SLUICE_TRY(ok.status_flags, r.u16());
    SLUICE_TRY(ok.warnings, r.u16());
  } else if (capabilities & capability::transactions) {
    SLUICE_TRY(ok.status_flags, r.u16());
  }
  if ((capabilities & capability::session_track) == 0) {
    ok.info = lenient_info(r.rest());
    return ok;
  }
  if (r.empty()) return ok;
  SLUICE_TRY(ok.info, r.lenenc_string());
  if (ok.status_flags & server_status::session_state_changed) {
    SLUICE_TRY(ok.session_state_info, r.lenenc_string());
  }
  return ok;
}

void encode_ok(const ok_packet& ok, std::uint32_t capabilities, std::vector<std::uint8_t>& out,
               std::uint8_t header) {
  wire_writer w(out);
  w.u8(header);
  w.lenenc_int(ok.affected_rows);
  w.lenenc_int(ok.last_insert_id);
  if (capabilities & capability::protocol_41) {
    w.u16(ok.status_flags);
    w.u16(ok.warnings);
  } else if (capabilities & capability::transactions) {
    w.u16(ok.status_flags);
  }
  const bool state_changed = (capabilities & capability::session_track) &&
                             (ok.status_flags & server_status::session_state_changed);
  if (!ok.info.empty() || state_changed) w.lenenc_string(ok.info);
  if (state_changed) w.lenenc_string(ok.session_state_info);
}

boost::system::result<err_packet> decode_err(std::span<const std::uint8_t> payload,
                                             std::uint32_t capabilities) {
  wire_reader r(payload);
  err_packet err;
  SLUICE_TRY(const auto header, r.u8());
  if (header != err_header) return codec_errc::malformed;
  SLUICE_TRY(err.error_code, r.u16());
  if (capabilities & capability::protocol_41) {
    wire_reader marker_probe = r;
    if (auto marker = marker_probe.u8(); marker && *marker == '#') {
      r = marker_probe;
      SLUICE_TRY(err.sql_state, r.fixed_string(fallback_sql_state.size()));
    }
  }
  err.message = r.rest();
  return err;
}

void encode_err(const err_packet& err, std::uint32_t capabilities, std::vector<std::uint8_t>& out) {
  wire_writer w(out);
  w.u8(err_header);
  w.u16(err.error_code);
  if ((capabilities & capability::protocol_41) && !err.sql_state.empty()) {
    w.u8('#');
    w.bytes(err.sql_state.size() == fallback_sql_state.size() ? std::string_view(err.sql_state)
                                                              : fallback_sql_state);
  }
  w.bytes(err.message);
}

boost::system::result<eof_packet> decode_eof(std::span<const std::uint8_t> payload,
                                             std::uint32_t capabilities) {
  if (payload.size() > eof_max_payload) return codec_errc::malformed;
  wire_reader r(payload);
  eof_packet eof;
  SLUICE_TRY(const auto header, r.u8());
  if (header != eof_header) return codec_errc::malformed;
  if (capabilities & capability::protocol_41) {
    SLUICE_TRY(eof.warnings, r.u16());
    SLUICE_TRY(eof.status_flags, r.u16());
  }
  return eof;
}

void encode_eof(const eof_packet& eof, std::uint32_t capabilities, std::vector<std::uint8_t>& out) {
  wire_writer w(out);
  w.u8(eof_header);
  if (capabilities & capability::protocol_41) {
    w.u16(eof.warnings);
    w.u16(eof.status_flags);
  }
}

}  // namespace sluice::protocol
