// Opening, resetting and closing backend connections, all without blocking the event loop.
//
// sluice speaks the handshake itself rather than through Connector/C: Connector/C always asks a
// MariaDB server for MariaDB's extended capabilities (extended column metadata, metadata caching),
// which change the bytes of every column definition, and sluice forwards result sets unchanged to
// clients that did not negotiate them. See docs/ARCHITECTURE.md.
#pragma once

#include <boost/system/result.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "protocol/text_resultset.h"
#include "proxy/asio_types.h"
#include "proxy/backend_connection.h"
#include "proxy/tls_context.h"
#include "session/server_defaults.h"

namespace sluice::proxy {

struct backend_login {
  endpoint address;
  std::string user;
  std::string password;
  // Instead of the password: SHA1(password), recovered from a client's native login ([auth] mode
  // server). Enough for mysql_native_password, never logged.
  std::optional<std::string> native_stage1;
  std::chrono::milliseconds connect_timeout{5000};
  std::size_t max_prepared_statements = 256;  // per connection
  const tls_contexts* tls = nullptr;          // [backend] tls (none: plain TCP)
};

// Client capabilities that change the server's answers and so split the pool into variants.
int variant_of(std::uint32_t client_capabilities) noexcept;
// A pool variant is an account (0: the configured backend user) and a capability variant.
inline constexpr int capability_variants = 4;
constexpr int pool_variant(int account, int capability) noexcept {
  return account * capability_variants + capability;
}
constexpr int capability_variant(int variant) noexcept {
  return variant % capability_variants;
}
constexpr int account_of_variant(int variant) noexcept {
  return variant / capability_variants;
}

struct opened_backend {
  backend_ptr connection;
  std::string server_version;
  std::uint8_t server_collation = 0;  // the greeting's character set: the server's default
  // What the server gives new sessions, when asked for (the pool learns it once).
  std::optional<session::server_defaults> server;
};

// TCP connect, handshake, authentication and session-tracker setup, within connect_timeout;
// with `learn_server`, also the server's session defaults. Fails with a message fit for logs
// (never shown to unauthenticated clients).
awaitable<boost::system::result<opened_backend, std::string>> open_backend(
    const backend_login& login, int variant, std::uint64_t id, bool learn_server = false);

// How a failure message starts when the server refused the login itself (wrong credentials).
inline constexpr std::string_view auth_failure_prefix = "authentication failed: ";

// The rows of one of sluice's own small queries (a single text result set), or why there are
// none.
awaitable<boost::system::result<std::vector<protocol::text_row>, std::string>> query_rows(
    backend_connection& c, std::string_view sql);

// COM_CHANGE_USER as `login`'s user without a default schema: the way to drop a schema, and to
// move a connection to another account. Resets the whole session (trackers set again). Returns
// an error message on failure.
awaitable<std::optional<std::string>> change_user_without_schema(backend_connection& c,
                                                                 const backend_login& login);

// COM_RESET_CONNECTION: rolls back, drops temporary tables, locks, user variables and prepared
// statements; keeps the default schema.
awaitable<bool> reset_session(backend_connection& c);

// Best-effort COM_QUIT, then close. Never blocks.
void close_backend(backend_connection& c) noexcept;

}  // namespace sluice::proxy
