// Printing strings a client chose (user names, schema names, statement text) where a reader or a
// parser must not be fooled by them: log lines, admin tables, JSON.
#pragma once

#include <string>
#include <string_view>

namespace sluice::proxy {

// `s` with control characters shown as \n, \r, \t or \xNN: it can never end a line.
std::string printable(std::string_view s);

// `s` as a JSON string literal, quotes included.
std::string json_string(std::string_view s);

}  // namespace sluice::proxy
