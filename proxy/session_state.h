// The session variables sluice keeps for each client and restores on whichever backend it gets:
// default schema, character set / collation, autocommit, the multi-statements option and the
// last insert id. Everything else that would leave session state pins the client instead.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/statement_classifier.h"

namespace sluice::proxy {

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
};

// What a backend connection's session holds; a field is unknown until sluice set or saw it.
struct backend_vars {
  std::optional<std::string> schema;
  std::optional<charset_vars> charset;
  std::optional<bool> autocommit;
  std::optional<bool> multi_statements;
  std::uint64_t last_client = 0;  // the client whose statement ran last (0: none / reset)

  void forget_all() { *this = backend_vars{}; }
};

// The commands that bring a backend's session to a client's, sent together in one round trip.
struct restore_plan {
  bool change_user = false;  // the only way to drop a default schema: re-authenticate without one
  std::optional<bool> multi_statements;  // COM_SET_OPTION
  std::optional<std::string> schema;     // COM_INIT_DB
  std::string set_statement;             // "SET a=..., b=..." or empty
  bool empty() const {
    return !change_user && !multi_statements && !schema && set_statement.empty();
  }
};

restore_plan plan_restore(const session_vars& want, const backend_vars& have,
                          bool needs_last_insert_id, std::uint64_t client_id);

// What the server's session-state tracker reported after a statement.
struct tracked_changes {
  pin_reason pin = pin_reason::none;  // a change sluice cannot restore
};

// Applies session-state blobs (OK packets' session_state_info) to a client's variables.
// `from_restore`: the blobs answer sluice's own restore, whose last_insert_id report is expected.
tracked_changes apply_session_state(const std::vector<std::string>& blobs, session_vars& vars,
                                    bool from_restore);

// Quotes a string as an SQL string literal.
std::string sql_string_literal(std::string_view s);

}  // namespace sluice::proxy
