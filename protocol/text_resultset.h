// A whole, small text-protocol result set as sluice reads it for itself (the server's collation
// table): the framed bytes of a COM_QUERY response decoded into rows. Responses relayed to
// clients are never decoded; this is for sluice's own queries.
#pragma once

#include <boost/system/result.hpp>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace sluice::protocol {

using text_row = std::vector<std::optional<std::string>>;  // nullopt is SQL NULL

// "Text Resultset" without CLIENT_DEPRECATE_EOF: column count, column definitions, EOF, rows
// (each column a string<lenenc> or 0xFB for NULL), EOF; `framed` holds the packets with their
// headers, in one piece (no packet of 16 MiB or more). An ERR, an OK, or anything that does not
// follow the layout is an error.
boost::system::result<std::vector<text_row>> decode_text_resultset(
    std::span<const std::uint8_t> framed);

}  // namespace sluice::protocol
