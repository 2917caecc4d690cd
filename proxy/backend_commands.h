// Commands sluice itself sends on a backend connection (restores, resets, set-up), pipelined in
// one write, with their single-packet replies read back in order.
#pragma once

#include <boost/system/result.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/constants.h"
#include "proxy/asio_types.h"
#include "proxy/backend_connection.h"

namespace sluice::proxy {

struct command_reply {
  bool error = false;
  std::uint16_t error_code = 0;
  std::string sql_state;
  std::string error_message;
  std::uint16_t status_flags = 0;
  std::vector<std::string> state_blobs;  // session-state tracker reports
};

// Appends a command (sequence id 0) to `out`, ready to send.
void append_command(std::vector<std::uint8_t>& out, protocol::command cmd, std::string_view body);
// Appends a statement command whose body is only the statement id (COM_STMT_CLOSE, _RESET).
void append_statement_command(std::vector<std::uint8_t>& out, protocol::command cmd,
                              std::uint32_t statement_id);

// Writes `framed` and reads `replies` replies. A transport or protocol error means the
// connection is unusable.
awaitable<boost::system::result<std::vector<command_reply>>> run_commands(
    backend_connection& c, std::span<const std::uint8_t> framed, std::size_t replies);

// Reads one whole response of `c` into `out` (small ones only: prepare responses); false when the
// connection failed or the response was not one a command sluice sends itself can get.
awaitable<bool> read_response(backend_connection& c, protocol::response_scanner::shape shape,
                              std::vector<std::uint8_t>& out);

}  // namespace sluice::proxy
