// Restore planning (what to send so a backend's session matches a client's) and the reading of
// the server's session-state tracker reports back into the client's variables.
#include "session/session_vars.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/constants.h"
#include "session/restore_plan.h"

namespace sluice::session {

void PrintTo(const charset_vars& c, std::ostream* out) {
  *out << "{" << c.values[0] << ", " << c.values[1] << ", " << c.values[2] << ", " << c.values[3]
       << "}";
}

namespace {

using protocol::session_track;

charset_vars charset_names(std::string cs, std::string collation) {
  charset_vars c;
  c.values[0] = cs;
  c.values[1] = cs;
  c.values[2] = cs;
  c.values[3] = std::move(collation);
  return c;
}

const charset_vars utf8mb4 = charset_names("utf8mb4", "utf8mb4_general_ci");

// The server's collations, as a backend lists them (a few of MariaDB 10.11's).
collation_table server_collations() {
  collation_table t;
  t.add(8, "latin1_swedish_ci", "latin1");
  t.add(45, "utf8mb4_general_ci", "utf8mb4");
  t.add(224, "utf8mb4_unicode_ci", "utf8mb4");
  t.add(97, "eucjpms_japanese_ci", "eucjpms");
  return t;
}

// A client session as a tracker-fed one usually looks.
session_vars client(std::string schema = "shop") {
  session_vars v;
  v.schema = std::move(schema);
  v.charset = utf8mb4;
  v.autocommit = true;
  v.multi_statements = false;
  v.last_insert_id = 42;
  return v;
}

// A backend known to match client().
backend_vars matching(std::string schema = "shop") {
  backend_vars b;
  b.schema = std::move(schema);
  b.charset = utf8mb4;
  b.autocommit = true;
  b.multi_statements = false;
  b.last_insert_id = 42;
  return b;
}

// ---------------------------------------------------------------------------------------------
// plan_restore

struct restore_case {
  std::string name;
  session_vars want;
  backend_vars have;
  bool needs_last_insert_id = false;
  restore_plan expected;
};

void PrintTo(const restore_case& c, std::ostream* out) {
  *out << c.name;
}

class plan_restore_table : public ::testing::TestWithParam<restore_case> {};

TEST_P(plan_restore_table, plans) {
  const restore_case& c = GetParam();
  const restore_plan plan =
      plan_restore(c.want, c.have, c.needs_last_insert_id, server_collations());
  EXPECT_EQ(plan.change_user, c.expected.change_user);
  EXPECT_EQ(plan.multi_statements, c.expected.multi_statements);
  EXPECT_EQ(plan.schema, c.expected.schema);
  EXPECT_EQ(plan.set_statement, c.expected.set_statement);
  EXPECT_EQ(plan.empty(), c.expected.empty());
}

// The plan a case expects: COM_SET_OPTION, COM_INIT_DB and the SET statement.
restore_plan plan(std::optional<bool> multi_statements, std::optional<std::string> schema,
                  std::string set_statement) {
  restore_plan p;
  p.multi_statements = multi_statements;
  p.schema = std::move(schema);
  p.set_statement = std::move(set_statement);
  return p;
}

restore_plan change_user_only() {
  restore_plan p;
  p.change_user = true;
  return p;
}

template <class F>
session_vars client_with(F change) {
  session_vars v = client();
  change(v);
  return v;
}

template <class F>
backend_vars matching_with(F change) {
  backend_vars b = matching();
  change(b);
  return b;
}

const std::vector<restore_case> restore_cases = {
    {.name = "nothing_to_do",
     .want = client(),
     .have = matching(),
     .expected = plan(std::nullopt, std::nullopt, "")},
    {.name = "unknown_backend_gets_everything",
     .want = client(),
     .have = {},
     .expected = plan(false, "shop",
                      "SET autocommit=1, character_set_client='utf8mb4', "
                      "character_set_results='utf8mb4', "
                      "character_set_connection='utf8mb4', "
                      "collation_connection='utf8mb4_general_ci'")},
    {.name = "schema_change_is_init_db",
     .want = client("shop"),
     .have = matching("billing"),
     .expected = plan(std::nullopt, "shop", "")},
    {.name = "unknown_schema_is_init_db",
     .want = client("shop"),
     .have = matching_with([](backend_vars& b) { b.schema.reset(); }),
     .expected = plan(std::nullopt, "shop", "")},
    {.name = "no_schema_on_a_backend_with_one_is_change_user",
     .want = client(""),
     .have = matching_with([](backend_vars& b) { b.autocommit = false; }),
     .expected = change_user_only()},
    {.name = "no_schema_on_a_backend_of_unknown_schema_is_change_user",
     .want = client(""),
     .have = {},
     .expected = change_user_only()},
    {.name = "no_schema_on_a_backend_without_one",
     .want = client(""),
     .have = matching(""),
     .expected = plan(std::nullopt, std::nullopt, "")},
    {.name = "multi_statements_on",
     .want = client_with([](session_vars& v) { v.multi_statements = true; }),
     .have = matching(),
     .expected = plan(true, std::nullopt, "")},
    {.name = "multi_statements_off",
     .want = client(),
     .have = matching_with([](backend_vars& b) { b.multi_statements = true; }),
     .expected = plan(false, std::nullopt, "")},
    {.name = "autocommit_off",
     .want = client_with([](session_vars& v) { v.autocommit = false; }),
     .have = matching(),
     .expected = plan(std::nullopt, std::nullopt, "SET autocommit=0")},
    {.name = "handshake_collation_renders_the_servers_names",
     .want = client_with([](session_vars& v) { v.charset = charset_vars::from_collation_id(45); }),
     .have = matching_with([](backend_vars& b) { b.charset = charset_names("latin1", ""); }),
     .expected = plan(std::nullopt, std::nullopt,
                      "SET character_set_client='utf8mb4', character_set_results='utf8mb4', "
                      "character_set_connection='utf8mb4', "
                      "collation_connection='utf8mb4_general_ci'")},
    // node-mysql2's default: the charset of a non-default collation is its character set, never
    // the collation id (MariaDB answers 1115 "Unknown character set: '224'" to that).
    {.name = "non_default_handshake_collation",
     .want = client_with([](session_vars& v) { v.charset = charset_vars::from_collation_id(224); }),
     .have = matching(),
     .expected = plan(std::nullopt, std::nullopt,
                      "SET character_set_client='utf8mb4', character_set_results='utf8mb4', "
                      "character_set_connection='utf8mb4', "
                      "collation_connection='utf8mb4_unicode_ci'")},
    // MySQL 8's utf8mb4_0900_ai_ci, which MariaDB lacks: the server keeps its defaults at login.
    {.name = "unknown_handshake_collation_means_the_servers_defaults",
     .want = client_with([](session_vars& v) { v.charset = charset_vars::from_collation_id(255); }),
     .have = matching(),
     .expected = plan(std::nullopt, std::nullopt,
                      "SET character_set_client=DEFAULT, character_set_results=DEFAULT, "
                      "character_set_connection=DEFAULT, collation_connection=DEFAULT")},
    {.name = "only_the_differing_charset_variable",
     .want = client_with([](session_vars& v) { v.charset.values[3] = "utf8mb4_bin"; }),
     .have = matching(),
     .expected = plan(std::nullopt, std::nullopt, "SET collation_connection='utf8mb4_bin'")},
    {.name = "results_charset_null",
     .want = client_with([](session_vars& v) { v.charset.values[1] = ""; }),
     .have = matching(),
     .expected = plan(std::nullopt, std::nullopt, "SET character_set_results=NULL")},
    {.name = "results_charset_null_by_name",
     .want = client_with([](session_vars& v) { v.charset.values[1] = "NULL"; }),
     .have = matching(),
     .expected = plan(std::nullopt, std::nullopt, "SET character_set_results=NULL")},
    {.name = "setting_the_connection_character_set_sets_the_collation_again",
     .want = client_with([](session_vars& v) {
       v.charset.values[2] = "latin1";
       v.charset.values[3] = "latin1_german1_ci";
     }),
     .have = matching_with([](backend_vars& b) {
       b.charset->values[2] = "utf8mb4";
       b.charset->values[3] = "latin1_german1_ci";
     }),
     .expected = plan(std::nullopt, std::nullopt,
                      "SET character_set_connection='latin1', "
                      "collation_connection='latin1_german1_ci'")},
    {.name = "default_collation_comes_with_the_connection_character_set",
     .want = client_with([](session_vars& v) {
       v.charset.values[2] = "latin1";
       v.charset.values[3] = "";
     }),
     .have = matching_with([](backend_vars& b) {
       b.charset->values[2] = "latin1";
       b.charset->values[3] = "latin1_bin";
     }),
     .expected = plan(std::nullopt, std::nullopt, "SET character_set_connection='latin1'")},
    {.name = "other_variables_and_user_variables_are_replayed_and_reset",
     .want = client_with([](session_vars& v) {
       v.system["sql_mode"] = "ANSI_QUOTES";
       v.system["max_statement_time"] = "1.500000";
       v.user["a"] = "'x'";
     }),
     .have = matching_with([](backend_vars& b) {
       b.system["time_zone"] = "+01:00";
       b.user["b"] = "5";
       b.user["c"] = std::string(opaque_value);
     }),
     .expected = plan(std::nullopt, std::nullopt,
                      "SET max_statement_time=1.500000, sql_mode='ANSI_QUOTES', "
                      "time_zone=DEFAULT, @`a`='x', @`b`=NULL")},
    {.name = "charset_names_are_quoted",
     .want = client_with([](session_vars& v) { v.charset.values[0] = "we'ird"; }),
     .have = matching(),
     .expected = plan(std::nullopt, std::nullopt, R"(SET character_set_client='we\'ird')")},
    {.name = "last_insert_id_for_another_client",
     .want = client(),
     .have = matching_with([](backend_vars& b) { b.last_insert_id = 8; }),
     .needs_last_insert_id = true,
     .expected = plan(std::nullopt, std::nullopt, "SET last_insert_id=42")},
    {.name = "last_insert_id_after_a_reset",
     .want = client(),
     .have = matching_with([](backend_vars& b) { b.last_insert_id = 0; }),
     .needs_last_insert_id = true,
     .expected = plan(std::nullopt, std::nullopt, "SET last_insert_id=42")},
    {.name = "last_insert_id_already_there",
     .want = client(),
     .have = matching(),
     .needs_last_insert_id = true,
     .expected = plan(std::nullopt, std::nullopt, "")},
    {.name = "last_insert_id_not_needed",
     .want = client(),
     .have = matching_with([](backend_vars& b) { b.last_insert_id = 8; }),
     .expected = plan(std::nullopt, std::nullopt, "")},
    {.name = "everything_in_one_set_in_order",
     .want = client_with([](session_vars& v) {
       v.autocommit = false;
       v.charset = charset_names("latin1", "latin1_swedish_ci");
       v.multi_statements = true;
     }),
     .have = matching_with([](backend_vars& b) {
       b.schema = "billing";
       b.last_insert_id = 3;
     }),
     .needs_last_insert_id = true,
     .expected = plan(true, "shop",
                      "SET autocommit=0, character_set_client='latin1', "
                      "character_set_results='latin1', "
                      "character_set_connection='latin1', "
                      "collation_connection='latin1_swedish_ci', "
                      "last_insert_id=42")},
};

INSTANTIATE_TEST_SUITE_P(session_state, plan_restore_table, ::testing::ValuesIn(restore_cases),
                         [](const auto& info) { return info.param.name; });

TEST(charset_vars, from_collation_id_sets_every_variable_to_the_id) {
  const charset_vars c = charset_vars::from_collation_id(255);
  for (const auto& v : c.values) EXPECT_EQ(v, "#255");
  EXPECT_STREQ(charset_vars::names[2], "character_set_connection");
  EXPECT_STREQ(charset_vars::names[3], "collation_connection") << "collation after connection";
}

// ---------------------------------------------------------------------------------------------
// sql_string_literal

struct literal_case {
  std::string name;
  std::string text;
  std::string literal;
};

void PrintTo(const literal_case& c, std::ostream* out) {
  *out << c.name;
}

class sql_string_literal_table : public ::testing::TestWithParam<literal_case> {};

TEST_P(sql_string_literal_table, quotes) {
  EXPECT_EQ(sql_string_literal(GetParam().text), GetParam().literal);
}

INSTANTIATE_TEST_SUITE_P(
    session_state, sql_string_literal_table,
    ::testing::Values(literal_case{"plain", "utf8mb4", "'utf8mb4'"},
                      literal_case{"empty", "", "''"},
                      literal_case{"single_quote", "it's", R"('it\'s')"},
                      literal_case{"backslash", R"(a\b)", R"('a\\b')"},
                      literal_case{"backslash_before_quote", R"(\')", R"('\\\'')"},
                      literal_case{"nul_byte", std::string("a\0b", 3), R"('a\0b')"},
                      literal_case{"double_quote_kept", R"(say "hi")", R"('say "hi"')"},
                      literal_case{"newline_kept", "a\nb", "'a\nb'"},
                      literal_case{"utf8_kept", "gr\xC3\xBC\xC3\x9F", "'gr\xC3\xBC\xC3\x9F'"}),
    [](const auto& info) { return info.param.name; });

// ---------------------------------------------------------------------------------------------
// apply_session_state, with blobs built per "Session State Information" in the OK packet:
// repeated {int<1> type, string<lenenc> data}.

std::string lenenc(std::string_view s) {
  std::string out;
  if (s.size() < 251) {
    out += static_cast<char>(s.size());
  } else {
    out += static_cast<char>(0xfc);
    out += static_cast<char>(s.size() & 0xff);
    out += static_cast<char>((s.size() >> 8) & 0xff);
  }
  out += s;
  return out;
}

std::string entry(session_track type, std::string_view data) {
  return static_cast<char>(type) + lenenc(data);
}

// SESSION_TRACK_SYSTEM_VARIABLES: data is {string<lenenc> name, string<lenenc> value}...
std::string variables(std::vector<std::pair<std::string, std::string>> pairs) {
  std::string data;
  for (const auto& [name, value] : pairs) data += lenenc(name) + lenenc(value);
  return entry(session_track::system_variables, data);
}

std::string variable(std::string name, std::string value) {
  return variables({{std::move(name), std::move(value)}});
}

// SESSION_TRACK_SCHEMA: data is string<lenenc> name.
std::string schema(std::string_view name) {
  return entry(session_track::schema, lenenc(name));
}

struct apply_case {
  std::string name;
  std::vector<std::string> blobs;
  bool from_restore = false;
  session_vars expected;  // from client()
  pin_reason pin = pin_reason::none;
};

void PrintTo(const apply_case& c, std::ostream* out) {
  *out << c.name;
}

class apply_session_state_table : public ::testing::TestWithParam<apply_case> {};

TEST_P(apply_session_state_table, applies) {
  const apply_case& c = GetParam();
  session_vars vars = client();
  const tracked_changes result = apply_session_state(c.blobs, vars);
  EXPECT_EQ(result.pin, c.pin) << to_string(result.pin);
  EXPECT_EQ(vars.schema, c.expected.schema);
  EXPECT_EQ(vars.charset, c.expected.charset);
  EXPECT_EQ(vars.autocommit, c.expected.autocommit);
  EXPECT_EQ(vars.multi_statements, c.expected.multi_statements);
  EXPECT_EQ(vars.last_insert_id, c.expected.last_insert_id);
  EXPECT_EQ(vars.system, c.expected.system);
}

const std::vector<apply_case> apply_cases = {
    {.name = "no_blobs", .blobs = {}, .expected = client()},
    {.name = "empty_blob", .blobs = {""}, .expected = client()},
    {.name = "schema", .blobs = {schema("billing")}, .expected = client("billing")},
    {.name = "schema_dropped", .blobs = {schema("")}, .expected = client("")},
    {.name = "autocommit_off",
     .blobs = {variable("autocommit", "OFF")},
     .expected = client_with([](session_vars& v) { v.autocommit = false; })},
    {.name = "autocommit_zero",
     .blobs = {variable("autocommit", "0")},
     .expected = client_with([](session_vars& v) { v.autocommit = false; })},
    {.name = "autocommit_on_lower_case_name",
     .blobs = {variable("autocommit", "OFF"), variable("AutoCommit", "on")},
     .expected = client()},
    {.name = "autocommit_one",
     .blobs = {variable("autocommit", "OFF"), variable("autocommit", "1")},
     .expected = client()},
    {.name = "set_names_in_one_entry",
     .blobs = {variables({{"character_set_client", "latin1"},
                          {"character_set_connection", "latin1"},
                          {"character_set_results", "latin1"},
                          {"collation_connection", "latin1_swedish_ci"}})},
     .expected = client_with(
         [](session_vars& v) { v.charset = charset_names("latin1", "latin1_swedish_ci"); })},
    {.name = "charset_names_are_case_insensitive",
     .blobs = {variable("COLLATION_CONNECTION", "utf8mb4_bin")},
     .expected = client_with([](session_vars& v) { v.charset.values[3] = "utf8mb4_bin"; })},
    {.name = "charset_and_schema_in_one_blob",
     .blobs = {variable("character_set_results", "") + schema("billing")},
     .expected = client_with([](session_vars& v) {
       v.schema = "billing";
       v.charset.values[1] = "";
     })},
    {.name = "other_variable_is_recorded_for_replay",
     .blobs = {variable("sql_mode", "ANSI_QUOTES")},
     .expected = client_with([](session_vars& v) { v.system["sql_mode"] = "ANSI_QUOTES"; })},
    {.name = "other_variable_beside_known_ones",
     .blobs = {variables({{"time_zone", "+01:00"}, {"autocommit", "OFF"}})},
     .expected = client_with([](session_vars& v) {
       v.autocommit = false;
       v.system["time_zone"] = "+01:00";
     })},
    {.name = "variable_names_are_lower_cased",
     .blobs = {variable("SQL_SELECT_LIMIT", "10")},
     .expected = client_with([](session_vars& v) { v.system["sql_select_limit"] = "10"; })},
    {.name = "session_track_variables_pin",  // sluice's own trackers: not the client's to change
     .blobs = {variable("session_track_schema", "ON"),
               variable("session_track_system_variables", "*")},
     .expected = client(),
     .pin = pin_reason::session_variable},
    {.name = "one_shot_variable_pins",
     .blobs = {variable("insert_id", "5")},
     .expected = client(),
     .pin = pin_reason::session_variable},
    {.name = "schema_derived_variables_are_not_replayed",
     .blobs = {variables(
         {{"character_set_database", "latin1"}, {"collation_database", "latin1_bin"}})},
     .expected = client()},
    {.name = "last_insert_id_set_by_the_client_is_recorded",
     .blobs = {variable("last_insert_id", "9")},
     .expected = client_with([](session_vars& v) { v.last_insert_id = 9; })},
    {.name = "last_insert_id_from_a_restore_is_expected",
     .blobs = {variable("last_insert_id", "42")},
     .from_restore = true,
     .expected = client()},
    {.name = "empty_value_is_a_value",
     .blobs = {variable("sql_mode", "")},
     .expected = client_with([](session_vars& v) { v.system["sql_mode"] = ""; })},
    {.name = "other_tracker_types_are_ignored",
     .blobs = {entry(session_track::state_change, lenenc("1")) +
               entry(session_track::transaction_state, lenenc("T_______")) +
               entry(session_track::gtids, std::string(1, '\0') + lenenc("0-1-42")) +
               entry(static_cast<session_track>(9), "future")},
     .expected = client()},
    {.name = "long_value_with_a_two_byte_length",
     .blobs = {variable("character_set_client", std::string(300, 'x'))},
     .expected = client_with([](session_vars& v) { v.charset.values[0] = std::string(300, 'x'); })},
    {.name = "truncated_blob",
     .blobs = {variable("autocommit", "OFF").substr(0, 8)},
     .expected = client(),
     .pin = pin_reason::session_state},
    {.name = "schema_data_too_short",
     .blobs = {entry(session_track::schema,
                     "\x05"
                     "ab")},
     .expected = client(),
     .pin = pin_reason::session_state},
    {.name = "variable_without_value",
     .blobs = {entry(session_track::system_variables, lenenc("autocommit"))},
     .expected = client(),
     .pin = pin_reason::session_state},
    {.name = "malformed_blob_beside_a_good_one",
     .blobs = {schema("billing"), "\x01"},
     .expected = client("billing"),
     .pin = pin_reason::session_state},
    {.name = "malformed_wins_over_an_earlier_variable_pin",
     .blobs = {variable("insert_id", "1"), std::string("\x00\x05", 2)},
     .expected = client(),
     .pin = pin_reason::session_state},
    {.name = "malformed_is_kept_over_a_later_variable_pin",
     .blobs = {std::string("\x00\x05", 2), variable("insert_id", "1")},
     .expected = client(),
     .pin = pin_reason::session_state},
};

INSTANTIATE_TEST_SUITE_P(session_state, apply_session_state_table, ::testing::ValuesIn(apply_cases),
                         [](const auto& info) { return info.param.name; });

// What a restore learns comes back as names: the next plan for the same backend is empty.
TEST(session_state, a_restore_answer_makes_the_next_plan_empty) {
  session_vars vars = client();
  vars.charset = charset_vars::from_collation_id(45);
  backend_vars backend = matching("billing");

  const restore_plan plan = plan_restore(vars, backend, false, server_collations());
  ASSERT_EQ(plan.schema, "shop");
  const auto tracked = apply_session_state(
      {schema("shop"), variables({{"character_set_client", "utf8mb4"},
                                  {"character_set_results", "utf8mb4"},
                                  {"character_set_connection", "utf8mb4"},
                                  {"collation_connection", "utf8mb4_general_ci"}})},
      vars);
  EXPECT_EQ(tracked.pin, pin_reason::none);
  backend.schema = vars.schema;
  backend.charset = vars.charset;
  EXPECT_TRUE(plan_restore(vars, backend, false, server_collations()).empty());
}

}  // namespace
}  // namespace sluice::session
