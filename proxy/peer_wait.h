// A wait on a peer that the protocol says must end (the rest of a frame, an answer to an auth
// request, room to write a response the client asked for): the waiting code marks when the wait
// began, and the upkeep round closes a connection whose mark is older than its limit. Nothing is
// paid per operation: no timer is armed on the forwarding path.
#pragma once

#include <chrono>
#include <optional>

#include "pool/pool_core.h"

namespace sluice::proxy {

class peer_wait {
 public:
  // The first call of a wait marks it; later calls of the same wait keep the first mark.
  void begin() {
    if (!since_) since_ = pool::clock::now();
  }
  void end() noexcept { since_.reset(); }
  bool waiting() const noexcept { return since_.has_value(); }
  // How long the current wait has lasted (zero when none).
  std::chrono::milliseconds lasted(pool::time_point now) const {
    if (!since_) return std::chrono::milliseconds(0);
    return std::chrono::duration_cast<std::chrono::milliseconds>(now - *since_);
  }

 private:
  std::optional<pool::time_point> since_;
};

}  // namespace sluice::proxy
