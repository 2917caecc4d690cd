// Why a decode failed: the error values every codec in protocol/ returns.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <type_traits>

namespace sluice::protocol {

enum class codec_errc {
  truncated = 1,  // the payload ends before a field the layout requires
  malformed,      // the bytes contradict the layout (wrong header, bad length prefix, ...)
  unsupported,    // a valid message this codec deliberately does not handle (SSLRequest, pre-4.1)
  too_large,      // a value does not fit where it has to go
};

const boost::system::error_category& codec_category() noexcept;

inline boost::system::error_code make_error_code(codec_errc e) noexcept {
  return {static_cast<int>(e), codec_category()};
}

}  // namespace sluice::protocol

template <>
struct boost::system::is_error_code_enum<sluice::protocol::codec_errc> : std::true_type {};
