// Packet-boundary tracking for relayed server responses (see response_scanner.h).
#include "protocol/response_scanner.h"

#include <algorithm>

#include "protocol/constants.h"
#include "protocol/generic_response.h"
#include "protocol/wire.h"

namespace sluice::protocol {
namespace {

// OK packets carry session-state data worth keeping whole; anything else needs only its head.
constexpr std::size_t first_packet_capture = 64 * 1024;
constexpr std::size_t other_packet_capture = 16;
// An EOF packet is 0xFE plus at most 8 bytes; a longer 0xFE packet is a row (lenenc 8-byte prefix).
constexpr std::uint32_t eof_max_length = 9;
constexpr std::size_t state_blob_budget = 1024 * 1024;

bool is_eof(std::span<const std::uint8_t> head, std::uint64_t length) {
  return !head.empty() && head[0] == eof_header && length < eof_max_length;
}

}  // namespace

void response_scanner::start(shape s) {
  shape_ = s;
  state_ = state::reading;
  phase_ =
      s == shape::field_list ? phase::field_list : (s == shape::fetch ? phase::rows : phase::first);
  header_bytes_ = 0;
  continuation_ = false;
  columns_left_ = 0;
  params_left_ = 0;
  prepare_columns_ = 0;
  ended_with_error_ = false;
  status_flags_ = 0;
  warnings_ = 0;
  last_insert_id_ = 0;
  state_blobs_.clear();
  state_bytes_ = 0;
  state_lost_ = false;
  eof_state_changed_ = false;
  statement_id_ = 0;
  has_status_ = false;
  error_code_ = 0;
  sql_state_.clear();
  error_message_.clear();
}

void response_scanner::resume_after_local_infile() {
  if (state_ != state::local_infile) return;
  state_ = state::reading;
  phase_ = phase::first;
}

std::size_t response_scanner::capture_limit(std::uint32_t length) const noexcept {
  const std::size_t limit = phase_ == phase::first ? first_packet_capture : other_packet_capture;
  return std::min<std::size_t>(length, limit);
}

std::size_t response_scanner::feed(std::span<const std::uint8_t> bytes) {
  std::size_t used = 0;
  while (used < bytes.size() && state_ == state::reading) {
    if (header_bytes_ < frame_header_size) {
      const std::size_t n = std::min(frame_header_size - header_bytes_, bytes.size() - used);
      std::copy_n(bytes.begin() + used, n, header_ + header_bytes_);
      header_bytes_ += n;
      used += n;
      if (header_bytes_ < frame_header_size) break;
      payload_length_ = header_[0] | (header_[1] << 8) | (header_[2] << 16);
      payload_remaining_ = payload_length_;
      // A message's head is captured from its first packet; continuation packets add nothing.
      if (!continuation_) {
        capture_target_ = capture_limit(payload_length_);
        head_.clear();
        message_length_ = 0;
      }
      if (payload_remaining_ == 0) packet_complete();
      continue;
    }
    const std::size_t n = std::min<std::size_t>(payload_remaining_, bytes.size() - used);
    if (head_.size() < capture_target_) {
      const std::size_t c = std::min(n, capture_target_ - head_.size());
      head_.insert(head_.end(), bytes.begin() + used, bytes.begin() + used + c);
    }
    payload_remaining_ -= static_cast<std::uint32_t>(n);
    used += n;
    if (payload_remaining_ == 0) packet_complete();
  }
  return used;
}

void response_scanner::packet_complete() {
  message_length_ += payload_length_;
  header_bytes_ = 0;
  // A packet of 0xFFFFFF bytes continues in the next one: the message is classified only when
  // its last packet has ended, so no decision falls inside it.
  continuation_ = payload_length_ == max_packet_payload;
  if (continuation_) return;
  on_packet(head_, message_length_);
}

void response_scanner::on_packet(std::span<const std::uint8_t> head, std::uint64_t length) {
  if (head.empty() && phase_ != phase::rows && phase_ != phase::columns &&
      phase_ != phase::params && phase_ != phase::prepare_columns) {
    state_ = state::malformed;  // an empty packet where a header byte must be
    return;
  }
  switch (phase_) {
    case phase::first:
      on_first_packet(head, length);
      return;
    case phase::columns:
      if (--columns_left_ == 0) phase_ = phase::column_eof;
      return;
    case phase::column_eof:
      if (!expect_eof(head, length)) return;
      // A cursor was opened (COM_STMT_EXECUTE with a cursor type): rows come with COM_STMT_FETCH.
      if (status_flags_ & server_status::cursor_exists)
        state_ = state::done;
      else
        phase_ = phase::rows;
      return;
    case phase::rows:
      if (!head.empty() && head[0] == err_header) {
        on_err(head);
      } else if (is_eof(head, length)) {
        on_eof(head, shape_ == shape::query);
      }
      return;
    case phase::field_list:
      if (head[0] == err_header)
        on_err(head);
      else if (is_eof(head, length))
        on_eof(head, false);
      return;
    case phase::params:
      if (--params_left_ == 0) phase_ = phase::param_eof;
      return;
    case phase::param_eof:
      if (!expect_eof(head, length)) return;
      if (prepare_columns_ > 0)
        phase_ = phase::prepare_columns;
      else
        state_ = state::done;
      return;
    case phase::prepare_columns:
      if (--prepare_columns_ == 0) phase_ = phase::prepare_column_eof;
      return;
    case phase::prepare_column_eof:
      if (!is_eof(head, length)) {
        state_ = state::malformed;
        return;
      }
      on_eof(head, false);
      return;
  }
}

bool response_scanner::expect_eof(std::span<const std::uint8_t> head, std::uint64_t length) {
  if (!is_eof(head, length)) {
    state_ = state::malformed;
    return false;
  }
  read_eof_status(head);
  return state_ != state::malformed;
}

void response_scanner::on_first_packet(std::span<const std::uint8_t> head, std::uint64_t length) {
  const std::uint8_t first = head[0];
  if (first == err_header) {
    on_err(head);
    return;
  }
  if (shape_ == shape::single) {
    // COM_STATISTICS answers with bare text; everything else here is OK, EOF or ERR.
    if (first == ok_header && length >= 7)
      on_ok(head, length);
    else if (is_eof(head, length))
      on_eof(head, false);
    else
      state_ = state::done;
    return;
  }
  if (shape_ == shape::prepare) {
    if (first != ok_header || head.size() < 9) {
      state_ = state::malformed;
      return;
    }
    statement_id_ = head[1] | (head[2] << 8) | (head[3] << 16) | (std::uint32_t{head[4]} << 24);
    prepare_columns_ = static_cast<std::uint16_t>(head[5] | (head[6] << 8));
    params_left_ = static_cast<std::uint16_t>(head[7] | (head[8] << 8));
    if (head.size() >= 12) warnings_ = static_cast<std::uint16_t>(head[10] | (head[11] << 8));
    state_ = state::done;
    after_prepare_ok();
    return;
  }
  if (first == ok_header) {
    on_ok(head, length);
    return;
  }
  if (first == local_infile_header) {
    if (shape_ != shape::query) {
      state_ = state::malformed;
      return;
    }
    state_ = state::local_infile;
    return;
  }
  if (is_eof(head, length)) {  // not a valid answer here, but it does end the response
    on_eof(head, shape_ == shape::query);
    return;
  }
  // A result set: the column count, then that many column definitions and an EOF.
  wire_reader reader(head);
  auto count = reader.lenenc_int();
  if (!count || *count == 0) {
    state_ = state::malformed;
    return;
  }
  columns_left_ = *count;
  phase_ = phase::columns;
}

void response_scanner::after_prepare_ok() {
  // Called in the `done` state: re-opens the response when definitions are still to come.
  if (params_left_ > 0) {
    state_ = state::reading;
    phase_ = phase::params;
  } else if (prepare_columns_ > 0) {
    state_ = state::reading;
    phase_ = phase::prepare_columns;
  }
}

void response_scanner::on_ok(std::span<const std::uint8_t> head, std::uint64_t length) {
  const bool whole = head.size() == length;
  wire_reader reader(head);
  (void)reader.u8();
  auto affected = reader.lenenc_int();
  auto insert_id = reader.lenenc_int();
  auto status = reader.u16();
  auto warnings = reader.u16();
  if (!affected || !insert_id || !status || !warnings) {
    state_ = state::malformed;
    return;
  }
  status_flags_ = *status;
  warnings_ = *warnings;
  has_status_ = true;
  if (*insert_id != 0) last_insert_id_ = *insert_id;
  if (status_flags_ & server_status::session_state_changed) {
    bool kept = false;
    if (whole) {
      auto ok = decode_ok(head, capabilities_);
      if (ok && state_bytes_ + ok->session_state_info.size() <= state_blob_budget) {
        state_bytes_ += ok->session_state_info.size();
        state_blobs_.emplace_back(ok->session_state_info);
        kept = true;
      }
    }
    if (!kept) state_lost_ = true;
  }
  if (status_flags_ & server_status::more_results_exists)
    phase_ = phase::first;
  else
    state_ = state::done;
}

void response_scanner::on_eof(std::span<const std::uint8_t> head, bool may_continue) {
  read_eof_status(head);
  if (state_ == state::malformed) return;
  if (may_continue && (status_flags_ & server_status::more_results_exists))
    phase_ = phase::first;
  else
    state_ = state::done;
}

void response_scanner::read_eof_status(std::span<const std::uint8_t> head) {
  wire_reader reader(head);
  (void)reader.u8();
  auto warnings = reader.u16();
  auto status = reader.u16();
  if (warnings && status) {
    warnings_ = *warnings;
    status_flags_ = *status;
    has_status_ = true;
  } else {
    // Under CLIENT_PROTOCOL_41 an EOF carries warnings and status: without them the flags are
    // unknown (an earlier packet's "more results" must not carry over), so the stream is broken.
    state_ = state::malformed;
    return;
  }
  // An EOF's status cannot say *what* changed (the server reports it with its next OK packet).
  if (status_flags_ & server_status::session_state_changed) eof_state_changed_ = true;
}

void response_scanner::on_err(std::span<const std::uint8_t> head) {
  ended_with_error_ = true;
  state_ = state::done;
  if (head.size() >= 3) error_code_ = static_cast<std::uint16_t>(head[1] | (head[2] << 8));
  std::size_t start = 3;
  if (head.size() >= 9 && head[3] == '#') {
    sql_state_.assign(head.begin() + 4, head.begin() + 9);
    start = 9;
  }
  if (head.size() > start)
    error_message_.assign(head.begin() + static_cast<std::ptrdiff_t>(start), head.end());
}

}  // namespace sluice::protocol
