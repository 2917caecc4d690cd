// Authentication-phase exchanges after the handshake: AuthSwitchRequest and AuthMoreData.
#include "protocol/auth_switch.h"

#include "protocol/codec_errc.h"
#include "protocol/constants.h"
#include "protocol/try.h"
#include "protocol/wire.h"

namespace sluice::protocol {

boost::system::result<auth_switch_request> decode_auth_switch_request(
    std::span<const std::uint8_t> payload) {
  wire_reader r(payload);
  auth_switch_request request;
  SLUICE_TRY(const auto header, r.u8());
  if (header != auth_switch_header) return codec_errc::malformed;
  if (r.empty()) return codec_errc::unsupported;
  SLUICE_TRY(request.plugin_name, r.null_terminated_string());
  auto data = r.rest();
  if (data.ends_with('\0')) data.remove_suffix(1);
  request.plugin_data = data;
  return request;
}

void encode_auth_switch_request(const auth_switch_request& request,
                                std::vector<std::uint8_t>& out) {
  wire_writer w(out);
  w.u8(auth_switch_header);
  w.null_terminated_string(request.plugin_name);
  w.null_terminated_string(request.plugin_data);
}

boost::system::result<auth_more_data> decode_auth_more_data(std::span<const std::uint8_t> payload) {
  wire_reader r(payload);
  SLUICE_TRY(const auto header, r.u8());
  if (header != auth_more_data_header) return codec_errc::malformed;
  return auth_more_data{std::string(r.rest())};
}

void encode_auth_more_data(const auth_more_data& more, std::vector<std::uint8_t>& out) {
  wire_writer w(out);
  w.u8(auth_more_data_header);
  w.bytes(more.data);
}

}  // namespace sluice::protocol
