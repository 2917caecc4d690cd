// The one HTTP request the metrics port understands: a request line (GET /path HTTP/1.x) and
// headers, which it reads only to find their end. Pure: the endpoint feeds it bytes.
#pragma once

#include <string>
#include <string_view>

namespace sluice::admin {

enum class http_parse { incomplete, complete, bad };

struct http_request {
  std::string method;
  std::string path;  // without the query string
};

// Looks for a complete request head (ending in an empty line) in `bytes`. `complete` fills
// `out`; `bad` means the head cannot be a request (no "METHOD PATH VERSION" request line).
http_parse parse_http_request(std::string_view bytes, http_request& out);

}  // namespace sluice::admin
