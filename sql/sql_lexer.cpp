// A MySQL/MariaDB SQL tokenizer for deciding pins: it sees comments, strings and quoted names.
#include "sql/sql_lexer.h"

#include <array>

namespace sluice::sql {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// What MySQL accepts after "--" for the dashes to open a comment.
bool is_space_or_control(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u <= 0x20 || u == 0x7f;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_hex_digit(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Characters of an unquoted identifier; bytes of multi-byte UTF-8 characters are all >= 0x80.
bool is_identifier_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' || c == '$' ||
         u >= 0x80;
}

char to_upper_ascii(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

struct quoted_span {
  std::size_t end;  // one past the closing quote, or the end of the input
  bool terminated;
};

// Scans the quoted text opening at `open`. Backslash escapes apply to strings, not to `names`;
// a doubled quote stands for itself in both.
quoted_span scan_quoted(std::string_view sql, std::size_t open) {
  const char quote = sql[open];
  const bool backslash_escapes = quote != '`';
  std::size_t i = open + 1;
  while (i < sql.size()) {
    const char c = sql[i];
    if (c == '\\' && backslash_escapes) {
      i += 2;
      continue;
    }
    if (c == quote) {
      if (i + 1 < sql.size() && sql[i + 1] == quote) {
        i += 2;
        continue;
      }
      return {i + 1, true};
    }
    ++i;
  }
  return {sql.size(), false};
}

std::size_t skip_identifier_chars(std::string_view sql, std::size_t i) {
  while (i < sql.size() && is_identifier_char(sql[i])) ++i;
  return i;
}

std::size_t skip_digits(std::string_view sql, std::size_t i) {
  while (i < sql.size() && is_digit(sql[i])) ++i;
  return i;
}

// The version of "/*!50110 ... */" (MySQL: five digits; MariaDB "/*M!100301": six). Fewer than
// five digits are not a version but the start of the comment's SQL.
std::size_t skip_comment_version(std::string_view sql, std::size_t i) {
  const std::size_t digits = skip_digits(sql, i) - i;
  if (digits < 5) return i;
  return i + (digits >= 6 ? 6 : 5);
}

// Longest first, so that "<=>" is not read as "<=" ">".
constexpr std::array<std::string_view, 12> multi_char_operators{
    "<=>", "->>", ":=", ">=", "<=", "<>", "!=", "||", "&&", "<<", ">>", "->"};

}  // namespace

bool equals_keyword(std::string_view word, std::string_view upper_keyword) {
  if (word.size() != upper_keyword.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i) {
    if (to_upper_ascii(word[i]) != upper_keyword[i]) return false;
  }
  return true;
}

token sql_lexer::next() {
  skip_whitespace_and_comments();
  if (pos_ >= sql_.size()) return make(token_kind::end, sql_.size(), sql_.size());

  const char c = sql_[pos_];
  const char after = pos_ + 1 < sql_.size() ? sql_[pos_ + 1] : '\0';
  if (c == '\'' || c == '"') return lex_quoted(token_kind::string_literal);
  if (c == '`') return lex_quoted(token_kind::quoted_identifier);
  if (c == '@') return lex_at_sign();
  if (is_digit(c)) return lex_number_or_word();
  // ".5" is a number, but in "t.5" (a table's column named 5) the dot qualifies a name.
  if (c == '.' && is_digit(after) && last_kind_ != token_kind::word &&
      last_kind_ != token_kind::quoted_identifier) {
    return lex_number_or_word();
  }
  if (is_identifier_char(c)) return lex_word();
  return lex_operator();
}

void sql_lexer::skip_whitespace_and_comments() {
  const auto skip_line = [this] {
    while (pos_ < sql_.size() && sql_[pos_] != '\n') ++pos_;
  };
  while (pos_ < sql_.size()) {
    const char c = sql_[pos_];
    const char after = pos_ + 1 < sql_.size() ? sql_[pos_ + 1] : '\0';
    if (is_space(c)) {
      ++pos_;
    } else if (c == '#') {
      skip_line();
    } else if (c == '-' && after == '-' &&
               (pos_ + 2 >= sql_.size() || is_space_or_control(sql_[pos_ + 2]))) {
      skip_line();
    } else if (c == '/' && after == '*') {
      const std::string_view rest = sql_.substr(pos_ + 2);
      if (rest.starts_with('!')) {
        pos_ = skip_comment_version(sql_, pos_ + 3);
        in_executable_comment_ = true;
      } else if (rest.starts_with("M!")) {
        pos_ = skip_comment_version(sql_, pos_ + 4);
        in_executable_comment_ = true;
      } else {
        const std::size_t close = rest.find("*/");
        pos_ = close == std::string_view::npos ? sql_.size() : pos_ + 2 + close + 2;
      }
    } else if (c == '*' && after == '/' && in_executable_comment_) {
      pos_ += 2;
      in_executable_comment_ = false;
    } else {
      return;
    }
  }
}

token sql_lexer::make(token_kind kind, std::size_t begin, std::size_t end) {
  pos_ = end;
  last_kind_ = kind;
  return token{kind, sql_.substr(begin, end - begin)};
}

token sql_lexer::lex_quoted(token_kind kind) {
  return make(kind, pos_, scan_quoted(sql_, pos_).end);
}

token sql_lexer::lex_number_or_word() {
  const std::size_t begin = pos_;
  // 0x1F and 0b101; the marker is lower case only (0X1F is a name), as in MySQL.
  const auto radix_literal = [&](char marker, auto is_radix_digit) -> std::size_t {
    if (sql_[begin] != '0' || begin + 2 >= sql_.size()) return 0;
    if (sql_[begin + 1] != marker || !is_radix_digit(sql_[begin + 2])) return 0;
    std::size_t i = begin + 2;
    while (i < sql_.size() && is_radix_digit(sql_[i])) ++i;
    return i;
  };
  for (const std::size_t end : {radix_literal('x', is_hex_digit),
                                radix_literal('b', [](char d) { return d == '0' || d == '1'; })}) {
    if (end == 0) continue;
    // 0x1g is not a number but a name, as 123abc is.
    if (end < sql_.size() && is_identifier_char(sql_[end])) return lex_word();
    return make(token_kind::number, begin, end);
  }

  std::size_t i = skip_digits(sql_, begin);
  bool decimal = false;
  if (i < sql_.size() && sql_[i] == '.') {
    i = skip_digits(sql_, i + 1);
    decimal = true;
  }
  if (i < sql_.size() && (sql_[i] == 'e' || sql_[i] == 'E')) {
    std::size_t exponent = i + 1;
    if (exponent < sql_.size() && (sql_[exponent] == '+' || sql_[exponent] == '-')) ++exponent;
    if (exponent < sql_.size() && is_digit(sql_[exponent])) {
      i = skip_digits(sql_, exponent);
      decimal = true;
    }
  }
  // MySQL identifiers may begin with digits: 123abc is a name.
  if (!decimal && i < sql_.size() && is_identifier_char(sql_[i])) return lex_word();
  return make(token_kind::number, begin, i);
}

token sql_lexer::lex_word() {
  return make(token_kind::word, pos_, skip_identifier_chars(sql_, pos_));
}

token sql_lexer::lex_at_sign() {
  const std::size_t at = pos_;
  if (at + 1 < sql_.size() && sql_[at + 1] == '@') {
    // @@name, @@session.name, @@global.`name`, @@global.keycache1.key_buffer_size
    const std::size_t begin = at + 2;
    std::size_t i = begin;
    while (i < sql_.size()) {
      if (sql_[i] == '`') {
        i = scan_quoted(sql_, i).end;
      } else if (is_identifier_char(sql_[i])) {
        i = skip_identifier_chars(sql_, i);
      } else {
        break;
      }
      const bool dotted = i + 1 < sql_.size() && sql_[i] == '.' &&
                          (is_identifier_char(sql_[i + 1]) || sql_[i + 1] == '`');
      if (!dotted) break;
      ++i;
    }
    if (i == begin) return make(token_kind::op, at, at + 1);
    return make(token_kind::system_variable, begin, i);
  }
  if (at + 1 < sql_.size() &&
      (sql_[at + 1] == '\'' || sql_[at + 1] == '"' || sql_[at + 1] == '`')) {
    const quoted_span quoted = scan_quoted(sql_, at + 1);
    const token t =
        make(token_kind::user_variable, at + 2, quoted.terminated ? quoted.end - 1 : quoted.end);
    pos_ = quoted.end;
    return t;
  }
  // Unquoted user variable names may also contain '.' (MySQL Reference Manual, "User-Defined
  // Variables"); MySQL's lexer accepts one even as the first character.
  std::size_t i = at + 1;
  if (i < sql_.size() && (is_identifier_char(sql_[i]) || sql_[i] == '.')) {
    while (i < sql_.size() && (is_identifier_char(sql_[i]) || sql_[i] == '.')) ++i;
    return make(token_kind::user_variable, at + 1, i);
  }
  return make(token_kind::op, at, at + 1);
}

token sql_lexer::lex_operator() {
  const std::string_view rest = sql_.substr(pos_);
  for (const std::string_view candidate : multi_char_operators) {
    if (rest.starts_with(candidate)) return make(token_kind::op, pos_, pos_ + candidate.size());
  }
  return make(token_kind::op, pos_, pos_ + 1);
}

}  // namespace sluice::sql
