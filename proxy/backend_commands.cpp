// Pipelined internal commands on a backend connection.
#include "proxy/backend_commands.h"

#include <boost/asio/write.hpp>

#include "protocol/frame.h"
#include "protocol/stmt_command.h"
#include "proxy/socket_io.h"

namespace sluice::proxy {

void append_command(std::vector<std::uint8_t>& out, protocol::command cmd, std::string_view body) {
  std::vector<std::uint8_t> payload;
  payload.reserve(body.size() + 1);
  payload.push_back(static_cast<std::uint8_t>(cmd));
  payload.insert(payload.end(), body.begin(), body.end());
  protocol::append_packets(out, payload, 0);
}

void append_statement_command(std::vector<std::uint8_t>& out, protocol::command cmd,
                              std::uint32_t statement_id) {
  std::vector<std::uint8_t> payload(5);
  payload[0] = static_cast<std::uint8_t>(cmd);
  protocol::set_statement_id(payload, statement_id);
  protocol::append_packets(out, payload, 0);
}

awaitable<boost::system::result<std::vector<command_reply>>> run_commands(
    backend_connection& c, std::span<const std::uint8_t> framed, std::size_t replies) {
  auto write_ec = co_await write_all(c.stream, framed);
  if (write_ec) co_return write_ec;
  std::vector<command_reply> out;
  out.reserve(replies);
  auto& scanner = c.scanner;
  scanner.start(protocol::response_scanner::shape::single);
  while (out.size() < replies) {
    auto [ec, n] = co_await read_some(c.stream, c.buffer);
    if (ec) co_return ec;
    std::span<const std::uint8_t> bytes(c.buffer.data(), n);
    while (!bytes.empty()) {
      if (out.size() == replies)
        co_return error_code(asio::error::invalid_argument);  // unsolicited bytes
      bytes = bytes.subspan(scanner.feed(bytes));
      using state = protocol::response_scanner::state;
      if (scanner.current() == state::reading) continue;
      if (scanner.current() != state::done) co_return error_code(asio::error::invalid_argument);
      command_reply reply;
      reply.error = scanner.ended_with_error();
      reply.error_code = scanner.error_code();
      reply.sql_state = scanner.sql_state();
      reply.error_message = scanner.error_message();
      reply.status_flags = scanner.status_flags();
      reply.state_blobs = scanner.session_state_blobs();
      out.push_back(std::move(reply));
      if (out.size() < replies) scanner.start(protocol::response_scanner::shape::single);
    }
  }
  co_return out;
}

awaitable<bool> read_response(backend_connection& c, protocol::response_scanner::shape shape,
                              std::vector<std::uint8_t>& out) {
  using state = protocol::response_scanner::state;
  c.scanner.start(shape);
  for (;;) {
    auto [ec, n] = co_await read_some(c.stream, c.buffer);
    if (ec) co_return false;
    const std::size_t used = c.scanner.feed(std::span<const std::uint8_t>(c.buffer.data(), n));
    out.insert(out.end(), c.buffer.begin(), c.buffer.begin() + static_cast<std::ptrdiff_t>(used));
    const state st = c.scanner.current();
    if (used < n || st == state::malformed || st == state::local_infile) co_return false;
    if (st == state::done) co_return true;
  }
}

}  // namespace sluice::proxy
