// Reading a driver program's output: one `ok|skip|FAIL <step>[...]` line per scenario step.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace sluice::test {

enum class step_outcome { ok, skip, fail };

struct step_line {
  step_outcome outcome;
  std::string text;  // the whole line, e.g. "FAIL prepared: row 1 column s ..."
};

// The step lines of `output` by step name; other lines (a driver's warnings) are ignored. A step
// printed more than once keeps every line, so that a check can name the duplicate.
std::map<std::string, std::vector<step_line>> read_step_lines(const std::string& output);

// What is wrong with the report against the scenario's `steps`: steps missing, printed twice, or
// unknown; one sentence per problem, empty if the report is complete.
std::vector<std::string> report_problems(
    const std::map<std::string, std::vector<step_line>>& report,
    const std::vector<std::string>& steps);

}  // namespace sluice::test
