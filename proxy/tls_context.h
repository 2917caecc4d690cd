// The OpenSSL contexts sluice makes TLS connections from: one towards clients ([tls]) and one
// towards the backend ([backend] tls*), built from the settings and the files they name. A reload
// replaces a context whole; a connection keeps the one it started with (its SSL holds a reference).
#pragma once

#include <openssl/ssl.h>

#include <boost/system/result.hpp>
#include <memory>
#include <optional>
#include <string>

#include "config/config.h"

namespace sluice::proxy {

using ssl_context_ptr = std::shared_ptr<SSL_CTX>;

// Towards the backend: how, and the context (null when disabled).
struct backend_tls_context {
  backend_tls_mode mode = backend_tls_mode::disabled;
  ssl_context_ptr context;
  // What verify_identity checks the certificate against, and SNI sends when it is a name.
  std::string server_name;
};

// Builds the context towards clients; null when [tls] names no certificate. Fails with a message
// naming the key, the file and OpenSSL's reason.
boost::system::result<ssl_context_ptr, std::string> make_client_tls_context(
    const client_tls_settings& settings);
// Builds the context towards the backend at `address` (whose IP verify_identity checks when no
// server name is configured). It remembers the server's last session ticket for resumption.
boost::system::result<backend_tls_context, std::string> make_backend_tls_context(
    const backend_tls_settings& settings, const endpoint& address);

// A new SSL for an accepted client connection (accept state).
SSL* new_client_ssl(const ssl_context_ptr& context);
// A new SSL for a backend connection (connect state): SNI and the name to check set, and the last
// session the server gave resumed if it still can be.
SSL* new_backend_ssl(const backend_tls_context& tls);

// "subject=/CN=db.internal serial=1A2B not_after=Jan  1 00:00:00 2027 GMT": the context's own
// certificate, for the log line that shows what a reload put in place.
std::string describe_certificate(const ssl_context_ptr& context);
// "TLSv1.3 TLS_AES_256_GCM_SHA384" and ", resumed" for a resumed session: for log lines.
std::string describe_session(const SSL* ssl);

// The contexts new connections use, replaced on reload. Each side loads on its own: a broken
// backend CA does not stop a client certificate's rotation, nor the other way round.
class tls_contexts {
 public:
  // Null: TLS is not offered to clients.
  const ssl_context_ptr& for_clients() const noexcept { return clients_; }
  const backend_tls_context& for_backend() const noexcept { return backend_; }

  // Builds a side from the settings; on failure nothing changes and the reason is returned.
  std::optional<std::string> load_client_side(const client_tls_settings& settings);
  std::optional<std::string> load_backend_side(const backend_tls_settings& settings,
                                               const endpoint& address);

 private:
  ssl_context_ptr clients_;
  backend_tls_context backend_;
};

}  // namespace sluice::proxy
