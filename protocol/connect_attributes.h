// Connection attributes (key/value pairs) shared by HandshakeResponse41 and COM_CHANGE_USER.
#pragma once

#include <boost/system/result.hpp>
#include <string>
#include <utility>
#include <vector>

#include "protocol/wire.h"

namespace sluice::protocol {

using attribute_list = std::vector<std::pair<std::string, std::string>>;

// int<lenenc> length of all key-values, then {string<lenenc> key, string<lenenc> value}...
boost::system::result<attribute_list> decode_connect_attributes(wire_reader& reader);
void encode_connect_attributes(const attribute_list& attributes, wire_writer& writer);

}  // namespace sluice::protocol
