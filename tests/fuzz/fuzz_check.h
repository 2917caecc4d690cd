// Property checks inside the fuzz targets: a failed check aborts, so libFuzzer keeps the input.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <source_location>
#include <span>
#include <string_view>
#include <vector>

namespace sluice::fuzz {

inline void check(bool holds, const char* property,
                  std::source_location where = std::source_location::current()) {
  if (holds) return;
  std::fprintf(stderr, "%s:%u: property violated: %s\n", where.file_name(),
               static_cast<unsigned>(where.line()), property);
  std::abort();
}

// Whether `part` views into `whole` (decoders return views into their input).
inline bool inside(std::string_view part, std::span<const std::uint8_t> whole) {
  if (part.empty()) return true;
  const auto* begin = reinterpret_cast<const char*>(whole.data());
  return part.data() >= begin && part.data() + part.size() <= begin + whole.size();
}

// decode(encode(x)) == x for every message the encoder writes. `decoded` came from arbitrary
// bytes and may use a lenient form the encoder never writes, so it is first normalised by one
// encode/decode pass; from then on encoding and decoding must be each other's inverse.
template <class Message, class Encode, class Decode>
void check_round_trip(const Message& decoded, Encode encode, Decode decode) {
  std::vector<std::uint8_t> first;
  encode(decoded, first);
  const auto normalised = decode(std::span<const std::uint8_t>(first));
  check(normalised.has_value(), "what the encoder writes decodes");
  std::vector<std::uint8_t> second;
  encode(*normalised, second);
  check(second == first, "encoding a decoded message gives the same bytes");
  const auto again = decode(std::span<const std::uint8_t>(second));
  check(again.has_value() && *again == *normalised, "decode(encode(x)) == x");
}

// decode(encode(x)) == x exactly, for decoders that keep everything they read.
template <class Message, class Encode, class Decode>
void check_exact_round_trip(const Message& decoded, Encode encode, Decode decode) {
  std::vector<std::uint8_t> encoded;
  encode(decoded, encoded);
  const auto again = decode(std::span<const std::uint8_t>(encoded));
  check(again.has_value() && *again == decoded, "decode(encode(decode(bytes))) == decode(bytes)");
}

}  // namespace sluice::fuzz
