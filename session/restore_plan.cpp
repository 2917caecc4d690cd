// Planning the one-round-trip restore of a client's session on a backend.
#include "session/restore_plan.h"

#include <algorithm>
#include <cctype>

#include "sql/sql_lexer.h"

namespace sluice::session {
namespace {

void append_assignment(std::string& sql, std::string_view name, std::string_view value_sql) {
  sql += sql.empty() ? "SET " : ", ";
  sql += name;
  sql += '=';
  sql += value_sql;
}

bool is_number(std::string_view v) {
  std::size_t i = v.starts_with('-') ? 1 : 0;
  bool digits = false, dot = false;
  for (; i < v.size(); ++i) {
    if (v[i] >= '0' && v[i] <= '9') {
      digits = true;
    } else if (v[i] == '.' && !dot) {
      dot = true;
    } else {
      return false;
    }
  }
  return digits;
}

// A tracker-reported value as SQL: numbers bare (a numeric variable refuses a string), the rest
// quoted. Values with a backslash or control bytes go as hex, which reads the same whatever the
// session's sql_mode (NO_BACKSLASH_ESCAPES changes what a backslash in a literal means).
std::string system_value_sql(std::string_view value) {
  if (is_number(value)) return std::string(value);
  const bool plain = std::all_of(value.begin(), value.end(), [](char c) {
    return c != '\\' && static_cast<unsigned char>(c) >= 0x20;
  });
  if (plain) {
    std::string out = "'";
    for (char c : value) {
      if (c == '\'') out += '\'';
      out += c;
    }
    return out + "'";
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "CONVERT(X'";
  for (unsigned char c : value) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out + "' USING utf8mb4)";
}

// @`name`: any user variable name, quoted.
std::string user_variable_sql(std::string_view name) {
  std::string out = "@`";
  for (char c : name) {
    if (c == '`') out += '`';
    out += c;
  }
  return out + "`";
}

}  // namespace

std::string charset_value_sql(const std::string& value, int variable,
                              const collation_table& collations) {
  if (const auto id = collation_id_of(value)) {
    // As the server treats a handshake: a known id sets the character set variables to its
    // character set and collation_connection to it; an unknown one leaves the server's global
    // values.
    const collation_names* names = collations.at_login(*id);
    if (!names) return "DEFAULT";
    return sql_string_literal(variable == 3 ? names->collation : names->charset);
  }
  if (value.empty() || sql::equals_keyword(value, "NULL"))
    return "NULL";  // character_set_results may be NULL
  return sql_string_literal(value);
}

std::string sql_string_literal(std::string_view s) {
  std::string out = "'";
  for (char ch : s) {
    if (ch == '\'' || ch == '\\') out += '\\';
    if (ch == '\0') {
      out += "\\0";
      continue;
    }
    out += ch;
  }
  out += '\'';
  return out;
}

restore_plan plan_restore(const session_vars& want, const backend_vars& have,
                          bool needs_last_insert_id, const collation_table& collations) {
  restore_plan plan;
  if (want.schema.empty() && have.schema.value_or("?") != "") {
    plan.change_user = true;
    return plan;  // re-authentication resets everything: plan the rest afterwards
  }
  if (have.multi_statements != want.multi_statements) plan.multi_statements = want.multi_statements;
  if (!want.schema.empty() && have.schema != want.schema) plan.schema = want.schema;
  if (have.autocommit != want.autocommit)
    append_assignment(plan.set_statement, "autocommit", want.autocommit ? "1" : "0");
  if (have.charset != want.charset) {
    // Setting character_set_connection sets collation_connection to that character set's default,
    // which is what an empty collation_connection stands for; any other collation is set after.
    const bool default_collation = want.charset.values[3].empty();
    bool connection_set = false;
    for (int i = 0; i < 4; ++i) {
      bool differs = !have.charset || have.charset->values[i] != want.charset.values[i];
      if (i == 2 && default_collation && have.charset && !have.charset->values[3].empty())
        differs = true;
      if (i == 2) connection_set = differs;
      if (i == 3 && default_collation) continue;
      if (i == 3 && connection_set) differs = true;
      if (differs)
        append_assignment(plan.set_statement, charset_vars::names[i],
                          charset_value_sql(want.charset.values[i], i, collations));
    }
  }
  // Other system variables: the client's values, and the defaults for what an earlier client of
  // the backend changed.
  for (const auto& [name, value] : want.system) {
    auto it = have.system.find(name);
    if (it == have.system.end() || it->second != value)
      append_assignment(plan.set_statement, name, system_value_sql(value));
  }
  for (const auto& [name, value] : have.system) {
    if (!want.system.contains(name)) append_assignment(plan.set_statement, name, "DEFAULT");
  }
  for (const auto& [name, value] : want.user) {
    auto it = have.user.find(name);
    if (it == have.user.end() || it->second != value)
      append_assignment(plan.set_statement, user_variable_sql(name), value);
  }
  for (const auto& [name, value] : have.user) {
    if (!want.user.contains(name) && value != "null" && value != opaque_value)
      append_assignment(plan.set_statement, user_variable_sql(name), "NULL");
  }
  if (needs_last_insert_id && have.last_insert_id != want.last_insert_id)
    append_assignment(plan.set_statement, "last_insert_id", std::to_string(want.last_insert_id));
  return plan;
}

}  // namespace sluice::session
