// The session state sluice keeps for each client and restores on whichever backend it gets:
// default schema, character set / collation, autocommit, the multi-statements option, the last
// insert id, every other session system variable the server's tracker reported, and user
// variables set to literals. What cannot be restored pins the client instead (session_pins).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sql/pin_reason.h"

namespace sluice::session {

using sql::pin_reason;

// The character set variables, in the order a restore must set them (character_set_connection
// before collation_connection, which it would otherwise reset). A value is either a name the
// server's session tracker reported, or "#N": set from collation id N (a handshake's), which is
// what a server does with a client's handshake collation.
struct charset_vars {
  static constexpr const char* names[4] = {"character_set_client", "character_set_results",
                                           "character_set_connection", "collation_connection"};
  std::string values[4];
  static charset_vars from_collation_id(std::uint16_t id);
  bool operator==(const charset_vars&) const = default;
};

struct session_vars {
  std::string schema;  // "" = no default schema
  charset_vars charset;
  bool autocommit = true;
  bool multi_statements = false;
  std::uint64_t last_insert_id = 0;
  // Other session system variables the client changed: lower-case name -> value as reported.
  std::map<std::string, std::string> system;
  // User variables with a replayable value: lower-case name -> SQL literal.
  std::map<std::string, std::string> user;
};

// The value a backend's user variable has that no literal can reproduce (it lives only there).
inline constexpr std::string_view opaque_value = "\x01opaque";

// What a backend connection's session holds; a field is unknown until sluice set or saw it.
struct backend_vars {
  std::optional<std::string> schema;
  std::optional<charset_vars> charset;
  std::optional<bool> autocommit;
  std::optional<bool> multi_statements;
  // LAST_INSERT_ID() of the session as sluice last saw it set (by an insert's OK packet or a
  // restore); 0 in a new or reset session.
  std::optional<std::uint64_t> last_insert_id = 0;
  // System variables that differ from the connection's defaults, and user variables it holds.
  // Both are always known: empty after connecting and after a reset.
  std::map<std::string, std::string> system;
  std::map<std::string, std::string> user;

  // After COM_RESET_CONNECTION / COM_CHANGE_USER: variables are back to their defaults and the
  // rest is learnt again.
  void forget_all() { *this = backend_vars{}; }
};

// What the server's session-state tracker reported after a statement.
struct tracked_changes {
  pin_reason pin = pin_reason::none;  // a change sluice cannot restore
  bool reported_anything = false;     // variables or the schema were reported
  bool state_changed = false;         // the "session state changed" tracker fired
  bool last_insert_id_reported = false;
  // The transaction-characteristics tracker: nullopt when silent, else its statement text ("" once
  // the characteristics were used up).
  std::optional<std::string> transaction_characteristics;
};

// Applies session-state blobs (OK packets' session_state_info) to a client's variables.
tracked_changes apply_session_state(const std::vector<std::string>& blobs, session_vars& vars);

}  // namespace sluice::session
