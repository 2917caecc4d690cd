// Everything sluice tracks of one client's session between statements, and the one rule that
// settles it after each response: variables to replay, pins, the client's prepared statements,
// whether a transaction is open. Pure (no I/O): the proxy feeds it what the response scanner saw.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "protocol/response_scanner.h"
#include "session/prepared_statements.h"
#include "session/session_pins.h"
#include "session/session_vars.h"

namespace sluice::session {

// What one command asked of the binary protocol, for settling the cursor after its response.
struct command_facts {
  std::optional<std::uint32_t> cursor_request;  // an execute that asked for a cursor, or a fetch
  bool fetching = false;                        // COM_STMT_FETCH
  // An execute runs in the schema it was prepared in; the server reports switching there and
  // back as a change of session state, which explains itself.
  bool schema_switch_expected = false;
};

// The client's binary prepared statements, under the ids sluice gave out.
class statement_table {
 public:
  // MariaDB's default max_prepared_stmt_count: a client that never closes statements is bounded.
  static constexpr std::size_t max_statements = 16382;

  client_statement* find(std::uint32_t id);
  // The id the statement gets; nullopt when the client holds max_statements already.
  std::optional<std::uint32_t> add(client_statement statement);
  // The bytes the client's statements make sluice hold ([limits] client_statement_memory).
  std::size_t bytes() const noexcept { return bytes_; }
  // Whether any statement has long data waiting on the held backend.
  bool long_data_on_backend() const;
  // The backend holding it is gone.
  void forget_long_data();
  // Gives statement `id` a backend statement of its own when another of the client's statements
  // has long data waiting in the backend statement the two share (same cache key): the server
  // keeps long data per statement, so one statement's data must never reach another's execute.
  // Returns whether the statement's cache key changed.
  bool keep_apart_from_long_data(std::uint32_t id);
  bool erase(std::uint32_t id);
  // The id a statement command names: MariaDB's -1 means the statement prepared last.
  std::uint32_t resolve(std::uint32_t id) const noexcept {
    return id == 0xFFFFFFFFu ? last_prepared_ : id;
  }
  std::size_t size() const noexcept { return statements_.size(); }
  bool full() const noexcept { return statements_.size() >= max_statements; }
  // Like the server's: a reset or a change of user closes every statement.
  void clear();

 private:
  std::unordered_map<std::uint32_t, client_statement> statements_;
  std::uint32_t next_id_ = 1;
  std::uint32_t last_prepared_ = 0;
  std::size_t bytes_ = 0;
};

struct tracked_session {
  session_vars vars;
  session_pins pins;
  statement_table statements;
  std::optional<std::uint32_t> cursor_statement;  // the statement whose cursor is open
  bool in_transaction = false;
  // The last statement left warnings that a SHOW WARNINGS may read on the same backend.
  bool hold_for_next = false;

  // What the client holds on its backend beyond the replayable variables: while true, the backend
  // must stay with the client (transaction pooling releases it only when this is false).
  bool holds_backend_state() const noexcept {
    return pins.reason() != pin_reason::none || in_transaction || hold_for_next;
  }
  // The backend is gone: whatever the client held there went with it.
  void forget_backend_state();
  // The statement's cursor is closed (if it had the open one).
  void close_cursor(std::uint32_t statement_id) {
    if (cursor_statement != statement_id) return;
    cursor_statement.reset();
    pins.set_cursor_open(false);
  }
  // Long data of `statement` is now on the held backend (or no longer): keeps the pin in step.
  void set_long_data(client_statement& statement, bool on_backend);
  // Login, COM_RESET_CONNECTION, COM_CHANGE_USER: the session starts over.
  void start_over(std::string schema, std::uint16_t collation_id, bool multi_statements);
};

struct settled {
  bool transaction_ended = false;
  // The server reported a change nothing explains (a stored routine did it): pinned until reset.
  bool unexplained_change = false;
};

// Settles the client's session and what the backend's session now holds after a response.
// `scanner` read the whole response; `tracker_report_pending` is the backend's flag that an EOF
// said "state changed" and the report is still to come.
settled settle_response(tracked_session& session, backend_vars& backend,
                        bool& tracker_report_pending, const protocol::response_scanner& scanner,
                        const sql::statement_traits& traits, const command_facts& command);

}  // namespace sluice::session
