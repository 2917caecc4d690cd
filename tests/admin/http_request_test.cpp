// The metrics port's request parser: complete, incomplete and bad request heads.
#include "admin/http_request.h"

#include <gtest/gtest.h>

namespace sluice::admin {
namespace {

struct request_case {
  const char* name;
  std::string bytes;
  http_parse result;
  std::string method;
  std::string path;
};

class http_request_table : public ::testing::TestWithParam<request_case> {};

TEST_P(http_request_table, parses) {
  const request_case& c = GetParam();
  http_request request;
  EXPECT_EQ(parse_http_request(c.bytes, request), c.result);
  if (c.result == http_parse::complete) {
    EXPECT_EQ(request.method, c.method);
    EXPECT_EQ(request.path, c.path);
  }
}

INSTANTIATE_TEST_SUITE_P(
    cases, http_request_table,
    ::testing::Values(
        request_case{"get_metrics", "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
                     http_parse::complete, "GET", "/metrics"},
        request_case{"query_string_dropped", "GET /ready?verbose=1 HTTP/1.0\r\n\r\n",
                     http_parse::complete, "GET", "/ready"},
        request_case{"post_parsed_for_a_405", "POST /live HTTP/1.1\r\n\r\n", http_parse::complete,
                     "POST", "/live"},
        request_case{"nothing_yet", "", http_parse::incomplete, "", ""},
        request_case{"headers_not_ended", "GET /live HTTP/1.1\r\nHost: x\r\n",
                     http_parse::incomplete, "", ""},
        request_case{"request_line_without_spaces", "GARBAGE\r\n", http_parse::bad, "", ""},
        request_case{"no_version", "GET /live\r\n\r\n", http_parse::bad, "", ""},
        request_case{"not_http", "GET /live FTP/1.0\r\n\r\n", http_parse::bad, "", ""},
        request_case{"empty_path", "GET  HTTP/1.1\r\n\r\n", http_parse::bad, "", ""}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace sluice::admin
