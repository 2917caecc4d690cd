// Why a client keeps its backend connection between statements: one word per reason, used as the
// log word, the admin column and the metric label.
#pragma once

#include <cstdint>
#include <string_view>

namespace sluice::sql {

enum class pin_reason : std::uint8_t {
  none,
  user_variable,
  temporary_table,
  table_lock,
  named_lock,
  prepared_statement,
  cursor,
  long_data,
  found_rows,
  session_variable,
  next_transaction,
  xa_transaction,
  handler,
  session_state,
};

std::string_view to_string(pin_reason reason);

}  // namespace sluice::sql
