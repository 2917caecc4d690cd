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

std::string charset_value_sql(const std::string& value) {
  if (!value.empty() && value[0] == '#') return value.substr(1);  // a collation id
  if (value.empty() || lower(value) == "null") return "NULL";  // character_set_results may be NULL
  return sql_string_literal(value);
}

}  // namespace

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
                          bool needs_last_insert_id, std::uint64_t client_id) {
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
    for (int i = 0; i < 4; ++i) {
      if (!have.charset || have.charset->values[i] != want.charset.values[i])
        append_assignment(plan.set_statement, charset_vars::names[i],
                          charset_value_sql(want.charset.values[i]));
    }
  }
  if (needs_last_insert_id && have.last_client != client_id)
    append_assignment(plan.set_statement, "last_insert_id", std::to_string(want.last_insert_id));
  return plan;
}

tracked_changes apply_session_state(const std::vector<std::string>& blobs, session_vars& vars,
                                    bool from_restore) {
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
          break;
        case protocol::session_track::system_variables: {
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
          if (known || (from_restore && name == "last_insert_id")) break;
          // Variables whose change cannot harm the next client of the backend.
          if (name.starts_with("session_track_")) break;
          if (result.pin == pin_reason::none) result.pin = pin_reason::session_variable;
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
