// Reading commands from a client and writing sluice's own packets to it.
#include "proxy/client_connection.h"

#include <algorithm>

#include "protocol/constants.h"
#include "protocol/frame.h"
#include "protocol/generic_response.h"
#include "proxy/socket_io.h"

namespace sluice::proxy {

client_connection::client_connection(tcp::socket socket, frame_budget* budget)
    : stream_(std::move(socket)), reader_(16 * 1024, budget) {
  error_code ec;
  const auto remote = stream_.socket().remote_endpoint(ec);
  address_ = ec ? "unknown" : remote.address().to_string();
  peer_ = ec ? "unknown" : address_ + ":" + std::to_string(remote.port());
  prepare_socket(stream_.socket());
}

awaitable<error_code> client_connection::start_tls(SSL* ssl) {
  const std::vector<std::uint8_t> early = reader_.take_buffered();
  co_return co_await stream_.start_tls(ssl, early);
}

awaitable<error_code> client_connection::next_command(frame& out, std::size_t max_payload) {
  // A command's first frame is at most a packet's payload; the whole command is counted below.
  const std::size_t first_frame_limit =
      std::min<std::size_t>(max_payload, protocol::max_packet_payload);
  const auto ec = co_await reader_.next(stream_, out, first_frame_limit, &owed_read_, false);
  command_bytes_ = ec ? 0 : out.payload.size();
  command_continues_ = !ec && out.payload.size() == protocol::max_packet_payload;
  co_return ec;
}

awaitable<error_code> client_connection::next_continuation(frame& out, std::size_t max_command) {
  const auto ec =
      co_await reader_.next(stream_, out, protocol::max_packet_payload, &owed_read_, true);
  if (ec) {
    command_continues_ = false;
    co_return ec;
  }
  command_bytes_ += out.payload.size();
  command_continues_ = out.payload.size() == protocol::max_packet_payload;
  if (command_bytes_ > max_command) {
    command_continues_ = false;
    co_return asio::error::message_size;
  }
  co_return error_code{};
}

awaitable<error_code> client_connection::discard_continuation(std::size_t max_command) {
  while (command_continues_) {
    frame ignored;
    if (auto ec = co_await next_continuation(ignored, max_command)) co_return ec;
  }
  co_return error_code{};
}

awaitable<error_code> client_connection::next_required(frame& out, std::size_t max_payload) {
  co_return co_await reader_.next(stream_, out, max_payload, &owed_read_, true);
}

awaitable<error_code> client_connection::next_auth_reply(frame& out, std::size_t max_payload) {
  co_return co_await reader_.next(stream_, out, max_payload, &owed_auth_, true);
}

awaitable<error_code> client_connection::write(std::span<const std::uint8_t> bytes) {
  co_return co_await write_all(stream_, bytes, &owed_write_);
}

awaitable<bool> client_connection::send_payload(std::uint8_t sequence_id,
                                                std::span<const std::uint8_t> payload) {
  std::vector<std::uint8_t> framed;
  protocol::append_packets(framed, payload, sequence_id);
  co_return !co_await write(framed);
}

awaitable<bool> client_connection::send_ok(std::uint8_t sequence_id, std::uint16_t status_flags) {
  out_.clear();
  protocol::ok_packet ok;
  ok.status_flags = status_flags;
  protocol::encode_ok(ok, capabilities, out_);
  co_return co_await send_payload(sequence_id, out_);
}

awaitable<bool> client_connection::send_eof(std::uint8_t sequence_id, std::uint16_t status_flags) {
  out_.clear();
  protocol::encode_eof({0, status_flags}, capabilities, out_);
  co_return co_await send_payload(sequence_id, out_);
}

awaitable<bool> client_connection::send_error(std::uint8_t sequence_id, const error_reply& error) {
  out_.clear();
  protocol::encode_err({error.code, error.sql_state, error.message},
                       capabilities | protocol::capability::protocol_41, out_);
  co_return co_await send_payload(sequence_id, out_);
}

void client_connection::close() noexcept {
  stream_.close();
}

}  // namespace sluice::proxy
