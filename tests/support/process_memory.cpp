// Reading a process's resident set from /proc.
#include "tests/support/process_memory.h"

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

namespace sluice::test {

std::size_t resident_bytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  if (!status) throw std::runtime_error("no /proc entry for pid " + std::to_string(pid));
  for (std::string line; std::getline(status, line);) {
    if (!line.starts_with("VmRSS:")) continue;
    std::istringstream fields(line.substr(6));
    std::size_t kib = 0;
    std::string unit;
    fields >> kib >> unit;
    if (unit != "kB") throw std::runtime_error("unexpected VmRSS line: " + line);
    return kib * 1024;
  }
  throw std::runtime_error("no VmRSS in /proc/" + std::to_string(pid) + "/status");
}

std::size_t settled_resident_bytes(pid_t pid, std::chrono::milliseconds settle,
                                   std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t last = resident_bytes(pid);
  auto last_change = std::chrono::steady_clock::now();
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
    const std::size_t now_bytes = resident_bytes(pid);
    const auto now = std::chrono::steady_clock::now();
    const std::size_t difference = now_bytes > last ? now_bytes - last : last - now_bytes;
    if (difference >= 1024 * 1024) {
      last = now_bytes;
      last_change = now;
    }
    if (now - last_change >= settle || now >= deadline) return now_bytes;
  }
}

}  // namespace sluice::test
