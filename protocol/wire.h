// Primitive wire types ("Basic Data Types"): little-endian integers, length-encoded values,
// strings.
#pragma once

#include <boost/system/result.hpp>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace sluice::protocol {

// Reads primitives from one complete payload. Every read is bounds-checked; a failed read leaves
// the position unchanged. Returned string_views point into the payload.
class wire_reader {
 public:
  explicit wire_reader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}
  explicit wire_reader(std::string_view bytes)
      : bytes_(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()) {}

  std::size_t remaining() const { return bytes_.size() - position_; }
  std::size_t consumed() const { return position_; }
  bool empty() const { return remaining() == 0; }

  boost::system::result<std::uint8_t> u8();
  boost::system::result<std::uint16_t> u16();
  boost::system::result<std::uint32_t> u24();
  boost::system::result<std::uint32_t> u32();
  boost::system::result<std::uint64_t> u64();
  // "Length-Encoded Integer": 0xFB (NULL in rows) and 0xFF (ERR) are not integers, so malformed.
  boost::system::result<std::uint64_t> lenenc_int();
  boost::system::result<std::string_view> lenenc_string();
  // The terminating NUL is consumed but not returned; a missing NUL is `truncated`.
  boost::system::result<std::string_view> null_terminated_string();
  boost::system::result<std::string_view> fixed_string(std::size_t n);
  boost::system::result<void> skip(std::size_t n);
  std::string_view rest();  // consumes everything left

 private:
  boost::system::result<std::uint64_t> little_endian(std::size_t width);

  std::span<const std::uint8_t> bytes_;
  std::size_t position_ = 0;
};

// Appends primitives to a caller-owned buffer.
class wire_writer {
 public:
  explicit wire_writer(std::vector<std::uint8_t>& out) : out_(out) {}

  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) { little_endian(v, 2); }
  void u24(std::uint32_t v) { little_endian(v, 3); }
  void u32(std::uint32_t v) { little_endian(v, 4); }
  void u64(std::uint64_t v) { little_endian(v, 8); }
  void lenenc_int(std::uint64_t v);
  void lenenc_string(std::string_view s);
  void null_terminated_string(std::string_view s);
  void bytes(std::string_view s);
  void bytes(std::span<const std::uint8_t> s);
  void zeros(std::size_t n);

 private:
  void little_endian(std::uint64_t v, std::size_t width);

  std::vector<std::uint8_t>& out_;
};

}  // namespace sluice::protocol
