// Planning the one-round-trip restore of a client's session on a backend, and reading the
// server's session-state tracker reports back into the client's variables.
#include "proxy/session_state.h"

#include <algorithm>
#include <cctype>

#include "protocol/session_state.h"

namespace sluice::proxy {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

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

// Derived from the default schema: never replayed on their own.
bool follows_schema(std::string_view name) {
  return name == "character_set_database" || name == "collation_database";
}

// One-shot or sluice's own: a client change cannot be carried to another backend.
bool unreplayable(std::string_view name) {
  return name == "insert_id" || name == "rand_seed1" || name == "rand_seed2" ||
         name == "pseudo_thread_id" || name == "identity" || name == "gtid_seq_no" ||
         name.starts_with("session_track_");
}

}  // namespace

std::string charset_value_sql(const std::string& value) {
  if (!value.empty() && value[0] == '#') return value.substr(1);  // a collation id
  if (value.empty() || lower(value) == "null") return "NULL";  // character_set_results may be NULL
  return sql_string_literal(value);
}

charset_vars charset_vars::from_collation_id(std::uint16_t id) {
  charset_vars c;
  for (auto& v : c.values) v = "#" + std::to_string(id);
  return c;
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
                          bool needs_last_insert_id) {
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
                          charset_value_sql(want.charset.values[i]));
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

tracked_changes apply_session_state(const std::vector<std::string>& blobs, session_vars& vars) {
  tracked_changes result;
  for (const auto& blob : blobs) {
    auto changes = protocol::decode_session_state(blob);
    if (!changes) {
      result.pin = pin_reason::session_state;
      continue;
    }
    for (const auto& change : *changes) {
      switch (change.type) {
        case protocol::session_track::schema:
          vars.schema = std::string(change.value);
          result.reported_anything = true;
          break;
        case protocol::session_track::state_change:
          result.state_changed = true;
          break;
        case protocol::session_track::transaction_characteristics:
          result.transaction_characteristics = std::string(change.value);
          break;
        case protocol::session_track::system_variables: {
          result.reported_anything = true;
          const std::string name = lower(change.name);
          if (name == "autocommit") {
            vars.autocommit = lower(change.value) == "on" || change.value == "1";
            break;
          }
          bool known = false;
          for (int i = 0; i < 4; ++i) {
            if (name == charset_vars::names[i]) {
              vars.charset.values[i] = std::string(change.value);
              known = true;
            }
          }
          if (known || follows_schema(name)) break;
          if (name == "last_insert_id") {
            std::uint64_t id = 0;
            for (char c : change.value) {
              if (c < '0' || c > '9') break;
              id = id * 10 + static_cast<std::uint64_t>(c - '0');
            }
            vars.last_insert_id = id;
            result.last_insert_id_reported = true;
            break;
          }
          if (unreplayable(name)) {
            if (result.pin == pin_reason::none) result.pin = pin_reason::session_variable;
            break;
          }
          vars.system[name] = std::string(change.value);
          break;
        }
        default:
          break;
      }
    }
  }
  return result;
}

}  // namespace sluice::proxy
