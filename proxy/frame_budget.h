// Memory for large frames being received, shared by every client ([limits] large_command_memory).
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>

namespace sluice::proxy {

// A reader whose buffer must grow beyond `small_frame` bytes charges the growth here, as the
// frame's bytes arrive: a header that announces 16 MiB costs nothing until the bytes come, so a
// client cannot hold memory it did not make sluice spend. Past the limit a reader waits for
// memory to free, except the oldest holder (the reader that began charging first), which may
// always grow: it finishes its frame, or its client's read deadline ends it, so some frame always
// progresses and the total stays within the limit plus one frame.
class frame_budget {
 public:
  static constexpr std::size_t small_frame = 256 * 1024;
  explicit frame_budget(std::size_t limit = 32 * 1024 * 1024) : limit_(limit) {}
  void set_limit(std::size_t limit) noexcept { limit_ = limit; }

  // A reader's place in the budget: 0 while it holds nothing, then its order among holders.
  using ticket = std::uint64_t;
  // Charges `n` more bytes to the reader holding `t` (given a ticket on its first charge); false
  // when it must wait for memory to free.
  bool try_charge(ticket& t, std::size_t n);
  // Gives back everything the reader charged (`n` bytes) and its ticket.
  void release(ticket& t, std::size_t n) noexcept;

  std::size_t charged() const noexcept { return charged_; }
  std::size_t holders() const noexcept { return holders_.size(); }

 private:
  std::size_t limit_;
  std::size_t charged_ = 0;
  ticket next_ticket_ = 1;
  std::set<ticket> holders_;  // oldest first
};

}  // namespace sluice::proxy
