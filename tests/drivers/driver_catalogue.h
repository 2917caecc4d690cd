// The driver programs of the matrix: how each is run, what it needs installed, its variants.
#pragma once

#include <string>
#include <vector>

namespace sluice::test {

// One client driver and the program (under tests/drivers/) that runs the scenario with it. A
// program reads SLUICE_DRIVER_HOST, _PORT, _USER, _PASSWORD, _OTHER_USER, _OTHER_PASSWORD,
// _DATABASE (empty, its own) and _VARIANT; prints `ok <step>`, `skip <step>: why` or
// `FAIL <step>: reason` for each of scenario_steps(), in order; and exits 0 only if none failed.
struct driver_program {
  std::string name;  // a C identifier: part of the test name
  // The connection-option sets the program knows (SLUICE_DRIVER_VARIANT); the driver's defaults,
  // "default", come first.
  std::vector<std::string> variants;
  // Debian packages the program needs (checked with dpkg, as scripts/install-deps.sh does).
  std::vector<std::string> debian_packages;
  // Files that must exist: npm modules, programs compiled at build time.
  std::vector<std::string> required_files;
  // argv; a first element without '/' is looked up like find_program.
  std::vector<std::string> command;
};

// Every driver of the matrix.
const std::vector<driver_program>& driver_programs();

// The scenario's steps, in order: each program prints exactly one `ok`, `skip` or `FAIL` line
// for each.
const std::vector<std::string>& scenario_steps();

// Why `program` cannot run on this machine (a missing package, module or built program, or
// runtime), or "" if it can.
std::string missing_runtime(const driver_program& program);

}  // namespace sluice::test
