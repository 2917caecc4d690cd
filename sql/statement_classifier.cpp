// The statement classifier: walks the lexer's tokens statement by statement and lists effects.
#include "sql/statement_classifier.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <initializer_list>
#include <optional>

#include "sql/sql_lexer.h"

namespace sluice::sql {

namespace {

bool is_op(const token& t, std::string_view text) {
  return t.kind == token_kind::op && t.text == text;
}

bool is_keyword(std::string_view text, std::initializer_list<std::string_view> upper_keywords) {
  for (const std::string_view keyword : upper_keywords) {
    if (equals_keyword(text, keyword)) return true;
  }
  return false;
}

bool is_word(const token& t, std::initializer_list<std::string_view> upper_keywords) {
  return t.kind == token_kind::word && is_keyword(t.text, upper_keywords);
}

bool is_name(const token& t) {
  return t.kind == token_kind::word || t.kind == token_kind::quoted_identifier;
}

bool ends_statement(const token& t) {
  return t.kind == token_kind::end || is_op(t, ";");
}

std::string_view unquote_identifier(std::string_view raw) {
  if (raw.size() >= 2 && raw.front() == '`' && raw.back() == '`') {
    return raw.substr(1, raw.size() - 2);
  }
  return raw;
}

// Session variables whose value cannot be carried to another backend: one-shot values the next
// statement consumes, and the trackers sluice itself depends on.
bool is_unreplayable_variable(std::string_view name) {
  return is_keyword(name, {"INSERT_ID", "RAND_SEED1", "RAND_SEED2", "PSEUDO_THREAD_ID", "IDENTITY",
                           "GTID_SEQ_NO", "SESSION_TRACK_SCHEMA", "SESSION_TRACK_STATE_CHANGE",
                           "SESSION_TRACK_SYSTEM_VARIABLES", "SESSION_TRACK_TRANSACTION_INFO"});
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// The contents of a 'plain' literal, or nullopt when it holds escapes or doubled quotes (then it
// is not compared by name: a pin it took is only released wholesale).
std::optional<std::string> plain_string(const token& t) {
  if (t.kind != token_kind::string_literal || t.text.size() < 2) return std::nullopt;
  const std::string_view inner = t.text.substr(1, t.text.size() - 2);
  if (inner.find_first_of("\\'\"") != std::string_view::npos) return std::nullopt;
  return std::string(inner);
}

enum class variable_scope { session, global };

struct system_variable_name {
  variable_scope scope;
  std::string_view name;  // without backticks; a structured one keeps its dot (kc.key_buffer_size)
  bool scoped = true;     // written with GLOBAL/SESSION/LOCAL/...
};

// The text of a system_variable token: "session.sql_mode", "global.x", "sql_mode". Without a
// scope prefix, @@name names the session value (MySQL Reference Manual, "SET Syntax for Variable
// Assignment"); for a global-only variable that reading is wrong but errs towards pinning.
system_variable_name parse_system_variable(std::string_view text) {
  const std::size_t dot = text.find('.');
  if (dot != std::string_view::npos && !text.starts_with('`')) {
    const std::string_view prefix = text.substr(0, dot);
    const std::string_view rest = unquote_identifier(text.substr(dot + 1));
    if (is_keyword(prefix, {"GLOBAL", "PERSIST", "PERSIST_ONLY"})) {
      return {variable_scope::global, rest};
    }
    if (is_keyword(prefix, {"SESSION", "LOCAL"})) return {variable_scope::session, rest};
  }
  return {variable_scope::session, unquote_identifier(text), false};
}

// One pass over the tokens of a query. Every token goes through advance(), which applies the
// checks that hold anywhere in a statement (user variables, GET_LOCK(), ...); the statement-level
// rules look at the first words of each statement.
class classifier {
 public:
  explicit classifier(std::string_view sql) : lexer_(sql) {}

  statement_traits run() {
    bool at_statement_start = true;
    for (;;) {
      const token t = advance();
      if (t.kind == token_kind::end) return traits_;
      if (is_op(t, ";")) {
        at_statement_start = true;
      } else if (at_statement_start) {
        at_statement_start = statement_head(t);
      } else {
        at_statement_start = statement_body(t);
      }
    }
  }

 private:
  enum class statement_kind {
    other,
    flush,    // FLUSH ...: pins when it turns out to be WITH READ LOCK or FOR EXPORT
    account,  // GRANT, CREATE USER, SET PASSWORD...: '@' joins a user to a host
    // Every user variable named may be assigned: CALL p(@v) (OUT parameters), LOAD DATA ... (@v),
    // GET DIAGNOSTICS @n = NUMBER.
    assigns_variables,
  };

  token advance() {
    const token t = lexer_.next();
    inspect(t);
    recent_[2] = recent_[1];
    recent_[1] = recent_[0];
    recent_[0] = t;
    return t;
  }

  token peek() const {
    sql_lexer ahead = lexer_;
    return ahead.next();
  }

  token peek_second() const { return peek_at(2); }

  // The n-th token ahead (1 = the next one).
  token peek_at(int n) const {
    sql_lexer ahead = lexer_;
    token t{token_kind::end, {}};
    for (int i = 0; i < n; ++i) t = ahead.next();
    return t;
  }

  void pin(pin_reason reason) {
    if (traits_.pin == pin_reason::none) traits_.pin = reason;
  }

  void effect(statement_effect::kind what, std::string name = {}, std::string value = {}) {
    using kind = statement_effect::kind;
    if (compound_) {
      // Inside IF / WHILE / a block, a statement may not run at all: nothing is taken as
      // released, a variable's value is not known, and a temporary table (whose schema may have
      // changed on the way) is held until a reset.
      switch (what) {
        case kind::drop_table:
        case kind::unlock_tables:
        case kind::backup_unlock:
        case kind::release_lock:
        case kind::release_all_locks:
        case kind::deallocate:
        case kind::xa_end:
        case kind::handler_close:
        case kind::system_variable_default:
        case kind::names_collation:
        case kind::use_schema:
          return;
        case kind::set_user_variable:
          what = kind::opaque_user_variable;
          value.clear();
          break;
        case kind::create_temporary_table:
          sticky_pin(pin_reason::temporary_table);
          return;
        default:
          break;
      }
    }
    traits_.effects.push_back({what, std::move(name), std::move(value), pin_reason::none});
  }

  // State sluice cannot follow: pinned until the client resets its session.
  void sticky_pin(pin_reason reason) {
    pin(reason);
    traits_.effects.push_back({statement_effect::kind::pin, {}, {}, reason});
  }

  void opaque_user_variable(std::string_view name) {
    pin(pin_reason::user_variable);
    effect(statement_effect::kind::opaque_user_variable, lower(name));
  }

  // Consumes a possibly qualified name (db.t, `db`.`t`) and returns it without backticks, or ""
  // if no name follows.
  std::string qualified_name() {
    // A quoted part that holds a dot keeps its backticks, so `s1.t` never reads as s1.t.
    auto part = [](std::string_view raw) {
      const std::string_view bare = unquote_identifier(raw);
      return std::string(bare.find('.') == std::string_view::npos ? bare : raw);
    };
    if (!is_name(peek())) return {};
    std::string name = part(advance().text);
    while (is_op(peek(), ".") && is_name(peek_second())) {
      advance();
      name += '.';
      name += part(advance().text);
    }
    return name;
  }

  // A literal a SET may assign to a user variable and sluice can replay verbatim: a number
  // (with a sign), a string, NULL, TRUE or FALSE, alone up to the next ',' or the statement's end.
  std::optional<std::string> literal_assignment() const {
    sql_lexer ahead = lexer_;
    const token assign = ahead.next();
    if (!is_op(assign, "=") && !is_op(assign, ":=")) return std::nullopt;
    token value = ahead.next();
    std::string text;
    if (is_op(value, "-") || is_op(value, "+")) {
      text = value.text;
      value = ahead.next();
      if (value.kind != token_kind::number) return std::nullopt;
    }
    if (value.kind == token_kind::number || value.kind == token_kind::string_literal) {
      text += value.text;
    } else if (is_word(value, {"NULL", "TRUE", "FALSE"}) && text.empty()) {
      text = lower(value.text);
    } else {
      return std::nullopt;
    }
    const token after = ahead.next();
    if (!ends_statement(after) && !is_op(after, ",")) return std::nullopt;
    return text;
  }

  // The constructs that matter wherever they appear in a statement.
  void inspect(const token& t) {
    const bool in_into_list = into_list_;
    if (t.kind != token_kind::user_variable && !is_op(t, ",")) into_list_ = false;
    switch (t.kind) {
      case token_kind::user_variable:
        // Reading a variable needs nothing (sluice replays the client's values); assigning one
        // anything but a SET literal does.
        if (is_host_name() || in_set_target_) break;
        if (is_op(peek(), ":=") || in_into_list || kind_ == statement_kind::assigns_variables) {
          opaque_user_variable(t.text);
        }
        break;
      case token_kind::system_variable: {
        const std::string_view name = parse_system_variable(t.text).name;
        if (is_keyword(name, {"WARNING_COUNT", "ERROR_COUNT"})) {
          traits_.reads_previous_statement = true;
        } else if (is_keyword(name, {"IDENTITY", "LAST_INSERT_ID"})) {
          traits_.uses_last_insert_id = true;
        }
        break;
      }
      case token_kind::word:
        if (equals_keyword(t.text, "INTO")) {
          into_list_ = true;
        } else if (equals_keyword(t.text, "SQL_CALC_FOUND_ROWS")) {
          pin(pin_reason::found_rows);
          effect(statement_effect::kind::calc_found_rows);
        } else {
          inspect_function_call(t.text);
        }
        break;
      case token_kind::quoted_identifier:
        // `GET_LOCK`('a', 1) still calls the built-in: a native function's name may be quoted.
        inspect_function_call(unquote_identifier(t.text));
        break;
      default:
        break;
    }
  }

  void inspect_function_call(std::string_view name) {
    if (!is_keyword(name, {"GET_LOCK", "RELEASE_LOCK", "RELEASE_ALL_LOCKS", "LAST_INSERT_ID",
                           "FOUND_ROWS", "ROW_COUNT"}))
      return;
    // db.get_lock(...) calls a stored function of that schema, not the built-in.
    if (is_op(recent_[0], ".")) return;
    if (!is_op(peek(), "(")) return;
    // Only `SELECT|DO f(...)` alone is sure to run f exactly once: elsewhere f may run once per
    // row, or not at all (IF(0, RELEASE_LOCK('a'), 0)).
    const bool alone = whole_statement_call();
    if (is_keyword(name, {"GET_LOCK", "RELEASE_LOCK"})) {
      // The lock's name, when it is a plain literal argument.
      const token argument = peek_second();
      const token after = peek_at(3);
      std::string lock_name;
      if (alone && (is_op(after, ",") || is_op(after, ")")))
        lock_name = plain_string(argument).value_or("");
      if (equals_keyword(name, "GET_LOCK")) {
        pin(pin_reason::named_lock);
        effect(statement_effect::kind::get_lock, std::move(lock_name));
      } else if (!lock_name.empty()) {
        effect(statement_effect::kind::release_lock, std::move(lock_name));
      }
    } else if (equals_keyword(name, "RELEASE_ALL_LOCKS")) {
      if (alone) effect(statement_effect::kind::release_all_locks);
    } else if (equals_keyword(name, "LAST_INSERT_ID")) {
      // With an argument it sets the session's value, which later statements read back.
      if (is_op(peek_second(), ")")) {
        traits_.uses_last_insert_id = true;
      } else {
        pin(pin_reason::session_variable);
        effect(statement_effect::kind::sets_last_insert_id);
      }
    } else {
      traits_.reads_previous_statement = true;
    }
  }

  // Whether the function call about to be read is a whole statement: SELECT|DO f(...) [[AS] x].
  bool whole_statement_call() const {
    if (!is_word(recent_[0], {"SELECT", "DO"})) return false;
    if (!(recent_[1].kind == token_kind::end || is_op(recent_[1], ";"))) return false;
    sql_lexer ahead = lexer_;
    if (!is_op(ahead.next(), "(")) return false;
    for (int depth = 1; depth > 0;) {
      const token t = ahead.next();
      if (t.kind == token_kind::end) return false;
      if (is_op(t, "(")) ++depth;
      if (is_op(t, ")")) --depth;
    }
    token t = ahead.next();
    if (is_word(t, {"AS"})) t = ahead.next();
    if (is_name(t) || t.kind == token_kind::string_literal) t = ahead.next();
    return ends_statement(t);
  }

  // 'bob'@'localhost' in account statements and DEFINER = bob@localhost lex as a name followed
  // by a user variable; they name an account, not a variable.
  bool is_host_name() const {
    const token& before = recent_[0];
    if (!is_name(before) && before.kind != token_kind::string_literal) return false;
    if (kind_ == statement_kind::account) return true;
    return is_op(recent_[1], "=") && is_word(recent_[2], {"DEFINER"});
  }

  // Handles the first token of a statement; returns whether the next token starts a statement
  // (after a label, BEGIN NOT ATOMIC, SET STATEMENT ... FOR, ...).
  bool statement_head(const token& first) {
    kind_ = statement_kind::other;
    if (first.kind != token_kind::word) return false;
    // "label: LOOP ...": MariaDB runs compound statements outside stored programs too.
    if (is_op(peek(), ":")) {
      advance();
      compound_ = true;
      return true;
    }
    const token next = peek();
    if (is_word(first, {"SET"})) return set_statement();
    if (is_word(first, {"BEGIN"})) return begin_statement();
    if (is_word(first, {"START"})) {
      if (is_word(next, {"TRANSACTION"})) traits_.starts_transaction = true;
    } else if (is_word(first, {"CREATE"})) {
      create_statement();
    } else if (is_word(first, {"DROP"})) {
      drop_statement();
    } else if (is_word(first, {"ALTER", "RENAME"})) {
      if (is_word(next, {"USER"})) kind_ = statement_kind::account;
    } else if (is_word(first, {"GRANT", "REVOKE"})) {
      kind_ = statement_kind::account;
    } else if (is_word(first, {"LOCK"})) {
      if (is_word(next, {"TABLE", "TABLES"})) {
        pin(pin_reason::table_lock);
        effect(statement_effect::kind::lock_tables);
      } else {  // MySQL's LOCK INSTANCE FOR BACKUP, and forms not known here
        sticky_pin(pin_reason::table_lock);
      }
    } else if (is_word(first, {"UNLOCK"})) {
      if (is_word(next, {"TABLE", "TABLES"})) effect(statement_effect::kind::unlock_tables);
    } else if (is_word(first, {"FLUSH"})) {
      kind_ = statement_kind::flush;
    } else if (is_word(first, {"BACKUP"})) {
      if (is_word(next, {"LOCK"}) || is_word(next, {"STAGE"})) {
        // BACKUP STAGE START and later stages hold the backup lock until BACKUP STAGE END.
        if (is_word(next, {"STAGE"}) && is_word(peek_second(), {"END"})) {
          effect(statement_effect::kind::backup_unlock);
        } else {
          pin(pin_reason::table_lock);
          effect(statement_effect::kind::backup_lock);
        }
      } else if (is_word(next, {"UNLOCK"})) {
        effect(statement_effect::kind::backup_unlock);
      }
    } else if (is_word(first, {"USE"})) {
      if (is_name(next))
        effect(statement_effect::kind::use_schema, std::string(unquote_identifier(next.text)));
    } else if (is_word(first, {"PREPARE"})) {
      pin(pin_reason::prepared_statement);
      if (is_name(next)) prepare_statement(lower(unquote_identifier(next.text)));
    } else if (is_word(first, {"DEALLOCATE"})) {
      if (is_word(next, {"PREPARE"}) && is_name(peek_second()))
        effect(statement_effect::kind::deallocate, lower(unquote_identifier(peek_second().text)));
    } else if (is_word(first, {"CALL", "LOAD"})) {
      kind_ = statement_kind::assigns_variables;
    } else if (is_word(first, {"EXECUTE"})) {
      if (is_word(next, {"IMMEDIATE"})) {
        // Any SQL at all, run where sluice cannot see it.
        sticky_pin(pin_reason::session_state);
      } else if (is_name(next)) {
        // USING @v only reads @v unless the statement is a CALL with OUT parameters, which its
        // PREPARE marked as hazardous.
        effect(statement_effect::kind::execute, lower(unquote_identifier(next.text)));
      }
    } else if (is_word(first, {"XA"})) {
      if (is_word(next, {"START", "BEGIN"})) {
        pin(pin_reason::xa_transaction);
        effect(statement_effect::kind::xa_start);
      } else if (is_word(next, {"COMMIT", "ROLLBACK"})) {
        effect(statement_effect::kind::xa_end);
      }
    } else if (is_word(first, {"HANDLER"})) {
      handler_statement();
    } else if (is_word(first, {"SHOW"})) {
      show_statement();
    } else if (is_word(first, {"GET"})) {  // GET [CURRENT | STACKED] DIAGNOSTICS
      const token diagnostics = is_word(next, {"CURRENT", "STACKED"}) ? peek_second() : next;
      if (is_word(diagnostics, {"DIAGNOSTICS"})) {
        traits_.reads_previous_statement = true;
        kind_ = statement_kind::assigns_variables;
      }
    } else if (is_word(first, {"IF", "WHILE", "CASE", "FOR"})) {
      compound_ = true;
    } else if (is_word(first, {"LOOP", "REPEAT", "ELSE"})) {
      compound_ = true;
      return true;
    }
    return false;
  }

  // Handles a token after the first of its statement; returns whether the next token starts a
  // statement nested in a compound statement (IF ... THEN <stmt>; WHILE ... DO <stmt>; ...).
  bool statement_body(const token& t) {
    if (kind_ == statement_kind::flush) {
      if ((is_word(t, {"LOCK"}) && is_word(recent_[1], {"READ"}) &&
           is_word(recent_[2], {"WITH"})) ||
          (is_word(t, {"EXPORT"}) && is_word(recent_[1], {"FOR"}))) {
        pin(pin_reason::table_lock);
        effect(statement_effect::kind::lock_tables);
      }
    }
    return compound_ && is_word(t, {"THEN", "ELSE", "DO", "LOOP", "REPEAT"});
  }

  bool begin_statement() {
    const token next = peek();
    if (is_word(next, {"NOT"})) {  // MariaDB's anonymous block: BEGIN NOT ATOMIC <stmt>; ... END
      advance();
      if (is_word(peek(), {"ATOMIC"})) advance();
      compound_ = true;
      return true;
    }
    if (is_word(next, {"WORK"}) || ends_statement(next)) {
      traits_.starts_transaction = true;
      return false;
    }
    return true;  // a block of a compound statement: its first statement follows
  }

  void create_statement() {
    if (is_word(peek(), {"OR"})) {
      advance();
      if (is_word(peek(), {"REPLACE"})) advance();
    }
    const token next = peek();
    if (is_word(next, {"TEMPORARY"})) {  // TEMPORARY TABLE, MariaDB's TEMPORARY SEQUENCE
      pin(pin_reason::temporary_table);
      advance();
      if (!is_word(peek(), {"TABLE", "SEQUENCE"})) return;
      advance();
      skip_if_exists_clause();
      effect(statement_effect::kind::create_temporary_table, qualified_name());
    } else if (is_word(next, {"USER", "ROLE"})) {
      kind_ = statement_kind::account;
    }
  }

  // PREPARE name FROM '<text>': what running it would do is classified now; `value` says
  // whether EXECUTE of it may leave state sluice cannot follow ("hazard"), which is also the
  // answer when the text is not a plain literal (FROM @sql).
  void prepare_statement(std::string name) {
    advance();  // the name
    bool hazard = true;
    if (is_word(peek(), {"FROM"})) {
      advance();
      const token text = peek();
      const token after = peek_second();
      if (const auto inner = plain_string(text); inner && ends_statement(after)) {
        const statement_traits inside = classify_statement(*inner);
        sql_lexer first_word(*inner);
        hazard = inside.pin != pin_reason::none || !inside.effects.empty() ||
                 is_word(first_word.next(), {"CALL"});  // OUT parameters assign USING variables
      }
    }
    effect(statement_effect::kind::prepare, std::move(name), hazard ? "hazard" : "");
  }

  // DROP [TEMPORARY] TABLE|TABLES|SEQUENCE [IF EXISTS] a, b; DROP PREPARE s; DROP USER|ROLE.
  void drop_statement() {
    const token next = peek();
    if (is_word(next, {"PREPARE"})) {
      advance();
      if (is_name(peek()))
        effect(statement_effect::kind::deallocate, lower(unquote_identifier(peek().text)));
      return;
    }
    if (is_word(next, {"USER", "ROLE"})) {
      kind_ = statement_kind::account;
      return;
    }
    if (is_word(next, {"TEMPORARY"})) advance();
    if (!is_word(peek(), {"TABLE", "TABLES", "SEQUENCE"})) return;
    advance();
    skip_if_exists_clause();
    for (;;) {
      const std::string name = qualified_name();
      if (name.empty()) return;
      effect(statement_effect::kind::drop_table, name);
      if (!is_op(peek(), ",")) return;
      advance();
    }
  }

  // IF [NOT] EXISTS
  void skip_if_exists_clause() {
    if (!is_word(peek(), {"IF"})) return;
    advance();
    if (is_word(peek(), {"NOT"})) advance();
    if (is_word(peek(), {"EXISTS"})) advance();
  }

  void show_statement() {
    const token next = peek();
    if (is_word(next, {"WARNINGS", "ERRORS"})) {
      traits_.reads_previous_statement = true;
    } else if (is_word(next, {"COUNT"})) {  // SHOW COUNT(*) WARNINGS
      advance();
      if (is_op(peek(), "(")) {
        while (!ends_statement(peek()) && !is_op(peek(), ")")) advance();
        if (is_op(peek(), ")")) advance();
      }
      if (is_word(peek(), {"WARNINGS", "ERRORS"})) traits_.reads_previous_statement = true;
    } else if (is_word(next, {"GRANTS"})) {
      kind_ = statement_kind::account;
    } else if (is_word(next, {"CREATE"}) && is_word(peek_second(), {"USER"})) {
      kind_ = statement_kind::account;
    }
  }

  // HANDLER [db.]tbl OPEN [[AS] alias] pins; HANDLER name CLOSE releases; READ uses one.
  void handler_statement() {
    std::string name = qualified_name();
    if (name.empty()) return;
    if (is_word(peek(), {"OPEN"})) {
      pin(pin_reason::handler);
      advance();
      if (is_word(peek(), {"AS"})) advance();
      // The handler is named by its alias, else by the table name without the schema.
      if (is_name(peek())) {
        name = unquote_identifier(peek().text);
      } else if (const auto dot = name.rfind('.'); dot != std::string::npos) {
        name = name.substr(dot + 1);
      }
      effect(statement_effect::kind::handler_open, name);
    } else if (is_word(peek(), {"CLOSE"})) {
      if (const auto dot = name.rfind('.'); dot != std::string::npos) name = name.substr(dot + 1);
      effect(statement_effect::kind::handler_close, name);
    }
  }

  // After SET. Returns whether the next token starts a statement (SET STATEMENT ... FOR).
  bool set_statement() {
    const token next = peek();
    if (is_word(next, {"STATEMENT"})) {  // MariaDB: the assignments last for one statement
      advance();
      effect(statement_effect::kind::set_statement);
      return skip_to_inner_statement();
    }
    if (is_word(next, {"PASSWORD"}) ||
        (is_word(next, {"DEFAULT"}) && is_word(peek_second(), {"ROLE"}))) {
      kind_ = statement_kind::account;
      return false;
    }
    if (is_word(next, {"ROLE"}) ||
        (is_word(next, {"RESOURCE"}) && is_word(peek_second(), {"GROUP"}))) {
      sticky_pin(pin_reason::session_variable);
      return false;
    }
    if (is_word(next, {"TRANSACTION"})) {
      // Without a scope it sets only the next transaction's characteristics; the server's
      // transaction tracker tells when they are used up.
      pin(pin_reason::next_transaction);
      return false;
    }
    while (set_assignment()) {
    }
    return false;
  }

  // Examines one item of SET's comma list and consumes it with the comma after it; returns
  // whether another item follows.
  //
  // MySQL documents that a GLOBAL/SESSION keyword carries over to the following items that have
  // none ("SET GLOBAL a = 1, b = 2" sets global b); MariaDB does not say. Only an item's own
  // scope is trusted here, so such a b is taken as a session variable and pins.
  bool set_assignment() {
    token target = peek();
    if (ends_statement(target)) return false;
    in_set_target_ = true;
    advance();
    in_set_target_ = false;
    variable_scope scope = variable_scope::session;
    bool scoped = false;
    if (is_word(target, {"GLOBAL", "PERSIST", "PERSIST_ONLY"})) {
      scope = variable_scope::global;
      scoped = true;
    } else if (is_word(target, {"SESSION", "LOCAL"})) {
      scoped = true;
    }
    if (scoped) {
      target = peek();
      if (ends_statement(target)) return false;
      advance();
      if (is_word(target, {"TRANSACTION"})) {
        // SET SESSION TRANSACTION: the tracker reports tx_isolation / tx_read_only, replayed.
        skip_rest_of_statement();  // its characteristics are comma-separated too
        return false;
      }
    } else if (is_word(target, {"NAMES", "CHARSET"})) {
      names_collation();
      return skip_assignment_value();
    } else if (is_word(target, {"CHARACTER"}) && is_word(peek(), {"SET"})) {
      advance();
      names_collation();
      return skip_assignment_value();
    }

    switch (target.kind) {
      case token_kind::user_variable:
        if (auto literal = literal_assignment()) {
          effect(statement_effect::kind::set_user_variable, lower(target.text),
                 std::move(*literal));
        } else {
          opaque_user_variable(target.text);
        }
        break;
      case token_kind::system_variable: {
        const system_variable_name variable = parse_system_variable(target.text);
        if (variable.scope == variable_scope::session) {
          session_assignment(variable.name, false);
          // MariaDB 10.11's tracker stays silent for SET @@name (no scope): sluice asks.
          if (!variable.scoped && !is_unreplayable_variable(variable.name))
            effect(statement_effect::kind::untracked_system_variable, lower(variable.name));
        }
        break;
      }
      case token_kind::word:
      case token_kind::quoted_identifier:
        if (scope == variable_scope::session)
          session_assignment(unquote_identifier(target.text), is_op(peek(), "."));
        break;
      default:  // a form not known here: assume it changes the session for good
        sticky_pin(pin_reason::session_variable);
        break;
    }
    return skip_assignment_value();
  }

  // SET NAMES cs [COLLATE c] / SET CHARACTER SET cs: the tracker reports the character sets but
  // not collation_connection, which becomes c, or the character set's default ("").
  void names_collation() {
    std::string collation;
    if (is_word(peek_second(), {"COLLATE"})) {
      const token name = peek_at(3);
      if (name.kind == token_kind::string_literal) {
        collation = lower(plain_string(name).value_or(""));
      } else if (is_name(name)) {
        collation = lower(unquote_identifier(name.text));
      }
    }
    effect(statement_effect::kind::names_collation, {}, std::move(collation));
  }

  // SET [SESSION] name = ...: the server's tracker reports the new value, which sluice replays,
  // except for the variables that cannot be carried over. `structured`: keycache1.x and the like.
  void session_assignment(std::string_view name, bool structured) {
    if (structured || is_unreplayable_variable(name)) {
      sticky_pin(pin_reason::session_variable);
      return;
    }
    const token assign = peek();
    const token value = peek_second();
    const token after = peek_at(3);
    if ((is_op(assign, "=") || is_op(assign, ":=")) && is_word(value, {"DEFAULT"}) &&
        (ends_statement(after) || is_op(after, ","))) {
      effect(statement_effect::kind::system_variable_default, lower(name));
    }
  }

  // Consumes the rest of a SET item up to and including the comma at parenthesis depth 0;
  // returns false at the end of the statement.
  bool skip_assignment_value() {
    return skip_until_top_level([](const token& t) { return is_op(t, ","); });
  }

  // After SET STATEMENT: consumes the assignments and FOR; returns false if there is no FOR.
  bool skip_to_inner_statement() {
    return skip_until_top_level([](const token& t) { return is_word(t, {"FOR"}); });
  }

  void skip_rest_of_statement() {
    while (!ends_statement(peek())) advance();
  }

  template <class Stop>
  bool skip_until_top_level(Stop stop) {
    int depth = 0;
    for (;;) {
      if (ends_statement(peek())) return false;
      const token t = advance();
      if (is_op(t, "(")) {
        ++depth;
      } else if (is_op(t, ")")) {
        if (depth > 0) --depth;
      } else if (depth == 0 && stop(t)) {
        return true;
      }
    }
  }

  sql_lexer lexer_;
  // recent_[0] is the last token consumed, recent_[1] the one before it.
  std::array<token, 3> recent_{token{token_kind::end, {}}, token{token_kind::end, {}},
                               token{token_kind::end, {}}};
  statement_traits traits_;
  statement_kind kind_ = statement_kind::other;
  bool in_set_target_ = false;  // consuming the variable a SET item assigns
  bool into_list_ = false;      // after INTO: user variables here are assigned
  // Inside a MariaDB compound statement (BEGIN NOT ATOMIC, IF, WHILE, a label...): THEN, ELSE,
  // DO, LOOP and REPEAT are followed by statements. Stays set for the rest of the query.
  bool compound_ = false;
};

}  // namespace

statement_traits classify_statement(std::string_view sql) {
  return classifier(sql).run();
}

kill_statement parse_kill(std::string_view sql) {
  kill_statement kill;
  sql_lexer lexer(sql);
  token t = lexer.next();
  if (!is_word(t, {"KILL"})) return kill;
  kill.is_kill = true;
  t = lexer.next();
  if (is_word(t, {"HARD", "SOFT"})) t = lexer.next();
  if (is_word(t, {"CONNECTION"})) {
    t = lexer.next();
  } else if (is_word(t, {"QUERY"})) {
    kill.query_only = true;
    t = lexer.next();
  }
  if (t.kind != token_kind::number) return kill;  // KILL USER x, KILL QUERY ID n, expressions
  const auto parsed = std::from_chars(t.text.data(), t.text.data() + t.text.size(), kill.id);
  if (parsed.ec != std::errc{} || parsed.ptr != t.text.data() + t.text.size()) return kill;
  t = lexer.next();
  if (is_op(t, ";")) t = lexer.next();
  kill.supported = t.kind == token_kind::end;
  return kill;
}

bool is_load_local(std::string_view sql) {
  sql_lexer lexer(sql);
  const token first = lexer.next();
  if (first.kind != token_kind::word || !equals_keyword(first.text, "LOAD")) return false;
  const token second = lexer.next();
  if (second.kind != token_kind::word ||
      !(equals_keyword(second.text, "DATA") || equals_keyword(second.text, "XML")))
    return false;
  for (token t = lexer.next(); t.kind == token_kind::word; t = lexer.next()) {
    if (equals_keyword(t.text, "LOCAL")) return true;
    if (!equals_keyword(t.text, "LOW_PRIORITY") && !equals_keyword(t.text, "CONCURRENT"))
      return false;
  }
  return false;
}

}  // namespace sluice::sql
