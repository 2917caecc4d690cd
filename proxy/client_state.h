// A client connection's state, and which moves between states are legal (the table is drawn in
// docs/ARCHITECTURE.md). Whether the client holds a backend is a separate matter: an idle client
// inside a transaction, or pinned, is `idle` and holds one.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice::proxy {

enum class client_state : std::uint8_t {
  login,    // connected; handshake and authentication under way
  idle,     // logged in, between commands
  active,   // a command is being served (on a backend, or by sluice itself)
  waiting,  // the command waits in the queue for a backend
  closing,  // the session is ending: its backend is being reset or handed back
};
inline constexpr std::size_t client_state_count = 5;

// The word for a state, as SHOW CLIENTS and the logs spell it.
std::string_view to_string(client_state state) noexcept;

// Whether `from` -> `to` is a move the session may make.
bool allowed_transition(client_state from, client_state to) noexcept;

// How many clients are in each state; kept by the one function that moves a client.
using client_state_counts = std::array<std::size_t, client_state_count>;

}  // namespace sluice::proxy
