// The session-state changes a server reports in OK packets under CLIENT_SESSION_TRACK.
#include "protocol/session_tracker.h"

#include "protocol/codec_errc.h"
#include "protocol/try.h"
#include "protocol/wire.h"

namespace sluice::protocol {
namespace {

// Appends the changes one entry's data describes; false if the data does not fit its type.
bool decode_entry(session_track type, wire_reader data, std::vector<session_state_change>& out) {
  switch (type) {
    case session_track::system_variables:
      do {
        auto name = data.lenenc_string();
        auto value = name ? data.lenenc_string() : name;
        if (!value) return false;
        out.push_back({type, *name, *value});
      } while (!data.empty());
      return true;
    case session_track::schema: {
      auto name = data.lenenc_string();
      if (!name) return false;
      out.push_back({type, *name, *name});
      return true;
    }
    case session_track::state_change: {
      // MySQL's documentation puts a length-encoded "1" in the data (02 02 01 31); MariaDB 10.11
      // sends the flag itself (02 01 31). Both are read.
      const std::string_view raw = data.rest();
      if (raw.size() >= 1 && static_cast<unsigned char>(raw[0]) == raw.size() - 1) {
        out.push_back({type, {}, raw.substr(1)});
      } else {
        out.push_back({type, {}, raw});
      }
      return true;
    }
    case session_track::gtids:
      if (!data.skip(1)) return false;  // encoding specification
      [[fallthrough]];
    case session_track::transaction_characteristics:
    case session_track::transaction_state: {
      auto value = data.lenenc_string();
      if (!value) return false;
      out.push_back({type, {}, *value});
      return true;
    }
  }
  return true;  // a type from a newer server: nothing the proxy can act on
}

}  // namespace

boost::system::result<std::vector<session_state_change>> decode_session_state(
    std::string_view info) {
  wire_reader r(info);
  std::vector<session_state_change> changes;
  while (!r.empty()) {
    SLUICE_TRY(const auto type, r.u8());
    SLUICE_TRY(const auto data, r.lenenc_string());
    if (!decode_entry(static_cast<session_track>(type), wire_reader(data), changes)) {
      return codec_errc::malformed;
    }
  }
  return changes;
}

}  // namespace sluice::protocol
