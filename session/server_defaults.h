// What the server gives every new session, learnt from the first backend connection: its
// collations (how a login's collation id reads) and its idle timeouts (how long a client may stay
// idle before the server would close it).
#pragma once

#include <cstdint>

#include "session/collations.h"

namespace sluice::session {

struct server_defaults {
  collation_table collations;
  std::uint64_t wait_timeout = 28800;         // seconds, @@global.wait_timeout
  std::uint64_t interactive_timeout = 28800;  // seconds, for CLIENT_INTERACTIVE logins
};

}  // namespace sluice::session
