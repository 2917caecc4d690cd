// What a query's text does to session state: its effects in order and whether it pins the client.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sql/pin_reason.h"

namespace sluice::sql {

// One thing a statement does to session state that sluice follows, in statement order. `name` is
// lower-cased where the server compares names case-insensitively (variables, statement names).
struct statement_effect {
  enum class kind : std::uint8_t {
    set_user_variable,        // SET @name = <literal>: `value` is the literal's SQL text
    names_collation,          // SET NAMES cs COLLATE `name`: the tracker does not report it
    opaque_user_variable,     // @name got a value sluice cannot replay (:=, INTO, CALL, LOAD DATA)
    system_variable_default,  // SET [SESSION] name = DEFAULT
    untracked_system_variable,  // SET @@name = ...: the server's tracker does not report it
    set_statement,  // SET STATEMENT x=... FOR: changes and restores x (the server says "changed")
    use_schema,     // USE name: later unqualified table names resolve there
    create_temporary_table,  // name as written: "t" or "db.t"
    drop_table,              // DROP [TEMPORARY] TABLE|SEQUENCE: one effect per name
    lock_tables,             // LOCK TABLES, FLUSH TABLES WITH READ LOCK
    unlock_tables,           // UNLOCK TABLES
    backup_lock,             // BACKUP LOCK, BACKUP STAGE (not END)
    backup_unlock,           // BACKUP UNLOCK, BACKUP STAGE END
    get_lock,                // GET_LOCK('name'): "" when the name is not a plain literal
    release_lock,            // RELEASE_LOCK('name')
    release_all_locks,       // RELEASE_ALL_LOCKS()
    prepare,                 // PREPARE name FROM ...: `value` "hazard" if its text may pin
    execute,                 // EXECUTE name
    deallocate,              // DEALLOCATE|DROP PREPARE name
    xa_start,
    xa_end,        // XA COMMIT / XA ROLLBACK
    handler_open,  // HANDLER t OPEN [AS alias]: the alias, else the table name
    handler_close,
    calc_found_rows,      // SQL_CALC_FOUND_ROWS: FOUND_ROWS() of the next statement reads it
    sets_last_insert_id,  // LAST_INSERT_ID(expr)
    pin,                  // state sluice cannot follow: `reason` holds until a reset
  };
  kind what;
  std::string name;
  std::string value;
  pin_reason reason = pin_reason::none;

  bool operator==(const statement_effect&) const = default;
};

struct statement_traits {
  pin_reason pin = pin_reason::none;      // the first pinning construct found
  bool uses_last_insert_id = false;       // LAST_INSERT_ID() with no argument, @@identity
  bool reads_previous_statement = false;  // SHOW WARNINGS/ERRORS, @@warning_count, FOUND_ROWS()...
  bool starts_transaction = false;        // BEGIN [WORK], START TRANSACTION; not BEGIN NOT ATOMIC
  std::vector<statement_effect> effects;

  bool operator==(const statement_traits&) const = default;
};

// Classifies one COM_QUERY text, which may hold several ';'-separated statements: the first pin
// found wins, the flags are OR'ed and the effects are listed in order. Pure (no I/O).
//
// `pin` says what the statement may leave on its backend, so the client keeps that backend while
// it runs; whether the pin outlasts it is for session_pins to decide from the effects. Session
// system variables and literal user variables do not pin: sluice replays them on every lease.
// When the text is ambiguous the answer errs towards pinning, which costs multiplexing, never
// correctness.
statement_traits classify_statement(std::string_view sql);

// LOAD DATA LOCAL / LOAD XML LOCAL: the server will ask the client for a file.
bool is_load_local(std::string_view sql);

// KILL [HARD | SOFT] [CONNECTION | QUERY] <id>: the id is a sluice connection id (the one a client
// saw in its handshake), so sluice answers KILL itself instead of passing it to a backend.
struct kill_statement {
  bool is_kill = false;    // the text is a KILL statement
  bool supported = false;  // ... of the form above, alone in the text
  bool query_only = false;
  std::uint64_t id = 0;
};
kill_statement parse_kill(std::string_view sql);

}  // namespace sluice::sql
