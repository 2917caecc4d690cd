// The login exchange and COM_CHANGE_USER.
#include "proxy/client_login.h"

#include <optional>

#include "protocol/auth_scramble.h"
#include "protocol/auth_switch.h"
#include "protocol/change_user.h"
#include "protocol/constants.h"
#include "protocol/handshake.h"
#include "proxy/account_directory.h"
#include "proxy/client_tls.h"
#include "proxy/log.h"
#include "proxy/text_escape.h"
#include "session/accounts.h"

namespace sluice::proxy {
namespace {

namespace cap = protocol::capability;
namespace status = protocol::server_status;
using protocol::caching_sha2_plugin;
using protocol::native_password_plugin;

// What sluice offers clients (and SSL when [tls] has a certificate: client_tls). Not offered:
// compression (docs/TLS.md says why),
// DEPRECATE_EOF (backends send EOF packets, forwarded as they are), IGNORE_SPACE and NO_SCHEMA /
// ODBC (they would change the server's behaviour for that session only).
constexpr std::uint32_t offered_capabilities =
    cap::long_password | cap::found_rows | cap::long_flag | cap::connect_with_db |
    cap::local_files | cap::protocol_41 | cap::interactive | cap::transactions |
    cap::secure_connection | cap::multi_statements | cap::multi_results | cap::ps_multi_results |
    cap::plugin_auth | cap::connect_attrs | cap::plugin_auth_lenenc_client_data |
    cap::session_track;

constexpr std::uint8_t default_collation = 45;  // utf8mb4_general_ci
constexpr std::size_t max_login_packet = 64 * 1024;
// Verified for unknown users, so that they cost the same work as a wrong password.
constexpr std::string_view unknown_user_password = "sluice: no such user";

std::string_view text_of(std::span<const std::uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// Clients that finished logging in (connections still logging in have their own bound, so that
// silent sockets cannot lock logged-in users out).
std::size_t logged_in_clients(const proxy_context& context) {
  std::size_t n = 0;
  for (const auto& [user, count] : context.connections_by_user) n += count;
  return n;
}

error_reply too_many_connections() {
  return {protocol::server_error::too_many_connections, "08004", "Too many connections"};
}

// [limits] checks before the greeting: logged-in clients, then this client's address.
std::optional<error_reply> refusal_before_login(client_session& session) {
  const config& settings = session.settings();
  auto& context = session.context();
  if (settings.max_client_connections > 0 &&
      logged_in_clients(context) >= settings.max_client_connections) {
    session.metrics().rejected(metrics::rejection::max_client_connections).Increment();
    return too_many_connections();
  }
  const std::string& address = session.client().address();
  const std::size_t per_address = settings.connections_allowed_from(address);
  const auto it = context.connections_by_address.find(address);
  if (per_address > 0 && it != context.connections_by_address.end() && it->second > per_address) {
    session.metrics().rejected(metrics::rejection::per_address).Increment();
    return error_reply{sluice_error::too_many_from_address, "HY000",
                       "sluice: too many connections from " + address + " (limit " +
                           std::to_string(per_address) + ")"};
  }
  return std::nullopt;
}

// [limits] checks once the user is known: logged-in clients again (others may have finished
// logging in meanwhile), then the user's own limit. `moving`: the client already counts as
// logged in (a change of user).
std::optional<error_reply> refusal_after_login(client_session& session, const std::string& user,
                                               bool moving) {
  const config& settings = session.settings();
  auto& context = session.context();
  if (!moving && settings.max_client_connections > 0 &&
      logged_in_clients(context) >= settings.max_client_connections) {
    session.metrics().rejected(metrics::rejection::max_client_connections).Increment();
    return too_many_connections();
  }
  const std::size_t allowed = settings.connections_allowed_for(user);
  const auto it = context.connections_by_user.find(user);
  const std::size_t current = it == context.connections_by_user.end() ? 0 : it->second;
  if (allowed > 0 && current >= allowed) {
    session.metrics().rejected(metrics::rejection::per_user).Increment();
    return error_reply{
        protocol::server_error::too_many_user_connections, "42000",
        "User '" + user + "' already has more than 'max_user_connections' active connections"};
  }
  return std::nullopt;
}

// Connections still logging in beyond [limits] max_pending_logins: the oldest is closed, so a
// flood of silent sockets cannot keep a real client from its greeting.
void evict_oldest_pending_login(client_session& session) {
  auto& context = session.context();
  const std::size_t limit = session.settings().max_pending_logins;
  if (limit == 0) return;
  if (context.clients_by_state[static_cast<std::size_t>(client_state::login)] <= limit) return;
  for (client_session* other : context.sessions) {  // in accept order: the oldest first
    if (other != &session && other->state() == client_state::login && other->client().is_open()) {
      session.metrics().rejected(metrics::rejection::login_evicted).Increment();
      other->close_for("login_evicted");
      return;
    }
  }
}

// A login collation whose character set the server cannot parse statements in (ucs2, utf16,
// utf32): MariaDB refuses the login itself, so sluice does too.
std::optional<error_reply> refused_collation(client_session& session, std::uint16_t collation) {
  const auto charset = session.pool().collations().refused_client_charset(collation);
  if (!charset) return std::nullopt;
  return error_reply{
      protocol::server_error::wrong_value_for_var, "42000",
      "Variable 'character_set_client' can't be set to the value of '" + *charset + "'"};
}

// The answer to a failed login: MySQL's text, naming the user as the client gave it.
error_reply access_denied(std::string_view user, const client_session& session, bool password) {
  return {protocol::server_error::access_denied, "28000",
          "Access denied for user '" + std::string(user) + "'@'" + session.client().address() +
              "' (using password: " + (password ? "YES" : "NO") + ")"};
}

struct credentials {
  std::string user;
  std::string plugin;  // what the client's token was made for
  std::string token;
};

// What a login proved: in [auth] mode server, SHA1(password) of the client's account, which the
// backend logins made for it need.
struct proof {
  std::optional<std::string> account_stage1;
};

// The token must be for our scramble under `plugin`. Otherwise (another plugin, or no data
// because the client prepared it for a plugin it expected) the client is asked again with an
// AuthSwitchRequest, as MySQL servers do. An empty token is always asked again, known user or
// not, so that the answer never tells which users exist. Returns false if the client left.
awaitable<bool> obtain_token(client_session& session, credentials& given, std::string_view plugin,
                             const std::string& scramble, std::uint8_t& sequence_id) {
  if (given.plugin == plugin && !given.token.empty()) co_return true;
  std::vector<std::uint8_t> request;
  protocol::encode_auth_switch_request({std::string(plugin), scramble}, request);
  if (!co_await session.client().send_payload(sequence_id, request)) co_return false;
  frame f;
  if (co_await session.client().next_auth_reply(f, max_login_packet)) co_return false;
  sequence_id = static_cast<std::uint8_t>(f.sequence_id + 1);
  given.plugin = std::string(plugin);
  given.token.assign(text_of(f.payload));
  co_return true;
}

awaitable<void> refuse_login(client_session& session, const credentials& given,
                             std::uint8_t sequence_id, std::string_view why) {
  const error_reply denied = access_denied(given.user, session, !given.token.empty());
  co_await session.client().send_error(sequence_id, denied);
  session.metrics().rejected(metrics::rejection::auth_failed).Increment();
  log(log_level::info, session.subject(), "close reason=auth_failed user=", printable(given.user),
      why.empty() ? "" : " why=", why);
}

// [auth] mode config: verifies `given` against [users] under the session's scramble.
awaitable<std::optional<proof>> authenticate_with_file(client_session& session, credentials given,
                                                       const std::string& scramble,
                                                       std::uint8_t& sequence_id) {
  const auto& users = session.settings().users;
  // Copied out: a reload may replace the user list while this login awaits the client.
  const auto account = users.find(given.user);
  const bool known_user = account != users.end();
  const std::string password = known_user ? account->second : std::string(unknown_user_password);
  const std::string_view used_plugin =
      given.plugin == caching_sha2_plugin ? caching_sha2_plugin : native_password_plugin;
  if (!co_await obtain_token(session, given, used_plugin, scramble, sequence_id))
    co_return std::nullopt;
  bool verified = used_plugin == caching_sha2_plugin
                      ? protocol::verify_caching_sha2(password, scramble, given.token)
                      : protocol::verify_native_password(password, scramble, given.token);
  // As a MySQL server: a caching_sha2 token that does not verify asks for full authentication,
  // which only TLS allows (the password then comes in the clear).
  const bool full_authentication =
      !verified && used_plugin == caching_sha2_plugin && session.client().encrypted();
  if (full_authentication) {
    const auto cleartext = co_await read_cleartext_password(session, sequence_id, max_login_packet);
    if (!cleartext) co_return std::nullopt;
    verified = protocol::verify_cleartext_password(password, *cleartext);
  }
  if (!known_user) verified = false;
  if (verified && used_plugin == caching_sha2_plugin && !full_authentication) {
    const std::uint8_t fast_auth_ok[2] = {protocol::auth_more_data_header, 3};
    const std::uint8_t fast_auth_sequence = sequence_id++;
    if (!co_await session.client().send_payload(fast_auth_sequence, fast_auth_ok))
      co_return std::nullopt;
  }
  if (!verified) {
    co_await refuse_login(session, given, sequence_id, "");
    co_return std::nullopt;
  }
  co_return proof{};
}

// Checked for unknown users and unusable rows, so that they cost the same work as a wrong
// password; no token answers it but by chance (2^-160).
std::string stand_in_stage2() {
  return std::string(20, '\x5a');
}

// [auth] mode server: the account row the server uses for this client must be the one it uses
// for sluice's own logins as that user (the server sees sluice's address, not the client's);
// the client's native token must answer the scramble for that row's hash.
awaitable<std::optional<proof>> authenticate_with_server(client_session& session, credentials given,
                                                         const std::string& scramble,
                                                         std::uint8_t& sequence_id) {
  account_directory& directory = *session.context().accounts;
  if (!co_await obtain_token(session, given, native_password_plugin, scramble, sequence_id))
    co_return std::nullopt;
  const std::string user = given.user;
  auto rows = co_await directory.rows_of(user);
  if (!rows) {
    log(log_level::warn, session.subject(), "close reason=auth_query_failed ", rows.error());
    const error_reply unavailable{sluice_error::backend_unavailable, "08S01",
                                  "sluice: the server's accounts cannot be read now"};
    co_await session.client().send_error(sequence_id, unavailable);
    co_return std::nullopt;
  }
  const session::account_match for_client =
      session::match_account(*rows, session.client().address());
  const session::account_match for_sluice = session::match_account(*rows, directory.own_address());
  const session::account_row* row = for_client.row;
  std::string why;  // for the log only: the client sees 1045 whatever the reason
  if (!row) {
    why = for_client.ambiguous ? "ambiguous account rows" : "no account row matches";
  } else if (for_sluice.row != row) {
    why = "the server would take sluice's own login (from " + directory.own_address() +
          ") for another row than '" + printable(user) + "'@'" + printable(row->host) + "'";
  } else if (!row->plugin.empty() && row->plugin != native_password_plugin) {
    // Refused by name: sluice cannot log in to the backend as this account without its password.
    const error_reply unsupported{
        protocol::server_error::not_supported_auth_mode, "08004",
        "sluice: the account '" + user + "'@'" + row->host + "' uses the '" + row->plugin +
            "' plugin; with [auth] mode = server sluice accepts mysql_native_password accounts "
            "only"};
    co_await session.client().send_error(sequence_id, unsupported);
    session.metrics().rejected(metrics::rejection::auth_failed).Increment();
    log(log_level::info, session.subject(),
        "close reason=auth_plugin_unsupported user=", printable(user),
        " plugin=", printable(row->plugin));
    co_return std::nullopt;
  }
  const bool no_password = why.empty() && row->hash.empty();
  std::optional<std::string> stage2 =
      why.empty() && !no_password ? protocol::native_stage2_of_hash(row->hash) : std::nullopt;
  if (why.empty() && !no_password && !stage2) why = "the account's hash is not a native one";
  // The same work for every outcome: unknown users are checked against a stand-in.
  const std::string checked_stage2 = stage2 ? *stage2 : stand_in_stage2();
  std::optional<std::string> stage1 =
      protocol::native_stage1_from_token(given.token, scramble, checked_stage2);
  if (no_password) stage1 = given.token.empty() ? std::optional<std::string>("") : std::nullopt;
  if (!why.empty() || !stage1) {
    co_await refuse_login(session, given, sequence_id, why);
    co_return std::nullopt;
  }
  co_return proof{std::move(stage1)};
}

// Verifies `given` under the session's scramble against [users] or the server's accounts; may
// ask the client to answer an AuthSwitchRequest first. The failure is answered.
awaitable<std::optional<proof>> authenticate(client_session& session, credentials given,
                                             const std::string& scramble,
                                             std::uint8_t& sequence_id) {
  if (session.context().accounts)
    co_return co_await authenticate_with_server(session, std::move(given), scramble, sequence_id);
  co_return co_await authenticate_with_file(session, std::move(given), scramble, sequence_id);
}

}  // namespace

awaitable<bool> log_in(client_session& session) {
  auto& context = session.context();
  auto& client = session.client();
  evict_oldest_pending_login(session);
  session.scramble = protocol::generate_scramble();
  const std::string& scramble = session.scramble;
  if (context.draining) {
    // Refuse politely; a drained sluice accepts nothing new.
    const error_reply refusal{sluice_error::shutting_down, "08004", "sluice is shutting down"};
    co_await client.send_error(0, refusal);
    co_return false;
  }
  // Over a frontend limit: an ERR in place of the greeting, as MySQL does for 1040. It names only
  // this client's own address and the limit, nothing about other clients or the backend.
  if (const auto refusal = refusal_before_login(session)) {
    co_await client.send_error(0, *refusal);
    log(log_level::info, session.subject(), "reject reason=",
        refusal->code == protocol::server_error::too_many_connections ? "max_client_connections"
                                                                      : "per_address");
    co_return false;
  }
  protocol::handshake_v10 greeting;
  const std::string& backend_version = session.pool().server_version();
  greeting.server_version =
      backend_version.empty() ? std::string("5.7.99-sluice-") + SLUICE_VERSION : backend_version;
  greeting.connection_id = session.id();
  greeting.auth_plugin_data = scramble;
  const ssl_context_ptr tls = offered_tls(session);
  greeting.capabilities = offered_capabilities | tls_capability(tls);
  const std::uint8_t server_collation = session.pool().server_collation();
  greeting.character_set = server_collation ? server_collation : default_collation;
  greeting.status_flags = status::autocommit;
  greeting.auth_plugin_name = std::string(native_password_plugin);
  std::vector<std::uint8_t> payload;
  protocol::encode_handshake_v10(greeting, payload);
  if (!co_await client.send_payload(0, payload)) co_return false;

  frame f;
  if (co_await client.next_auth_reply(f, max_login_packet)) co_return false;
  if (!co_await upgrade_if_requested(session, tls, f, max_login_packet)) co_return false;
  std::uint8_t sequence_id = static_cast<std::uint8_t>(f.sequence_id + 1);
  auto response = protocol::decode_handshake_response_41(f.payload);
  if (!response) {
    const error_reply bad{protocol::server_error::access_denied, "08S01", "Bad handshake"};
    co_await client.send_error(sequence_id, bad);
    log(log_level::info, session.subject(), "close reason=bad_handshake");
    co_return false;
  }
  if (const auto refusal = insecure_transport_refusal(session)) {
    co_await client.send_error(sequence_id, *refusal);
    log(log_level::info, session.subject(), "reject reason=insecure_transport");
    co_return false;
  }
  client.capabilities = response->capabilities & offered_capabilities;
  const bool plugin_given =
      (client.capabilities & cap::plugin_auth) && !response->auth_plugin_name.empty();
  credentials given{response->username,
                    plugin_given ? response->auth_plugin_name : std::string(native_password_plugin),
                    response->auth_response};
  std::optional<proof> proved =
      co_await authenticate(session, std::move(given), scramble, sequence_id);
  if (!proved) co_return false;
  if (const auto refusal = refusal_after_login(session, response->username, false)) {
    co_await client.send_error(sequence_id, *refusal);
    log(log_level::info, session.subject(), "reject reason=",
        refusal->code == protocol::server_error::too_many_connections ? "max_client_connections"
                                                                      : "per_user");
    co_return false;
  }
  const std::uint16_t collation =
      response->character_set ? response->character_set : greeting.character_set;
  if (const auto refusal = refused_collation(session, collation)) {
    co_await client.send_error(sequence_id, *refusal);
    log(log_level::info, session.subject(), "reject reason=client_charset");
    co_return false;
  }
  session.login_collation = collation;
  const std::string schema = (client.capabilities & cap::connect_with_db) ? response->database : "";
  session.tracked().start_over(schema, session.login_collation,
                               (client.capabilities & cap::multi_statements) != 0);
  session.start_session_timeouts();
  session.become_user(response->username, std::move(proved->account_stage1));
  session.set_state(client_state::idle);
  log(log_level::info, session.subject(), "login");
  const std::uint16_t flags = session.status_flags();
  co_return co_await client.send_ok(sequence_id, flags);
}

awaitable<outcome> change_user(client_session& session, const frame& f) {
  auto& client = session.client();
  auto request = protocol::decode_change_user(f.payload, client.capabilities);
  std::uint8_t sequence_id = static_cast<std::uint8_t>(f.sequence_id + 1);
  if (!request) {
    const error_reply malformed{protocol::server_error::unknown_command, "08S01",
                                "Malformed COM_CHANGE_USER"};
    co_await client.send_error(sequence_id, malformed);
    co_return outcome::close;
  }
  co_await session.end_lease();
  // Like the server: a change of user ends the old session whether or not the new login works.
  session.tracked().start_over("", session.login_collation,
                               (client.capabilities & cap::multi_statements) != 0);
  // As the server does, the token answers the scramble of the connection's greeting.
  credentials given{request->username,
                    request->auth_plugin_name.empty() ? std::string(native_password_plugin)
                                                      : request->auth_plugin_name,
                    request->auth_response};
  std::optional<proof> proved =
      co_await authenticate(session, std::move(given), session.scramble, sequence_id);
  if (!proved) co_return outcome::close;
  const bool same_user = request->username == session.user();
  const auto refusal =
      same_user ? std::nullopt : refusal_after_login(session, request->username, true);
  if (refusal) {
    co_await client.send_error(sequence_id, *refusal);
    log(log_level::info, session.subject(), "reject reason=per_user (change_user)");
    co_return outcome::close;
  }
  const std::uint16_t collation =
      request->character_set ? request->character_set : session.login_collation;
  if (const auto refusal = refused_collation(session, collation)) {
    co_await client.send_error(sequence_id, *refusal);
    co_return outcome::close;
  }
  session.login_collation = collation;
  session.tracked().start_over(request->database, session.login_collation,
                               (client.capabilities & cap::multi_statements) != 0);
  session.start_session_timeouts();
  session.become_user(request->username, std::move(proved->account_stage1));
  log(log_level::info, session.subject(), "change_user");
  co_return co_await session.reply_ok(sequence_id);
}

}  // namespace sluice::proxy
