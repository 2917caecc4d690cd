// Fuzz target: the packets a backend answers a command with (protocol/generic_response.h,
// stmt_prepare_ok.h): OK, ERR, EOF and COM_STMT_PREPARE_OK. The first byte picks the negotiated
// capabilities; the rest is one payload, offered to every decoder.
#include <cstddef>
#include <cstdint>
#include <span>

#include "protocol/constants.h"
#include "protocol/generic_response.h"
#include "protocol/session_tracker.h"
#include "protocol/stmt_prepare_ok.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sluice::protocol;
  using sluice::fuzz::check;
  if (size == 0) return 0;
  namespace cap = capability;
  std::uint32_t caps = 0;
  if (data[0] & 1) caps |= cap::protocol_41;
  if (data[0] & 2) caps |= cap::transactions;
  if (data[0] & 4) caps |= cap::session_track;
  if (data[0] & 8) caps |= cap::deprecate_eof;
  const std::span<const std::uint8_t> payload(data + 1, size - 1);

  if (const auto ok = decode_ok(payload, caps)) {
    check(sluice::fuzz::inside(ok->info, payload), "info views into the payload");
    check(sluice::fuzz::inside(ok->session_state_info, payload), "state views into the payload");
    (void)decode_session_state(ok->session_state_info);
    // Not exact: without CLIENT_SESSION_TRACK any rest of the packet is a valid info.
    sluice::fuzz::check_round_trip(
        *ok,
        [caps](const ok_packet& m, std::vector<std::uint8_t>& out) { encode_ok(m, caps, out); },
        [caps](std::span<const std::uint8_t> b) { return decode_ok(b, caps); });
  }
  if (const auto err = decode_err(payload, caps)) {
    sluice::fuzz::check_exact_round_trip(
        *err,
        [caps](const err_packet& m, std::vector<std::uint8_t>& out) { encode_err(m, caps, out); },
        [caps](std::span<const std::uint8_t> b) { return decode_err(b, caps); });
  }
  if (const auto eof = decode_eof(payload, caps)) {
    sluice::fuzz::check_exact_round_trip(
        *eof,
        [caps](const eof_packet& m, std::vector<std::uint8_t>& out) { encode_eof(m, caps, out); },
        [caps](std::span<const std::uint8_t> b) { return decode_eof(b, caps); });
  }
  if (const auto prepared = decode_stmt_prepare_ok(payload)) {
    sluice::fuzz::check_exact_round_trip(
        *prepared,
        [](const stmt_prepare_ok& m, std::vector<std::uint8_t>& out) {
          encode_stmt_prepare_ok(m, out);
        },
        [](std::span<const std::uint8_t> b) { return decode_stmt_prepare_ok(b); });
  }
  return 0;
}
