// A MySQL/MariaDB SQL tokenizer for deciding pins: it sees comments, strings and quoted names.
#pragma once

#include <cstddef>
#include <string_view>

namespace sluice::sql {

enum class token_kind {
  word,               // keyword or unquoted identifier, also 123abc and the x / N / _utf8mb4 prefix
  quoted_identifier,  // `name`
  string_literal,     // 'text' or "text"
  number,             // 42, 1.5e3, .5, 0x1F, 0b101
  user_variable,      // @name, @'name', @"name", @`name`
  system_variable,    // @@name, @@session.name, @@global.name, @@local.name
  op,                 // punctuation and operators
  end,                // end of input; returned again on every later call
};

// `text` views into the lexed SQL:
//   word, number, op: the source text;
//   quoted_identifier, string_literal: the raw source including the quotes (escapes untouched);
//   user_variable: the name after '@', without its quotes if it was quoted;
//   system_variable: everything after "@@", e.g. "session.sql_mode".
struct token {
  token_kind kind;
  std::string_view text;

  bool operator==(const token&) const = default;
};

// Splits one COM_QUERY text into tokens without allocating. Follows the comment rules of the
// MySQL Reference Manual, "Comments" (and MariaDB's "Comment Syntax"): "-- " needs whitespace or a
// control character after the dashes; "/*! ... */" and "/*!NNNNN ... */" (and MariaDB's "/*M! ...
// */") are executable comments whose content is SQL, so it is lexed as such. Strings use backslash
// escapes (the default, i.e. without NO_BACKSLASH_ESCAPES) and doubled quotes; "..." is a string
// (the default, i.e. without ANSI_QUOTES). Unterminated strings and comments end at the end of
// the input.
class sql_lexer {
 public:
  explicit sql_lexer(std::string_view sql) : sql_(sql) {}

  token next();

 private:
  void skip_whitespace_and_comments();
  token make(token_kind kind, std::size_t begin, std::size_t end);
  token lex_quoted(token_kind kind);
  token lex_number_or_word();
  token lex_word();
  token lex_at_sign();
  token lex_operator();

  std::string_view sql_;
  std::size_t pos_ = 0;
  bool in_executable_comment_ = false;      // inside "/*!": a "*/" closes it
  token_kind last_kind_ = token_kind::end;  // decides whether ".5" is a number or "t" "." "5"
};

// ASCII case-insensitive comparison of `word` with a keyword given in upper case.
bool equals_keyword(std::string_view word, std::string_view upper_keyword);

}  // namespace sluice::sql
