// COM_STMT_PREPARE_OK: the server's answer to a successful COM_STMT_PREPARE.
#include "protocol/stmt_prepare_ok.h"

#include "protocol/codec_errc.h"
#include "protocol/constants.h"
#include "protocol/try.h"
#include "protocol/wire.h"

namespace sluice::protocol {

boost::system::result<stmt_prepare_ok> decode_stmt_prepare_ok(
    std::span<const std::uint8_t> payload) {
  wire_reader r(payload);
  stmt_prepare_ok ok;
  SLUICE_TRY(const auto header, r.u8());
  if (header != ok_header) return codec_errc::malformed;
  SLUICE_TRY(ok.statement_id, r.u32());
  SLUICE_TRY(ok.num_columns, r.u16());
  SLUICE_TRY(ok.num_params, r.u16());
  if (auto filler = r.skip(1); !filler) return filler.error();
  if (!r.empty()) {
    SLUICE_TRY(ok.warnings, r.u16());
  }
  return ok;
}

void encode_stmt_prepare_ok(const stmt_prepare_ok& ok, std::vector<std::uint8_t>& out) {
  wire_writer w(out);
  w.u8(ok_header);
  w.u32(ok.statement_id);
  w.u16(ok.num_columns);
  w.u16(ok.num_params);
  w.u8(0);
  w.u16(ok.warnings);
}

}  // namespace sluice::protocol
