// Starting, signalling and reaping the processes the test harness runs (mariadbd, sluice, tools).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace sluice::test {

// One child process, stdout and stderr appended to a file, stdin from /dev/null. The child gets
// SIGKILL if the test process dies (when started from the main thread), so a crashed or
// timed-out test leaves no mariadbd or sluice behind. Exit statuses follow the shell convention:
// the exit code, or 128 + signal number when a signal ended the process.
class child_process {
 public:
  child_process() = default;
  child_process(const std::vector<std::string>& argv, const std::filesystem::path& output);
  child_process(child_process&& other) noexcept;
  child_process& operator=(child_process&& other) noexcept;
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  // SIGKILLs and reaps a child that is still running.
  ~child_process();

  pid_t pid() const { return pid_; }
  bool running();
  // The status once the child has exited, or nullopt if it is still running after `timeout`.
  std::optional<int> wait_for_exit(std::chrono::milliseconds timeout);
  void send_signal(int signal_number);
  // SIGTERM, up to `grace` to exit, then SIGKILL; returns the exit status.
  int terminate(std::chrono::milliseconds grace);
  // SIGKILL and reap; returns the exit status.
  int kill_hard();

 private:
  void reset() noexcept;

  pid_t pid_ = -1;
  std::optional<int> status_;
};

struct command_result {
  int status = -1;     // exit status as child_process reports it
  std::string output;  // stdout and stderr, interleaved
  bool timed_out = false;
};

// Runs a command to completion (SIGKILL after `timeout`) and captures its output.
command_result run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

// A fresh directory under $TMPDIR (or /tmp) whose name starts with `prefix`.
std::filesystem::path make_temp_dir(const std::string& prefix);

// The whole file, or "" if it cannot be read.
std::string read_text_file(const std::filesystem::path& path);

// The last `count` lines of `text`.
std::string last_lines(const std::string& text, std::size_t count);

// The absolute path of a program found in PATH or in /usr/sbin, /usr/bin, /sbin, /bin,
// /usr/local/*; throws std::runtime_error if it is nowhere.
std::string find_program(const std::string& name);

}  // namespace sluice::test
