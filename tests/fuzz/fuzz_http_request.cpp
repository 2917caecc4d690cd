// Fuzz target: the metrics port's HTTP request parser (admin/http_request.h). Any bytes: no crash,
// and a complete request's method and path are views of the request line it found.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "admin/http_request.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sluice::admin;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  http_request request;
  const http_parse result = parse_http_request(bytes, request);
  if (result == http_parse::complete) {
    const std::string_view line = bytes.substr(0, bytes.find("\r\n"));
    sluice::fuzz::check(line.starts_with(request.method + " "), "the method starts the line");
    sluice::fuzz::check(line.find(request.path) != std::string_view::npos,
                        "the path is in the request line");
    sluice::fuzz::check(request.path.find('?') == std::string::npos, "no query string");
  }
  // Parsing is a function of the bytes: a second parse agrees.
  http_request again;
  sluice::fuzz::check(parse_http_request(bytes, again) == result, "the same answer twice");
  return 0;
}
