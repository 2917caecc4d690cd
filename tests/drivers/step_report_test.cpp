// Reading a driver program's step lines: cases of what counts as a complete report.
#include "tests/drivers/step_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sluice::test {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const std::vector<std::string> steps = {"login", "ping", "close"};

TEST(StepReportTest, ReadsOkSkipAndFailLinesWithTheirNotes) {
  const auto report = read_step_lines(
      "ok login\n"
      "ok ping (COM_PING)\n"
      "skip close: the driver closes on exit\n"
      "FAIL select_1: Unknown character set: '224' [errno 1115]\n");
  ASSERT_EQ(report.size(), 4u);
  EXPECT_EQ(report.at("login").front().outcome, step_outcome::ok);
  EXPECT_EQ(report.at("ping").front().outcome, step_outcome::ok);
  EXPECT_EQ(report.at("close").front().outcome, step_outcome::skip);
  EXPECT_EQ(report.at("select_1").front().outcome, step_outcome::fail);
  EXPECT_EQ(report.at("select_1").front().text,
            "FAIL select_1: Unknown character set: '224' [errno 1115]");
}

TEST(StepReportTest, IgnoresLinesThatAreNotStepLines) {
  const auto report = read_step_lines(
      "PHP Deprecated: something\n"
      "okay then\n"
      "ok\n"
      "  ok login\n"
      "ok login\n");
  ASSERT_EQ(report.size(), 1u);
  EXPECT_EQ(report.at("login").size(), 1u);
}

TEST(StepReportTest, ACompleteReportHasNoProblems) {
  EXPECT_THAT(
      report_problems(read_step_lines("ok login\nFAIL ping: timeout\nskip close: no\n"), steps),
      IsEmpty());
}

TEST(StepReportTest, NamesMissingDuplicatedAndUnknownSteps) {
  const auto problems =
      report_problems(read_step_lines("ok login\nok login\nok pong\nok close\n"), steps);
  EXPECT_THAT(problems,
              ElementsAre("step login printed 2 lines", "step ping printed no ok/skip/FAIL line",
                          "unknown step pong: ok pong"));
}

TEST(StepReportTest, ACrashBeforeTheFirstStepIsNotAnUnknownStep) {
  const auto problems = report_problems(read_step_lines("FAIL setup: no such variant\n"), steps);
  EXPECT_THAT(problems, ElementsAre("step login printed no ok/skip/FAIL line",
                                    "step ping printed no ok/skip/FAIL line",
                                    "step close printed no ok/skip/FAIL line"));
}

}  // namespace
}  // namespace sluice::test
