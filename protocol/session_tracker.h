// The session-state changes a server reports in OK packets under CLIENT_SESSION_TRACK.
#pragma once

#include <boost/system/result.hpp>
#include <string_view>
#include <vector>

#include "protocol/constants.h"

namespace sluice::protocol {

struct session_state_change {
  session_track type{};
  std::string_view name{};   // variable or schema name; empty for the other types
  std::string_view value{};  // views into the decoded info

  bool operator==(const session_state_change&) const = default;
};

// "Session State Information" (ok_packet::session_state_info), until the end:
//   int<1> type, string<lenenc> data, where data is
//     system_variables: {string<lenenc> name, string<lenenc> value}... (one change per pair)
//     schema: string<lenenc> name (value = name)
//     state_change: string<lenenc> "1" or "0" (MySQL), or "1" itself (MariaDB)
//     gtids: int<1> encoding specification, string<lenenc> gtids
//     transaction_characteristics / transaction_state: string<lenenc>
// Unknown types are skipped. Data that does not match its type's layout is `malformed`.
boost::system::result<std::vector<session_state_change>> decode_session_state(
    std::string_view info);

}  // namespace sluice::protocol
