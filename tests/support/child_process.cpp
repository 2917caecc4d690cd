// Starting, signalling and reaping the processes the test harness runs (mariadbd, sluice, tools).
#include "tests/support/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

int decode_status(int raw) {
  if (WIFEXITED(raw)) return WEXITSTATUS(raw);
  if (WIFSIGNALED(raw)) return 128 + WTERMSIG(raw);
  return -1;
}

std::string errno_text(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

// Everything between fork() and exec() must be async-signal-safe: no allocation, no locks.
[[noreturn]] void exec_child(char* const* argv, int stdin_fd, int output_fd, pid_t parent,
                             bool die_with_parent, const char* exec_failed_message,
                             std::size_t exec_failed_length) {
  if (die_with_parent) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
  }
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &default_action, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);

  if (dup2(stdin_fd, STDIN_FILENO) < 0 || dup2(output_fd, STDOUT_FILENO) < 0 ||
      dup2(output_fd, STDERR_FILENO) < 0) {
    _exit(127);
  }
  // Sockets of the test's own clients must not live on in the child: a test that closes a
  // connection expects sluice to see it close.
  close_range(3, ~0U, 0);
  execv(argv[0], argv);
  ssize_t ignored = write(STDERR_FILENO, exec_failed_message, exec_failed_length);
  (void)ignored;
  _exit(127);
}

}  // namespace

child_process::child_process(const std::vector<std::string>& argv,
                             const std::filesystem::path& output) {
  if (argv.empty()) throw std::invalid_argument("child_process: empty argv");
  std::vector<char*> c_argv;
  c_argv.reserve(argv.size() + 1);
  for (const auto& arg : argv) c_argv.push_back(const_cast<char*>(arg.c_str()));
  c_argv.push_back(nullptr);
  const std::string exec_failed = "child_process: cannot execute " + argv[0] + "\n";

  int output_fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (output_fd < 0) throw std::runtime_error(errno_text("open " + output.string()));
  int stdin_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (stdin_fd < 0) {
    ::close(output_fd);
    throw std::runtime_error(errno_text("open /dev/null"));
  }
  // PR_SET_PDEATHSIG fires when the *thread* that forked exits, so only tie the child's life to
  // ours when we are the main thread (which lives as long as the process).
  const pid_t parent = ::getpid();
  const bool die_with_parent = ::gettid() == parent;

  pid_t pid = ::fork();
  if (pid == 0) {
    exec_child(c_argv.data(), stdin_fd, output_fd, parent, die_with_parent, exec_failed.data(),
               exec_failed.size());
  }
  const int fork_errno = errno;
  ::close(output_fd);
  ::close(stdin_fd);
  if (pid < 0) {
    errno = fork_errno;
    throw std::runtime_error(errno_text("fork for " + argv[0]));
  }
  pid_ = pid;
}

child_process::child_process(child_process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), status_(std::exchange(other.status_, std::nullopt)) {}

child_process& child_process::operator=(child_process&& other) noexcept {
  if (this != &other) {
    reset();
    pid_ = std::exchange(other.pid_, -1);
    status_ = std::exchange(other.status_, std::nullopt);
  }
  return *this;
}

child_process::~child_process() {
  reset();
}

void child_process::reset() noexcept {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    int raw = 0;
    while (::waitpid(pid_, &raw, 0) < 0 && errno == EINTR) {
    }
  }
  pid_ = -1;
  status_.reset();
}

bool child_process::running() {
  return pid_ > 0 && !wait_for_exit(0ms);
}

std::optional<int> child_process::wait_for_exit(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  if (pid_ <= 0) return std::nullopt;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int raw = 0;
    pid_t r = ::waitpid(pid_, &raw, WNOHANG);
    if (r == pid_) {
      status_ = decode_status(raw);
      return status_;
    }
    if (r < 0 && errno != EINTR) {
      // Not our child any more (someone else reaped it): report it as gone.
      status_ = -1;
      return status_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(5ms);
  }
}

void child_process::send_signal(int signal_number) {
  if (pid_ > 0 && !status_) ::kill(pid_, signal_number);
}

int child_process::terminate(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return -1;
  send_signal(SIGTERM);
  if (auto status = wait_for_exit(grace)) return *status;
  return kill_hard();
}

int child_process::kill_hard() {
  if (pid_ <= 0) return -1;
  send_signal(SIGKILL);
  // SIGKILL cannot be caught; the wait only covers the kernel tearing the process down.
  if (auto status = wait_for_exit(60s)) return *status;
  throw std::runtime_error("process " + std::to_string(pid_) + " survived SIGKILL for 60 s");
}

command_result run_command(const std::vector<std::string>& argv,
                           std::chrono::milliseconds timeout) {
  const auto dir = make_temp_dir("sluice-cmd-");
  const auto output_path = dir / "output.log";
  command_result result;
  {
    child_process child(argv, output_path);
    if (auto status = child.wait_for_exit(timeout)) {
      result.status = *status;
    } else {
      result.timed_out = true;
      result.status = child.kill_hard();
    }
  }
  result.output = read_text_file(output_path);
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return result;
}

std::filesystem::path make_temp_dir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::filesystem::path base = (tmp != nullptr && *tmp != '\0') ? tmp : "/tmp";
  std::string pattern = (base / (prefix + "XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error(errno_text("mkdtemp"));
  return pattern;
}

std::string read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string last_lines(const std::string& text, std::size_t count) {
  std::size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;
  for (std::size_t seen = 0; pos > 0; --pos) {
    if (text[pos - 1] == '\n' && ++seen == count) break;
  }
  return text.substr(pos);
}

std::string find_program(const std::string& name) {
  std::vector<std::filesystem::path> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::stringstream list(path);
    for (std::string dir; std::getline(list, dir, ':');) {
      if (!dir.empty()) dirs.emplace_back(dir);
    }
  }
  for (const char* dir : {"/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin",
                          "/usr/local/bin", "/usr/local/mysql/bin"}) {
    dirs.emplace_back(dir);
  }
  for (const auto& dir : dirs) {
    const auto candidate = dir / name;
    if (::access(candidate.c_str(), X_OK) == 0 && !std::filesystem::is_directory(candidate)) {
      return std::filesystem::absolute(candidate).string();
    }
  }
  throw std::runtime_error("program not found in PATH or the usual sbin/bin folders: " + name);
}

}  // namespace sluice::test
