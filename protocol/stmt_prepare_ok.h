// COM_STMT_PREPARE_OK: the server's answer to a successful COM_STMT_PREPARE.
#pragma once

#include <boost/system/result.hpp>
#include <cstdint>
#include <span>
#include <vector>

namespace sluice::protocol {

// "COM_STMT_PREPARE Response" (first packet):
//   int<1> 0x00, int<4> statement id, int<2> number of columns, int<2> number of params,
//   int<1> filler, int<2> warning count (absent in short packets from old servers).
struct stmt_prepare_ok {
  std::uint32_t statement_id = 0;
  std::uint16_t num_columns = 0, num_params = 0, warnings = 0;

  bool operator==(const stmt_prepare_ok&) const = default;
};

boost::system::result<stmt_prepare_ok> decode_stmt_prepare_ok(
    std::span<const std::uint8_t> payload);
void encode_stmt_prepare_ok(const stmt_prepare_ok& ok, std::vector<std::uint8_t>& out);

}  // namespace sluice::protocol
