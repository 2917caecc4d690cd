// Streams a backend's response to the client as it arrives (never buffered whole, never
// re-encoded), relaying the client's LOCAL INFILE data on the way, and the client's further
// frames of a command of 16 MiB or more to the backend.
#pragma once

#include "protocol/response_scanner.h"
#include "proxy/asio_types.h"
#include "proxy/backend_connection.h"
#include "proxy/client_connection.h"

namespace sluice::proxy {

enum class relay_end {
  complete,      // the response ended; the backend can serve the next command
  backend_lost,  // reading the backend failed (see forwarded_any)
  client_lost,   // the client left or stalled mid-response: the backend is mid-response too
  malformed,     // the backend's bytes do not follow the protocol
};

struct relay_result {
  relay_end end = relay_end::complete;
  bool forwarded_any = false;  // the client got part of a response
  std::size_t bytes = 0;       // forwarded to the client
};

// Relays the response to a command already sent on `backend` (its scanner started for `shape`).
awaitable<relay_result> relay_response(client_connection& client, backend_connection& backend,
                                       std::size_t max_packet);

// What ends a run of client frames relayed to the backend.
enum class frames_end {
  short_frame,  // continuation frames of a long command: one under 16 MiB ends it
  empty_frame,  // LOCAL INFILE data: an empty packet ends it
};

enum class frames_relayed {
  all,        // up to the end
  failed,     // either side failed
  too_large,  // the command grew beyond `max_command`: the backend holds part of it
};

// Relays client frames to the backend until `until`. A long command's frames count towards
// `max_command` ([sluice] max_allowed_packet).
awaitable<frames_relayed> relay_client_frames(client_connection& client,
                                              backend_connection& backend, frames_end until,
                                              std::size_t max_command);

}  // namespace sluice::proxy
