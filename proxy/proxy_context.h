// What every client session shares: the configuration, the pool, the registry of live sessions,
// and the counts the [limits] and the gauges are read from.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <string>

#include "config/config.h"
#include "proxy/backend_pool.h"
#include "proxy/client_state.h"
#include "proxy/frame_reader.h"
#include "proxy/health.h"
#include "proxy/tls_context.h"
#include "session/collations.h"

namespace sluice::proxy {

class account_directory;
class client_session;

struct proxy_context {
  const config* settings = nullptr;
  backend_pool* pool = nullptr;
  health_state* health = nullptr;
  const tls_contexts* tls = nullptr;  // for new connections; replaced on reload
  // [auth] mode server: the server's accounts; null in mode config.
  account_directory* accounts = nullptr;
  std::uint32_t next_client_id = 1;
  bool draining = false;
  std::size_t resetting = 0;  // backends being reset before they return to the pool
  // Live sessions: for the drain, the upkeep round, KILL and the admin port.
  std::list<client_session*> sessions;
  // Clients per state, kept by client_session's one transition function.
  client_state_counts clients_by_state{};
  // What all clients' partly received large commands may hold ([limits] large_command_memory).
  frame_budget large_frames;
  // Client connections by source address and by authenticated user (for the [limits]).
  std::map<std::string, std::size_t, std::less<>> connections_by_address;
  std::map<std::string, std::size_t, std::less<>> connections_by_user;
};

}  // namespace sluice::proxy
