// How much memory a process holds, as the kernel counts it, for tests that bound what clients can
// make sluice hold.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>

namespace sluice::test {

// The resident set (VmRSS in /proc/<pid>/status) in bytes; throws std::runtime_error if the
// process is gone or the line is missing.
std::size_t resident_bytes(pid_t pid);

// The resident set once it has settled: sampled every 50 ms until it has not moved by 1 MiB or
// more for `settle`, or `timeout` passes (then the last sample). For a measurement taken while
// sluice may still be taking in what clients just sent.
std::size_t settled_resident_bytes(
    pid_t pid, std::chrono::milliseconds settle = std::chrono::milliseconds{300},
    std::chrono::milliseconds timeout = std::chrono::seconds{5});

// Whether this build (and so the sluice built with it) runs under AddressSanitizer, whose shadow
// memory and quarantine of freed blocks (256 MiB by default) make bounds on the resident set
// meaningless.
constexpr bool built_with_address_sanitizer() {
#if defined(__SANITIZE_ADDRESS__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return true;
#else
  return false;
#endif
#else
  return false;
#endif
}

constexpr double mib(std::size_t bytes) {
  return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

}  // namespace sluice::test
