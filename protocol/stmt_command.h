// The statement-id-carrying client commands (COM_STMT_EXECUTE, _FETCH, _RESET, _CLOSE,
// _SEND_LONG_DATA): reading the id and the parameter block, and rewriting them for a backend.
#pragma once

#include <boost/system/result.hpp>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace sluice::protocol {

// Every statement command starts int<1> command, int<4> statement id.
boost::system::result<std::uint32_t> statement_id_of(std::span<const std::uint8_t> payload);
// Overwrites the statement id of a statement command's payload (at least 5 bytes).
void set_statement_id(std::span<std::uint8_t> payload, std::uint32_t id);

// "COM_STMT_EXECUTE":
//   int<1> 0x17, int<4> statement id, int<1> flags (cursor type), int<4> iteration count,
//   then with params: NULL bitmap ((n + 7) / 8 bytes), int<1> new_params_bound_flag,
//   [if 1: n x int<2> parameter types], the values.
struct stmt_execute_head {
  std::uint32_t statement_id = 0;
  std::uint8_t flags = 0;
  bool new_params_bound = false;
  std::size_t flag_offset = 0;          // where new_params_bound_flag is (params only)
  std::span<const std::uint8_t> types;  // the types when bound, else empty

  bool opens_cursor() const noexcept { return (flags & 0x07) != 0; }
};

// `param_count` comes from the statement's prepare response.
boost::system::result<stmt_execute_head> decode_stmt_execute(std::span<const std::uint8_t> payload,
                                                             std::uint16_t param_count);

// The execute payload for a backend statement `backend_id`. With `types_to_bind` (when the client
// relied on types bound on another backend), the types are inserted and the flag set.
std::vector<std::uint8_t> rewrite_stmt_execute(std::span<const std::uint8_t> payload,
                                               const stmt_execute_head& head,
                                               std::uint32_t backend_id,
                                               std::span<const std::uint8_t> types_to_bind);

}  // namespace sluice::protocol
