// Decides from a query's text whether it pins the client to its backend connection.
#include "proxy/statement_classifier.h"

#include <array>
#include <initializer_list>

#include "proxy/sql_lexer.h"

namespace sluice::proxy {

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
    case pin_reason::binary_prepared_statement:
      return "binary_prepared_statement";
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

// The session variables sluice restores on every lease, so a client may set them freely.
bool is_restored_variable(std::string_view name) {
  return is_keyword(name, {"AUTOCOMMIT", "CHARACTER_SET_CLIENT", "CHARACTER_SET_CONNECTION",
                           "CHARACTER_SET_RESULTS", "COLLATION_CONNECTION"});
}

enum class variable_scope { session, global };

struct system_variable_name {
  variable_scope scope;
  std::string_view name;  // without backticks; a structured one keeps its dot (kc.key_buffer_size)
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
  return {variable_scope::session, unquote_identifier(text)};
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

  token peek_second() const {
    sql_lexer ahead = lexer_;
    ahead.next();
    return ahead.next();
  }

  void pin(pin_reason reason) {
    if (traits_.pin == pin_reason::none) traits_.pin = reason;
  }

  // The constructs that matter wherever they appear in a statement.
  void inspect(const token& t) {
    switch (t.kind) {
      case token_kind::user_variable:
        if (!is_host_name()) pin(pin_reason::user_variable);
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
        if (equals_keyword(t.text, "SQL_CALC_FOUND_ROWS")) {
          pin(pin_reason::found_rows);
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
    if (!is_keyword(name, {"GET_LOCK", "LAST_INSERT_ID", "FOUND_ROWS", "ROW_COUNT"})) return;
    // db.get_lock(...) calls a stored function of that schema, not the built-in.
    if (is_op(recent_[0], ".")) return;
    if (!is_op(peek(), "(")) return;
    if (equals_keyword(name, "GET_LOCK")) {
      pin(pin_reason::named_lock);
    } else if (equals_keyword(name, "LAST_INSERT_ID")) {
      // With an argument it sets the session's value, which later statements read back.
      if (is_op(peek_second(), ")")) {
        traits_.uses_last_insert_id = true;
      } else {
        pin(pin_reason::session_variable);
      }
    } else {
      traits_.reads_previous_statement = true;
    }
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
      if (is_word(next, {"PREPARE"})) pin(pin_reason::prepared_statement);
      if (is_word(next, {"USER", "ROLE"})) kind_ = statement_kind::account;
    } else if (is_word(first, {"ALTER", "RENAME"})) {
      if (is_word(next, {"USER"})) kind_ = statement_kind::account;
    } else if (is_word(first, {"GRANT", "REVOKE"})) {
      kind_ = statement_kind::account;
    } else if (is_word(first, {"LOCK"})) {  // LOCK TABLE(S), LOCK INSTANCE FOR BACKUP
      pin(pin_reason::table_lock);
    } else if (is_word(first, {"FLUSH"})) {
      kind_ = statement_kind::flush;
    } else if (is_word(first, {"BACKUP"})) {
      if (is_word(next, {"STAGE", "LOCK"})) pin(pin_reason::table_lock);
    } else if (is_word(first, {"PREPARE", "EXECUTE"})) {
      pin(pin_reason::prepared_statement);
    } else if (is_word(first, {"DEALLOCATE"})) {
      if (is_word(next, {"PREPARE"})) pin(pin_reason::prepared_statement);
    } else if (is_word(first, {"XA"})) {
      if (is_word(next, {"START", "BEGIN"})) pin(pin_reason::xa_transaction);
    } else if (is_word(first, {"HANDLER"})) {
      handler_statement();
    } else if (is_word(first, {"SHOW"})) {
      show_statement();
    } else if (is_word(first, {"GET"})) {  // GET [CURRENT | STACKED] DIAGNOSTICS
      const token diagnostics = is_word(next, {"CURRENT", "STACKED"}) ? peek_second() : next;
      if (is_word(diagnostics, {"DIAGNOSTICS"})) traits_.reads_previous_statement = true;
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
      if (is_word(t, {"LOCK"}) && is_word(recent_[1], {"READ"}) && is_word(recent_[2], {"WITH"})) {
        pin(pin_reason::table_lock);
      } else if (is_word(t, {"EXPORT"}) && is_word(recent_[1], {"FOR"})) {
        pin(pin_reason::table_lock);
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
    } else if (is_word(next, {"USER", "ROLE"})) {
      kind_ = statement_kind::account;
    }
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

  // HANDLER [db.]tbl OPEN pins; READ and CLOSE use a handler the session already holds.
  void handler_statement() {
    if (!is_name(peek())) return;
    advance();
    while (is_op(peek(), ".")) {
      advance();
      if (!is_name(peek())) return;
      advance();
    }
    if (is_word(peek(), {"OPEN"})) pin(pin_reason::handler);
  }

  // After SET. Returns whether the next token starts a statement (SET STATEMENT ... FOR).
  bool set_statement() {
    const token next = peek();
    if (is_word(next, {"STATEMENT"})) {  // MariaDB: the assignments last for one statement
      advance();
      return skip_to_inner_statement();
    }
    if (is_word(next, {"PASSWORD"}) ||
        (is_word(next, {"DEFAULT"}) && is_word(peek_second(), {"ROLE"}))) {
      kind_ = statement_kind::account;
      return false;
    }
    if (is_word(next, {"ROLE"})) {
      pin(pin_reason::session_variable);
      return false;
    }
    if (is_word(next, {"TRANSACTION"})) {  // without a scope: only the next transaction
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
    advance();
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
        if (scope == variable_scope::session) pin(pin_reason::session_variable);
        skip_rest_of_statement();  // its characteristics are comma-separated too
        return false;
      }
    } else if (is_word(target, {"NAMES", "CHARSET"})) {
      return skip_assignment_value();
    } else if (is_word(target, {"CHARACTER"}) && is_word(peek(), {"SET"})) {
      return skip_assignment_value();
    }

    switch (target.kind) {
      case token_kind::user_variable:
        break;  // inspect() pinned it
      case token_kind::system_variable: {
        const system_variable_name variable = parse_system_variable(target.text);
        if (variable.scope == variable_scope::session && !is_restored_variable(variable.name)) {
          pin(pin_reason::session_variable);
        }
        break;
      }
      case token_kind::word:
      case token_kind::quoted_identifier: {
        // A dotted name is a structured variable (keycache1.key_buffer_size): never restored.
        const bool restored =
            is_restored_variable(unquote_identifier(target.text)) && !is_op(peek(), ".");
        if (scope == variable_scope::session && !restored) pin(pin_reason::session_variable);
        break;
      }
      default:  // a form not known here: assume it changes the session
        pin(pin_reason::session_variable);
        break;
    }
    return skip_assignment_value();
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
  // Inside a MariaDB compound statement (BEGIN NOT ATOMIC, IF, WHILE, a label...): THEN, ELSE,
  // DO, LOOP and REPEAT are followed by statements. Stays set for the rest of the query.
  bool compound_ = false;
};

}  // namespace

statement_traits classify_statement(std::string_view sql) {
  return classifier(sql).run();
}

}  // namespace sluice::proxy
