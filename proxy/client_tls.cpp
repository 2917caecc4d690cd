// The TLS steps of a client's login.
#include "proxy/client_tls.h"

#include "protocol/constants.h"
#include "protocol/handshake.h"
#include "proxy/log.h"

namespace sluice::proxy {

ssl_context_ptr offered_tls(const client_session& session) {
  const tls_contexts* contexts = session.context().tls;
  return contexts ? contexts->for_clients() : ssl_context_ptr();
}

std::uint32_t tls_capability(const ssl_context_ptr& offered) noexcept {
  return offered ? protocol::capability::ssl : 0;
}

awaitable<bool> upgrade_if_requested(client_session& session, const ssl_context_ptr& offered,
                                     frame& first, std::size_t max_packet) {
  if (!offered || !protocol::decode_ssl_request(first.payload)) co_return true;
  client_connection& client = session.client();
  SSL* ssl = new_client_ssl(offered);
  if (!ssl) {
    log(log_level::error, session.subject(), "close reason=tls_failed (out of memory)");
    co_return false;
  }
  // The login timeout covers the handshake: the client is still in the login state.
  if (co_await client.start_tls(ssl)) {
    session.metrics().rejected(metrics::rejection::tls_failed).Increment();
    log(log_level::info, session.subject(), "close reason=tls_failed (", client.tls()->failure(),
        ")");
    co_return false;
  }
  log(log_level::debug, session.subject(), "tls ", describe_session(client.tls()->native()));
  co_return !co_await client.next_auth_reply(first, max_packet);
}

std::optional<error_reply> insecure_transport_refusal(client_session& session) {
  if (!session.settings().tls.require_secure_transport || session.client().encrypted())
    return std::nullopt;
  session.metrics().rejected(metrics::rejection::insecure_transport).Increment();
  return error_reply{3159, "HY000",
                     "Connections using insecure transport are prohibited while "
                     "--require_secure_transport=ON."};
}

awaitable<std::optional<std::string>> read_cleartext_password(client_session& session,
                                                              std::uint8_t& sequence_id,
                                                              std::size_t max_packet) {
  client_connection& client = session.client();
  const std::uint8_t perform_full_authentication[2] = {protocol::auth_more_data_header, 4};
  const std::uint8_t request_sequence = sequence_id++;
  if (!co_await client.send_payload(request_sequence, perform_full_authentication))
    co_return std::nullopt;
  frame f;
  if (co_await client.next_auth_reply(f, max_packet)) co_return std::nullopt;
  sequence_id = static_cast<std::uint8_t>(f.sequence_id + 1);
  co_return std::string(reinterpret_cast<const char*>(f.payload.data()), f.payload.size());
}

}  // namespace sluice::proxy
