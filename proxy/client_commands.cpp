// The command loop and the commands that are not prepared statements.
#include "proxy/client_commands.h"

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "protocol/constants.h"
#include "proxy/client_login.h"
#include "proxy/client_session.h"
#include "proxy/log.h"
#include "proxy/statement_commands.h"
#include "sql/statement_classifier.h"

namespace sluice::proxy {
namespace {

namespace cap = protocol::capability;
using shape = protocol::response_scanner::shape;
using protocol::command;

// How long a backend stays with a client whose statement left warnings, waiting for the
// client's next statement (typically SHOW WARNINGS).
constexpr auto warnings_hold = std::chrono::milliseconds(200);

std::string_view text_of(std::span<const std::uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// Leases a backend (restoring the session on it) and runs the client's frame there unchanged.
awaitable<outcome> forward(client_session& session, const frame& f, command_context& command) {
  command.retryable = true;  // the client's own bytes, valid on any backend
  const outcome acquired = co_await session.acquire_backend(command);
  if (acquired != outcome::keep_going || !session.holds_backend()) co_return acquired;
  const bool continues = f.payload.size() == protocol::max_packet_payload;
  co_return co_await session.run_on_backend(command, f.wire, continues);
}

// KILL [CONNECTION | QUERY] <sluice id>.
awaitable<outcome> kill(client_session& session, const sql::kill_statement& request,
                        std::uint8_t sequence_id) {
  if (!request.supported) {
    const error_reply unsupported{protocol::server_error::not_supported_yet, "42000",
                                  "sluice supports only KILL [CONNECTION | QUERY] <connection id>"};
    co_return co_await session.reply_error(sequence_id, unsupported);
  }
  client_session* target = nullptr;
  for (client_session* s : session.context().sessions) {
    if (s->id() == request.id && s->authenticated()) target = s;
  }
  if (!target) {
    const error_reply unknown{protocol::server_error::no_such_thread, "HY000",
                              "Unknown thread id: " + std::to_string(request.id)};
    co_return co_await session.reply_error(sequence_id, unknown);
  }
  if (target->user() != session.user()) {
    const error_reply denied{protocol::server_error::kill_denied, "HY000",
                             "You are not owner of thread " + std::to_string(request.id)};
    co_return co_await session.reply_error(sequence_id, denied);
  }
  if (request.query_only) {
    if (target != &session && target->kill_running_statement())
      log(log_level::info, target->subject(), "kill_query by=C-", session.id(), " backend=S-",
          target->backend_id());
    co_return co_await session.reply_ok(sequence_id);
  }
  if (target == &session) {
    const error_reply killed{protocol::server_error::connection_killed, "70100",
                             "Connection was killed"};
    co_await session.client().send_error(sequence_id, killed);
    log(log_level::info, session.subject(), "close reason=killed by=self");
    co_return outcome::close;
  }
  const std::string by = "killed by=C-" + std::to_string(session.id());
  target->close_for(by);
  co_return co_await session.reply_ok(sequence_id);
}

awaitable<outcome> query(client_session& session, const frame& f, std::uint8_t reply_seq) {
  const std::string_view sql = text_of(f.payload.subspan(1));
  if (!(session.client().capabilities & cap::local_files) && sql::is_load_local(sql)) {
    const error_reply refused{protocol::server_error::not_allowed_command, "42000",
                              "The used command is not allowed because the client did not "
                              "enable LOCAL INFILE"};
    co_return co_await session.reply_error(reply_seq, refused);
  }
  if (const sql::kill_statement request = sql::parse_kill(sql); request.is_kill)
    co_return co_await kill(session, request, reply_seq);
  command_context command{reply_seq, shape::query, sql::classify_statement(sql), {}};
  co_return co_await forward(session, f, command);
}

awaitable<outcome> reset_connection(client_session& session, std::uint8_t reply_seq) {
  co_await session.end_lease();
  // Like the server: the default schema stays, everything else returns to the login state.
  session::tracked_session& tracked = session.tracked();
  const std::string schema = tracked.vars.schema;
  tracked.start_over(schema, session.login_collation,
                     (session.client().capabilities & cap::multi_statements) != 0);
  co_return co_await session.reply_ok(reply_seq);
}

awaitable<outcome> dispatch(client_session& session, const frame& f) {
  const auto cmd = static_cast<command>(f.payload[0]);
  const std::uint8_t reply_seq = static_cast<std::uint8_t>(f.sequence_id + 1);
  switch (cmd) {
    case command::quit:
      co_return outcome::close;
    case command::ping:
      co_return co_await session.reply_ok(reply_seq);
    case command::query:
      co_return co_await query(session, f, reply_seq);
    case command::init_db:
    case command::statistics:
    case command::field_list: {
      const shape answer = cmd == command::field_list ? shape::field_list : shape::single;
      command_context command{reply_seq, answer, {}, {}};
      co_return co_await forward(session, f, command);
    }
    case command::set_option: {
      if (f.payload.size() != 3 || f.payload[2] != 0 || f.payload[1] > 1) {
        const error_reply unknown{protocol::server_error::unknown_command, "08S01",
                                  "Unknown COM_SET_OPTION value"};
        co_return co_await session.reply_error(reply_seq, unknown);
      }
      // Applied lazily: the restore before the next statement sets it on the backend.
      session.tracked().vars.multi_statements = f.payload[1] == 0;
      co_return co_await session.reply_eof(reply_seq);
    }
    case command::reset_connection:
      co_return co_await reset_connection(session, reply_seq);
    case command::change_user:
      co_return co_await change_user(session, f);
    case command::stmt_prepare:
      co_return co_await prepare_statement(session, f);
    case command::stmt_execute:
      co_return co_await execute_statement(session, f);
    case command::stmt_fetch:
      co_return co_await fetch_statement(session, f);
    case command::stmt_reset:
      co_return co_await reset_statement(session, f);
    case command::stmt_close:
      co_return co_await close_statement(session, f);
    case command::stmt_send_long_data:
      co_return co_await send_long_data(session, f);
    default: {
      const error_reply unsupported{
          protocol::server_error::unknown_command, "08S01",
          "sluice does not support " + std::string(protocol::to_string(cmd))};
      co_return co_await session.reply_error(reply_seq, unsupported);
    }
  }
}

// The next command; a backend held only for a follow-up SHOW WARNINGS goes back to the pool if
// the client does not send one promptly.
awaitable<error_code> next_command(client_session& session, frame& f) {
  const std::size_t max_payload = session.settings().max_allowed_packet;
  client_connection& client = session.client();
  if (!(session.tracked().hold_for_next && session.holds_backend()))
    co_return co_await client.next_command(f, max_payload);
  asio::steady_timer hold(co_await asio::this_coro::executor);
  hold.expires_after(warnings_hold);
  using namespace asio::experimental::awaitable_operators;
  auto first = co_await (client.next_command(f, max_payload) || hold.async_wait(use_nothrow));
  if (first.index() == 0) co_return std::get<0>(first);
  session.tracked().hold_for_next = false;
  session.release_if_free();
  co_return co_await client.next_command(f, max_payload);
}

awaitable<void> command_loop(client_session& session) {
  for (;;) {
    if (session.context().draining && !session.holds_backend() && session.served_a_command())
      co_return;
    frame f;
    const auto ec = co_await next_command(session, f);
    if (ec == asio::error::message_size) {
      co_await session.reply_packet_too_large(1);
      co_return;
    }
    if (ec) co_return;
    if (f.payload.empty()) {
      log(log_level::info, session.subject(), "close reason=malformed_command");
      co_return;
    }
    if (f.sequence_id != 0) {
      // A command starts at sequence id 0; anything else is a broken client, answered as MariaDB
      // answers it and never forwarded (the server would close the backend connection).
      const error_reply out_of_order{protocol::server_error::packets_out_of_order, "08S01",
                                     "Got packets out of order"};
      const auto reply_seq = static_cast<std::uint8_t>(f.sequence_id + 1);
      co_await session.client().send_error(reply_seq, out_of_order);
      log(log_level::info, session.subject(), "close reason=packets_out_of_order");
      co_return;
    }
    session.set_state(client_state::active);
    const outcome result = co_await dispatch(session, f);
    // A command sluice answered itself may still have frames coming: they are read and dropped,
    // never taken for commands.
    if (result == outcome::keep_going && session.client().command_continues()) {
      const std::size_t max_command = session.settings().max_allowed_packet;
      const auto rest = co_await session.client().discard_continuation(max_command);
      if (rest == asio::error::message_size) co_await session.reply_packet_too_large(1);
      if (rest) {
        session.set_state(client_state::idle);
        co_return;
      }
    }
    session.set_state(client_state::idle);
    session.command_served();
    if (result == outcome::close) co_return;
    if (session.lost_backend_state()) {
      log(log_level::info, session.subject(),
          "close reason=backend_state_lost (a transaction or pinned state died with its backend)");
      co_return;
    }
  }
}

}  // namespace

awaitable<void> serve_client(tcp::socket socket, proxy_context& context) {
  client_session session(std::move(socket), context);
  if (co_await log_in(session)) {
    co_await command_loop(session);
    session.set_state(client_state::closing);
    co_await session.end_lease();
    log(log_level::info, session.subject(), "close reason=client_quit");
  } else {
    session.set_state(client_state::closing);
  }
}

}  // namespace sluice::proxy
