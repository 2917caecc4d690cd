// The SSLRequest and the TLS handshake of a backend connection.
#include "proxy/backend_tls.h"

#include "protocol/constants.h"
#include "protocol/frame.h"
#include "proxy/log.h"

namespace sluice::proxy {

awaitable<std::optional<std::string>> start_backend_tls(backend_connection& c,
                                                        const backend_tls_context& tls,
                                                        const protocol::handshake_v10& greeting,
                                                        std::uint8_t& sequence_id) {
  if (tls.mode == backend_tls_mode::disabled) co_return std::nullopt;
  if (!(greeting.capabilities & protocol::capability::ssl)) {
    if (tls.mode == backend_tls_mode::preferred) co_return std::nullopt;
    co_return std::string(
        "the server does not offer TLS (backend.tls requires it; is the server's ssl_cert set?)");
  }
  c.capabilities |= protocol::capability::ssl;
  protocol::ssl_request request;
  request.capabilities = c.capabilities;
  request.max_packet_size = 1u << 30;
  request.character_set = greeting.character_set ? greeting.character_set : 45;
  std::vector<std::uint8_t> payload;
  protocol::encode_ssl_request(request, payload);
  std::vector<std::uint8_t> framed;
  protocol::append_packets(framed, payload, sequence_id++);
  if (const error_code ec = co_await write_all(c.stream, framed))
    co_return "sending the SSLRequest: " + ec.message();
  SSL* ssl = new_backend_ssl(tls);
  if (!ssl) co_return std::string("cannot create a TLS session (out of memory)");
  if (co_await c.stream.start_tls(ssl)) {
    const std::string reason = c.stream.tls()->failure();
    co_return "TLS handshake with the server (" + tls.server_name + ") failed: " + reason;
  }
  const std::string session = describe_session(c.stream.tls()->native());
  log(log_level::debug, c.subject(), "tls ", session);
  co_return std::nullopt;
}

}  // namespace sluice::proxy
