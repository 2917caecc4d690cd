// A client's life: handshake and authentication, then commands served on pooled backends.
#include "proxy/client_session.h"

#include <algorithm>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/write.hpp>

#include "protocol/auth_scramble.h"
#include "protocol/auth_switch.h"
#include "protocol/change_user.h"
#include "protocol/constants.h"
#include "protocol/frame.h"
#include "protocol/generic_response.h"
#include "protocol/handshake.h"
#include "protocol/stmt_command.h"
#include "protocol/stmt_prepare_ok.h"
#include "proxy/backend_commands.h"
#include "proxy/log.h"
#include "proxy/socket_io.h"
#include "proxy/sql_lexer.h"

namespace sluice::proxy {
namespace {

namespace cap = protocol::capability;
namespace status = protocol::server_status;
using shape = protocol::response_scanner::shape;
using protocol::command;
using namespace asio::experimental::awaitable_operators;

constexpr std::string_view native_plugin = "mysql_native_password";
constexpr std::string_view sha2_plugin = "caching_sha2_password";

// What sluice offers clients. Not offered: SSL and compression (not implemented),
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
constexpr auto login_timeout = std::chrono::seconds(10);
// During a drain, how long a newly accepted client may take to log in and send its first command
// before it counts as idle and is closed.
constexpr auto drain_grace_for_new_clients = std::chrono::seconds(2);
// How long a backend stays with a client whose statement left warnings, waiting for the
// client's next statement (typically SHOW WARNINGS).
constexpr auto warnings_hold = std::chrono::milliseconds(200);
// Binary prepared statements one client may hold open (MariaDB's default
// max_prepared_stmt_count): a client that never closes its statements cannot grow sluice.
constexpr std::size_t max_statements_per_client = 16382;

// LOAD DATA LOCAL / LOAD XML LOCAL: the server will ask the client for a file.
bool is_load_local(std::string_view sql) {
  sql_lexer lexer(sql);
  const token first = lexer.next();
  if (first.kind != token_kind::word || !equals_keyword(first.text, "LOAD")) return false;
  const token second = lexer.next();
  if (second.kind != token_kind::word ||
      !(equals_keyword(second.text, "DATA") || equals_keyword(second.text, "XML")))
    return false;
  for (token t = lexer.next(); t.kind == token_kind::word; t = lexer.next()) {
    if (equals_keyword(t.text, "LOCAL")) return true;
    if (!equals_keyword(t.text, "LOW_PRIORITY") && !equals_keyword(t.text, "CONCURRENT"))
      return false;
  }
  return false;
}

std::string_view text_of(std::span<const std::uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace

awaitable<void> serve_client(tcp::socket socket, server_context& context) {
  client_session session(std::move(socket), context);
  co_await session.run();
}

client_session::client_session(tcp::socket socket, server_context& context)
    : socket_(std::move(socket)), context_(context), id_(context.next_client_id++) {
  error_code ec;
  const auto remote = socket_.remote_endpoint(ec);
  address_ = ec ? "unknown" : remote.address().to_string();
  peer_ = ec ? "unknown" : address_ + ":" + std::to_string(remote.port());
  ++context.connections_by_address[address_];
  prepare_socket(socket_);
  registration_ = context_.sessions.insert(context_.sessions.end(), this);
  context_.pool->metrics().client_connections.Increment();
}

std::string_view client_session::state() const noexcept {
  if (waiting_since_) return "waiting";
  return busy_ ? "active" : "idle";
}

std::chrono::milliseconds client_session::waited() const {
  if (!waiting_since_) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(pool::clock::now() -
                                                               *waiting_since_);
}

client_session::~client_session() {
  context_.sessions.erase(registration_);
  if (auto it = context_.connections_by_address.find(address_);
      it != context_.connections_by_address.end() && --it->second == 0)
    context_.connections_by_address.erase(it);
  if (authenticated_) {
    if (auto it = context_.connections_by_user.find(user_);
        it != context_.connections_by_user.end() && --it->second == 0)
      context_.connections_by_user.erase(it);
  }
}

void client_session::close_for(std::string_view reason) {
  log(log_level::info, subject(), "close reason=", reason);
  error_code ignored;
  socket_.close(ignored);
}

std::chrono::milliseconds client_session::idle_for(pool::time_point now) const {
  if (busy_) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(now - last_activity_);
}

std::chrono::milliseconds client_session::running_for(pool::time_point now) const {
  if (!busy_) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(now - command_started_);
}

std::optional<std::pair<std::uint16_t, std::string>> client_session::refuse_before_login() {
  const config& settings = *context_.settings;
  auto& metrics = context_.pool->metrics();
  if (settings.max_client_connections > 0 &&
      context_.sessions.size() > settings.max_client_connections) {
    metrics.rejected(metrics::rejection::max_client_connections).Increment();
    return std::pair{protocol::server_error::too_many_connections,
                     std::string("Too many connections")};
  }
  const std::size_t per_address = settings.connections_allowed_from(address_);
  if (per_address > 0 && context_.connections_by_address[address_] > per_address) {
    metrics.rejected(metrics::rejection::per_address).Increment();
    return std::pair{sluice_error::too_many_from_address, "sluice: too many connections from " +
                                                              address_ + " (limit " +
                                                              std::to_string(per_address) + ")"};
  }
  return std::nullopt;
}

std::optional<std::pair<std::uint16_t, std::string>> client_session::refuse_after_login() {
  const std::size_t allowed = context_.settings->connections_allowed_for(user_);
  if (allowed > 0 && context_.connections_by_user[user_] >= allowed) {
    context_.pool->metrics().rejected(metrics::rejection::per_user).Increment();
    return std::pair{protocol::server_error::too_many_user_connections,
                     "User '" + user_ +
                         "' already has more than 'max_user_connections' active "
                         "connections"};
  }
  return std::nullopt;
}

std::string client_session::subject() const {
  return "C-" + std::to_string(id_) + " " + (user_.empty() ? "?" : user_) + "@" + peer_;
}

void client_session::close_if_idle() {
  if (busy_ || backend_) return;
  if (!served_command_ && pool::clock::now() - accepted_at_ < drain_grace_for_new_clients) return;
  error_code ignored;
  socket_.close(ignored);
}

void client_session::force_close() {
  error_code ignored;
  socket_.close(ignored);
  if (backend_) backend_->conn->socket.close(ignored);
}

awaitable<void> client_session::run() {
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer login_deadline(executor);
  login_deadline.expires_after(login_timeout);
  auto login = co_await (handshake() || login_deadline.async_wait(use_nothrow));
  if (login.index() == 1) {
    log(log_level::info, subject(), "close reason=login_timeout");
    co_return;
  }
  if (!std::get<0>(login)) co_return;
  log(log_level::info, subject(), "login");
  last_activity_ = pool::clock::now();
  co_await command_loop();
  if (backend_) co_await end_lease(true);
  log(log_level::info, subject(), "close reason=client_quit");
}

// ---- Handshake and authentication ----------------------------------------------------------

awaitable<bool> client_session::handshake() {
  scramble_ = protocol::generate_scramble();
  protocol::handshake_v10 greeting;
  greeting.server_version = context_.pool->server_version().empty()
                                ? std::string("5.7.99-sluice-") + SLUICE_VERSION
                                : context_.pool->server_version();
  greeting.connection_id = id_;
  greeting.auth_plugin_data = scramble_;
  greeting.capabilities = offered_capabilities;
  greeting.character_set = default_collation;
  greeting.status_flags = status::autocommit;
  greeting.auth_plugin_name = std::string(native_plugin);
  out_.clear();
  protocol::encode_handshake_v10(greeting, out_);
  if (context_.draining) {
    // Refuse politely; a drained sluice accepts nothing new.
    co_await send_error(0, sluice_error::shutting_down, "08004", "sluice is shutting down");
    co_return false;
  }
  // Over a frontend limit: an ERR in place of the greeting, as MySQL does for 1040. It names
  // only this client's own address and the limit, nothing about other clients or the backend.
  if (auto refusal = refuse_before_login()) {
    co_await send_error(
        0, refusal->first,
        refusal->first == protocol::server_error::too_many_connections ? "08004" : "HY000",
        refusal->second);
    log(log_level::info, subject(), "reject reason=",
        refusal->first == protocol::server_error::too_many_connections ? "max_client_connections"
                                                                       : "per_address");
    co_return false;
  }
  if (!co_await send_payload(0)) co_return false;

  frame f;
  if (co_await reader_.next(socket_, f, max_login_packet)) co_return false;
  std::uint8_t sequence_id = static_cast<std::uint8_t>(f.sequence_id + 1);
  auto response = protocol::decode_handshake_response_41(f.payload);
  if (!response) {
    co_await send_error(sequence_id, protocol::server_error::access_denied, "08S01",
                        "Bad handshake");
    log(log_level::info, subject(), "close reason=bad_handshake");
    co_return false;
  }
  capabilities_ = response->capabilities & offered_capabilities;
  user_ = response->username;
  const std::string plugin =
      (capabilities_ & cap::plugin_auth) && !response->auth_plugin_name.empty()
          ? response->auth_plugin_name
          : std::string(native_plugin);
  if (!co_await authenticate(response->username, plugin, response->auth_response, sequence_id))
    co_return false;
  reset_session_vars((capabilities_ & cap::connect_with_db) ? response->database : "",
                     response->character_set ? response->character_set : default_collation);
  if (auto refusal = refuse_after_login()) {
    co_await send_error(sequence_id, refusal->first, "42000", refusal->second);
    log(log_level::info, subject(), "reject reason=per_user");
    co_return false;
  }
  authenticated_ = true;
  ++context_.connections_by_user[user_];
  tenant_ = context_.pool->tenant_of(user_);
  co_return co_await send_ok(sequence_id);
}

awaitable<bool> client_session::authenticate(std::string_view user, std::string_view plugin,
                                             std::string token, std::uint8_t& sequence_id) {
  const auto& users = context_.settings->users;
  // Copied out: a reload may replace the user list while this login awaits the client.
  const auto account = users.find(std::string(user));
  const bool known_user = account != users.end();
  // An unknown user goes through the same steps as a wrong password, so neither is told apart.
  const std::string password = known_user ? account->second : std::string();
  // The token must be for our scramble under a plugin sluice speaks. Otherwise (another plugin,
  // or a client whose data was prepared for a different plugin and so sent none) ask the client
  // to authenticate again with an AuthSwitchRequest, as MySQL servers do.
  std::string_view used_plugin = plugin == sha2_plugin ? sha2_plugin : native_plugin;
  const bool foreign_plugin = plugin != sha2_plugin && plugin != native_plugin;
  if (foreign_plugin || (token.empty() && !password.empty())) {
    out_.clear();
    protocol::encode_auth_switch_request({std::string(used_plugin), scramble_}, out_);
    if (!co_await send_payload(sequence_id)) co_return false;
    frame f;
    if (co_await reader_.next(socket_, f, max_login_packet)) co_return false;
    sequence_id = static_cast<std::uint8_t>(f.sequence_id + 1);
    token.assign(text_of(f.payload));
  }
  bool verified = false;
  if (used_plugin == sha2_plugin) {
    verified = protocol::verify_caching_sha2(password, scramble_, token);
    if (verified && known_user) {
      out_.assign({protocol::auth_more_data_header, 3});  // fast authentication succeeded
      if (!co_await send_payload(sequence_id++)) co_return false;
    }
  } else {
    verified = protocol::verify_native_password(password, scramble_, token);
  }
  if (!known_user) verified = false;
  if (!verified) {
    const std::string message = "Access denied for user '" + std::string(user) + "'@'" +
                                peer_.substr(0, peer_.rfind(':')) +
                                "' (using password: " + (token.empty() ? "NO" : "YES") + ")";
    co_await send_error(sequence_id, protocol::server_error::access_denied, "28000", message);
    context_.pool->metrics().rejected(metrics::rejection::auth_failed).Increment();
    log(log_level::info, subject(), "close reason=auth_failed");
    co_return false;
  }
  co_return true;
}

void client_session::reset_session_vars(std::string schema, std::uint16_t collation_id) {
  login_collation_ = collation_id;
  vars_ = session_vars{};
  vars_.schema = std::move(schema);
  vars_.charset = charset_vars::from_collation_id(collation_id);
  vars_.autocommit = true;
  vars_.multi_statements = (capabilities_ & cap::multi_statements) != 0;
  pins_.clear();
  logged_pin_ = pin_reason::none;
  // Like the server's: a reset or a change of user closes the client's prepared statements.
  statements_.clear();
  last_prepared_id_ = 0;
  cursor_statement_.reset();
  in_transaction_ = false;
  hold_for_next_ = false;
}

// ---- Commands --------------------------------------------------------------------------------

awaitable<void> client_session::command_loop() {
  for (;;) {
    if (context_.draining && !backend_ && served_command_) co_return;
    frame f;
    auto ec = co_await next_command(f);
    if (ec == asio::error::message_size) {
      co_await send_error(1, protocol::server_error::net_packet_too_large, "08S01",
                          "Got a packet bigger than 'max_allowed_packet' bytes");
      log(log_level::info, subject(), "close reason=packet_too_large");
      co_return;
    }
    if (ec) co_return;
    if (f.payload.empty()) {
      log(log_level::info, subject(), "close reason=malformed_command");
      co_return;
    }
    busy_ = true;
    command_started_ = pool::clock::now();
    kill_requested = false;
    const outcome result = co_await dispatch(f);
    busy_ = false;
    served_command_ = true;
    last_activity_ = pool::clock::now();
    if (result == outcome::close) co_return;
  }
}

awaitable<error_code> client_session::next_command(frame& f) {
  const std::size_t max_payload = context_.settings->max_allowed_packet;
  if (!(hold_for_next_ && backend_)) co_return co_await reader_.next(socket_, f, max_payload);
  // The backend is held only so that a follow-up SHOW WARNINGS sees this client's warnings; a
  // client that does not follow up promptly must not keep it from everyone else.
  asio::steady_timer hold(co_await asio::this_coro::executor);
  hold.expires_after(warnings_hold);
  auto first = co_await (reader_.next(socket_, f, max_payload) || hold.async_wait(use_nothrow));
  if (first.index() == 0) co_return std::get<0>(first);
  hold_for_next_ = false;
  if (pins_.reason() == pin_reason::none && !in_transaction_ &&
      context_.settings->pool_mode == pool_mode::transaction) {
    context_.pool->release(std::move(*backend_));
    backend_.reset();
  }
  co_return co_await reader_.next(socket_, f, max_payload);
}

awaitable<client_session::outcome> client_session::dispatch(const frame& f) {
  const auto cmd = static_cast<command>(f.payload[0]);
  const std::uint8_t reply_seq = static_cast<std::uint8_t>(f.sequence_id + 1);
  const statement_traits none{};
  switch (cmd) {
    case command::quit:
      co_return outcome::close;
    case command::ping:
      co_return co_await send_ok(reply_seq) ? outcome::keep_going : outcome::close;
    case command::query: {
      const std::string_view sql = text_of(f.payload.subspan(1));
      if (!(capabilities_ & cap::local_files) && is_load_local(sql)) {
        co_return co_await reply_error(reply_seq, protocol::server_error::not_allowed_command,
                                       "42000",
                                       "The used command is not allowed because the client did "
                                       "not enable LOCAL INFILE");
      }
      if (const kill_statement request = parse_kill(sql); request.is_kill)
        co_return co_await kill(request, reply_seq);
      const statement_traits traits = classify_statement(sql);
      co_return co_await forward(f, shape::query, traits);
    }
    case command::init_db:
      co_return co_await forward(f, shape::single, none);
    case command::field_list:
      co_return co_await forward(f, shape::field_list, none);
    case command::statistics:
      co_return co_await forward(f, shape::single, none);
    case command::set_option: {
      if (f.payload.size() != 3 || f.payload[2] != 0 || f.payload[1] > 1)
        co_return co_await reply_error(reply_seq, protocol::server_error::unknown_command, "08S01",
                                       "Unknown COM_SET_OPTION value");
      // Applied lazily: the restore before the next statement sets it on the backend.
      vars_.multi_statements = f.payload[1] == 0;
      co_return co_await send_eof(reply_seq) ? outcome::keep_going : outcome::close;
    }
    case command::reset_connection:
      co_return co_await reset_connection(reply_seq);
    case command::change_user:
      co_return co_await change_user(f);
    case command::stmt_prepare:
      co_return co_await prepare_statement(f);
    case command::stmt_execute:
      co_return co_await execute_statement(f);
    case command::stmt_fetch:
      co_return co_await fetch_statement(f);
    case command::stmt_reset:
      co_return co_await reset_statement(f);
    case command::stmt_close:
      co_return co_await close_statement(f);
    case command::stmt_send_long_data:
      co_return co_await send_long_data(f);
    default:
      co_return co_await reply_error(
          reply_seq, protocol::server_error::unknown_command, "08S01",
          "sluice does not support " + std::string(protocol::to_string(cmd)));
  }
}

awaitable<client_session::outcome> client_session::forward(const frame& f, shape s,
                                                           const statement_traits& traits) {
  const std::uint8_t reply_seq = static_cast<std::uint8_t>(f.sequence_id + 1);
  if (auto result = co_await prepare_backend(traits, reply_seq);
      result != outcome::keep_going || !backend_)
    co_return result;
  co_return co_await run_on_backend(f.wire, f.payload.size() == protocol::max_packet_payload, s,
                                    traits, reply_seq);
}

awaitable<client_session::outcome> client_session::prepare_backend(const statement_traits& traits,
                                                                   std::uint8_t sequence_id) {
  hold_for_next_ = false;
  // A statement that reads what the previous one left (warnings, FOUND_ROWS(), ROW_COUNT())
  // on a backend that ran someone else's statement must not see theirs.
  const bool clear_diagnostics = traits.reads_previous_statement && !backend_;
  if (!backend_) {
    if (auto result = co_await lease_backend(sequence_id);
        result != outcome::keep_going || !backend_)
      co_return result;
  }
  co_return co_await restore_session(traits.uses_last_insert_id, clear_diagnostics, sequence_id);
}

awaitable<client_session::outcome> client_session::run_on_backend(
    std::span<const std::uint8_t> wire, bool continues, shape s, const statement_traits& traits,
    std::uint8_t reply_seq) {
  backend_connection& b = *backend_->conn;
  auto ec = co_await write_all(b.socket, wire);
  if (!ec && continues) {
    // A command of 16 MiB or more continues in further frames.
    if (!co_await relay_client_frames_until_short(b)) ec = asio::error::broken_pipe;
  }
  if (ec) {
    log(log_level::warn, b.subject(), "close reason=backend_write_failed ", ec.message());
    backend_lost();
    co_return co_await reply_error(reply_seq, sluice_error::backend_lost, "08S01",
                                   "sluice: lost the backend connection before the statement ran");
  }
  b.scanner.start(s);
  auto& metrics = context_.pool->metrics();
  metrics.bytes_from_clients.Increment(static_cast<double>(wire.size()));
  const auto sent_at = pool::clock::now();
  const outcome result = co_await relay_response(reply_seq);
  metrics.statements.Increment();
  metrics.statement_seconds.Observe(
      std::chrono::duration<double>(pool::clock::now() - sent_at).count());
  if (result != outcome::keep_going || !backend_) co_return result;
  const bool untracked = !b.scanner.ended_with_error() &&
                         std::any_of(traits.effects.begin(), traits.effects.end(), [](auto& e) {
                           return e.what == statement_effect::kind::untracked_system_variable;
                         });
  after_response(traits, !untracked);
  if (untracked && backend_) co_await learn_untracked_variables(traits);
  co_return result;
}

awaitable<void> client_session::learn_untracked_variables(const statement_traits& traits) {
  // SET SESSION x = @@x changes nothing, but the tracker reports it, with the value.
  std::string sql;
  for (const statement_effect& e : traits.effects) {
    if (e.what != statement_effect::kind::untracked_system_variable) continue;
    sql += sql.empty() ? "SET SESSION " : ", ";
    sql += "`" + e.name + "`=@@session.`" + e.name + "`";
  }
  std::vector<std::uint8_t> framed;
  append_command(framed, command::query, sql);
  auto replies = co_await run_commands(*backend_->conn, framed, 1);
  if (!replies || (*replies)[0].error) {
    // What the client set is known only to this backend.
    log(log_level::info, subject(), "pin reason=session_variable (could not read back ", sql, ")");
    pins_.pin_until_reset(pin_reason::session_variable);
    if (!replies) backend_lost();
    co_return;
  }
  apply_session_state((*replies)[0].state_blobs, vars_);
  backend_vars& have = backend_->conn->vars;
  have.charset = vars_.charset;  // SET @@collation_connection moves the character set too
  have.system = vars_.system;
  release_if_free();
}

void client_session::release_if_free() {
  if (!backend_) return;
  const bool keep = context_.settings->pool_mode == pool_mode::session ||
                    pins_.reason() != pin_reason::none || in_transaction_ || hold_for_next_;
  if (keep) return;
  context_.pool->release(std::move(*backend_));
  backend_.reset();
}

void client_session::backend_lost() {
  context_.pool->discard(std::move(*backend_));
  backend_.reset();
  // What the client held there is gone with the connection.
  pins_.clear();
  cursor_statement_.reset();
  in_transaction_ = false;
}

awaitable<client_session::outcome> client_session::lease_backend(std::uint8_t sequence_id) {
  const auto started = pool::clock::now();
  waiting_since_ = started;
  auto leased = co_await context_.pool->acquire(backend_variant(), tenant_, socket_);
  waiting_since_.reset();
  if (leased) {
    backend_ = std::move(*leased);
    co_return outcome::keep_going;
  }
  const auto error = leased.error();
  if (error == asio::error::operation_aborted) {
    log(log_level::info, subject(), "close reason=client_left_queue");
    co_return outcome::close;
  }
  const auto waited =
      std::chrono::duration_cast<std::chrono::milliseconds>(pool::clock::now() - started).count();
  const auto& pool = *context_.pool;
  const auto& limits = pool.core().limits();
  std::uint16_t code = sluice_error::queue_timeout;
  std::string message;
  if (error == pool::pool_errc::queue_timeout) {
    message = "sluice: waited " + std::to_string(waited) + " ms for a backend of pool '" +
              pool.name() + "' (max_connections=" + std::to_string(limits.max_connections) +
              ", queue timeout " + std::to_string(limits.queue_timeout.count()) + " ms)";
  } else if (error == pool::pool_errc::queue_full) {
    code = sluice_error::queue_full;
    message = "sluice: too many statements wait for a backend of pool '" + pool.name() +
              "' (max_waiting=" + std::to_string(limits.max_waiting) + ")";
  } else if (error == pool::pool_errc::user_queue_full) {
    code = sluice_error::user_queue_full;
    message = "sluice: too many statements of user '" + user_ + "' wait for a backend of pool '" +
              pool.name() + "' (its max_waiting)";
  } else if (error == pool::pool_errc::backend_unavailable) {
    code = sluice_error::backend_unavailable;
    message = "sluice: the backend of pool '" + pool.name() + "' is unavailable (" +
              pool.last_connect_error() + ")";
  } else {
    code = sluice_error::shutting_down;
    message = "sluice is shutting down";
  }
  log(log_level::info, subject(), "reject reason=", error.message(), " waited_ms=", waited);
  co_return co_await reply_error(sequence_id, code, "HY000", message);
}

int client_session::backend_variant() const noexcept {
  return variant_of(capabilities_);
}

awaitable<client_session::outcome> client_session::restore_session(bool needs_last_insert_id,
                                                                   bool clear_diagnostics,
                                                                   std::uint8_t sequence_id) {
  backend_connection& b = *backend_->conn;
  auto plan = plan_restore(vars_, b.vars, needs_last_insert_id);
  if (plan.change_user) {
    context_.pool->metrics().resets.Increment();
    if (auto failure = co_await change_user_without_schema(b, context_.pool->login())) {
      log(log_level::warn, b.subject(), "close reason=change_user_failed ", *failure);
      context_.pool->discard(std::move(*backend_));
      backend_.reset();
      co_return co_await reply_error(sequence_id, sluice_error::backend_lost, "08S01",
                                     "sluice: could not prepare a backend session");
    }
    plan = plan_restore(vars_, b.vars, needs_last_insert_id);
  }
  if (plan.empty() && !clear_diagnostics) co_return outcome::keep_going;
  std::vector<std::uint8_t> framed;
  std::size_t replies = 0;
  std::optional<std::size_t> init_db_reply;
  if (plan.multi_statements) {
    // COM_SET_OPTION: 0 turns multi-statements on, 1 off.
    const char option[2] = {static_cast<char>(*plan.multi_statements ? 0 : 1), 0};
    append_command(framed, command::set_option, std::string_view(option, 2));
    ++replies;
  }
  if (plan.schema) {
    init_db_reply = replies;
    append_command(framed, command::init_db, *plan.schema);
    ++replies;
  }
  if (!plan.set_statement.empty()) {
    append_command(framed, command::query, plan.set_statement);
    ++replies;
  }
  if (clear_diagnostics) {
    // MariaDB resets the warning list only for statements that use a table (SET and DO 0 keep
    // it); information_schema.COLLATIONS is readable by every account.
    append_command(framed, command::query,
                   "DO (SELECT 1 FROM information_schema.COLLATIONS LIMIT 1)");
    ++replies;
  }
  context_.pool->metrics().restores.Increment();
  auto result = co_await run_commands(b, framed, replies);
  if (!result) {
    log(log_level::warn, b.subject(), "close reason=restore_failed ", result.error().message());
    context_.pool->discard(std::move(*backend_));
    backend_.reset();
    co_return co_await reply_error(sequence_id, sluice_error::backend_lost, "08S01",
                                   "sluice: lost the backend connection while preparing it");
  }
  for (std::size_t i = 0; i < result->size(); ++i) {
    const command_reply& reply = (*result)[i];
    if (!reply.error) continue;
    if (init_db_reply == i) {
      // The client's schema was dropped: the statement fails as it would on MySQL, and the
      // backend keeps its previous schema.
      b.vars.schema.reset();
    } else {
      // A value the server reported would not go back: what the session holds is unknown.
      log(log_level::warn, b.subject(), "close reason=restore_failed ", reply.error_message);
      backend_lost();
    }
    if (backend_ && pins_.reason() == pin_reason::none && !in_transaction_) {
      context_.pool->release(std::move(*backend_));
      backend_.reset();
    }
    co_return co_await reply_error(sequence_id, reply.error_code,
                                   reply.sql_state.empty() ? "HY000" : reply.sql_state,
                                   reply.error_message);
  }
  // The backend now holds exactly the client's state (tracker reports in these replies only
  // echo what sluice set, or were pending from the backend's previous statement).
  b.tracker_report_pending = false;
  b.vars.schema = vars_.schema;
  b.vars.charset = vars_.charset;
  b.vars.autocommit = vars_.autocommit;
  b.vars.multi_statements = vars_.multi_statements;
  b.vars.system = vars_.system;
  for (auto it = b.vars.user.begin(); it != b.vars.user.end();) {
    it = it->second == opaque_value ? std::next(it) : b.vars.user.erase(it);
  }
  for (const auto& [name, value] : vars_.user) b.vars.user[name] = value;
  if (needs_last_insert_id) b.vars.last_insert_id = vars_.last_insert_id;
  co_return outcome::keep_going;
}

awaitable<bool> client_session::relay_client_frames_until_short(backend_connection& b) {
  for (;;) {
    frame f;
    if (co_await reader_.next(socket_, f, protocol::max_packet_payload)) co_return false;
    auto ec = co_await write_all(b.socket, f.wire);
    if (ec) co_return false;
    if (f.payload.size() < protocol::max_packet_payload) co_return true;
  }
}

awaitable<bool> client_session::relay_local_infile(backend_connection& b) {
  // The client sends the file as packets and ends it with an empty one.
  for (;;) {
    frame f;
    if (co_await reader_.next(socket_, f, protocol::max_packet_payload)) co_return false;
    auto ec = co_await write_all(b.socket, f.wire);
    if (ec) co_return false;
    if (f.payload.empty()) co_return true;
  }
}

awaitable<client_session::outcome> client_session::relay_response(std::uint8_t sequence_id) {
  using state = protocol::response_scanner::state;
  backend_connection& b = *backend_->conn;
  bool forwarded_any = false;
  for (;;) {
    auto [read_ec, n] = co_await read_some(b.socket, b.buffer);
    if (read_ec) {
      log(log_level::warn, b.subject(), "close reason=backend_lost ", read_ec.message());
      backend_lost();
      if (forwarded_any) co_return outcome::close;  // the client got part of a response
      co_return co_await reply_error(sequence_id, sluice_error::backend_lost, "08S01",
                                     "sluice: lost the backend connection during the statement");
    }
    const std::size_t used = b.scanner.feed(std::span<const std::uint8_t>(b.buffer.data(), n));
    context_.pool->metrics().bytes_to_clients.Increment(static_cast<double>(used));
    auto write_ec =
        co_await write_all(socket_, std::span<const std::uint8_t>(b.buffer.data(), used));
    forwarded_any = true;
    const state st = b.scanner.current();
    if (write_ec) {
      // The client left mid-response: the backend is mid-response too, so it cannot be reused.
      if (st == state::done) {
        co_return outcome::close;
      }
      context_.pool->discard(std::move(*backend_));
      backend_.reset();
      co_return outcome::close;
    }
    if (used < n || st == state::malformed) {
      log(log_level::warn, b.subject(), "close reason=protocol_error used=", used, " n=", n,
          " state=", static_cast<int>(st));
      backend_lost();
      co_return outcome::close;
    }
    if (st == state::local_infile) {
      if (!co_await relay_local_infile(b)) {
        context_.pool->discard(std::move(*backend_));
        backend_.reset();
        co_return outcome::close;
      }
      b.scanner.resume_after_local_infile();
      continue;
    }
    if (st == state::done) co_return outcome::keep_going;
  }
}

void client_session::after_response(const statement_traits& traits, bool may_release) {
  backend_connection& b = *backend_->conn;
  const auto& scanner = b.scanner;
  const bool succeeded = !scanner.ended_with_error();
  // Pins first: unqualified temporary-table names resolve in the schema the statement began in.
  pins_.statement_finished(traits.effects, vars_.schema, succeeded);
  const std::uint16_t flags = scanner.status_flags();
  const bool was_in_transaction = in_transaction_;
  if (scanner.has_status()) {
    vars_.autocommit = (flags & status::autocommit) != 0;
    in_transaction_ = (flags & status::in_trans) != 0;
    if (was_in_transaction && !in_transaction_) context_.pool->metrics().transactions.Increment();
  }
  if (scanner.last_insert_id() != 0) vars_.last_insert_id = scanner.last_insert_id();
  const auto tracked = apply_session_state(scanner.session_state_blobs(), vars_);

  // User and system variables the statement set, on the client's side and the backend's.
  for (const statement_effect& e : traits.effects) {
    using kind = statement_effect::kind;
    if (e.what == kind::set_user_variable && succeeded) {
      if (e.value == "null") {
        vars_.user.erase(e.name);
      } else {
        vars_.user[e.name] = e.value;
      }
      b.vars.user[e.name] = e.value;
    } else if (e.what == kind::set_user_variable || e.what == kind::opaque_user_variable) {
      vars_.user.erase(e.name);
      b.vars.user[e.name] = std::string(opaque_value);
    } else if (e.what == kind::system_variable_default && succeeded) {
      vars_.system.erase(e.name);
    } else if (e.what == kind::names_collation && succeeded) {
      vars_.charset.values[3] = e.value;
    } else if (e.what == kind::sets_last_insert_id && scanner.last_insert_id() == 0) {
      // SELECT LAST_INSERT_ID(expr): the value is in a result set sluice does not decode.
      pins_.pin_until_reset(pin_reason::session_variable);
    }
  }
  if (tracked.pin != pin_reason::none) pins_.pin_until_reset(tracked.pin);
  if (scanner.session_state_lost()) pins_.pin_until_reset(pin_reason::session_state);
  if (tracked.transaction_characteristics)
    pins_.set_next_transaction_pending(!tracked.transaction_characteristics->empty() &&
                                       !in_transaction_);
  // The server says the session changed. If neither the statement's text nor the trackers tell
  // what changed (a stored procedure or function did it), the change cannot be replayed. An EOF
  // cannot say what changed; inside a transaction that is mostly the transaction-state tracker,
  // so only a change outside one counts. A report still pending from the backend's previous
  // statement cannot be told apart from this one's, so it is given the benefit of the doubt.
  const bool reports_pending = b.tracker_report_pending;
  b.tracker_report_pending = scanner.eof_state_changed();
  const bool unexplained = traits.effects.empty() && !tracked.reported_anything &&
                           (tracked.state_changed || (scanner.eof_state_changed() &&
                                                      !was_in_transaction && !in_transaction_));
  if (unexplained && !reports_pending && !schema_switch_expected_) {
    log(log_level::info, subject(),
        "pin reason=session_state (the server reported a change sluice cannot replay)");
    pins_.pin_until_reset(pin_reason::session_state);
  }

  // Compared before copied: no string copies per statement when nothing changed.
  if (b.vars.schema != vars_.schema) b.vars.schema = vars_.schema;
  if (b.vars.charset != vars_.charset) b.vars.charset = vars_.charset;
  b.vars.autocommit = vars_.autocommit;
  b.vars.multi_statements = vars_.multi_statements;
  if (b.vars.system != vars_.system) b.vars.system = vars_.system;
  if (scanner.last_insert_id() != 0 || tracked.last_insert_id_reported)
    b.vars.last_insert_id = vars_.last_insert_id;
  if (cursor_request_) {
    // The execute opened a cursor, or a fetch read to its end (the server then closes it).
    if (!fetching_ && (flags & status::cursor_exists)) {
      cursor_statement_ = cursor_request_;
    } else if (fetching_ && (flags & status::last_row_sent)) {
      cursor_statement_.reset();
    }
    pins_.set_cursor_open(cursor_statement_.has_value());
  }

  const pin_reason pin = pins_.reason();
  if (pin != logged_pin_) {
    if (pin == pin_reason::none) {
      log(log_level::debug, subject(), "unpin reason=", to_string(logged_pin_));
    } else {
      log(log_level::debug, subject(), "pin reason=", to_string(pin));
    }
    logged_pin_ = pin;
  }
  hold_for_next_ = scanner.warnings() > 0;
  if (may_release) release_if_free();
}

awaitable<void> client_session::end_lease(bool reset_first) {
  if (!backend_) co_return;
  const bool dirty = pins_.reason() != pin_reason::none || in_transaction_ || hold_for_next_ ||
                     context_.settings->pool_mode == pool_mode::session;
  if (reset_first && dirty) {
    context_.pool->metrics().resets.Increment();
    // Rolls back, and drops what the client left: variables, temporary tables, locks, statements.
    ++context_.resetting;
    const bool reset = co_await reset_session(*backend_->conn);
    --context_.resetting;
    if (!reset) {
      context_.pool->discard(std::move(*backend_));
      backend_.reset();
      co_return;
    }
  }
  context_.pool->release(std::move(*backend_));
  backend_.reset();
  pins_.clear();
  cursor_statement_.reset();
  in_transaction_ = false;
  hold_for_next_ = false;
}

awaitable<client_session::outcome> client_session::reset_connection(std::uint8_t sequence_id) {
  co_await end_lease(true);
  // Like the server: the default schema stays, everything else returns to the login state.
  reset_session_vars(vars_.schema, login_collation_);
  co_return co_await send_ok(sequence_id) ? outcome::keep_going : outcome::close;
}

awaitable<client_session::outcome> client_session::change_user(const frame& f) {
  auto request = protocol::decode_change_user(f.payload, capabilities_);
  std::uint8_t sequence_id = static_cast<std::uint8_t>(f.sequence_id + 1);
  if (!request) {
    co_await send_error(sequence_id, protocol::server_error::unknown_command, "08S01",
                        "Malformed COM_CHANGE_USER");
    co_return outcome::close;
  }
  co_await end_lease(true);
  const std::string plugin =
      request->auth_plugin_name.empty() ? std::string(native_plugin) : request->auth_plugin_name;
  user_ = request->username;
  if (!co_await authenticate(request->username, plugin, request->auth_response, sequence_id))
    co_return outcome::close;
  reset_session_vars(request->database,
                     request->character_set ? request->character_set : default_collation);
  log(log_level::info, subject(), "change_user");
  co_return co_await send_ok(sequence_id) ? outcome::keep_going : outcome::close;
}

// ---- Binary prepared statements ------------------------------------------------------------

std::string client_session::statement_cache_key(std::string_view sql) const {
  // A statement's parse depends on the default schema (table names), the character set of its
  // text and sql_mode (ANSI_QUOTES...): statements are shared between clients that agree on all.
  std::string key = vars_.schema;
  key += '\0';
  key += vars_.charset.values[0];
  key += '\0';
  if (auto it = vars_.system.find("sql_mode"); it != vars_.system.end()) key += it->second;
  key += '\0';
  key += sql;
  return key;
}

std::uint32_t client_session::statement_id_in(const frame& f) const {
  const auto id = protocol::statement_id_of(f.payload);
  if (!id) return 0;  // no statement has id 0
  // MariaDB's "the statement prepared last" (an id of -1), for prepare-and-execute pipelines.
  return *id == 0xFFFFFFFFu ? last_prepared_id_ : *id;
}

client_statement* client_session::find_statement(std::uint32_t id) {
  auto it = statements_.find(id);
  return it == statements_.end() ? nullptr : &it->second;
}

awaitable<bool> client_session::remember_statement(backend_connection& b, const std::string& key,
                                                   std::uint32_t id) {
  // COM_STMT_CLOSE has no reply: the statements the cache lets go are closed in one write.
  std::vector<std::uint8_t> closes;
  for (std::uint32_t old : b.statements.insert(key, id))
    append_statement_command(closes, command::stmt_close, old);
  co_return closes.empty() || !co_await write_all(b.socket, closes);
}

awaitable<client_session::outcome> client_session::unknown_statement(std::uint8_t sequence_id,
                                                                     std::uint32_t id,
                                                                     std::string_view command) {
  co_return co_await reply_error(sequence_id, protocol::server_error::unknown_stmt_handler, "HY000",
                                 "Unknown prepared statement handler (" + std::to_string(id) +
                                     ") given to " + std::string(command));
}

awaitable<bool> client_session::read_whole_response(shape s, std::vector<std::uint8_t>& out) {
  using state = protocol::response_scanner::state;
  backend_connection& b = *backend_->conn;
  b.scanner.start(s);
  for (;;) {
    auto [ec, n] = co_await read_some(b.socket, b.buffer);
    if (ec) co_return false;
    const std::size_t used = b.scanner.feed(std::span<const std::uint8_t>(b.buffer.data(), n));
    out.insert(out.end(), b.buffer.begin(), b.buffer.begin() + static_cast<std::ptrdiff_t>(used));
    const state st = b.scanner.current();
    if (used < n || st == state::malformed || st == state::local_infile) co_return false;
    if (st == state::done) co_return true;
  }
}

awaitable<client_session::outcome> client_session::prepare_statement(const frame& f) {
  const std::uint8_t reply_seq = static_cast<std::uint8_t>(f.sequence_id + 1);
  const std::string sql(text_of(f.payload.subspan(1)));
  if (f.payload.size() == protocol::max_packet_payload) {
    co_return co_await reply_error(reply_seq, protocol::server_error::net_packet_too_large, "08S01",
                                   "sluice: a statement to prepare must be under 16 MiB");
  }
  if (statements_.size() >= max_statements_per_client) {
    co_return co_await reply_error(reply_seq, protocol::server_error::too_many_statements, "42000",
                                   "Can't create more than max_prepared_stmt_count statements "
                                   "(current value: " +
                                       std::to_string(max_statements_per_client) + ")");
  }
  const statement_traits none{};
  if (auto result = co_await prepare_backend(none, reply_seq);
      result != outcome::keep_going || !backend_)
    co_return result;
  backend_connection& b = *backend_->conn;
  std::vector<std::uint8_t> response;
  context_.pool->metrics().statement_prepares.Increment();
  if (co_await write_all(b.socket, f.wire) ||
      !co_await read_whole_response(shape::prepare, response)) {
    log(log_level::warn, b.subject(), "close reason=backend_lost during prepare");
    backend_lost();
    co_return co_await reply_error(reply_seq, sluice_error::backend_lost, "08S01",
                                   "sluice: lost the backend connection during the prepare");
  }
  std::optional<std::uint32_t> client_id;
  if (!b.scanner.ended_with_error() && response.size() >= 4 + 9) {
    const auto header =
        protocol::decode_frame_header(std::span<const std::uint8_t, 4>(response.data(), 4));
    const auto ok = protocol::decode_stmt_prepare_ok(
        std::span<const std::uint8_t>(response).subspan(4, header.payload_length));
    if (ok) {
      client_statement statement;
      statement.sql = sql;
      statement.cache_key = statement_cache_key(sql);
      statement.schema = vars_.schema;
      statement.charset_client = vars_.charset.values[0];
      if (auto mode = vars_.system.find("sql_mode"); mode != vars_.system.end())
        statement.sql_mode = mode->second;
      statement.param_count = ok->num_params;
      statement.traits = classify_statement(sql);
      if (!co_await remember_statement(b, statement.cache_key, ok->statement_id)) {
        backend_lost();
        co_return outcome::close;
      }
      client_id = next_statement_id_++;
      if (next_statement_id_ == 0xFFFFFFFFu) next_statement_id_ = 1;
      statements_.emplace(*client_id, std::move(statement));
      last_prepared_id_ = *client_id;
      // The client knows the statement by sluice's id, never the backend's.
      protocol::set_statement_id(std::span<std::uint8_t>(response).subspan(4), *client_id);
    }
  }
  // Sequence ids: the backend answered a command sent with the client's own numbering.
  if (co_await write_all(socket_, response)) co_return outcome::close;
  context_.pool->metrics().bytes_to_clients.Increment(static_cast<double>(response.size()));
  after_response(none);
  co_return outcome::keep_going;
}

awaitable<backend_statement*> client_session::statement_on_backend(client_statement& statement,
                                                                   std::uint8_t sequence_id,
                                                                   outcome& result) {
  backend_connection& b = *backend_->conn;
  if (backend_statement* prepared = b.statements.find(statement.cache_key)) co_return prepared;
  // Prepared here for the first time: the server's answer (metadata the client already has) is
  // read and dropped. It is prepared in the context the client prepared it in; if the client has
  // changed schema, character set or sql_mode since, the backend goes there and back around it.
  std::string there, back;
  const auto mode = vars_.system.find("sql_mode");
  const std::optional<std::string> current_mode =
      mode == vars_.system.end() ? std::nullopt : std::optional<std::string>(mode->second);
  auto assign = [](std::string& sql, std::string_view name, const std::string& value_sql) {
    sql += sql.empty() ? "SET SESSION " : ", ";
    sql += name;
    sql += '=';
    sql += value_sql;
  };
  if (statement.charset_client != vars_.charset.values[0]) {
    assign(there, "character_set_client", charset_value_sql(statement.charset_client));
    assign(back, "character_set_client", charset_value_sql(vars_.charset.values[0]));
  }
  if (statement.sql_mode != current_mode) {
    assign(there, "sql_mode",
           statement.sql_mode ? sql_string_literal(*statement.sql_mode) : "DEFAULT");
    assign(back, "sql_mode", current_mode ? sql_string_literal(*current_mode) : "DEFAULT");
  }
  const bool other_schema = statement.schema != vars_.schema && !statement.schema.empty();
  std::vector<std::uint8_t> before, after;
  if (other_schema) {
    append_command(before, command::init_db, statement.schema);
    append_command(after, command::init_db, vars_.schema);
  }
  if (!there.empty()) {
    append_command(before, command::query, there);
    append_command(after, command::query, back);
  }
  const std::size_t switches = (other_schema ? 1 : 0) + (there.empty() ? 0 : 1);
  if (switches > 0) {
    auto replies = co_await run_commands(b, before, switches);
    if (!replies) {
      backend_lost();
      result = outcome::close;
      co_return nullptr;
    }
  }
  std::vector<std::uint8_t> framed;
  append_command(framed, command::stmt_prepare, statement.sql);
  context_.pool->metrics().statement_prepares.Increment();
  std::vector<std::uint8_t> response;
  const bool prepared_ok = !co_await write_all(b.socket, framed) &&
                           co_await read_whole_response(shape::prepare, response);
  const bool prepare_failed = prepared_ok && b.scanner.ended_with_error();
  const std::uint16_t error_code = b.scanner.error_code();
  const std::string sql_state = b.scanner.sql_state(), error_message = b.scanner.error_message();
  const std::uint32_t id = b.scanner.prepared_statement_id();
  if (prepared_ok && switches > 0) {
    auto replies = co_await run_commands(b, after, switches);
    bool fine = replies.has_value();
    if (fine) {
      for (const auto& reply : *replies) fine = fine && !reply.error;
    }
    if (!fine) {
      // The client's own context could not be put back: this backend cannot serve it.
      log(log_level::warn, b.subject(), "close reason=restore_failed after a lazy prepare");
      backend_lost();
      result = co_await reply_error(sequence_id, sluice_error::backend_lost, "08S01",
                                    "sluice: lost the backend session while preparing");
      co_return nullptr;
    }
  }
  if (!prepared_ok) {
    log(log_level::warn, b.subject(), "close reason=backend_lost during prepare");
    backend_lost();
    result = co_await reply_error(sequence_id, sluice_error::backend_lost, "08S01",
                                  "sluice: lost the backend connection during the prepare");
    co_return nullptr;
  }
  if (prepare_failed) {
    // E.g. a table was dropped since the client prepared: the execute fails as it would.
    result = co_await reply_error(sequence_id, error_code, sql_state.empty() ? "HY000" : sql_state,
                                  error_message);
    if (backend_ && pins_.reason() == pin_reason::none && !in_transaction_) {
      context_.pool->release(std::move(*backend_));
      backend_.reset();
    }
    co_return nullptr;
  }
  if (!co_await remember_statement(b, statement.cache_key, id)) {
    backend_lost();
    result = outcome::close;
    co_return nullptr;
  }
  co_return b.statements.find(statement.cache_key);
}

awaitable<client_session::outcome> client_session::execute_statement(const frame& f) {
  const std::uint8_t reply_seq = static_cast<std::uint8_t>(f.sequence_id + 1);
  const std::uint32_t client_id = statement_id_in(f);
  client_statement* statement = find_statement(client_id);
  if (!statement) co_return co_await unknown_statement(reply_seq, client_id, "mysqld_stmt_execute");
  const auto head = protocol::decode_stmt_execute(f.payload, statement->param_count);
  const bool continues = f.payload.size() == protocol::max_packet_payload;
  if (!head || (continues && statement->param_count > 0 && !head->new_params_bound)) {
    co_return co_await reply_error(reply_seq, protocol::server_error::unknown_command, "08S01",
                                   "Malformed COM_STMT_EXECUTE");
  }
  if (head->new_params_bound) statement->param_types.assign(head->types.begin(), head->types.end());
  // A copy: the statement table may change while this coroutine waits (it does not today, but a
  // reference into it must not outlive a lease).
  const statement_traits traits = statement->traits;
  if (auto result = co_await prepare_backend(traits, reply_seq);
      result != outcome::keep_going || !backend_)
    co_return result;
  statement = find_statement(client_id);
  if (!statement) co_return outcome::close;
  outcome result = outcome::keep_going;
  backend_statement* prepared = co_await statement_on_backend(*statement, reply_seq, result);
  if (!prepared) co_return result;
  // Re-executing closes the cursor the statement had open.
  if (cursor_statement_ == client_id) {
    cursor_statement_.reset();
    pins_.set_cursor_open(false);
  }

  std::vector<std::uint8_t> wire;
  for (auto& chunk : statement->long_data) {
    protocol::set_statement_id(chunk, prepared->id);
    append_command(
        wire, command::stmt_send_long_data,
        std::string_view(reinterpret_cast<const char*>(chunk.data()) + 1, chunk.size() - 1));
  }
  statement->long_data.clear();
  statement->long_data_bytes = 0;
  const bool rebind = !head->new_params_bound && statement->param_count > 0 &&
                      prepared->bound_types != statement->param_types;
  std::vector<std::uint8_t> payload =
      protocol::rewrite_stmt_execute(f.payload, *head, prepared->id,
                                     rebind ? std::span<const std::uint8_t>(statement->param_types)
                                            : std::span<const std::uint8_t>());
  prepared->bound_types = statement->param_types;
  if (continues) {
    // Over 16 MiB: the first frame keeps its length; the client's further frames follow as sent.
    wire.insert(wire.end(), f.wire.begin(), f.wire.begin() + 4);
    wire.insert(wire.end(), payload.begin(), payload.end());
  } else {
    protocol::append_packets(wire, payload, f.sequence_id);
  }
  if (head->opens_cursor()) cursor_request_ = client_id;
  fetching_ = false;
  // The server runs a statement in the schema it was prepared in, switching there and back,
  // which it reports as a change of session state.
  schema_switch_expected_ = statement->schema != vars_.schema;
  const outcome ran = co_await run_on_backend(wire, continues, shape::query, traits, reply_seq);
  schema_switch_expected_ = false;
  cursor_request_.reset();
  co_return ran;
}

awaitable<client_session::outcome> client_session::fetch_statement(const frame& f) {
  const std::uint8_t reply_seq = static_cast<std::uint8_t>(f.sequence_id + 1);
  const std::uint32_t client_id = statement_id_in(f);
  client_statement* statement = find_statement(client_id);
  if (!statement) co_return co_await unknown_statement(reply_seq, client_id, "mysqld_stmt_fetch");
  backend_statement* prepared = backend_ && cursor_statement_ == client_id
                                    ? backend_->conn->statements.find(statement->cache_key)
                                    : nullptr;
  if (!prepared) {
    co_return co_await reply_error(
        reply_seq, protocol::server_error::no_open_cursor, "HY000",
        "The statement (" + std::to_string(client_id) + ") has no open cursor.");
  }
  std::vector<std::uint8_t> payload(f.payload.begin(), f.payload.end());
  protocol::set_statement_id(payload, prepared->id);
  std::vector<std::uint8_t> wire;
  protocol::append_packets(wire, payload, f.sequence_id);
  cursor_request_ = client_id;
  fetching_ = true;
  const outcome ran =
      co_await run_on_backend(wire, false, shape::fetch, statement_traits{}, reply_seq);
  cursor_request_.reset();
  fetching_ = false;
  co_return ran;
}

awaitable<client_session::outcome> client_session::reset_statement(const frame& f) {
  const std::uint8_t reply_seq = static_cast<std::uint8_t>(f.sequence_id + 1);
  const std::uint32_t client_id = statement_id_in(f);
  client_statement* statement = find_statement(client_id);
  if (!statement) co_return co_await unknown_statement(reply_seq, client_id, "mysqld_stmt_reset");
  statement->long_data.clear();
  statement->long_data_bytes = 0;
  if (backend_ && cursor_statement_ == client_id) {
    // Its cursor is open on the held backend: the server closes it.
    if (backend_statement* prepared = backend_->conn->statements.find(statement->cache_key)) {
      std::vector<std::uint8_t> payload(f.payload.begin(), f.payload.end());
      protocol::set_statement_id(payload, prepared->id);
      std::vector<std::uint8_t> wire;
      protocol::append_packets(wire, payload, f.sequence_id);
      cursor_statement_.reset();
      pins_.set_cursor_open(false);
      co_return co_await run_on_backend(wire, false, shape::single, statement_traits{}, reply_seq);
    }
  }
  // Nothing of it lives on a backend between executes: the reset is sluice's alone.
  co_return co_await send_ok(reply_seq) ? outcome::keep_going : outcome::close;
}

awaitable<client_session::outcome> client_session::close_statement(const frame& f) {
  // COM_STMT_CLOSE has no reply. The backend statements stay cached for other clients.
  const std::uint32_t client_id = statement_id_in(f);
  auto it = statements_.find(client_id);
  if (it == statements_.end()) co_return outcome::keep_going;
  if (backend_ && cursor_statement_ == client_id) {
    // Close the cursor with a reset of the backend statement, which stays cached.
    if (backend_statement* prepared = backend_->conn->statements.find(it->second.cache_key)) {
      std::vector<std::uint8_t> framed;
      append_statement_command(framed, command::stmt_reset, prepared->id);
      auto replies = co_await run_commands(*backend_->conn, framed, 1);
      if (!replies) {
        backend_lost();
      }
    }
    cursor_statement_.reset();
    pins_.set_cursor_open(false);
    if (backend_ && pins_.reason() == pin_reason::none && !in_transaction_ &&
        context_.settings->pool_mode == pool_mode::transaction) {
      context_.pool->release(std::move(*backend_));
      backend_.reset();
    }
  }
  statements_.erase(it);
  co_return outcome::keep_going;
}

awaitable<client_session::outcome> client_session::send_long_data(const frame& f) {
  // No reply: the data waits in sluice until the execute, which sends it to whichever backend
  // runs the statement. Too much of it fails that execute, as the server's own limit would.
  client_statement* statement = find_statement(statement_id_in(f));
  if (!statement || f.payload.size() < 7) co_return outcome::keep_going;
  if (f.payload.size() == protocol::max_packet_payload) {
    log(log_level::info, subject(), "close reason=long_data_chunk_too_large");
    co_return outcome::close;
  }
  statement->long_data_bytes += f.payload.size();
  if (statement->long_data_bytes > context_.settings->max_allowed_packet) {
    log(log_level::info, subject(), "close reason=long_data_over_max_allowed_packet");
    co_return outcome::close;
  }
  statement->long_data.emplace_back(f.payload.begin(), f.payload.end());
  co_return outcome::keep_going;
}

// ---- KILL ----------------------------------------------------------------------------------

void client_session::kill_connection(std::string_view by) {
  log(log_level::info, subject(), "close reason=killed by=", by);
  if (busy_ && backend_) context_.pool->kill_query(backend_->conn->server_thread_id);
  error_code ignored;
  socket_.close(ignored);
}

awaitable<client_session::outcome> client_session::kill(const kill_statement& request,
                                                        std::uint8_t sequence_id) {
  if (!request.supported) {
    co_return co_await reply_error(
        sequence_id, protocol::server_error::not_supported_yet, "42000",
        "sluice supports only KILL [CONNECTION | QUERY] <connection id>");
  }
  client_session* target = nullptr;
  for (client_session* s : context_.sessions) {
    if (s->id_ == request.id && s->authenticated_) target = s;
  }
  if (!target) {
    co_return co_await reply_error(sequence_id, protocol::server_error::no_such_thread, "HY000",
                                   "Unknown thread id: " + std::to_string(request.id));
  }
  if (target->user_ != user_) {
    co_return co_await reply_error(sequence_id, protocol::server_error::kill_denied, "HY000",
                                   "You are not owner of thread " + std::to_string(request.id));
  }
  if (request.query_only) {
    if (target != this && target->busy_ && target->backend_) {
      log(log_level::info, target->subject(), "kill_query by=C-", id_, " backend=S-",
          target->backend_id());
      context_.pool->kill_query(target->backend_thread_id());
    }
    co_return co_await send_ok(sequence_id) ? outcome::keep_going : outcome::close;
  }
  if (target == this) {
    co_await send_error(sequence_id, protocol::server_error::connection_killed, "70100",
                        "Connection was killed");
    log(log_level::info, subject(), "close reason=killed by=self");
    co_return outcome::close;
  }
  target->kill_connection("C-" + std::to_string(id_));
  co_return co_await send_ok(sequence_id) ? outcome::keep_going : outcome::close;
}

// ---- Packets sluice writes itself -------------------------------------------------------------

std::uint16_t client_session::status_flags() const noexcept {
  std::uint16_t flags = 0;
  if (vars_.autocommit) flags |= status::autocommit;
  if (in_transaction_) flags |= status::in_trans;
  return flags;
}

awaitable<bool> client_session::send_payload(std::uint8_t sequence_id) {
  std::vector<std::uint8_t> framed;
  protocol::append_packets(framed, out_, sequence_id);
  co_return !co_await write_all(socket_, framed);
}

awaitable<bool> client_session::send_ok(std::uint8_t sequence_id) {
  out_.clear();
  protocol::ok_packet ok;
  ok.status_flags = status_flags();
  protocol::encode_ok(ok, capabilities_, out_);
  co_return co_await send_payload(sequence_id);
}

awaitable<bool> client_session::send_eof(std::uint8_t sequence_id) {
  out_.clear();
  protocol::encode_eof({0, status_flags()}, capabilities_, out_);
  co_return co_await send_payload(sequence_id);
}

awaitable<client_session::outcome> client_session::reply_error(std::uint8_t sequence_id,
                                                               std::uint16_t code,
                                                               std::string_view state,
                                                               std::string_view message) {
  co_return co_await send_error(sequence_id, code, state, message) ? outcome::keep_going
                                                                   : outcome::close;
}

awaitable<bool> client_session::send_error(std::uint8_t sequence_id, std::uint16_t code,
                                           std::string_view state, std::string_view message) {
  out_.clear();
  protocol::encode_err({code, std::string(state), std::string(message)},
                       capabilities_ | cap::protocol_41, out_);
  co_return co_await send_payload(sequence_id);
}

}  // namespace sluice::proxy
