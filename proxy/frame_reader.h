// Reads whole MySQL frames (header + payload) from a byte stream through one reusable buffer.
// The buffer grows only with bytes that actually arrive (a header that announces 16 MiB and is
// followed by nothing costs nothing), and an idle client's buffer can be given back.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "proxy/asio_types.h"
#include "proxy/byte_stream.h"
#include "proxy/peer_wait.h"

namespace sluice::proxy {

// Memory for large frames, shared by every client: a frame above `small_frame` bytes is read only
// once its size is reserved here, so clients that send (or announce) large commands and stall
// cannot together make sluice hold more than the limit. One frame is always admitted alone.
class frame_budget {
 public:
  static constexpr std::size_t small_frame = 256 * 1024;
  explicit frame_budget(std::size_t limit = 32 * 1024 * 1024) : limit_(limit) {}
  void set_limit(std::size_t limit) noexcept { limit_ = limit; }
  bool try_reserve(std::size_t n) noexcept {
    if (reserved_ != 0 && reserved_ + n > limit_) return false;
    reserved_ += n;
    return true;
  }
  void release(std::size_t n) noexcept { reserved_ -= n; }
  std::size_t reserved() const noexcept { return reserved_; }

 private:
  std::size_t limit_;
  std::size_t reserved_ = 0;
};

struct frame {
  std::uint8_t sequence_id = 0;
  std::span<const std::uint8_t> payload;  // valid until the next read
  // The frame as it came off the wire (header included), for forwarding unchanged.
  std::span<const std::uint8_t> wire;
};

class frame_reader {
 public:
  explicit frame_reader(std::size_t initial_capacity = 16 * 1024, frame_budget* budget = nullptr);
  ~frame_reader();
  frame_reader(const frame_reader&) = delete;
  frame_reader& operator=(const frame_reader&) = delete;

  // Reads the next frame. Frames longer than `max_payload` are refused with message_size.
  // `stalled` is marked while the peer owes bytes: the rest of a frame it began, or, when
  // `required` (an auth reply, a continuation frame, LOCAL INFILE data), the whole frame.
  awaitable<error_code> next(byte_stream& stream, frame& out, std::size_t max_payload,
                             peer_wait* stalled = nullptr, bool required = false);
  // Bytes received but not yet returned as a frame (a client that pipelines commands).
  std::size_t buffered() const noexcept { return end_ - next_; }
  std::size_t capacity() const noexcept { return buffer_.capacity(); }
  // For an idle client: while next() waits for a frame with nothing buffered, its read is
  // cancelled, the buffer freed, and the wait goes on with a peek; the buffer comes back with the
  // client's next bytes. Returns whether a release was started.
  bool release_while_idle(byte_stream& stream);
  // Hands over the bytes received but not returned as frames (a client's first TLS bytes right
  // behind its SSLRequest), which the reader no longer holds.
  std::vector<std::uint8_t> take_buffered();

 private:
  awaitable<error_code> fill(byte_stream& stream, std::size_t want, peer_wait* stalled);
  // Waits until a large frame's size is reserved in the budget (not the client's fault: no
  // deadline runs meanwhile).
  awaitable<void> reserve(std::size_t frame_size);
  void release_reservation() noexcept;

  std::vector<std::uint8_t> buffer_;
  std::size_t initial_capacity_;
  std::size_t next_ = 0;    // start of the first unread frame
  std::size_t end_ = 0;     // end of received bytes
  bool idle_wait_ = false;  // next() waits for a frame and nothing is buffered
  bool release_requested_ = false;
  frame_budget* budget_;
  std::size_t reserved_ = 0;  // the budget this reader holds for the frame it returned last
};

}  // namespace sluice::proxy
