// The real sluice binary run as a child process with a test's configuration.
#include "tests/support/sluice_process.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <thread>

#ifndef SLUICE_BINARY
#error "SLUICE_BINARY must be defined as the path of the sluice executable"
#endif

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace

std::string sluice_binary() {
  if (const char* path = std::getenv("SLUICE_BINARY"); path != nullptr && *path != '\0') {
    return path;
  }
  return SLUICE_BINARY;
}

bool port_accepts(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr = loopback(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

command_result run_sluice(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {sluice_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, timeout);
}

sluice_process::sluice_process(const std::string& config_text, std::uint16_t listen_port,
                               std::chrono::milliseconds ready_timeout, const std::string& binary,
                               const sluice_launch& launch)
    : dir_(make_temp_dir("sluice-proc-")),
      config_path_(dir_ / "sluice.ini"),
      log_path_(dir_ / "sluice.log"),
      port_(listen_port) {
  try {
    write_file(config_path_, config_text);
    if (::access(binary.c_str(), X_OK) != 0) {
      throw std::runtime_error("sluice binary not found or not executable: " + binary +
                               " (build the `sluice` target, or set SLUICE_BINARY)");
    }
    std::vector<std::string> argv;
    if (!launch.environment.empty()) {
      argv.push_back(find_program("env"));
      for (const auto& entry : launch.environment) {
        if (entry.find('=') == std::string::npos || entry.front() == '-' || entry.front() == '=')
          throw std::invalid_argument("sluice_launch: environment entries are NAME=value, got '" +
                                      entry + "'");
        argv.push_back(entry);
      }
    }
    for (std::size_t i = 0; i < launch.wrapper.size(); ++i) {
      const auto& word = launch.wrapper[i];
      argv.push_back(i == 0 && word.find('/') == std::string::npos ? find_program(word) : word);
    }
    argv.insert(argv.end(), {binary, "--config", config_path_.string()});
    process_ = child_process(argv, log_path_);
    wait_listening(ready_timeout);
  } catch (...) {
    process_ = child_process();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    throw;
  }
}

void sluice_process::wait_listening(std::chrono::milliseconds ready_timeout) {
  const auto deadline = std::chrono::steady_clock::now() + ready_timeout;
  for (;;) {
    if (auto status = process_.wait_for_exit(0ms)) {
      throw std::runtime_error("sluice exited with status " + std::to_string(*status) +
                               " before listening on port " + std::to_string(port_) + "; log:\n" +
                               last_lines(log(), 60));
    }
    if (port_accepts(port_)) return;
    if (std::chrono::steady_clock::now() >= deadline) {
      process_.kill_hard();
      throw std::runtime_error("sluice did not listen on port " + std::to_string(port_) +
                               " within " + std::to_string(ready_timeout.count()) + " ms; log:\n" +
                               last_lines(log(), 60));
    }
    std::this_thread::sleep_for(20ms);
  }
}

sluice_process::sluice_process(const sluice_config& config, const sluice_launch& launch)
    : sluice_process(config.text(), config.listen_port(), std::chrono::seconds{20}, sluice_binary(),
                     launch) {}

sluice_process::~sluice_process() {
  check_exit_at_teardown();
  if (print_log_on_failure_ && ::testing::Test::HasFailure()) {
    std::cerr << "---- sluice log (" << log_path_.string() << ", last 200 lines) ----\n"
              << last_lines(log(), 200) << "---- end of sluice log ----\n";
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void sluice_process::check_exit_at_teardown() {
  if (process_.pid() <= 0 || exit_observed_) return;
  std::optional<int> status = process_.wait_for_exit(0ms);
  const bool died_during_test = status.has_value();
  if (!status) {
    process_.send_signal(SIGTERM);
    status = process_.wait_for_exit(15s);
  }
  if (!status) {
    std::cerr << "sluice_process: sluice (pid " << process_.pid()
              << ") still running 15 s after SIGTERM; sending SIGKILL\n";
    process_.kill_hard();
    return;
  }
  // A crash, or a sanitizer's report (leaks are only reported at exit), shows up only here.
  if (*status != 0) {
    ADD_FAILURE() << (died_during_test ? "sluice died during the test with status "
                                       : "sluice exited after SIGTERM with status ")
                  << *status << " (expected it running, then exit status 0)";
  }
}

int sluice_process::stop(std::chrono::milliseconds timeout) {
  exit_observed_ = true;
  return process_.terminate(timeout);
}

void sluice_process::send_signal(int signal_number) {
  process_.send_signal(signal_number);
}

std::optional<int> sluice_process::wait_for_exit(std::chrono::milliseconds timeout) {
  auto status = process_.wait_for_exit(timeout);
  if (status) exit_observed_ = true;
  return status;
}

bool sluice_process::running() {
  return process_.running();
}

std::string sluice_process::log() const {
  return read_text_file(log_path_);
}

}  // namespace sluice::test
