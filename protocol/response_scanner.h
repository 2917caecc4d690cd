// Finds where a server's response to one command ends by watching the byte stream as it is
// relayed, so result sets stream through without being buffered or re-encoded.
//
// It walks packet headers, looks only at the first bytes of each packet, and keeps what the proxy
// needs to decide about the connection afterwards: the final status flags, warnings, the last
// insert id and the session-state-change blobs of OK packets.
// Rules followed: MySQL Client/Server Protocol, "COM_QUERY Response", "Text Resultset",
// "Binary Protocol Resultset", "COM_STMT_PREPARE Response", "COM_FIELD_LIST", "Sending more than
// 16Mb" (a 0xFFFFFF-byte packet continues in the next one, which is never classified on its own).
// Assumes CLIENT_DEPRECATE_EOF is not negotiated on the backend: sluice never asks for it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace sluice::protocol {

class response_scanner {
 public:
  // What kind of response the command provokes.
  enum class shape {
    query,       // COM_QUERY, COM_STMT_EXECUTE: OK | ERR | LOCAL INFILE request | result sets
    field_list,  // COM_FIELD_LIST: column definitions up to EOF, or ERR
    prepare,     // COM_STMT_PREPARE: prepare-OK, parameter and column definitions, or ERR
    fetch,       // COM_STMT_FETCH: rows up to EOF, or ERR
    single,  // one packet: OK | ERR | EOF (COM_INIT_DB, COM_SET_OPTION, ...) or COM_STATISTICS text
  };
  enum class state {
    reading,       // the response goes on
    done,          // the response is complete
    local_infile,  // the server asked for a client file: relay the client's packets, then resume
    malformed,     // the bytes do not follow the protocol: the connection is unusable
  };

  // `capabilities` are those negotiated on the backend connection (for OK packet layout).
  explicit response_scanner(std::uint32_t capabilities) : capabilities_(capabilities) {}

  void start(shape s);
  // Consumes bytes up to the end of the response (or of a LOCAL INFILE request) and returns how
  // many it consumed. Fewer than given once the state is no longer `reading`.
  std::size_t feed(std::span<const std::uint8_t> bytes);
  // After the client's file data went to the server: the server's OK or ERR follows.
  void resume_after_local_infile();

  state current() const noexcept { return state_; }
  bool ended_with_error() const noexcept { return ended_with_error_; }
  std::uint16_t status_flags() const noexcept { return status_flags_; }
  std::uint16_t warnings() const noexcept { return warnings_; }
  // The last non-zero insert id any OK packet of this response carried (0 if none).
  std::uint64_t last_insert_id() const noexcept { return last_insert_id_; }
  // session_state_info blobs of the OK packets that had SERVER_SESSION_STATE_CHANGED, in order.
  const std::vector<std::string>& session_state_blobs() const noexcept { return state_blobs_; }
  // Some session-state information could not be captured (too large): assume the worst.
  bool session_state_lost() const noexcept { return state_lost_; }
  // An EOF packet said the session state changed; what changed comes with the next OK packet.
  bool eof_state_changed() const noexcept { return eof_state_changed_; }
  // For COM_STMT_PREPARE: the statement id the server assigned.
  std::uint32_t prepared_statement_id() const noexcept { return statement_id_; }
  // Whether an OK or EOF packet was seen (status_flags() is meaningful).
  bool has_status() const noexcept { return has_status_; }
  // The ERR that ended the response, if any (message truncated to what was captured).
  std::uint16_t error_code() const noexcept { return error_code_; }
  const std::string& sql_state() const noexcept { return sql_state_; }
  const std::string& error_message() const noexcept { return error_message_; }

 private:
  enum class phase {
    first,
    columns,
    column_eof,
    rows,
    params,
    param_eof,
    prepare_columns,
    prepare_column_eof,
    field_list
  };

  void packet_complete();
  void on_packet(std::span<const std::uint8_t> head, std::uint64_t length);
  void on_first_packet(std::span<const std::uint8_t> head, std::uint64_t length);
  void on_ok(std::span<const std::uint8_t> head, std::uint64_t length);
  void on_eof(std::span<const std::uint8_t> head, bool may_continue);
  void on_err(std::span<const std::uint8_t> head);
  void read_eof_status(std::span<const std::uint8_t> head);
  // The EOF that ends definitions: false (the stream malformed) when it is not one.
  bool expect_eof(std::span<const std::uint8_t> head, std::uint64_t length);
  void after_prepare_ok();
  std::size_t capture_limit(std::uint32_t length) const noexcept;

  std::uint32_t capabilities_;
  shape shape_ = shape::query;
  state state_ = state::done;
  phase phase_ = phase::first;

  // Position in the packet stream.
  std::uint8_t header_[4] = {};
  std::size_t header_bytes_ = 0;
  std::uint32_t payload_length_ = 0;
  std::uint64_t message_length_ = 0;  // of the message so far, over its continuation packets
  std::uint32_t payload_remaining_ = 0;
  std::size_t capture_target_ = 0;
  bool continuation_ = false;  // the packet under way continues the previous one
  std::vector<std::uint8_t> head_;

  std::uint64_t columns_left_ = 0;
  std::uint16_t params_left_ = 0;
  std::uint16_t prepare_columns_ = 0;

  bool ended_with_error_ = false;
  std::uint16_t status_flags_ = 0;
  std::uint16_t warnings_ = 0;
  std::uint64_t last_insert_id_ = 0;
  std::vector<std::string> state_blobs_;
  std::size_t state_bytes_ = 0;
  bool state_lost_ = false;
  bool eof_state_changed_ = false;
  std::uint32_t statement_id_ = 0;
  bool has_status_ = false;
  std::uint16_t error_code_ = 0;
  std::string sql_state_;
  std::string error_message_;
};

}  // namespace sluice::protocol
