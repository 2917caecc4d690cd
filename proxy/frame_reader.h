// Reads whole MySQL frames (header + payload) from a stream socket through one reusable buffer.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "proxy/asio_types.h"

namespace sluice::proxy {

struct frame {
  std::uint8_t sequence_id = 0;
  std::span<const std::uint8_t> payload;  // valid until the next read
  // The frame as it came off the wire (header included), for forwarding unchanged.
  std::span<const std::uint8_t> wire;
};

class frame_reader {
 public:
  explicit frame_reader(std::size_t initial_capacity = 16 * 1024);

  // Reads the next frame. Frames longer than `max_payload` are refused with message_size.
  awaitable<error_code> next(tcp::socket& socket, frame& out, std::size_t max_payload);
  // Bytes received but not yet returned as a frame (a client that pipelines commands).
  std::size_t buffered() const noexcept { return end_ - next_; }

 private:
  awaitable<error_code> fill(tcp::socket& socket, std::size_t want);

  std::vector<std::uint8_t> buffer_;
  std::size_t initial_capacity_;
  std::size_t next_ = 0;  // start of the first unread frame
  std::size_t end_ = 0;   // end of received bytes
};

}  // namespace sluice::proxy
