// Whether sluice can serve, written by the event loop and read by the HTTP thread's probes.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace sluice::proxy {

struct health_state {
  std::atomic<bool> ready{false};                  // a backend connection exists or was just made
  std::atomic<std::int64_t> loop_heartbeat_ms{0};  // steady clock, updated as the loop turns

  static std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  // The loop is alive when it turned within this much time.
  static constexpr std::int64_t live_within_ms = 2000;
  bool live() const { return now_ms() - loop_heartbeat_ms.load() < live_within_ms; }
};

}  // namespace sluice::proxy
