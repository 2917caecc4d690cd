// Backend connection set-up: TCP connect, HandshakeV10 / HandshakeResponse41, the auth exchange
// (mysql_native_password, caching_sha2_password incl. RSA full auth), and the session trackers.
#include "proxy/backend_connector.h"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/write.hpp>
#include <charconv>

#include "protocol/auth_scramble.h"
#include "protocol/auth_switch.h"
#include "protocol/change_user.h"
#include "protocol/constants.h"
#include "protocol/frame.h"
#include "protocol/generic_response.h"
#include "protocol/handshake.h"
#include "protocol/text_resultset.h"
#include "proxy/backend_commands.h"
#include "proxy/backend_tls.h"
#include "proxy/frame_reader.h"
#include "proxy/socket_io.h"

namespace sluice::proxy {
namespace {

namespace cap = protocol::capability;
using namespace asio::experimental::awaitable_operators;

constexpr std::string_view native_plugin = protocol::native_password_plugin;
constexpr std::string_view sha2_plugin = protocol::caching_sha2_plugin;

// What sluice asks of the server. CLIENT_LONG_PASSWORD doubles as "CLIENT_MYSQL": with it set and
// the reserved bytes zero, a MariaDB server enables none of its extended capabilities.
// Never CLIENT_DEPRECATE_EOF (the response scanner relies on EOF packets) nor compression; SSL
// is added by backend_tls when [backend] tls asks for it.
constexpr std::uint32_t wanted_capabilities =
    cap::long_password | cap::long_flag | cap::local_files | cap::protocol_41 | cap::transactions |
    cap::secure_connection | cap::multi_statements | cap::multi_results | cap::ps_multi_results |
    cap::plugin_auth | cap::plugin_auth_lenenc_client_data | cap::connect_attrs |
    cap::session_track;

constexpr std::size_t max_handshake_packet = 64 * 1024;

constexpr std::string_view tracker_setup =
    "SET SESSION session_track_schema=ON, session_track_system_variables='*', "
    "session_track_state_change=ON, session_track_transaction_info=CHARACTERISTICS";

// The token for `plugin`, or nullopt when the login cannot make one (only SHA1(password) is known
// and the server wants caching_sha2_password).
std::optional<std::string> auth_token(std::string_view plugin, const backend_login& login,
                                      std::string_view scramble) {
  if (login.native_stage1) {
    if (plugin != native_plugin) return std::nullopt;
    if (login.native_stage1->empty()) return std::string();  // an account without a password
    return protocol::native_token_from_stage1(*login.native_stage1, scramble);
  }
  if (plugin == sha2_plugin) return protocol::caching_sha2_token(login.password, scramble);
  return protocol::native_password_token(login.password, scramble);
}

std::string scramble_of(std::string_view data) {
  // Servers append a NUL to the 20-byte scramble in auth-switch requests.
  if (data.size() > 20) data = data.substr(0, 20);
  return std::string(data);
}

awaitable<error_code> write_payload(byte_stream& s, const std::vector<std::uint8_t>& payload,
                                    std::uint8_t sequence_id) {
  std::vector<std::uint8_t> framed;
  protocol::append_packets(framed, payload, sequence_id);
  co_return co_await write_all(s, framed);
}

std::string error_text(std::span<const std::uint8_t> payload, std::uint32_t caps) {
  auto err = protocol::decode_err(payload, caps);
  if (!err) return "malformed error packet";
  return std::to_string(err->error_code) + " " + err->message;
}

// Runs the server's side of authentication to its end: OK, ERR, auth switches, more-data rounds.
// Returns an error message, or nothing on success.
awaitable<std::optional<std::string>> finish_auth(backend_connection& c, frame_reader& reader,
                                                  std::string plugin, std::string scramble,
                                                  const backend_login& login) {
  const std::string& password = login.password;
  for (int round = 0; round < 8; ++round) {
    frame f;
    if (auto ec = co_await reader.next(c.stream, f, max_handshake_packet))
      co_return "reading the authentication reply: " + ec.message();
    if (f.payload.empty()) co_return "empty authentication reply";
    const std::uint8_t next_seq = static_cast<std::uint8_t>(f.sequence_id + 1);
    switch (f.payload[0]) {
      case protocol::ok_header:
        c.auth_plugin = plugin;
        c.scramble = scramble;
        c.account = login.user;
        co_return std::nullopt;
      case protocol::err_header:
        co_return std::string(auth_failure_prefix) + error_text(f.payload, c.capabilities);
      case protocol::auth_switch_header: {
        auto sw = protocol::decode_auth_switch_request(f.payload);
        if (!sw) co_return "malformed auth switch request";
        plugin = sw->plugin_name;
        scramble = scramble_of(sw->plugin_data);
        if (plugin != native_plugin && plugin != sha2_plugin)
          co_return "the server asks for auth plugin '" + plugin +
              "', which sluice does not speak (use mysql_native_password or "
              "caching_sha2_password for the backend user)";
        const std::optional<std::string> token = auth_token(plugin, login, scramble);
        if (!token)
          co_return "the account '" + login.user + "' uses '" + plugin +
              "': sluice logs in as clients' own accounts with mysql_native_password only";
        std::vector<std::uint8_t> payload(token->begin(), token->end());
        if (auto ec = co_await write_payload(c.stream, payload, next_seq))
          co_return "sending the auth switch response: " + ec.message();
        break;
      }
      case protocol::auth_more_data_header: {
        if (plugin != sha2_plugin || f.payload.size() < 2) co_return "unexpected auth data";
        if (f.payload[1] == 3) break;  // fast authentication succeeded; the OK follows
        if (f.payload[1] != 4) {
          // The server's RSA public key, which we asked for.
          auto more = protocol::decode_auth_more_data(f.payload);
          if (!more) co_return "malformed public key packet";
          auto encrypted = protocol::rsa_encrypt_password(password, scramble, more->data);
          if (!encrypted) co_return "cannot encrypt the password with the server's public key";
          std::vector<std::uint8_t> payload(encrypted->begin(), encrypted->end());
          if (auto ec = co_await write_payload(c.stream, payload, next_seq))
            co_return "sending the encrypted password: " + ec.message();
          break;
        }
        // Full authentication over plain TCP: ask for the public key (0x02).
        std::vector<std::uint8_t> request{2};
        if (auto ec = co_await write_payload(c.stream, request, next_seq))
          co_return "requesting the server's public key: " + ec.message();
        break;
      }
      default:
        co_return "unexpected packet during authentication";
    }
  }
  co_return "authentication did not finish";
}

}  // namespace

awaitable<boost::system::result<std::vector<protocol::text_row>, std::string>> query_rows(
    backend_connection& c, std::string_view sql) {
  std::vector<std::uint8_t> framed;
  append_command(framed, protocol::command::query, sql);
  if (auto ec = co_await write_all(c.stream, framed)) co_return ec.message();
  std::vector<std::uint8_t> response;
  if (!co_await read_response(c, protocol::response_scanner::shape::query, response))
    co_return std::string("the connection failed");
  if (c.scanner.ended_with_error()) co_return c.scanner.error_message();
  auto rows = protocol::decode_text_resultset(response);
  if (!rows || c.scanner.status_flags() & protocol::server_status::more_results_exists)
    co_return std::string("an unexpected answer");
  co_return std::move(*rows);
}

namespace {

std::uint64_t number_or(const std::optional<std::string>& text, std::uint64_t fallback) {
  if (!text) return fallback;
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
  return ec == std::errc() && end == text->data() + text->size() ? n : fallback;
}

// What the server gives a new session: information_schema.COLLATIONS and its idle timeouts.
awaitable<boost::system::result<session::server_defaults, std::string>> learn_server_defaults(
    backend_connection& c) {
  session::server_defaults defaults;
  auto collations = co_await query_rows(
      c, "SELECT ID, COLLATION_NAME, CHARACTER_SET_NAME FROM information_schema.COLLATIONS");
  if (!collations) co_return "reading collations: " + collations.error();
  for (const auto& row : *collations) {
    if (row.size() != 3 || !row[0] || !row[1] || !row[2]) continue;
    const std::uint64_t id = number_or(row[0], 0x10000);
    if (id > 0xFFFF) continue;
    defaults.collations.add(static_cast<std::uint16_t>(id), *row[1], *row[2]);
  }
  auto timeouts =
      co_await query_rows(c, "SELECT @@global.wait_timeout, @@global.interactive_timeout");
  if (!timeouts) co_return "reading idle timeouts: " + timeouts.error();
  if (timeouts->size() == 1 && (*timeouts)[0].size() == 2) {
    defaults.wait_timeout = number_or((*timeouts)[0][0], defaults.wait_timeout);
    defaults.interactive_timeout = number_or((*timeouts)[0][1], defaults.interactive_timeout);
  }
  co_return defaults;
}

awaitable<boost::system::result<opened_backend, std::string>> connect_and_login(
    const backend_login& login, int variant, std::uint64_t id, bool learn_server) {
  auto executor = co_await asio::this_coro::executor;
  // The contexts as they are now: a reload during the connect does not change this one.
  const backend_tls_context tls = login.tls ? login.tls->for_backend() : backend_tls_context();
  error_code ec;
  const auto address = asio::ip::make_address(login.address.host, ec);
  if (ec) co_return "bad backend address " + login.address.host;
  tcp::socket socket(executor);
  auto [connect_ec] =
      co_await socket.async_connect(tcp::endpoint(address, login.address.port), use_nothrow);
  if (connect_ec)
    co_return "connect to " + login.address.host + ":" + std::to_string(login.address.port) + ": " +
        connect_ec.message();
  prepare_socket(socket);
  byte_stream stream(std::move(socket));

  frame_reader reader(4096);
  frame f;
  if (auto read_ec = co_await reader.next(stream, f, max_handshake_packet))
    co_return "reading the server greeting: " + read_ec.message();
  if (!f.payload.empty() && f.payload[0] == protocol::err_header)
    co_return "the server refused the connection: " + error_text(f.payload, 0);
  auto greeting = protocol::decode_handshake_v10(f.payload);
  if (!greeting) co_return "malformed server greeting";
  if (!(greeting->capabilities & cap::protocol_41)) co_return "the server lacks CLIENT_PROTOCOL_41";

  std::uint32_t wanted = wanted_capabilities;
  if (capability_variant(variant) == 1) wanted |= cap::found_rows;
  const std::uint32_t caps = (greeting->capabilities | cap::long_password) & wanted;
  auto conn = std::make_unique<backend_connection>(std::move(stream), id, caps,
                                                   login.max_prepared_statements);
  conn->server_thread_id = greeting->connection_id;
  std::uint8_t sequence_id = static_cast<std::uint8_t>(f.sequence_id + 1);
  if (auto refused = co_await start_backend_tls(*conn, tls, *greeting, sequence_id))
    co_return *refused;

  const std::string scramble = scramble_of(greeting->auth_plugin_data);
  std::string plugin = greeting->auth_plugin_name;
  if (plugin != sha2_plugin || login.native_stage1) plugin = std::string(native_plugin);
  protocol::handshake_response_41 response;
  response.capabilities = conn->capabilities;  // with CLIENT_SSL when TLS started
  response.max_packet_size = 1u << 30;
  response.character_set = greeting->character_set ? greeting->character_set : 45;
  response.username = login.user;
  response.auth_response = auth_token(plugin, login, scramble).value_or("");
  response.auth_plugin_name = plugin;
  response.connect_attributes = {{"_client_name", "sluice"}, {"_client_version", SLUICE_VERSION}};
  std::vector<std::uint8_t> payload;
  protocol::encode_handshake_response_41(response, payload);
  if (auto write_ec = co_await write_payload(conn->stream, payload, sequence_id))
    co_return "sending the handshake response: " + write_ec.message();
  if (auto failure = co_await finish_auth(*conn, reader, plugin, scramble, login))
    co_return *failure;
  if (reader.buffered() != 0) co_return "unexpected bytes after authentication";

  // Session trackers tell sluice which schema and variables a client's statement changed.
  std::vector<std::uint8_t> setup;
  append_command(setup, protocol::command::query, tracker_setup);
  auto replies = co_await run_commands(*conn, setup, 1);
  if (!replies) co_return "setting up session tracking: " + replies.error().message();
  if ((*replies)[0].error) co_return "setting up session tracking: " + (*replies)[0].error_message;
  conn->vars.schema = "";
  conn->vars.autocommit = ((*replies)[0].status_flags & protocol::server_status::autocommit) != 0;
  conn->vars.multi_statements = true;
  opened_backend opened{std::move(conn), greeting->server_version, greeting->character_set,
                        std::nullopt};
  if (learn_server) {
    auto defaults = co_await learn_server_defaults(*opened.connection);
    if (!defaults) co_return defaults.error();
    opened.server = std::move(*defaults);
  }
  co_return opened;
}

}  // namespace

int variant_of(std::uint32_t client_capabilities) noexcept {
  return (client_capabilities & cap::found_rows) ? 1 : 0;
}

awaitable<boost::system::result<opened_backend, std::string>> open_backend(
    const backend_login& login, int variant, std::uint64_t id, bool learn_server) {
  asio::steady_timer deadline(co_await asio::this_coro::executor);
  deadline.expires_after(login.connect_timeout);
  auto outcome = co_await (connect_and_login(login, variant, id, learn_server) ||
                           deadline.async_wait(use_nothrow));
  if (outcome.index() == 1)
    co_return "no connection within connect_timeout (" +
        std::to_string(login.connect_timeout.count()) + " ms)";
  co_return std::get<0>(std::move(outcome));
}

awaitable<std::optional<std::string>> change_user_without_schema(backend_connection& c,
                                                                 const backend_login& login) {
  protocol::change_user_request request;
  request.username = login.user;
  // A move to another account with only its SHA1(password): native, whatever the connection
  // used before.
  const std::string plugin = login.native_stage1 ? std::string(native_plugin) : c.auth_plugin;
  request.auth_plugin_name = plugin;
  request.auth_response = auth_token(plugin, login, c.scramble).value_or("");
  request.character_set = 45;
  std::vector<std::uint8_t> payload;
  protocol::encode_change_user(request, c.capabilities, payload);
  if (auto ec = co_await write_payload(c.stream, payload, 0)) co_return ec.message();
  frame_reader reader(4096);
  auto failure = co_await finish_auth(c, reader, plugin, c.scramble, login);
  if (failure) co_return failure;
  if (reader.buffered() != 0) co_return "unexpected bytes after COM_CHANGE_USER";
  c.vars.forget_all();
  c.statements.clear();  // a reset or re-authentication closes every prepared statement
  c.vars.schema = "";
  // The trackers are session variables too: set them again.
  std::vector<std::uint8_t> setup;
  append_command(setup, protocol::command::query, tracker_setup);
  auto replies = co_await run_commands(c, setup, 1);
  if (!replies || (*replies)[0].error) co_return "restoring session tracking failed";
  co_return std::nullopt;
}

awaitable<bool> reset_session(backend_connection& c) {
  // The reset returns the trackers to their global defaults too: set them again, same round trip.
  std::vector<std::uint8_t> framed;
  append_command(framed, protocol::command::reset_connection, {});
  append_command(framed, protocol::command::query, tracker_setup);
  auto replies = co_await run_commands(c, framed, 2);
  if (!replies || (*replies)[0].error || (*replies)[1].error) co_return false;
  const auto schema = c.vars.schema;
  c.vars.forget_all();
  c.statements.clear();    // a reset or re-authentication closes every prepared statement
  c.vars.schema = schema;  // COM_RESET_CONNECTION keeps the default schema
  co_return true;
}

void close_backend(backend_connection& c) noexcept {
  if (!c.stream.is_open()) return;
  static constexpr std::uint8_t quit[] = {1, 0, 0, 0,
                                          static_cast<std::uint8_t>(protocol::command::quit)};
  // Never waits: five bytes (encrypted if the connection is) fit in any send buffer or are dropped.
  c.stream.send_now(quit);
  error_code ignored;
  c.stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  c.stream.close();
}

}  // namespace sluice::proxy
