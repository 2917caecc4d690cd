// Shared machinery for the codec tables: named cases checked in both directions and truncated.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::protocol::test {

using bytes = std::vector<std::uint8_t>;

// "0a ff | 00" -> {0x0a, 0xff, 0x00}; spaces and field separators are ignored.
inline bytes hex(std::string_view text) {
  bytes out;
  std::string digits;
  for (const char c : text) {
    if (c == ' ' || c == '|') continue;  // '|' separates fields for the reader
    digits.push_back(c);
    if (digits.size() == 2) {
      out.push_back(static_cast<std::uint8_t>(std::stoul(digits, nullptr, 16)));
      digits.clear();
    }
  }
  return out;
}

inline bytes text(std::string_view s) {
  return bytes(s.begin(), s.end());
}

inline bytes cat(std::initializer_list<bytes> parts) {
  bytes out;
  for (const auto& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

inline std::string to_hex(std::span<const std::uint8_t> b) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (const auto byte : b) {
    if (!out.empty()) out.push_back(' ');
    out.push_back(digits[byte >> 4]);
    out.push_back(digits[byte & 0xF]);
  }
  return out;
}

// One row of a codec table (as MySQL Router's CodecParam): the message, the capabilities it is
// coded under, and its exact bytes.
template <class Message>
struct codec_case {
  std::string name;
  Message decoded;
  std::uint32_t capabilities = 0;
  bytes encoded;
  // Strict prefixes of `encoded` that are themselves complete messages (optional trailing
  // fields, rest-of-packet strings); every other prefix must fail to decode.
  std::vector<std::size_t> decodable_prefixes;  // (no `= {}`: it crashes GCC 12 here)
  // False when `encoded` is a form the encoder does not produce (old servers, lenient reads):
  // then encoding is checked to round-trip through the decoder instead.
  bool canonical = true;
};

template <class Message>
std::string case_name(const ::testing::TestParamInfo<codec_case<Message>>& info) {
  return info.param.name;
}

// The sizes first..end-1 (a rest-of-packet tail), after the sizes in `also`.
inline std::vector<std::size_t> prefixes_from(std::size_t first, std::size_t end,
                                              std::initializer_list<std::size_t> also = {}) {
  std::vector<std::size_t> sizes(also);
  for (std::size_t n = first; n < end; ++n) sizes.push_back(n);
  return sizes;
}

// decode(bytes, capabilities) -> boost::system::result<Message>
template <class Message, class Decode>
void expect_decodes(const codec_case<Message>& c, Decode decode) {
  const auto decoded = decode(std::span<const std::uint8_t>(c.encoded), c.capabilities);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message();
  EXPECT_EQ(*decoded, c.decoded);
}

// encode(message, capabilities, out)
template <class Message, class Encode, class Decode>
void expect_encodes(const codec_case<Message>& c, Encode encode, Decode decode) {
  bytes out = hex("aa");  // encoders append: what is already there must survive
  encode(c.decoded, c.capabilities, out);
  ASSERT_EQ(out.front(), 0xaa);
  const auto encoded = std::span<const std::uint8_t>(out).subspan(1);
  if (c.canonical) {
    EXPECT_EQ(to_hex(encoded), to_hex(c.encoded));
  } else {
    const auto decoded = decode(encoded, c.capabilities);
    ASSERT_TRUE(decoded.has_value()) << decoded.error().message();
    EXPECT_EQ(*decoded, c.decoded);
  }
}

// Every prefix is decoded from its own exact-size heap buffer, so that a read past the end is
// caught by the sanitizer build rather than landing in the rest of the packet.
template <class Message, class Decode>
void expect_truncations_rejected(const codec_case<Message>& c, Decode decode) {
  for (std::size_t n = 0; n < c.encoded.size(); ++n) {
    const bytes prefix(c.encoded.begin(), c.encoded.begin() + static_cast<std::ptrdiff_t>(n));
    const auto decoded = decode(std::span<const std::uint8_t>(prefix), c.capabilities);
    const bool complete = std::ranges::find(c.decodable_prefixes, n) != c.decodable_prefixes.end();
    EXPECT_EQ(decoded.has_value(), complete) << "prefix of " << n << " bytes";
  }
}

}  // namespace sluice::protocol::test
