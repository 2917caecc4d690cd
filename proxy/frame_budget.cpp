// The shared budget of large frames: charged as bytes arrive, the oldest holder always admitted.
#include "proxy/frame_budget.h"

namespace sluice::proxy {

bool frame_budget::try_charge(ticket& t, std::size_t n) {
  const bool oldest = holders_.empty() || (t != 0 && t == *holders_.begin());
  if (!oldest && charged_ + n > limit_) return false;
  if (t == 0) {
    t = next_ticket_++;
    holders_.insert(t);
  }
  charged_ += n;
  return true;
}

void frame_budget::release(ticket& t, std::size_t n) noexcept {
  if (t == 0) return;
  charged_ -= n;
  holders_.erase(t);
  t = 0;
}

}  // namespace sluice::proxy
