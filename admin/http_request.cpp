// Parsing a request head.
#include "admin/http_request.h"

namespace sluice::admin {

http_parse parse_http_request(std::string_view bytes, http_request& out) {
  const auto head_end = bytes.find("\r\n\r\n");
  const auto line_end = bytes.find("\r\n");
  if (head_end == std::string_view::npos) {
    // A request line that is already wrong need not wait for the rest.
    if (line_end != std::string_view::npos && bytes.substr(0, line_end).find(' ') == bytes.npos)
      return http_parse::bad;
    return http_parse::incomplete;
  }
  const std::string_view line = bytes.substr(0, line_end);
  const auto first_space = line.find(' ');
  if (first_space == std::string_view::npos || first_space == 0) return http_parse::bad;
  const auto second_space = line.find(' ', first_space + 1);
  if (second_space == std::string_view::npos || second_space == first_space + 1)
    return http_parse::bad;
  if (!line.substr(second_space + 1).starts_with("HTTP/")) return http_parse::bad;
  std::string_view path = line.substr(first_space + 1, second_space - first_space - 1);
  path = path.substr(0, path.find('?'));
  out.method = std::string(line.substr(0, first_space));
  out.path = std::string(path);
  return http_parse::complete;
}

}  // namespace sluice::admin
