// Escaping what clients chose, for log lines, admin tables and JSON.
#include "proxy/text_escape.h"

#include <gtest/gtest.h>

namespace sluice::proxy {
namespace {

struct escape_case {
  const char* name;
  std::string text;
  std::string printable;
  std::string json;
};

class text_escape_table : public ::testing::TestWithParam<escape_case> {};

TEST_P(text_escape_table, escapes) {
  EXPECT_EQ(printable(GetParam().text), GetParam().printable);
  EXPECT_EQ(json_string(GetParam().text), GetParam().json);
}

INSTANTIATE_TEST_SUITE_P(
    cases, text_escape_table,
    ::testing::Values(escape_case{"plain", "app", "app", "\"app\""},
                      escape_case{"newline", "a\nb", "a\\nb", "\"a\\nb\""},
                      escape_case{"carriage_return_tab", "a\r\tb", "a\\r\\tb", "\"a\\r\\tb\""},
                      escape_case{"nul_and_escape", std::string("a\0\x1b", 3), "a\\x00\\x1b",
                                  "\"a\\u0000\\u001b\""},
                      escape_case{"delete", "a\x7f", "a\\x7f", "\"a\x7f\""},
                      escape_case{"quotes_and_backslash", "\"q\\", "\"q\\", "\"\\\"q\\\\\""},
                      escape_case{"utf8_kept", "gr\xC3\xBC\xC3\x9F", "gr\xC3\xBC\xC3\x9F",
                                  "\"gr\xC3\xBC\xC3\x9F\""}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace sluice::proxy
