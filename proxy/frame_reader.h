// Reads whole MySQL frames (header + payload) from a byte stream through one reusable buffer.
// The buffer grows only with bytes that actually arrive (a header that announces 16 MiB and is
// followed by nothing costs nothing), and an idle client's buffer can be given back.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "proxy/asio_types.h"
#include "proxy/byte_stream.h"
#include "proxy/frame_budget.h"
#include "proxy/peer_wait.h"

namespace sluice::proxy {

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
  // Waits until the buffer may grow to `size` bytes: beyond frame_budget::small_frame the growth
  // is charged to the shared budget (a wait that is not the client's fault: no deadline runs).
  awaitable<void> charge_growth(std::size_t size, peer_wait* stalled);
  // Shrinks a buffer that a large frame grew once what is left in it fits the initial capacity,
  // and gives back its charge.
  void shrink_if_drained();
  void release_charge() noexcept;

  std::vector<std::uint8_t> buffer_;
  std::size_t initial_capacity_;
  std::size_t next_ = 0;    // start of the first unread frame
  std::size_t end_ = 0;     // end of received bytes
  bool idle_wait_ = false;  // next() waits for a frame and nothing is buffered
  bool release_requested_ = false;
  frame_budget* budget_;
  frame_budget::ticket ticket_ = 0;
  std::size_t charged_ = 0;  // the buffer bytes charged to the budget (0, or the buffer's size)
};

}  // namespace sluice::proxy
