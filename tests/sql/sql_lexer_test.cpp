// Token tables for the SQL lexer, plus exhaustive runs over short and truncated inputs.
#include "sql/sql_lexer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::sql {
namespace {

std::string_view kind_name(token_kind kind) {
  switch (kind) {
    case token_kind::word:
      return "word";
    case token_kind::quoted_identifier:
      return "quoted_identifier";
    case token_kind::string_literal:
      return "string_literal";
    case token_kind::number:
      return "number";
    case token_kind::user_variable:
      return "user_variable";
    case token_kind::system_variable:
      return "system_variable";
    case token_kind::op:
      return "op";
    case token_kind::end:
      return "end";
  }
  return "?";
}

}  // namespace

void PrintTo(const token& t, std::ostream* out) {
  *out << kind_name(t.kind) << "{" << t.text << "}";
}

namespace {

token w(std::string_view text) {
  return {token_kind::word, text};
}
token qi(std::string_view text) {
  return {token_kind::quoted_identifier, text};
}
token str(std::string_view text) {
  return {token_kind::string_literal, text};
}
token num(std::string_view text) {
  return {token_kind::number, text};
}
token uv(std::string_view text) {
  return {token_kind::user_variable, text};
}
token sv(std::string_view text) {
  return {token_kind::system_variable, text};
}
token op(std::string_view text) {
  return {token_kind::op, text};
}

std::vector<token> lex_all(std::string_view sql) {
  sql_lexer lexer(sql);
  std::vector<token> tokens;
  for (token t = lexer.next(); t.kind != token_kind::end; t = lexer.next()) {
    tokens.push_back(t);
    if (tokens.size() > sql.size()) break;  // a lexer that does not advance: fail, do not hang
  }
  return tokens;
}

struct lexer_case {
  std::string name;
  std::string sql;
  std::vector<token> tokens;  // without the final end token
};

void PrintTo(const lexer_case& c, std::ostream* out) {
  *out << c.name;
}

class sql_lexer_table : public ::testing::TestWithParam<lexer_case> {};

TEST_P(sql_lexer_table, lexes) {
  const lexer_case& c = GetParam();
  EXPECT_EQ(lex_all(c.sql), c.tokens) << c.sql;
}

TEST_P(sql_lexer_table, returns_end_forever) {
  const lexer_case& c = GetParam();
  sql_lexer lexer(c.sql);
  for (std::size_t i = 0; i < c.tokens.size(); ++i) lexer.next();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(lexer.next().kind, token_kind::end);
}

const std::vector<lexer_case> lexer_cases = {
    // Words, numbers, operators.
    {"empty", "", {}},
    {"whitespace_only", " \t\r\n\f\v", {}},
    {"words_and_punctuation",
     "SELECT a,b FROM t;",
     {w("SELECT"), w("a"), op(","), w("b"), w("FROM"), w("t"), op(";")}},
    {"identifier_characters", "$x _y \xC3\xA9t1", {w("$x"), w("_y"), w("\xC3\xA9t1")}},
    {"digit_led_names", "123abc 0x1g 0X1F 1e", {w("123abc"), w("0x1g"), w("0X1F"), w("1e")}},
    {"decimal_numbers",
     "42 1.5 1.5e3 2E-7 1e+2 .5 1.",
     {num("42"), num("1.5"), num("1.5e3"), num("2E-7"), num("1e+2"), num(".5"), num("1.")}},
    {"hex_and_binary_numbers", "0x1F 0b101 0xab", {num("0x1F"), num("0b101"), num("0xab")}},
    {"number_then_alias", "1.5abc", {num("1.5"), w("abc")}},
    {"prefixed_string_literals",
     "x'1F' b'01' N'abc' _utf8mb4'z'",
     {w("x"), str("'1F'"), w("b"), str("'01'"), w("N"), str("'abc'"), w("_utf8mb4"), str("'z'")}},
    {"dot_after_name_qualifies",
     "t.5 t.`c` (.5)",
     {w("t"), op("."), num("5"), w("t"), op("."), qi("`c`"), op("("), num(".5"), op(")")}},
    {"multi_char_operators",
     ":= <=> >= <= <> != || && << >> -> ->>",
     {op(":="), op("<=>"), op(">="), op("<="), op("<>"), op("!="), op("||"), op("&&"), op("<<"),
      op(">>"), op("->"), op("->>")}},
    {"single_char_operators",
     "( ) < > , ; = . ? * + - / % ! ~ ^ | & : \\",
     {op("("), op(")"), op("<"), op(">"), op(","), op(";"), op("="),
      op("."), op("?"), op("*"), op("+"), op("-"), op("/"), op("%"),
      op("!"), op("~"), op("^"), op("|"), op("&"), op(":"), op("\\")}},
    {"assignment_without_spaces", "@x:=1", {uv("x"), op(":="), num("1")}},

    // Strings and quoted identifiers.
    {"single_quoted_string", "'a b' x", {str("'a b'"), w("x")}},
    {"backslash_escaped_quote", R"('it\'s' x)", {str(R"('it\'s')"), w("x")}},
    {"doubled_single_quote", "'it''s' x", {str("'it''s'"), w("x")}},
    {"double_quoted_string", R"("a\"b""c" x)", {str(R"("a\"b""c")"), w("x")}},
    {"other_quote_inside_string", R"('a"b' "c'd")", {str(R"('a"b')"), str(R"("c'd")")}},
    {"escaped_backslash_ends_string", R"('a\\' x)", {str(R"('a\\')"), w("x")}},
    {"quoted_identifier_doubled_backtick", "`a``b` x", {qi("`a``b`"), w("x")}},
    {"backslash_in_quoted_identifier_is_plain", R"(`a\` x)", {qi(R"(`a\`)"), w("x")}},
    {"adjacent_strings", "'a' 'b'", {str("'a'"), str("'b'")}},
    {"unterminated_string", "SELECT 'abc", {w("SELECT"), str("'abc")}},
    {"unterminated_string_after_backslash", "'abc\\", {str("'abc\\")}},
    {"unterminated_quoted_identifier", "`abc", {qi("`abc")}},

    // Comments.
    {"dash_dash_space_comment", "a -- c @x\nb", {w("a"), w("b")}},
    {"dash_dash_tab_comment", "a --\tc\nb", {w("a"), w("b")}},
    {"dash_dash_control_char_comment", "a --\x01 c\nb", {w("a"), w("b")}},
    {"dash_dash_at_end_is_comment", "a --", {w("a")}},
    {"dash_dash_without_space_is_minus_minus", "a--1", {w("a"), op("-"), op("-"), num("1")}},
    {"hash_comment", "a # c @x\nb", {w("a"), w("b")}},
    {"block_comment", "a /* @x ; 'b */ c", {w("a"), w("c")}},
    {"block_comments_do_not_nest", "a /* /* */ b", {w("a"), w("b")}},
    {"empty_block_comment", "a/**/b", {w("a"), w("b")}},
    {"block_comment_opener_is_not_its_closer", "a /*/ b */ c", {w("a"), w("c")}},
    {"unterminated_block_comment", "a /* b", {w("a")}},
    {"optimizer_hint_is_a_comment", "SELECT /*+ SET_VAR(a=1) */ 1", {w("SELECT"), num("1")}},
    {"comment_markers_inside_string", "'-- #' '/*'", {str("'-- #'"), str("'/*'")}},

    // Executable comments.
    {"executable_comment", "/*! SELECT */ 1", {w("SELECT"), num("1")}},
    {"executable_comment_with_version",
     "/*!40101 SET NAMES utf8 */;",
     {w("SET"), w("NAMES"), w("utf8"), op(";")}},
    {"executable_comment_six_digit_version", "/*!100301 a */", {w("a")}},
    {"executable_comment_version_without_space", "/*!50001SELECT*/", {w("SELECT")}},
    {"executable_comment_short_number_is_sql", "/*!123 */", {num("123")}},
    {"mariadb_executable_comment", "/*M!100301 @x */ y", {uv("x"), w("y")}},
    {"mariadb_executable_comment_without_version", "/*M! a */", {w("a")}},
    {"star_slash_outside_executable_comment", "a */ b", {w("a"), op("*"), op("/"), w("b")}},
    {"string_inside_executable_comment_hides_closer", "/*! '*/' */ x", {str("'*/'"), w("x")}},
    {"comment_inside_executable_comment", "/*! a /* b */ c */ d", {w("a"), w("c"), w("d")}},
    {"unterminated_executable_comment", "/*!50000 a", {w("a")}},

    // Variables.
    {"user_variables", "@x @x.y$z @1 @.x", {uv("x"), uv("x.y$z"), uv("1"), uv(".x")}},
    {"quoted_user_variables", R"(@'a b' @"c" @`d`)", {uv("a b"), uv("c"), uv("d")}},
    {"quoted_user_variable_with_escape", R"(@'it\'s' x)", {uv(R"(it\'s)"), w("x")}},
    {"unterminated_quoted_user_variable", "@'ab", {uv("ab")}},
    {"user_variable_quote_at_end", "@'", {uv("")}},
    {"user_after_host_string", "'u'@'h'", {str("'u'"), uv("h")}},
    {"system_variables",
     "@@sql_mode @@session.sql_mode @@GLOBAL.x @@local.y",
     {sv("sql_mode"), sv("session.sql_mode"), sv("GLOBAL.x"), sv("local.y")}},
    {"structured_and_quoted_system_variables",
     "@@global.kc1.key_buffer_size @@session.`autocommit`",
     {sv("global.kc1.key_buffer_size"), sv("session.`autocommit`")}},
    {"system_variable_then_dot", "@@a.", {sv("a"), op(".")}},
    {"lone_at_signs", "@ x @@ @", {op("@"), w("x"), op("@"), op("@"), op("@")}},
};

INSTANTIATE_TEST_SUITE_P(cases, sql_lexer_table, ::testing::ValuesIn(lexer_cases),
                         [](const auto& info) { return info.param.name; });

// Every token must view into the input; checked on exact-size heap copies so that the sanitizer
// build catches a read one byte past the end.
void expect_terminates_in_bounds(std::string_view input) {
  const auto copy = std::make_unique<char[]>(input.size());
  std::copy(input.begin(), input.end(), copy.get());
  const std::string_view sql(copy.get(), input.size());
  sql_lexer lexer(sql);
  for (std::size_t count = 0;; ++count) {
    ASSERT_LE(count, sql.size()) << "no progress lexing: " << input;
    const token t = lexer.next();
    ASSERT_GE(t.text.data(), sql.data()) << input;
    ASSERT_LE(t.text.data() + t.text.size(), sql.data() + sql.size()) << input;
    if (t.kind == token_kind::end) break;
  }
}

TEST(sql_lexer, every_prefix_of_tricky_input_terminates_in_bounds) {
  const std::vector<std::string_view> inputs = {
      R"(SELECT 'a\'b' , "c""d", `e``f` /*! @x /* c */ */ /*M!100000 @@session.y */ -- z)",
      R"(@'a\' @"b @`c @@`d`.e @@x. 0x 0b 1e+ .5e /*!12345)",
      "# c\n--\t\n-- \n/*/ */ */ ->> <=> @@ @",
  };
  for (const std::string_view input : inputs) {
    for (std::size_t n = 0; n <= input.size(); ++n) expect_terminates_in_bounds(input.substr(0, n));
  }
}

// All strings of up to four characters over the characters that steer the lexer.
TEST(sql_lexer, every_short_input_terminates_in_bounds) {
  constexpr std::string_view alphabet = "'\"`\\/*!M-#@ .1ex\n";
  std::string input;
  const auto grow = [&](const auto& self, std::size_t length) -> void {
    expect_terminates_in_bounds(input);
    if (length == 4) return;
    for (const char c : alphabet) {
      input.push_back(c);
      self(self, length + 1);
      input.pop_back();
    }
  };
  grow(grow, 0);
}

TEST(equals_keyword, is_ascii_case_insensitive) {
  EXPECT_TRUE(equals_keyword("get_lock", "GET_LOCK"));
  EXPECT_TRUE(equals_keyword("Get_Lock", "GET_LOCK"));
  EXPECT_FALSE(equals_keyword("GET_LOCKS", "GET_LOCK"));
  EXPECT_FALSE(equals_keyword("GET_LOC", "GET_LOCK"));
  EXPECT_FALSE(equals_keyword("\xC3\xA9", "\xC3\x89"));  // é vs É: ASCII only
  EXPECT_TRUE(equals_keyword("", ""));
}

}  // namespace
}  // namespace sluice::sql
