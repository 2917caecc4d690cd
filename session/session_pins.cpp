// The pin state machine: what a client holds on its backend, taken and released statement by
// statement.
#include "session/session_pins.h"

namespace sluice::session {
namespace {

using kind = statement_effect::kind;

std::string qualify(std::string_view name, std::string_view schema) {
  if (name.find('.') != std::string_view::npos) return std::string(name);
  return std::string(schema) + "." + std::string(name);
}

}  // namespace

void session_pins::pin_until_reset(pin_reason reason) {
  until_reset_all_.insert(reason);
}

void session_pins::statement_finished(const std::vector<statement_effect>& effects,
                                      std::string_view schema, bool succeeded) {
  // FOUND_ROWS() reads what the statement before it left: the hold lasts one statement.
  found_rows_ = false;
  std::string current_schema(schema);
  for (const statement_effect& e : effects) {
    switch (e.what) {
      case kind::set_user_variable:
        // After an error the assignment may or may not have happened: only this backend knows.
        if (succeeded) {
          opaque_user_variables_.erase(e.name);
        } else {
          opaque_user_variables_.insert(e.name);
        }
        break;
      case kind::opaque_user_variable:
        opaque_user_variables_.insert(e.name);
        break;
      case kind::system_variable_default:
      case kind::untracked_system_variable:
      case kind::set_statement:
      case kind::names_collation:
        break;
      case kind::use_schema:
        current_schema = e.name;
        break;
      case kind::create_temporary_table:
        temporary_tables_.insert(qualify(e.name, current_schema));
        break;
      case kind::drop_table:
        if (succeeded) {
          // DROP TABLE t drops the temporary t first when there is one.
          if (auto it = temporary_tables_.find(qualify(e.name, current_schema));
              it != temporary_tables_.end())
            temporary_tables_.erase(it);
        }
        break;
      case kind::lock_tables:
        table_lock_ = true;
        break;
      case kind::unlock_tables:
        if (succeeded) table_lock_ = false;
        break;
      case kind::backup_lock:
        backup_lock_ = true;
        break;
      case kind::backup_unlock:
        if (succeeded) backup_lock_ = false;
        break;
      case kind::get_lock:
        if (e.name.empty()) {
          unnamed_lock_ = true;
        } else {
          ++named_locks_[e.name];
        }
        break;
      case kind::release_lock:
        if (succeeded) {
          if (auto it = named_locks_.find(e.name); it != named_locks_.end() && --it->second <= 0)
            named_locks_.erase(it);
        }
        break;
      case kind::release_all_locks:
        if (succeeded) {
          named_locks_.clear();
          unnamed_lock_ = false;
        }
        break;
      case kind::prepare:
        prepared_.insert(e.name);
        // Re-preparing a name replaces its text, hazardous or not.
        if (e.value == "hazard") {
          hazardous_prepared_.insert(e.name);
        } else if (succeeded) {
          hazardous_prepared_.erase(e.name);
        }
        break;
      case kind::execute:
        if (hazardous_prepared_.contains(e.name)) pin_until_reset(pin_reason::prepared_statement);
        break;
      case kind::deallocate:
        if (succeeded) {
          prepared_.erase(e.name);
          hazardous_prepared_.erase(e.name);
        }
        break;
      case kind::xa_start:
        xa_ = true;
        break;
      case kind::xa_end:
        if (succeeded) xa_ = false;
        break;
      case kind::handler_open:
        handlers_.insert(e.name);
        break;
      case kind::handler_close:
        if (succeeded) {
          if (auto it = handlers_.find(e.name); it != handlers_.end()) handlers_.erase(it);
        }
        break;
      case kind::calc_found_rows:
        found_rows_ = true;
        break;
      case kind::sets_last_insert_id:
        break;  // decided by the caller, which sees whether the OK packet carried the value
      case kind::pin:
        pin_until_reset(e.reason);
        break;
    }
  }
}

pin_reason session_pins::reason() const noexcept {
  if (!opaque_user_variables_.empty()) return pin_reason::user_variable;
  if (!temporary_tables_.empty()) return pin_reason::temporary_table;
  if (table_lock_ || backup_lock_) return pin_reason::table_lock;
  if (!named_locks_.empty() || unnamed_lock_) return pin_reason::named_lock;
  if (!prepared_.empty()) return pin_reason::prepared_statement;
  if (cursor_open_) return pin_reason::cursor;
  if (long_data_) return pin_reason::long_data;
  if (found_rows_) return pin_reason::found_rows;
  if (until_reset_all_.contains(pin_reason::session_variable)) return pin_reason::session_variable;
  if (next_transaction_) return pin_reason::next_transaction;
  if (xa_) return pin_reason::xa_transaction;
  if (!handlers_.empty()) return pin_reason::handler;
  if (!until_reset_all_.empty()) return *until_reset_all_.begin();
  return pin_reason::none;
}

}  // namespace sluice::session
