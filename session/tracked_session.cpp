// Settling a client's session after each response, and its statement table.
#include "session/tracked_session.h"

#include <algorithm>

#include "protocol/constants.h"

namespace sluice::session {

namespace status = protocol::server_status;

client_statement* statement_table::find(std::uint32_t id) {
  auto it = statements_.find(id);
  return it == statements_.end() ? nullptr : &it->second;
}

std::optional<std::uint32_t> statement_table::add(client_statement statement) {
  if (full()) return std::nullopt;
  const std::uint32_t id = next_id_++;
  if (next_id_ == 0xFFFFFFFFu) next_id_ = 1;  // 0 is no statement, -1 the last prepared
  bytes_ += statement.bytes();
  statements_.insert_or_assign(id, std::move(statement));
  last_prepared_ = id;
  return id;
}

bool statement_table::erase(std::uint32_t id) {
  const auto it = statements_.find(id);
  if (it == statements_.end()) return false;
  bytes_ -= it->second.bytes();
  statements_.erase(it);
  return true;
}

void statement_table::clear() {
  statements_.clear();
  last_prepared_ = 0;
  bytes_ = 0;
}

bool statement_table::long_data_on_backend() const {
  for (const auto& [id, statement] : statements_)
    if (statement.long_data_on_backend) return true;
  return false;
}

void statement_table::forget_long_data() {
  for (auto& [id, statement] : statements_) statement.long_data_on_backend = false;
}

bool statement_table::keep_apart_from_long_data(std::uint32_t id) {
  const auto it = statements_.find(id);
  if (it == statements_.end() || it->second.long_data_on_backend) return false;
  client_statement& statement = it->second;
  const bool shared = std::any_of(statements_.begin(), statements_.end(), [&](const auto& other) {
    return other.first != id && other.second.long_data_on_backend &&
           other.second.cache_key == statement.cache_key;
  });
  if (!shared) return false;
  // A key no statement of the client shares. It starts as a key with an empty schema and the
  // character set "own N" would, and no character set has that name, so it cannot meet a shared
  // key; other clients may reuse the backend statement later, which is harmless once the long
  // data is used up (the client stays pinned to the backend until then).
  bytes_ -= statement.bytes();
  statement.cache_key =
      std::string(1, '\0') + "own " + std::to_string(id) + '\0' + statement.cache_key;
  bytes_ += statement.bytes();
  return true;
}

void tracked_session::set_long_data(client_statement& statement, bool on_backend) {
  statement.long_data_on_backend = on_backend;
  pins.set_long_data_pending(on_backend || statements.long_data_on_backend());
}

void tracked_session::forget_backend_state() {
  statements.forget_long_data();
  pins.clear();
  cursor_statement.reset();
  in_transaction = false;
  hold_for_next = false;
}

void tracked_session::start_over(std::string schema, std::uint16_t collation_id,
                                 bool multi_statements) {
  vars = session_vars{};
  vars.schema = std::move(schema);
  vars.charset = charset_vars::from_collation_id(collation_id);
  vars.autocommit = true;
  vars.multi_statements = multi_statements;
  statements.clear();
  forget_backend_state();
}

settled settle_response(tracked_session& session, backend_vars& backend,
                        bool& tracker_report_pending, const protocol::response_scanner& scanner,
                        const sql::statement_traits& traits, const command_facts& command) {
  using kind = sql::statement_effect::kind;
  settled result;
  session_vars& vars = session.vars;
  session_pins& pins = session.pins;
  const bool succeeded = !scanner.ended_with_error();
  // Pins first: unqualified temporary-table names resolve in the schema the statement began in.
  pins.statement_finished(traits.effects, vars.schema, succeeded);
  const std::uint16_t flags = scanner.status_flags();
  const bool was_in_transaction = session.in_transaction;
  if (scanner.has_status()) {
    vars.autocommit = (flags & status::autocommit) != 0;
    session.in_transaction = (flags & status::in_trans) != 0;
  }
  // An ERR carries no status flags, and with autocommit off a failed statement may have opened a
  // transaction (the flags seen are an earlier statement's): keep the backend until an OK says.
  if (!succeeded && !vars.autocommit) session.in_transaction = true;
  result.transaction_ended = was_in_transaction && !session.in_transaction;
  if (scanner.last_insert_id() != 0) vars.last_insert_id = scanner.last_insert_id();
  const auto tracked = apply_session_state(scanner.session_state_blobs(), vars);

  // User and system variables the statement set, on the client's side and the backend's.
  for (const sql::statement_effect& e : traits.effects) {
    if (e.what == kind::set_user_variable && succeeded) {
      if (e.value == "null") {
        vars.user.erase(e.name);
      } else {
        vars.user[e.name] = e.value;
      }
      backend.user[e.name] = e.value;
    } else if (e.what == kind::set_user_variable || e.what == kind::opaque_user_variable) {
      vars.user.erase(e.name);
      backend.user[e.name] = std::string(opaque_value);
    } else if (e.what == kind::system_variable_default && succeeded) {
      vars.system.erase(e.name);
    } else if (e.what == kind::names_collation && succeeded) {
      vars.charset.values[3] = e.value;
    } else if (e.what == kind::sets_last_insert_id && scanner.last_insert_id() == 0) {
      // SELECT LAST_INSERT_ID(expr): the value is in a result set sluice does not decode.
      pins.pin_until_reset(pin_reason::session_variable);
    }
  }
  if (tracked.pin != pin_reason::none) pins.pin_until_reset(tracked.pin);
  if (scanner.session_state_lost()) pins.pin_until_reset(pin_reason::session_state);
  if (tracked.transaction_characteristics)
    pins.set_next_transaction_pending(!tracked.transaction_characteristics->empty() &&
                                      !session.in_transaction);
  // The server says the session changed. If neither the statement's text nor the trackers tell
  // what changed (a stored procedure or function did it), the change cannot be replayed. An EOF
  // cannot say what changed; inside a transaction that is mostly the transaction-state tracker,
  // so only a change outside one counts. A report still pending from the backend's previous
  // statement cannot be told apart from this one's, so it is given the benefit of the doubt.
  const bool reports_pending = tracker_report_pending;
  tracker_report_pending = scanner.eof_state_changed();
  const bool unexplained =
      traits.effects.empty() && !tracked.reported_anything &&
      (tracked.state_changed ||
       (scanner.eof_state_changed() && !was_in_transaction && !session.in_transaction));
  if (unexplained && !reports_pending && !command.schema_switch_expected) {
    pins.pin_until_reset(pin_reason::session_state);
    result.unexplained_change = true;
  }

  // Compared before copied: no string copies per statement when nothing changed.
  if (backend.schema != vars.schema) backend.schema = vars.schema;
  if (backend.charset != vars.charset) backend.charset = vars.charset;
  backend.autocommit = vars.autocommit;
  backend.multi_statements = vars.multi_statements;
  if (backend.system != vars.system) backend.system = vars.system;
  if (scanner.last_insert_id() != 0 || tracked.last_insert_id_reported)
    backend.last_insert_id = vars.last_insert_id;
  if (command.cursor_request) {
    // The execute opened a cursor, or a fetch read to its end (the server then closes it).
    if (!command.fetching && (flags & status::cursor_exists)) {
      session.cursor_statement = command.cursor_request;
    } else if (command.fetching && (flags & status::last_row_sent)) {
      session.cursor_statement.reset();
    }
    pins.set_cursor_open(session.cursor_statement.has_value());
  }
  session.hold_for_next = scanner.warnings() > 0;
  return result;
}

}  // namespace sluice::session
