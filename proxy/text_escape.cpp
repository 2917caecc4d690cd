// Escaping for log lines, admin tables and JSON.
#include "proxy/text_escape.h"

#include <algorithm>

namespace sluice::proxy {
namespace {

constexpr char hex[] = "0123456789abcdef";

bool is_control(unsigned char c) {
  return c < 0x20 || c == 0x7F;
}

}  // namespace

std::string printable(std::string_view s) {
  if (std::none_of(s.begin(), s.end(), [](char c) { return is_control(c); })) return std::string(s);
  std::string out;
  out.reserve(s.size() + 8);
  for (unsigned char c : s) {
    if (!is_control(c)) {
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

}  // namespace sluice::proxy
