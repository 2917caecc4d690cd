// Which session state that cannot be replayed a client holds on its backend, and so why it stays
// pinned: updated after each statement from the classifier's effects and the server's reports,
// released as soon as the state is gone (UNLOCK TABLES, the last temporary table dropped, ...).
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "sql/statement_classifier.h"

namespace sluice::session {

using sql::pin_reason;
using sql::statement_effect;

class session_pins {
 public:
  // A statement ran. `schema` is the client's default schema when it started (unqualified
  // temporary table names resolve there); `succeeded`: its response held no error. After an
  // error what a statement took is still counted and what it released is not: a failed statement
  // may have run in part, and an extra pin costs multiplexing, never correctness.
  void statement_finished(const std::vector<statement_effect>& effects, std::string_view schema,
                          bool succeeded);
  // A pin sluice cannot follow the end of: held until clear().
  void pin_until_reset(pin_reason reason);
  // A binary-protocol cursor is open (COM_STMT_EXECUTE with a cursor) or closed.
  void set_cursor_open(bool open) { cursor_open_ = open; }
  // COM_STMT_SEND_LONG_DATA went to the backend for a statement not yet executed (the data lives
  // in that backend's statement until the execute, a reset or a close).
  void set_long_data_pending(bool pending) { long_data_ = pending; }
  // The transaction tracker reports pending characteristics of the next transaction (SET
  // TRANSACTION without a scope) or that they were used up.
  void set_next_transaction_pending(bool pending) { next_transaction_ = pending; }
  bool next_transaction_pending() const noexcept { return next_transaction_; }

  // The first reason that holds, in the enum's order; none when the backend may go back.
  pin_reason reason() const noexcept;
  // COM_RESET_CONNECTION, COM_CHANGE_USER, or the backend was lost: nothing is held any more.
  void clear() { *this = session_pins{}; }

  bool opaque_user_variable(const std::string& name) const {
    return opaque_user_variables_.contains(name);
  }
  const std::set<std::string>& opaque_user_variables() const noexcept {
    return opaque_user_variables_;
  }

 private:
  std::set<std::string> opaque_user_variables_;
  std::multiset<std::string> temporary_tables_;  // schema-qualified
  bool table_lock_ = false;
  bool backup_lock_ = false;
  std::map<std::string, int> named_locks_;  // taken minus released, by exact name
  bool unnamed_lock_ = false;               // GET_LOCK(<expression>): only RELEASE_ALL_LOCKS()
  std::set<std::string> prepared_;
  std::set<std::string> hazardous_prepared_;  // their text may take state sluice cannot follow
  bool cursor_open_ = false;
  bool long_data_ = false;
  bool found_rows_ = false;
  bool next_transaction_ = false;
  bool xa_ = false;
  std::multiset<std::string> handlers_;
  std::set<pin_reason> until_reset_all_;  // held until clear()
};

}  // namespace sluice::session
