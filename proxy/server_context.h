// What every client session shares: configuration, the pool, the registry of live sessions.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <string>

#include "proxy/backend_pool.h"
#include "proxy/config.h"

namespace sluice::proxy {

class client_session;

struct server_context {
  const config* settings = nullptr;
  backend_pool* pool = nullptr;
  std::uint32_t next_client_id = 1;
  bool draining = false;
  std::size_t resetting = 0;  // backends being reset before they return to the pool
  // Live sessions, so that a drain can close the idle ones.
  std::list<client_session*> sessions;
  // Client connections by source address and by authenticated user (for the [limits]).
  std::map<std::string, std::size_t, std::less<>> connections_by_address;
  std::map<std::string, std::size_t, std::less<>> connections_by_user;
};

}  // namespace sluice::proxy
