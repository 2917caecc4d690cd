// Buffered frame reading: growth with the bytes that arrive (charged to the shared budget beyond
// a small frame), shrinking once a large frame is consumed, and releasing an idle client's buffer.
#include "proxy/frame_reader.h"

#include <algorithm>
#include <cstring>

#include "protocol/constants.h"
#include "protocol/frame.h"

namespace sluice::proxy {

frame_reader::frame_reader(std::size_t initial_capacity, frame_budget* budget)
    : buffer_(initial_capacity), initial_capacity_(initial_capacity), budget_(budget) {}

frame_reader::~frame_reader() {
  release_charge();
}

void frame_reader::release_charge() noexcept {
  if (budget_) budget_->release(ticket_, charged_);
  charged_ = 0;
}

awaitable<void> frame_reader::charge_growth(std::size_t size, peer_wait* stalled) {
  if (!budget_ || size <= frame_budget::small_frame || size <= charged_) co_return;
  const std::size_t more = size - charged_;
  if (!budget_->try_charge(ticket_, more)) {
    // Rare (large commands beyond the budget at once): a short poll keeps the common path free of
    // any waiter bookkeeping.
    const bool owed = stalled && stalled->waiting();
    if (owed) stalled->end();
    asio::steady_timer retry(co_await asio::this_coro::executor);
    while (!budget_->try_charge(ticket_, more)) {
      retry.expires_after(std::chrono::milliseconds(20));
      co_await retry.async_wait(use_nothrow);
    }
    if (owed) stalled->begin();
  }
  charged_ = size;
}

void frame_reader::shrink_if_drained() {
  const std::size_t left = end_ - next_;
  if (buffer_.size() <= 4 * initial_capacity_ || left > initial_capacity_) return;
  std::memmove(buffer_.data(), buffer_.data() + next_, left);
  next_ = 0;
  end_ = left;
  buffer_.resize(initial_capacity_);
  buffer_.shrink_to_fit();
  release_charge();
}

bool frame_reader::release_while_idle(byte_stream& stream) {
  if (!idle_wait_ || release_requested_ || buffer_.empty()) return false;
  release_requested_ = true;
  error_code ignored;
  stream.socket().cancel(ignored);
  return true;
}

std::vector<std::uint8_t> frame_reader::take_buffered() {
  std::vector<std::uint8_t> rest(buffer_.begin() + static_cast<std::ptrdiff_t>(next_),
                                 buffer_.begin() + static_cast<std::ptrdiff_t>(end_));
  next_ = end_ = 0;
  return rest;
}

awaitable<error_code> frame_reader::fill(byte_stream& stream, std::size_t want,
                                         peer_wait* stalled) {
  // Makes [next_, next_ + want) available in the buffer.
  if (next_ + want > buffer_.size() && next_ > 0) {
    const std::size_t have = end_ - next_;
    std::memmove(buffer_.data(), buffer_.data() + next_, have);
    next_ = 0;
    end_ = have;
  }
  while (end_ - next_ < want) {
    if (end_ == buffer_.size()) {
      // Full and more is owed: grow, but only as far as the peer has shown it sends.
      const std::size_t grown =
          std::min(std::max(buffer_.size() * 2, initial_capacity_), next_ + want);
      co_await charge_growth(grown, stalled);
      buffer_.resize(grown);
    }
    auto [ec, n] = co_await read_some(
        stream, std::span<std::uint8_t>(buffer_.data() + end_, buffer_.size() - end_));
    if (ec == asio::error::operation_aborted && release_requested_) {
      // An idle client: wait without a buffer (a peek), and take one again when bytes come.
      release_requested_ = false;
      std::vector<std::uint8_t>().swap(buffer_);
      release_charge();
      next_ = end_ = 0;
      if (auto wait_ec = co_await wait_readable(stream)) co_return wait_ec;
      buffer_.resize(initial_capacity_);
      continue;
    }
    if (ec) co_return ec;
    end_ += n;
    // Bytes of a frame arrived: the rest of it is owed now.
    if (idle_wait_) {
      idle_wait_ = false;
      if (end_ - next_ < want && stalled) stalled->begin();
    }
  }
  co_return error_code{};
}

awaitable<error_code> frame_reader::next(byte_stream& stream, frame& out, std::size_t max_payload,
                                         peer_wait* stalled, bool required) {
  // The frame returned last is consumed: a buffer it grew goes back to its initial size.
  if (next_ == end_) next_ = end_ = 0;
  shrink_if_drained();
  if (stalled && (required || end_ > next_)) stalled->begin();
  idle_wait_ = !required && next_ == end_;
  auto ec = co_await fill(stream, protocol::frame_header_size, stalled);
  idle_wait_ = false;
  release_requested_ = false;
  if (ec) {
    if (stalled) stalled->end();
    co_return ec;
  }
  const auto header = protocol::decode_frame_header(
      std::span<const std::uint8_t, 4>(buffer_.data() + next_, protocol::frame_header_size));
  if (header.payload_length > max_payload) {
    if (stalled) stalled->end();
    co_return asio::error::message_size;
  }
  const std::size_t total = protocol::frame_header_size + header.payload_length;
  if (end_ - next_ < total && stalled) stalled->begin();
  ec = co_await fill(stream, total, stalled);
  if (stalled) stalled->end();
  if (ec) co_return ec;
  out.sequence_id = header.sequence_id;
  out.wire = std::span<const std::uint8_t>(buffer_.data() + next_, total);
  out.payload = out.wire.subspan(protocol::frame_header_size);
  next_ += total;
  co_return error_code{};
}

}  // namespace sluice::proxy
