// Numeric constants of the MySQL client/server protocol: capabilities, status flags, commands.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice::protocol {

// "Capabilities Flags" in the MySQL client/server protocol documentation.
namespace capability {
inline constexpr std::uint32_t long_password = 1u << 0, found_rows = 1u << 1, long_flag = 1u << 2,
                               connect_with_db = 1u << 3, no_schema = 1u << 4, compress = 1u << 5,
                               odbc = 1u << 6, local_files = 1u << 7, ignore_space = 1u << 8,
                               protocol_41 = 1u << 9, interactive = 1u << 10, ssl = 1u << 11,
                               ignore_sigpipe = 1u << 12, transactions = 1u << 13,
                               reserved = 1u << 14, secure_connection = 1u << 15,
                               multi_statements = 1u << 16, multi_results = 1u << 17,
                               ps_multi_results = 1u << 18, plugin_auth = 1u << 19,
                               connect_attrs = 1u << 20, plugin_auth_lenenc_client_data = 1u << 21,
                               can_handle_expired_passwords = 1u << 22, session_track = 1u << 23,
                               deprecate_eof = 1u << 24;
}  // namespace capability

// "SERVER_STATUS_flags_enum": the status flags carried by OK and EOF packets.
namespace server_status {
inline constexpr std::uint16_t in_trans = 1, autocommit = 2, more_results_exists = 8,
                               no_good_index_used = 16, no_index_used = 32, cursor_exists = 64,
                               last_row_sent = 128, db_dropped = 256, no_backslash_escapes = 512,
                               metadata_changed = 1024, query_was_slow = 2048, ps_out_params = 4096,
                               in_trans_readonly = 8192, session_state_changed = 16384;
}  // namespace server_status

// "Text Protocol" / "Prepared Statements" command bytes: the first byte of a client command.
enum class command : std::uint8_t {
  sleep = 0x00,
  quit = 0x01,
  init_db = 0x02,
  query = 0x03,
  field_list = 0x04,
  create_db = 0x05,
  drop_db = 0x06,
  refresh = 0x07,
  shutdown = 0x08,
  statistics = 0x09,
  process_info = 0x0a,
  connect = 0x0b,
  process_kill = 0x0c,
  debug = 0x0d,
  ping = 0x0e,
  time = 0x0f,
  delayed_insert = 0x10,
  change_user = 0x11,
  binlog_dump = 0x12,
  table_dump = 0x13,
  connect_out = 0x14,
  register_slave = 0x15,
  stmt_prepare = 0x16,
  stmt_execute = 0x17,
  stmt_send_long_data = 0x18,
  stmt_close = 0x19,
  stmt_reset = 0x1a,
  set_option = 0x1b,
  stmt_fetch = 0x1c,
  daemon = 0x1d,
  binlog_dump_gtid = 0x1e,
  reset_connection = 0x1f,
};

// The documentation's name of a command ("COM_QUERY"); "COM_UNKNOWN" for values outside the enum.
std::string_view to_string(command cmd);

inline constexpr std::size_t frame_header_size = 4;
inline constexpr std::uint32_t max_packet_payload = 0xFFFFFF;

// "Session State Information" change types (enum_session_state_type).
enum class session_track : std::uint8_t {
  system_variables = 0,
  schema = 1,
  state_change = 2,
  gtids = 3,
  transaction_characteristics = 4,
  transaction_state = 5,
};

// Server error numbers the proxy produces or reacts to.
namespace server_error {
inline constexpr std::uint16_t too_many_connections = 1040, access_denied = 1045,
                               unknown_command = 1047, bad_db = 1049,
                               too_many_user_connections = 1203, net_packet_too_large = 1153,
                               not_allowed_command = 1148, unknown_stmt_handler = 1243,
                               query_interrupted = 1317, unknown_error = 1105,
                               no_such_thread = 1094, kill_denied = 1095, not_supported_yet = 1235,
                               not_supported_auth_mode = 1251, no_open_cursor = 1421,
                               too_many_statements = 1461, connection_killed = 1927,
                               wrong_value_for_var = 1231, packets_out_of_order = 1156;

// Errors after which the server closes the connection (network errors, a killed connection, a
// shutdown, MySQL's inactivity timeout), or of SQLSTATE class 08 "connection exception": the
// connection must never serve another command.
inline bool closes_connection(std::uint16_t code, std::string_view sql_state) noexcept {
  return sql_state.starts_with("08") || (code >= 1152 && code <= 1161) || code == 1184 ||
         code == 1053 || code == connection_killed || code == 4031;
}
}  // namespace server_error

// First payload byte that identifies a server response ("Generic Response Packets").
inline constexpr std::uint8_t ok_header = 0x00, eof_header = 0xFE, err_header = 0xFF,
                              local_infile_header = 0xFB, auth_more_data_header = 0x01,
                              auth_switch_header = 0xFE;

}  // namespace sluice::protocol
