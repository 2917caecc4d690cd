// Statement commands: ids and the COM_STMT_EXECUTE parameter block.
#include "protocol/stmt_command.h"

#include "protocol/codec_errc.h"

namespace sluice::protocol {

boost::system::result<std::uint32_t> statement_id_of(std::span<const std::uint8_t> payload) {
  if (payload.size() < 5) return codec_errc::truncated;
  return static_cast<std::uint32_t>(payload[1]) | static_cast<std::uint32_t>(payload[2]) << 8 |
         static_cast<std::uint32_t>(payload[3]) << 16 |
         static_cast<std::uint32_t>(payload[4]) << 24;
}

void set_statement_id(std::span<std::uint8_t> payload, std::uint32_t id) {
  for (int i = 0; i < 4; ++i) payload[1 + i] = static_cast<std::uint8_t>(id >> (8 * i));
}

boost::system::result<stmt_execute_head> decode_stmt_execute(std::span<const std::uint8_t> payload,
                                                             std::uint16_t param_count) {
  constexpr std::size_t fixed = 10;  // command, id, flags, iteration count
  if (payload.size() < fixed) return codec_errc::truncated;
  stmt_execute_head head;
  head.statement_id = *statement_id_of(payload);
  head.flags = payload[5];
  if (param_count == 0) return head;
  const std::size_t bitmap = (param_count + 7u) / 8u;
  head.flag_offset = fixed + bitmap;
  if (payload.size() < head.flag_offset + 1) return codec_errc::truncated;
  head.new_params_bound = payload[head.flag_offset] == 1;
  if (head.new_params_bound) {
    const std::size_t types = 2u * param_count;
    if (payload.size() < head.flag_offset + 1 + types) return codec_errc::truncated;
    head.types = payload.subspan(head.flag_offset + 1, types);
  }
  return head;
}

std::vector<std::uint8_t> rewrite_stmt_execute(std::span<const std::uint8_t> payload,
                                               const stmt_execute_head& head,
                                               std::uint32_t backend_id,
                                               std::span<const std::uint8_t> types_to_bind) {
  std::vector<std::uint8_t> out;
  if (types_to_bind.empty() || head.new_params_bound || head.flag_offset == 0) {
    out.assign(payload.begin(), payload.end());
  } else {
    out.reserve(payload.size() + types_to_bind.size());
    out.insert(out.end(), payload.begin(), payload.begin() + head.flag_offset);
    out.push_back(1);
    out.insert(out.end(), types_to_bind.begin(), types_to_bind.end());
    out.insert(out.end(), payload.begin() + head.flag_offset + 1, payload.end());
  }
  set_statement_id(out, backend_id);
  return out;
}

}  // namespace sluice::protocol
