// The commands that bring a backend connection's session to a client's: only what differs, sent
// together in one round trip (COM_SET_OPTION, COM_INIT_DB, one SET), and how values read as SQL.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "session/collations.h"
#include "session/session_vars.h"

namespace sluice::session {

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

// `collations` resolves handshake collation ids ("#N" values) to the names the server knows.
restore_plan plan_restore(const session_vars& want, const backend_vars& have,
                          bool needs_last_insert_id, const collation_table& collations);

// A character set variable's value as SQL. "#N" is collation id N, resolved through `collations`
// as the server resolves a handshake's id (an id it does not know means the server's defaults);
// "null" is NULL.
std::string charset_value_sql(const std::string& value, int variable,
                              const collation_table& collations);

// Quotes a string as an SQL string literal.
std::string sql_string_literal(std::string_view s);

}  // namespace sluice::session
