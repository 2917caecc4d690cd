// The real sluice binary run as a child process with a test's configuration.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/child_process.h"
#include "tests/support/ports.h"
#include "tests/support/sluice_config.h"

namespace sluice::test {

// The sluice executable under test: $SLUICE_BINARY if set, else the build tree's (SLUICE_BINARY
// compile definition).
std::string sluice_binary();

// Whether something accepts TCP connections on 127.0.0.1:port right now.
bool port_accepts(std::uint16_t port);

// Runs `sluice args...` to completion (SIGKILL after `timeout`), e.g. {"--version"}.
command_result run_sluice(const std::vector<std::string>& args,
                          std::chrono::milliseconds timeout = std::chrono::seconds{20});

// How sluice is started beyond its configuration file.
struct sluice_launch {
  // NAME=value entries added to sluice's environment (through env(1)), e.g.
  // "SLUICE_BACKEND_PASSWORD=secret".
  std::vector<std::string> environment;
  // A program that runs sluice in its own place, e.g. {"prlimit", "--nofile=256:1024", "--"}:
  // it must exec sluice (not fork it), so that pid() and signals still reach sluice. A name
  // without a '/' is looked up like find_program.
  std::vector<std::string> wrapper;
};

class sluice_process {
 public:
  // Writes `config_text` to a temporary file, starts `binary --config FILE` with stdout and
  // stderr in a log file, and waits until 127.0.0.1:listen_port accepts TCP. Throws
  // std::runtime_error with the log if the process exits first or `ready_timeout` passes.
  // (With so_reuseport, a second sluice on a port that another one serves passes this wait at
  // once: wait for its /ready instead.)
  sluice_process(const std::string& config_text, std::uint16_t listen_port,
                 std::chrono::milliseconds ready_timeout = std::chrono::seconds{20},
                 const std::string& binary = sluice_binary(), const sluice_launch& launch = {});
  // Same, with the port taken from the config's [sluice] listen.
  explicit sluice_process(const sluice_config& config, const sluice_launch& launch = {});
  // SIGTERM, up to 15 s to exit, then SIGKILL. Unless the test saw the exit itself (stop,
  // wait_for_exit), an exit status other than 0 fails the current test: sluice crashed, or a
  // sanitizer reported at exit. If the current test failed, prints the log.
  ~sluice_process();
  sluice_process(const sluice_process&) = delete;
  sluice_process& operator=(const sluice_process&) = delete;

  // SIGTERM, up to `timeout` to exit, then SIGKILL; returns the exit status (128 + signal when
  // a signal ended it, so 137 means it had to be killed).
  int stop(std::chrono::milliseconds timeout = std::chrono::seconds{15});
  void send_signal(int signal_number);
  // The exit status once it has exited, nullopt if still running after `timeout`.
  std::optional<int> wait_for_exit(std::chrono::milliseconds timeout);
  bool running();

  std::string log() const;
  // Printed when the test fails; on by default.
  void print_log_on_failure(bool enabled) { print_log_on_failure_ = enabled; }
  pid_t pid() const { return process_.pid(); }
  std::uint16_t port() const { return port_; }
  const std::filesystem::path& config_path() const { return config_path_; }

 private:
  void wait_listening(std::chrono::milliseconds ready_timeout);
  void check_exit_at_teardown();

  std::filesystem::path dir_;
  std::filesystem::path config_path_;
  std::filesystem::path log_path_;
  std::uint16_t port_;
  child_process process_;
  bool print_log_on_failure_ = true;
  bool exit_observed_ = false;
};

}  // namespace sluice::test
