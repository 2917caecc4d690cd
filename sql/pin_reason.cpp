// The words of the pin reasons.
#include "sql/pin_reason.h"

namespace sluice::sql {

std::string_view to_string(pin_reason reason) {
  switch (reason) {
    case pin_reason::none:
      return "none";
    case pin_reason::user_variable:
      return "user_variable";
    case pin_reason::temporary_table:
      return "temporary_table";
    case pin_reason::table_lock:
      return "table_lock";
    case pin_reason::named_lock:
      return "named_lock";
    case pin_reason::prepared_statement:
      return "prepared_statement";
    case pin_reason::cursor:
      return "cursor";
    case pin_reason::long_data:
      return "long_data";
    case pin_reason::found_rows:
      return "found_rows";
    case pin_reason::session_variable:
      return "session_variable";
    case pin_reason::next_transaction:
      return "next_transaction";
    case pin_reason::xa_transaction:
      return "xa_transaction";
    case pin_reason::handler:
      return "handler";
    case pin_reason::session_state:
      return "session_state";
  }
  return "unknown";
}

}  // namespace sluice::sql
