// The driver matrix: every real client driver runs one scenario straight against MariaDB (the
// control run) and through sluice in transaction and in session pooling.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <ostream>
#include <string>
#include <vector>

#include "tests/drivers/driver_catalogue.h"
#include "tests/drivers/step_report.h"
#include "tests/support/child_process.h"
#include "tests/support/fixtures.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

enum class matrix_target { direct, sluice_transaction, sluice_session };

std::string target_word(matrix_target target) {
  switch (target) {
    case matrix_target::direct:
      return "direct";
    case matrix_target::sluice_transaction:
      return "sluice_transaction";
    case matrix_target::sluice_session:
      return "sluice_session";
  }
  return "unknown";
}

struct matrix_case {
  const driver_program* program;
  std::string variant;
  matrix_target target;
};

// GoogleTest prints a failed case's parameter with this instead of its bytes.
void PrintTo(const matrix_case& c, std::ostream* out) {
  *out << c.program->name << " / " << c.variant << " / " << target_word(c.target);
}

std::vector<matrix_case> all_cases() {
  std::vector<matrix_case> cases;
  for (const auto& program : driver_programs()) {
    for (const auto& variant : program.variants) {
      for (auto target : {matrix_target::direct, matrix_target::sluice_transaction,
                          matrix_target::sluice_session}) {
        cases.push_back({&program, variant, target});
      }
    }
  }
  return cases;
}

std::string case_name(const ::testing::TestParamInfo<matrix_case>& info) {
  return info.param.program->name + "_" + info.param.variant + "_" + target_word(info.param.target);
}

// A whole program run: a JVM start and 5 MB each way stay well inside it.
constexpr auto program_timeout = 120s;

class DriverMatrixTest : public integration_test,
                         public ::testing::WithParamInterface<matrix_case> {
 protected:
  // A fresh database per run, so a program's tables never meet another run's.
  std::string create_database() {
    const std::string name = "drv_" + case_name({GetParam(), 0});
    server().run_sql("DROP DATABASE IF EXISTS " + name + "; CREATE DATABASE " + name);
    return name;
  }

  // Where the program connects: MariaDB itself (with the client accounts sluice would accept
  // created there) or a sluice started for this test in the case's pooling mode.
  std::uint16_t target_port() {
    switch (GetParam().target) {
      case matrix_target::direct:
        create_client_accounts_on_backend(server());
        return server().port();
      case matrix_target::sluice_transaction:
        return start_sluice({{"sluice.pool_mode", "transaction"}}).port();
      case matrix_target::sluice_session:
        return start_sluice({{"sluice.pool_mode", "session"}}).port();
    }
    throw std::logic_error("unknown target");
  }
};

TEST_P(DriverMatrixTest, RunsTheScenario) {
  const matrix_case& param = GetParam();
  const driver_program& program = *param.program;
  if (const std::string missing = missing_runtime(program); !missing.empty()) {
    FAIL() << program.name << " cannot run: " << missing
           << ": install it with scripts/install-deps.sh (and re-run cmake, which builds the Java "
              "and Go programs when their toolchains are there)";
  }

  const std::string database = create_database();
  const std::uint16_t port = target_port();
  std::vector<std::string> argv = {
      find_program("env"), "SLUICE_DRIVER_HOST=127.0.0.1",
      "SLUICE_DRIVER_PORT=" + std::to_string(port), "SLUICE_DRIVER_USER=app",
      "SLUICE_DRIVER_PASSWORD=app-pw", "SLUICE_DRIVER_OTHER_USER=other",
      "SLUICE_DRIVER_OTHER_PASSWORD=other-pw", "SLUICE_DRIVER_DATABASE=" + database,
      "SLUICE_DRIVER_VARIANT=" + param.variant,
      // Keeps __pycache__ out of the source tree.
      "PYTHONDONTWRITEBYTECODE=1"};
  const std::size_t program_index = argv.size();
  for (const auto& arg : program.command) {
    const bool first = argv.size() == program_index;
    argv.push_back(first && arg.find('/') == std::string::npos ? find_program(arg) : arg);
  }

  const auto started = std::chrono::steady_clock::now();
  const command_result run = run_command(argv, program_timeout);
  // The steps' lines are the matrix's result table: print them whether the run passed or not.
  std::cout << "--- " << case_name({param, 0}) << " (" << elapsed_ms(started) << " ms)\n"
            << run.output << std::flush;

  EXPECT_FALSE(run.timed_out) << program.name << " did not finish within "
                              << program_timeout.count() << " s";
  const auto report = read_step_lines(run.output);
  for (const auto& problem : report_problems(report, scenario_steps())) ADD_FAILURE() << problem;
  // Each failed step is its own failure, in the scenario's order.
  for (const auto& step : scenario_steps()) {
    const auto it = report.find(step);
    if (it == report.end()) continue;
    for (const auto& line : it->second) {
      if (line.outcome == step_outcome::fail) ADD_FAILURE() << line.text;
    }
  }
  // The output is printed above: a crash or a failure outside any step is named there.
  EXPECT_EQ(run.status, 0) << program.name << " (" << param.variant << ") against "
                           << target_word(param.target) << " exited with status " << run.status;
}

INSTANTIATE_TEST_SUITE_P(Matrix, DriverMatrixTest, ::testing::ValuesIn(all_cases()), case_name);

}  // namespace
}  // namespace sluice::test
