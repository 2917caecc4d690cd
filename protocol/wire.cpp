// Primitive wire types ("Basic Data Types").
#include "protocol/wire.h"

#include <algorithm>

#include "protocol/codec_errc.h"

namespace sluice::protocol {

boost::system::result<std::uint64_t> wire_reader::little_endian(std::size_t width) {
  if (remaining() < width) return codec_errc::truncated;
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < width; ++i) {
    value |= std::uint64_t{bytes_[position_ + i]} << (8 * i);
  }
  position_ += width;
  return value;
}

boost::system::result<std::uint8_t> wire_reader::u8() {
  auto v = little_endian(1);
  if (!v) return v.error();
  return static_cast<std::uint8_t>(*v);
}

boost::system::result<std::uint16_t> wire_reader::u16() {
  auto v = little_endian(2);
  if (!v) return v.error();
  return static_cast<std::uint16_t>(*v);
}

boost::system::result<std::uint32_t> wire_reader::u24() {
  auto v = little_endian(3);
  if (!v) return v.error();
  return static_cast<std::uint32_t>(*v);
}

boost::system::result<std::uint32_t> wire_reader::u32() {
  auto v = little_endian(4);
  if (!v) return v.error();
  return static_cast<std::uint32_t>(*v);
}

boost::system::result<std::uint64_t> wire_reader::u64() {
  return little_endian(8);
}

// "Length-Encoded Integer Type": < 0xFB is the value, 0xFC/0xFD/0xFE prefix 2/3/8 bytes.
boost::system::result<std::uint64_t> wire_reader::lenenc_int() {
  const std::size_t start = position_;
  auto first = u8();
  if (!first) return first.error();
  std::size_t width = 0;
  switch (*first) {
    case 0xFB:
    case 0xFF:
      position_ = start;
      return codec_errc::malformed;
    case 0xFC:
      width = 2;
      break;
    case 0xFD:
      width = 3;
      break;
    case 0xFE:
      width = 8;
      break;
    default:
      return std::uint64_t{*first};
  }
  auto value = little_endian(width);
  if (!value) position_ = start;
  return value;
}

boost::system::result<std::string_view> wire_reader::lenenc_string() {
  const std::size_t start = position_;
  auto length = lenenc_int();
  if (!length) return length.error();
  if (*length > remaining()) {
    position_ = start;
    return codec_errc::truncated;
  }
  return fixed_string(static_cast<std::size_t>(*length));
}

boost::system::result<std::string_view> wire_reader::null_terminated_string() {
  const auto tail = bytes_.subspan(position_);
  const auto nul = std::find(tail.begin(), tail.end(), std::uint8_t{0});
  if (nul == tail.end()) return codec_errc::truncated;
  const auto length = static_cast<std::size_t>(nul - tail.begin());
  auto s = fixed_string(length);
  ++position_;
  return s;
}

boost::system::result<std::string_view> wire_reader::fixed_string(std::size_t n) {
  if (remaining() < n) return codec_errc::truncated;
  std::string_view s(reinterpret_cast<const char*>(bytes_.data()) + position_, n);
  position_ += n;
  return s;
}

boost::system::result<void> wire_reader::skip(std::size_t n) {
  if (remaining() < n) return codec_errc::truncated;
  position_ += n;
  return {};
}

std::string_view wire_reader::rest() {
  return *fixed_string(remaining());
}

void wire_writer::little_endian(std::uint64_t v, std::size_t width) {
  for (std::size_t i = 0; i < width; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

void wire_writer::lenenc_int(std::uint64_t v) {
  if (v < 0xFB) {
    u8(static_cast<std::uint8_t>(v));
  } else if (v <= 0xFFFF) {
    u8(0xFC);
    u16(static_cast<std::uint16_t>(v));
  } else if (v <= 0xFFFFFF) {
    u8(0xFD);
    u24(static_cast<std::uint32_t>(v));
  } else {
    u8(0xFE);
    u64(v);
  }
}

void wire_writer::lenenc_string(std::string_view s) {
  lenenc_int(s.size());
  bytes(s);
}

void wire_writer::null_terminated_string(std::string_view s) {
  bytes(s);
  u8(0);
}

void wire_writer::bytes(std::string_view s) {
  out_.insert(out_.end(), s.begin(), s.end());
}

void wire_writer::bytes(std::span<const std::uint8_t> s) {
  out_.insert(out_.end(), s.begin(), s.end());
}

void wire_writer::zeros(std::size_t n) {
  out_.insert(out_.end(), n, std::uint8_t{0});
}

}  // namespace sluice::protocol
