// COM_CHANGE_USER: a client re-authenticating on an open connection.
#include "protocol/change_user.h"

#include "protocol/codec_errc.h"
#include "protocol/connect_attributes.h"
#include "protocol/constants.h"
#include "protocol/try.h"
#include "protocol/wire.h"

namespace sluice::protocol {

boost::system::result<change_user_request> decode_change_user(std::span<const std::uint8_t> payload,
                                                              std::uint32_t capabilities) {
  wire_reader r(payload);
  change_user_request m;
  SLUICE_TRY(const auto header, r.u8());
  if (header != static_cast<std::uint8_t>(command::change_user)) return codec_errc::malformed;
  SLUICE_TRY(m.username, r.null_terminated_string());
  if (capabilities & capability::secure_connection) {
    SLUICE_TRY(const auto length, r.u8());
    SLUICE_TRY(m.auth_response, r.fixed_string(length));
  } else {
    SLUICE_TRY(m.auth_response, r.null_terminated_string());
  }
  SLUICE_TRY(m.database, r.null_terminated_string());
  if (r.empty()) return m;
  SLUICE_TRY(m.character_set, r.u16());
  if ((capabilities & capability::plugin_auth) && !r.empty()) {
    SLUICE_TRY(m.auth_plugin_name, r.null_terminated_string());
  }
  if ((capabilities & capability::connect_attrs) && !r.empty()) {
    SLUICE_TRY(m.connect_attributes, decode_connect_attributes(r));
  }
  return m;
}

void encode_change_user(const change_user_request& m, std::uint32_t capabilities,
                        std::vector<std::uint8_t>& out) {
  wire_writer w(out);
  w.u8(static_cast<std::uint8_t>(command::change_user));
  w.null_terminated_string(m.username);
  if (capabilities & capability::secure_connection) {
    const auto auth = std::string_view(m.auth_response).substr(0, 0xFF);
    w.u8(static_cast<std::uint8_t>(auth.size()));
    w.bytes(auth);
  } else {
    w.null_terminated_string(m.auth_response);
  }
  w.null_terminated_string(m.database);
  w.u16(m.character_set);
  if (capabilities & capability::plugin_auth) w.null_terminated_string(m.auth_plugin_name);
  if (capabilities & capability::connect_attrs) encode_connect_attributes(m.connect_attributes, w);
}

}  // namespace sluice::protocol
