// Buffered frame reading; the buffer grows for a large frame and shrinks back once it is idle.
#include "proxy/frame_reader.h"

#include <cstring>

#include "protocol/constants.h"
#include "protocol/frame.h"
#include "proxy/socket_io.h"

namespace sluice::proxy {

frame_reader::frame_reader(std::size_t initial_capacity)
    : buffer_(initial_capacity), initial_capacity_(initial_capacity) {}

awaitable<error_code> frame_reader::fill(tcp::socket& socket, std::size_t want) {
  // Makes [next_, next_ + want) available in the buffer.
  if (next_ + want > buffer_.size()) {
    const std::size_t have = end_ - next_;
    if (next_ > 0) {
      std::memmove(buffer_.data(), buffer_.data() + next_, have);
      next_ = 0;
      end_ = have;
    }
    if (want > buffer_.size()) buffer_.resize(want);
  }
  while (end_ - next_ < want) {
    auto [ec, n] = co_await read_some(
        socket, std::span<std::uint8_t>(buffer_.data() + end_, buffer_.size() - end_));
    if (ec) co_return ec;
    end_ += n;
  }
  co_return error_code{};
}

awaitable<error_code> frame_reader::next(tcp::socket& socket, frame& out, std::size_t max_payload) {
  if (next_ == end_) {
    next_ = end_ = 0;
    // A large frame grew the buffer; give the memory back once it is consumed.
    if (buffer_.size() > 4 * initial_capacity_) {
      buffer_.resize(initial_capacity_);
      buffer_.shrink_to_fit();
    }
  }
  if (auto ec = co_await fill(socket, protocol::frame_header_size)) co_return ec;
  const auto header = protocol::decode_frame_header(
      std::span<const std::uint8_t, 4>(buffer_.data() + next_, protocol::frame_header_size));
  if (header.payload_length > max_payload) co_return asio::error::message_size;
  const std::size_t total = protocol::frame_header_size + header.payload_length;
  if (auto ec = co_await fill(socket, total)) co_return ec;
  out.sequence_id = header.sequence_id;
  out.wire = std::span<const std::uint8_t>(buffer_.data() + next_, total);
  out.payload = out.wire.subspan(protocol::frame_header_size);
  next_ += total;
  co_return error_code{};
}

}  // namespace sluice::proxy
