// Why the pool could not hand out a backend: expected failures, reported as error values.
#pragma once

#include <boost/system/error_code.hpp>
#include <string>
#include <type_traits>

namespace sluice::pool {

enum class pool_errc {
  queue_full = 1,       // max_waiting statements already wait
  user_queue_full,      // the user's own max_waiting statements already wait
  queue_timeout,        // waited [queue] timeout without getting a backend
  backend_unavailable,  // connecting to the backend keeps failing
  shutting_down,        // the pool is closing
};

const boost::system::error_category& pool_category() noexcept;

inline boost::system::error_code make_error_code(pool_errc e) noexcept {
  return {static_cast<int>(e), pool_category()};
}

// The word used in logs and metric labels for each failure.
const char* to_string(pool_errc e) noexcept;

}  // namespace sluice::pool

template <>
struct boost::system::is_error_code_enum<sluice::pool::pool_errc> : std::true_type {};
