// The admin port's pure text layer: splitting a line into commands, parsing one command, and
// rendering tables as aligned text or JSON. Tables of named cases.
#include "admin/admin_format.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace sluice::admin {
namespace {

// ---- split_commands --------------------------------------------------------------------------

struct split_case {
  std::string name;
  std::string line;
  std::vector<std::string> expected;
};

void PrintTo(const split_case& c, std::ostream* out) {
  *out << c.name;
}

class split_commands_table : public ::testing::TestWithParam<split_case> {};

TEST_P(split_commands_table, splits) {
  const split_case& c = GetParam();
  EXPECT_EQ(split_commands(c.line), c.expected) << c.line;
}

const std::vector<split_case> split_cases = {
    {"one_command", "show pools", {"show pools"}},
    {"trims_each_part", "  show pools  ", {"show pools"}},
    {"two_commands", "show version; show pools", {"show version", "show pools"}},
    {"no_space_after_semicolon", "show version;show pools", {"show version", "show pools"}},
    {"trailing_semicolon", "show pools;", {"show pools"}},
    {"leading_semicolon", ";show pools", {"show pools"}},
    {"empty_parts_dropped", "show version;; ;\t;show pools", {"show version", "show pools"}},
    {"only_semicolons", " ; ;; ", {}},
    {"empty_line", "", {}},
    {"blank_line", "   \t ", {}},
    {"semicolon_in_single_quotes",
     "set admin.password = 'a;b'; show pools",
     {"set admin.password = 'a;b'", "show pools"}},
    {"semicolon_in_double_quotes",
     "set admin.password = \"a;b\"; show pools",
     {"set admin.password = \"a;b\"", "show pools"}},
    {"other_quote_inside_quotes",
     "set x = \"it's; fine\"; show pools",
     {"set x = \"it's; fine\"", "show pools"}},
    {"unclosed_quote_keeps_the_rest", "set x = 'a; show pools", {"set x = 'a; show pools"}},
    {"three_commands", "pause; show pools; resume", {"pause", "show pools", "resume"}},
};

INSTANTIATE_TEST_SUITE_P(admin_format, split_commands_table, ::testing::ValuesIn(split_cases),
                         [](const auto& info) { return info.param.name; });

// ---- parse_admin_command ---------------------------------------------------------------------

struct parse_case {
  std::string name;
  std::string text;
  std::vector<std::string> words;
  bool json = false;
  std::string set_key;
  std::string set_value;
};

void PrintTo(const parse_case& c, std::ostream* out) {
  *out << c.name;
}

class parse_admin_command_table : public ::testing::TestWithParam<parse_case> {};

TEST_P(parse_admin_command_table, parses) {
  const parse_case& c = GetParam();
  const admin_command cmd = parse_admin_command(c.text);
  EXPECT_EQ(cmd.words, c.words) << c.text;
  EXPECT_EQ(cmd.json, c.json) << c.text;
  EXPECT_EQ(cmd.set_key, c.set_key) << c.text;
  EXPECT_EQ(cmd.set_value, c.set_value) << c.text;
}

// Constructors that spell out every field (the table stays readable, -Wextra stays quiet).
parse_case verb(std::string name, std::string text, std::vector<std::string> words) {
  return {std::move(name), std::move(text), std::move(words), false, "", ""};
}
parse_case json_verb(std::string name, std::string text, std::vector<std::string> words) {
  return {std::move(name), std::move(text), std::move(words), true, "", ""};
}
parse_case set(std::string name, std::string text, std::string key, std::string value) {
  return {std::move(name), std::move(text), {"SET"}, false, std::move(key), std::move(value)};
}

const std::vector<parse_case> parse_cases = {
    verb("upper_case", "SHOW POOLS", {"SHOW", "POOLS"}),
    verb("lower_case", "show pools", {"SHOW", "POOLS"}),
    verb("mixed_case_and_spaces", "  Show \t  PoOls  ", {"SHOW", "POOLS"}),
    verb("one_word", "help", {"HELP"}),
    verb("blank", "   ", {}),
    verb("empty", "", {}),
    json_verb("format_json", "show pools format json", {"SHOW", "POOLS"}),
    json_verb("format_json_upper", "SHOW CLIENTS FORMAT JSON", {"SHOW", "CLIENTS"}),
    json_verb("json_suffix", "show stats json", {"SHOW", "STATS"}),
    json_verb("json_suffix_mixed_case", "Show Stats Json", {"SHOW", "STATS"}),
    verb("json_alone_is_a_word", "json", {"JSON"}),
    verb("format_without_json_is_a_word", "show pools format", {"SHOW", "POOLS", "FORMAT"}),
    verb("kill_client", "kill client 12", {"KILL", "CLIENT", "12"}),
    verb("shutdown_wait", "Shutdown Wait", {"SHUTDOWN", "WAIT"}),
    set("set", "SET backend.max_connections = 32", "backend.max_connections", "32"),
    set("set_lower_case_verb", "set queue.timeout = 500ms", "queue.timeout", "500ms"),
    set("set_key_is_lower_cased", "SET Backend.Max_Connections = 4", "backend.max_connections",
        "4"),
    set("set_without_spaces_around_equals", "SET log.level=debug", "log.level", "debug"),
    set("set_value_keeps_case", "SET log.level = DeBuG", "log.level", "DeBuG"),
    set("set_value_single_quoted", "SET log.level = 'warn'", "log.level", "warn"),
    set("set_value_double_quoted", "SET log.level = \"warn\"", "log.level", "warn"),
    set("set_quoted_value_keeps_inner_spaces", "SET admin.password = '  a b  '", "admin.password",
        "  a b  "),
    set("set_unquoted_value_is_trimmed", "SET queue.timeout =    2s   ", "queue.timeout", "2s"),
    set("set_value_with_inner_spaces", "SET admin.password = a b c", "admin.password", "a b c"),
    set("set_mismatched_quotes_kept", "SET admin.password = 'abc\"", "admin.password", "'abc\""),
    set("set_value_with_equals", "SET admin.password = a=b", "admin.password", "a=b"),
    set("set_empty_value", "SET admin.password =", "admin.password", ""),
    set("set_json_is_part_of_the_value", "SET log.level = info json", "log.level", "info json"),
    set("set_without_equals_has_no_key", "SET backend.max_connections 4", "", ""),
    set("set_alone", "set", "", ""),
    verb("word_starting_with_set_is_not_set", "settings", {"SETTINGS"}),
};

INSTANTIATE_TEST_SUITE_P(admin_format, parse_admin_command_table, ::testing::ValuesIn(parse_cases),
                         [](const auto& info) { return info.param.name; });

TEST(admin_command, is_matches_the_whole_verb) {
  const admin_command cmd = parse_admin_command("shutdown wait");
  EXPECT_TRUE(cmd.is({"SHUTDOWN", "WAIT"}));
  EXPECT_FALSE(cmd.is({"SHUTDOWN"}));
  EXPECT_FALSE(cmd.is({"SHUTDOWN", "WAIT", "NOW"}));
  EXPECT_TRUE(parse_admin_command("").is({}));
}

// ---- render_text -----------------------------------------------------------------------------

struct text_case {
  std::string name;
  admin_table table;
  std::string expected;
};

void PrintTo(const text_case& c, std::ostream* out) {
  *out << c.name;
}

class render_text_table : public ::testing::TestWithParam<text_case> {};

TEST_P(render_text_table, renders) {
  const text_case& c = GetParam();
  EXPECT_EQ(render_text(c.table), c.expected);
}

const std::vector<text_case> text_cases = {
    {"no_rows",
     {{"id", "user"}, {}},
     "id  user\n"
     "--  ----\n"
     "(0 rows)\n"},
    {"one_row_says_row",
     {{"version"}, {{"sluice 0.1.0"}}},
     "version\n"
     "------------\n"
     "sluice 0.1.0\n"
     "(1 row)\n"},
    {"columns_as_wide_as_their_widest_cell",
     {{"id", "user", "state"}, {{"1", "app", "idle"}, {"22", "other", "waiting"}}},
     "id  user   state\n"
     "--  -----  -------\n"
     "1   app    idle\n"
     "22  other  waiting\n"
     "(2 rows)\n"},
    {"header_wider_than_cells",
     {{"cl_active", "cl_waiting"}, {{"0", "3"}}},
     "cl_active  cl_waiting\n"
     "---------  ----------\n"
     "0          3\n"
     "(1 row)\n"},
    {"empty_middle_cell_keeps_alignment",
     {{"id", "pinned", "backend"}, {{"1", "", "S-1"}, {"2", "user_variable", ""}}},
     "id  pinned         backend\n"
     "--  -------------  -------\n"
     "1                  S-1\n"
     "2   user_variable\n"
     "(2 rows)\n"},
    {"empty_first_cell_keeps_alignment",
     {{"client", "state"}, {{"C-1", "active"}, {"", "idle"}}},
     "client  state\n"
     "------  ------\n"
     "C-1     active\n"
     "        idle\n"
     "(2 rows)\n"},
    {"short_row_is_padded",
     {{"key", "value"}, {{"a"}}},
     "key  value\n"
     "---  -----\n"
     "a\n"
     "(1 row)\n"},
};

INSTANTIATE_TEST_SUITE_P(admin_format, render_text_table, ::testing::ValuesIn(text_cases),
                         [](const auto& info) { return info.param.name; });

// ---- render_json and json_string -------------------------------------------------------------

struct json_case {
  std::string name;
  admin_table table;
  std::string expected;
};

void PrintTo(const json_case& c, std::ostream* out) {
  *out << c.name;
}

class render_json_table : public ::testing::TestWithParam<json_case> {};

TEST_P(render_json_table, renders) {
  const json_case& c = GetParam();
  EXPECT_EQ(render_json(c.table), c.expected);
}

admin_table one_cell(const std::string& cell) {
  return {{"v"}, {{cell}}};
}
std::string one_value(const std::string& json) {
  return "[{\"v\":" + json + "}]\n";
}

const std::vector<json_case> json_cases = {
    {"no_rows", {{"id"}, {}}, "[]\n"},
    {"rows_become_objects",
     {{"id", "user"}, {{"1", "app"}, {"2", "other"}}},
     "[{\"id\":1,\"user\":\"app\"},{\"id\":2,\"user\":\"other\"}]\n"},
    {"short_row_gets_empty_strings", {{"a", "b"}, {{"x"}}}, "[{\"a\":\"x\",\"b\":\"\"}]\n"},
    // Cells that are JSON numbers stay numbers; anything else is a string.
    {"integer", one_cell("42"), one_value("42")},
    {"zero", one_cell("0"), one_value("0")},
    {"negative", one_cell("-3"), one_value("-3")},
    {"decimal", one_cell("1.25"), one_value("1.25")},
    {"zero_point", one_cell("0.50"), one_value("0.50")},
    {"empty_is_a_string", one_cell(""), one_value("\"\"")},
    {"leading_zero_is_a_string", one_cell("007"), one_value("\"007\"")},
    {"negative_leading_zero_is_a_string", one_cell("-01"), one_value("\"-01\"")},
    {"leading_dot_is_a_string", one_cell(".5"), one_value("\".5\"")},
    {"negative_leading_dot_is_a_string", one_cell("-.5"), one_value("\"-.5\"")},
    {"trailing_dot_is_a_string", one_cell("5."), one_value("\"5.\"")},
    {"minus_alone_is_a_string", one_cell("-"), one_value("\"-\"")},
    {"exponent_is_a_string", one_cell("1e5"), one_value("\"1e5\"")},
    {"two_dots_is_a_string", one_cell("1.2.3"), one_value("\"1.2.3\"")},
    {"duration_is_a_string", one_cell("500ms"), one_value("\"500ms\"")},
    {"address_is_a_string", one_cell("127.0.0.1:6033"), one_value("\"127.0.0.1:6033\"")},
    {"backend_id_is_a_string", one_cell("S-12"), one_value("\"S-12\"")},
    {"escapes_quote_and_backslash", one_cell(R"(a"b\c)"), one_value(R"("a\"b\\c")")},
    {"escapes_control_characters", one_cell("a\nb\rc\td"), one_value(R"("a\nb\rc\td")")},
    {"escapes_other_control_bytes", one_cell(std::string("\x01\x1f", 2)),
     one_value(R"("\u0001\u001f")")},
    {"keeps_utf8", one_cell("caf\xc3\xa9"), one_value("\"caf\xc3\xa9\"")},
    {"escapes_column_names", {{"a\"b"}, {{"x"}}}, "[{\"a\\\"b\":\"x\"}]\n"},
};

INSTANTIATE_TEST_SUITE_P(admin_format, render_json_table, ::testing::ValuesIn(json_cases),
                         [](const auto& info) { return info.param.name; });

// A user name with a newline must not forge a row of SHOW CLIENTS.
TEST(render_text, escapes_control_characters_from_clients) {
  const std::string text = render_text({{"user"}, {{"app\nC-99 root"}}});
  EXPECT_EQ(text, "user\n--------------\napp\\nC-99 root\n(1 row)\n");
}

}  // namespace
}  // namespace sluice::admin
