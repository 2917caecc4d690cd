// A connection to the MySQL server as sluice holds it: its byte stream (TCP, or TLS over it), what
// was negotiated, and what its session currently holds.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "protocol/response_scanner.h"
#include "proxy/asio_types.h"
#include "proxy/byte_stream.h"
#include "session/prepared_statements.h"
#include "session/session_vars.h"

namespace sluice::proxy {

class backend_connection {
 public:
  backend_connection(byte_stream s, std::uint64_t connection_id, std::uint32_t caps,
                     std::size_t max_prepared_statements = 256)
      : stream(std::move(s)),
        id(connection_id),
        capabilities(caps),
        statements(max_prepared_statements),
        scanner(caps) {
    buffer.resize(relay_buffer_size);
  }
  backend_connection(const backend_connection&) = delete;
  backend_connection& operator=(const backend_connection&) = delete;

  std::string subject() const { return "S-" + std::to_string(id); }

  static constexpr std::size_t relay_buffer_size = 64 * 1024;

  // Its bytes; stream.socket() only for peeks that look for a close, cancel and close.
  byte_stream stream;
  std::uint64_t id;                    // sluice's number for it (S-<id> in logs)
  std::uint32_t capabilities;          // negotiated with the server
  std::uint32_t server_thread_id = 0;  // the server's connection id (for KILL)
  std::string scramble;                // from the server's greeting (COM_CHANGE_USER reuses it)
  std::string account;                 // the user it is logged in as
  std::string auth_plugin;
  session::backend_vars vars;
  session::backend_statement_cache
      statements;  // binary prepared statements it holds, for any client
  // The last response ended in an EOF saying the session state changed: its tracker report is
  // still pending and comes with the next OK packet, whoever's statement that answers.
  bool tracker_report_pending = false;
  bool idle_watched = false;  // a peek is pending on the socket while it sits idle
  protocol::response_scanner scanner;
  std::vector<std::uint8_t> buffer;  // relay buffer: responses stream through it
};

using backend_ptr = std::unique_ptr<backend_connection>;

}  // namespace sluice::proxy
