// Decides from a query's text whether it pins the client to its backend connection.
#pragma once

#include <cstdint>
#include <string_view>

namespace sluice::proxy {

// Why a client session keeps its backend connection. The word is the log word and metric label.
enum class pin_reason : std::uint8_t {
  none,
  user_variable,
  temporary_table,
  table_lock,
  named_lock,
  prepared_statement,
  binary_prepared_statement,
  found_rows,
  session_variable,
  next_transaction,
  xa_transaction,
  handler,
  session_state,
};

std::string_view to_string(pin_reason reason);

struct statement_traits {
  pin_reason pin = pin_reason::none;      // the first pinning construct found
  bool uses_last_insert_id = false;       // LAST_INSERT_ID() with no argument, @@identity
  bool reads_previous_statement = false;  // SHOW WARNINGS/ERRORS, @@warning_count, FOUND_ROWS()...
  bool starts_transaction = false;        // BEGIN [WORK], START TRANSACTION; not BEGIN NOT ATOMIC

  bool operator==(const statement_traits&) const = default;
};

// Classifies one COM_QUERY text, which may hold several ';'-separated statements: the first pin
// found wins and the flags are OR'ed. Pure (no I/O, no allocation).
//
// Setting the default schema, the character set variables and autocommit does not pin: sluice
// restores those itself on every lease. When the text is ambiguous the answer errs towards
// pinning, which costs multiplexing, never correctness.
statement_traits classify_statement(std::string_view sql);

}  // namespace sluice::proxy
