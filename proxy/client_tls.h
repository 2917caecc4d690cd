// TLS towards clients at login: CLIENT_SSL in the greeting, the upgrade after an SSLRequest, the
// rule that refuses logins without TLS ([tls] require_secure_transport), and the cleartext
// password of caching_sha2_password's full authentication, which only TLS allows.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "proxy/asio_types.h"
#include "proxy/client_session.h"
#include "proxy/frame_reader.h"
#include "proxy/tls_context.h"

namespace sluice::proxy {

// The context a client's greeting offers TLS with (null: none), taken once per login so that a
// reload between the greeting and the SSLRequest cannot change what was offered.
ssl_context_ptr offered_tls(const client_session& session);
// What the greeting adds to sluice's capabilities: CLIENT_SSL when TLS is offered.
std::uint32_t tls_capability(const ssl_context_ptr& offered) noexcept;

// `first` is the client's first packet. An SSLRequest (when TLS was offered) is followed by the
// TLS handshake and the HandshakeResponse41 read over TLS into `first`; any other packet is left
// as it is. False when the login ends here (logged; a failed handshake has no MySQL answer).
awaitable<bool> upgrade_if_requested(client_session& session, const ssl_context_ptr& offered,
                                     frame& first, std::size_t max_packet);

// ERR 3159 for a login that did not start TLS while [tls] require_secure_transport is on.
std::optional<error_reply> insecure_transport_refusal(client_session& session);

// caching_sha2_password full authentication over TLS: "perform full authentication" (0x01 0x04),
// then the client's password in the clear. Nullopt when the client left or did not answer.
awaitable<std::optional<std::string>> read_cleartext_password(client_session& session,
                                                              std::uint8_t& sequence_id,
                                                              std::size_t max_packet);

}  // namespace sluice::proxy
