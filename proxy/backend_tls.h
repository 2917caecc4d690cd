// TLS towards the backend, as MySQL clients' --ssl-mode does it: after the server's greeting, an
// SSLRequest and the TLS handshake on the event loop, before the handshake response (which then
// travels encrypted, with the next sequence id).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "protocol/handshake.h"
#include "proxy/asio_types.h"
#include "proxy/backend_connection.h"
#include "proxy/tls_context.h"

namespace sluice::proxy {

// Starts TLS on `c` if `tls` says so and the greeting offers it (CLIENT_SSL then joins
// c.capabilities, which the handshake response must carry). `sequence_id` is the next packet's
// and moves past the SSLRequest. Returns why the connection cannot go on: the server offers no
// TLS and the mode requires it, or the handshake failed (the certificate check's reason included).
awaitable<std::optional<std::string>> start_backend_tls(backend_connection& c,
                                                        const backend_tls_context& tls,
                                                        const protocol::handshake_v10& greeting,
                                                        std::uint8_t& sequence_id);

}  // namespace sluice::proxy
