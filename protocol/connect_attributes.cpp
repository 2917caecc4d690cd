// Connection attributes (key/value pairs) shared by HandshakeResponse41 and COM_CHANGE_USER.
#include "protocol/connect_attributes.h"

#include "protocol/codec_errc.h"
#include "protocol/try.h"

namespace sluice::protocol {

boost::system::result<attribute_list> decode_connect_attributes(wire_reader& reader) {
  SLUICE_TRY(const auto block, reader.lenenc_string());
  wire_reader pairs(block);
  attribute_list attributes;
  while (!pairs.empty()) {
    auto key = pairs.lenenc_string();
    auto value = key ? pairs.lenenc_string() : key;
    // The block's own length said these bytes are complete, so a short pair is malformed.
    if (!key || !value) return codec_errc::malformed;
    attributes.emplace_back(*key, *value);
  }
  return attributes;
}

void encode_connect_attributes(const attribute_list& attributes, wire_writer& writer) {
  std::vector<std::uint8_t> block;
  wire_writer pairs(block);
  for (const auto& [key, value] : attributes) {
    pairs.lenenc_string(key);
    pairs.lenenc_string(value);
  }
  writer.lenenc_int(block.size());
  writer.bytes(block);
}

}  // namespace sluice::protocol
