// The errors sluice itself sends to clients: its own codes (MySQL leaves 7000-7999 unused) and the
// MySQL errors it answers in the server's place. A reply is a value, built and named before it is
// sent (a temporary inside a co_await expression is what GCC 12 miscompiles).
#pragma once

#include <cstdint>
#include <string>

namespace sluice::proxy {

// sluice's own codes, SQLSTATE HY000 unless noted; docs/ARCHITECTURE.md lists when each is sent.
namespace sluice_error {
inline constexpr std::uint16_t queue_timeout = 7001;
inline constexpr std::uint16_t queue_full = 7002;
inline constexpr std::uint16_t backend_unavailable = 7003;
inline constexpr std::uint16_t backend_lost = 7004;   // SQLSTATE 08S01
inline constexpr std::uint16_t shutting_down = 7005;  // SQLSTATE 08004
inline constexpr std::uint16_t too_many_from_address = 7006;
inline constexpr std::uint16_t user_queue_full = 7007;
inline constexpr std::uint16_t client_memory = 7008;  // what the client makes sluice hold
}  // namespace sluice_error

struct error_reply {
  std::uint16_t code = 0;
  std::string sql_state = "HY000";  // five characters
  std::string message;
};

}  // namespace sluice::proxy
