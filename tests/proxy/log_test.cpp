// Log lines: the plain layout and the JSON one (event, key=value fields, detail).
#include "proxy/log.h"

#include <gtest/gtest.h>

namespace sluice::proxy {
namespace {

TEST(LogLine, PlainHasLevelSubjectAndText) {
  const std::string line = format_log_line(log_level::info, "C-7 app@127.0.0.1:5000",
                                           "close reason=client_quit", log_format::plain);
  EXPECT_NE(line.find(" info C-7 app@127.0.0.1:5000 close reason=client_quit\n"), std::string::npos)
      << line;
  EXPECT_EQ(line.back(), '\n');
}

TEST(LogLine, JsonSplitsEventFieldsAndDetail) {
  const std::string line =
      format_log_line(log_level::warn, "S-3", "close reason=backend_lost Connection reset by peer",
                      log_format::json);
  EXPECT_EQ(line.front(), '{');
  EXPECT_NE(line.find("\"level\":\"warn\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"subject\":\"S-3\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"event\":\"close\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"reason\":\"backend_lost\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"detail\":\"Connection reset by peer\""), std::string::npos) << line;
  EXPECT_EQ(line.substr(line.size() - 2), "}\n");
}

TEST(LogLine, JsonEscapesQuotesAndControlCharacters) {
  const std::string line =
      format_log_line(log_level::error, "", "reload refused: \"x\"\tbad", log_format::json);
  EXPECT_NE(line.find("\\\"x\\\"\\tbad"), std::string::npos) << line;
  EXPECT_EQ(line.find("\"subject\""), std::string::npos) << line;
}

// A user name is the client's choice: a newline in it must not start a forged log line.
TEST(LogLine, PlainEscapesControlCharactersFromClients) {
  const std::string line =
      format_log_line(log_level::info, "C-9 app\n2026-01-01T00:00:00.000Z error forged@127.0.0.1",
                      "login user=x\ry", log_format::plain);
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  EXPECT_EQ(line.find('\r'), std::string::npos) << line;
  EXPECT_NE(line.find("C-9 app\\n2026"), std::string::npos) << line;
  EXPECT_NE(line.find("user=x\\ry"), std::string::npos) << line;
}

}  // namespace
}  // namespace sluice::proxy
