// Reading a driver program's output: one `ok|skip|FAIL <step>[...]` line per scenario step.
#include "tests/drivers/step_report.h"

#include <algorithm>
#include <optional>
#include <sstream>

namespace sluice::test {
namespace {

struct parsed_line {
  step_outcome outcome;
  std::string step;
};

// "ok select_1", "ok prepared (note)", "skip ping: why", "FAIL login: why".
std::optional<parsed_line> parse(const std::string& line) {
  static const std::pair<const char*, step_outcome> words[] = {
      {"ok ", step_outcome::ok}, {"skip ", step_outcome::skip}, {"FAIL ", step_outcome::fail}};
  for (const auto& [word, outcome] : words) {
    const std::string prefix = word;
    if (line.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string rest = line.substr(prefix.size());
    const auto end = rest.find_first_of(": (");
    const std::string step = rest.substr(0, end);
    if (step.empty()) return std::nullopt;
    return parsed_line{outcome, step};
  }
  return std::nullopt;
}

}  // namespace

std::map<std::string, std::vector<step_line>> read_step_lines(const std::string& output) {
  std::map<std::string, std::vector<step_line>> report;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    if (auto parsed = parse(line)) report[parsed->step].push_back({parsed->outcome, line});
  }
  return report;
}

std::vector<std::string> report_problems(
    const std::map<std::string, std::vector<step_line>>& report,
    const std::vector<std::string>& steps) {
  std::vector<std::string> problems;
  for (const auto& step : steps) {
    const auto it = report.find(step);
    if (it == report.end()) {
      problems.push_back("step " + step + " printed no ok/skip/FAIL line");
    } else if (it->second.size() > 1) {
      problems.push_back("step " + step + " printed " + std::to_string(it->second.size()) +
                         " lines");
    }
  }
  for (const auto& [step, lines] : report) {
    // "setup" is where a program reports what stopped it before its first step.
    if (step != "setup" && std::find(steps.begin(), steps.end(), step) == steps.end()) {
      problems.push_back("unknown step " + step + ": " + lines.front().text);
    }
  }
  return problems;
}

}  // namespace sluice::test
