// The client state words and the transition table.
#include "proxy/client_state.h"

namespace sluice::proxy {

std::string_view to_string(client_state state) noexcept {
  switch (state) {
    case client_state::login:
      return "login";
    case client_state::idle:
      return "idle";
    case client_state::active:
      return "active";
    case client_state::waiting:
      return "waiting";
    case client_state::closing:
      return "closing";
  }
  return "closing";
}

bool allowed_transition(client_state from, client_state to) noexcept {
  using enum client_state;
  switch (from) {
    case login:
      return to == idle || to == closing;
    case idle:
      return to == active || to == closing;
    case active:
      // A command needs a backend and waits for one; it ends; or the client is gone.
      return to == waiting || to == idle || to == closing;
    case waiting:
      // Granted or refused, the command goes on being served (a refusal is its error reply).
      return to == active || to == closing;
    case closing:
      return false;
  }
  return false;
}

}  // namespace sluice::proxy
