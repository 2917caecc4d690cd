// COM_STMT_PREPARE, _EXECUTE, _FETCH, _RESET, _CLOSE and _SEND_LONG_DATA, and the lazy prepare.
#include "proxy/statement_commands.h"

#include "protocol/constants.h"
#include "protocol/frame.h"
#include "protocol/stmt_command.h"
#include "protocol/stmt_prepare_ok.h"
#include "proxy/backend_commands.h"
#include "proxy/backend_relay.h"
#include "proxy/log.h"
#include "proxy/socket_io.h"
#include "session/restore_plan.h"

namespace sluice::proxy {
namespace {

using protocol::command;
using shape = protocol::response_scanner::shape;
using session::backend_statement;
using session::client_statement;

std::uint8_t reply_sequence(const frame& f) {
  return static_cast<std::uint8_t>(f.sequence_id + 1);
}

std::string_view text_of(std::span<const std::uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// A statement's parse depends on the default schema (table names), the character set of its text
// and sql_mode (ANSI_QUOTES...): statements are shared between clients that agree on all.
std::string statement_cache_key(const session::session_vars& vars, std::string_view sql) {
  std::string key = vars.schema;
  key += '\0';
  key += vars.charset.values[0];
  key += '\0';
  if (auto it = vars.system.find("sql_mode"); it != vars.system.end()) key += it->second;
  key += '\0';
  key += sql;
  return key;
}

// The client's statement command as the backend must get it: its statement id replaced by the
// backend's. A command of 16 MiB or more keeps its first frame's length (the client's further
// frames follow as sent).
std::vector<std::uint8_t> with_backend_id(const frame& f, std::span<const std::uint8_t> payload,
                                          std::uint32_t backend_id) {
  std::vector<std::uint8_t> rewritten(payload.begin(), payload.end());
  protocol::set_statement_id(rewritten, backend_id);
  if (f.payload.size() < protocol::max_packet_payload) {
    std::vector<std::uint8_t> wire;
    protocol::append_packets(wire, rewritten, f.sequence_id);
    return wire;
  }
  // The first frame's header as the client sent it, then the rewritten payload.
  rewritten.insert(rewritten.begin(), f.wire.begin(), f.wire.begin() + protocol::frame_header_size);
  return rewritten;
}

// The sluice statement id a statement command names (0: none, as no statement has that id).
std::uint32_t statement_id_in(client_session& session, const frame& f) {
  const auto id = protocol::statement_id_of(f.payload);
  if (!id) return 0;
  return session.tracked().statements.resolve(*id);
}

awaitable<outcome> unknown_statement(client_session& session, std::uint8_t sequence_id,
                                     std::uint32_t id, std::string_view command_name) {
  const error_reply unknown{protocol::server_error::unknown_stmt_handler, "HY000",
                            "Unknown prepared statement handler (" + std::to_string(id) +
                                ") given to " + std::string(command_name)};
  co_return co_await session.reply_error(sequence_id, unknown);
}

// Records a statement prepared on `b` and closes there what its cache lets go; false if the
// backend could not be written to.
awaitable<bool> remember_statement(backend_connection& b, const std::string& key,
                                   std::uint32_t id) {
  // COM_STMT_CLOSE has no reply: the statements the cache lets go are closed in one write.
  std::vector<std::uint8_t> closes;
  for (std::uint32_t old : b.statements.insert(key, id))
    append_statement_command(closes, command::stmt_close, old);
  co_return closes.empty() || !co_await write_all(b.stream, closes);
}

// The statement on the held backend, prepared there now if it was not (under a key of its own if
// another statement's long data waits in the shared one). The failure is not answered here (long
// data has no reply to carry it).
struct prepared_on_backend {
  backend_statement* statement = nullptr;
  std::optional<error_reply> error;  // to answer the client
  bool close = false;                // the backend was lost where no answer can go
  bool lost = false;  // `error` is the backend lost (nothing of it reached the client)
};

awaitable<prepared_on_backend> statement_on_backend(client_session& session,
                                                    std::uint32_t client_id,
                                                    client_statement& statement) {
  backend_connection& b = session.backend();
  // Long data waits in the backend statement until an execute uses it up: a statement must not
  // run with, or add to, the long data of another statement of the same text.
  session.tracked().statements.keep_apart_from_long_data(client_id);
  if (backend_statement* prepared = b.statements.find(statement.cache_key))
    co_return prepared_on_backend{prepared, std::nullopt, false};
  // Prepared here for the first time: the server's answer (metadata the client already has) is
  // read and dropped. It is prepared in the context the client prepared it in; if the client has
  // changed schema, character set or sql_mode since, the backend goes there and back around it.
  const session::session_vars& vars = session.tracked().vars;
  const session::collation_table& collations = session.pool().collations();
  std::string there, back;
  const auto mode = vars.system.find("sql_mode");
  const std::optional<std::string> current_mode =
      mode == vars.system.end() ? std::nullopt : std::optional<std::string>(mode->second);
  auto assign = [](std::string& sql, std::string_view name, const std::string& value_sql) {
    sql += sql.empty() ? "SET SESSION " : ", ";
    sql += name;
    sql += '=';
    sql += value_sql;
  };
  if (statement.charset_client != vars.charset.values[0]) {
    assign(there, "character_set_client",
           session::charset_value_sql(statement.charset_client, 0, collations));
    assign(back, "character_set_client",
           session::charset_value_sql(vars.charset.values[0], 0, collations));
  }
  if (statement.sql_mode != current_mode) {
    assign(there, "sql_mode",
           statement.sql_mode ? session::sql_string_literal(*statement.sql_mode) : "DEFAULT");
    assign(back, "sql_mode", current_mode ? session::sql_string_literal(*current_mode) : "DEFAULT");
  }
  const bool other_schema = statement.schema != vars.schema && !statement.schema.empty();
  std::vector<std::uint8_t> before, after;
  if (other_schema) {
    append_command(before, command::init_db, statement.schema);
    append_command(after, command::init_db, vars.schema);
  }
  if (!there.empty()) {
    append_command(before, command::query, there);
    append_command(after, command::query, back);
  }
  const std::size_t switches = (other_schema ? 1 : 0) + (there.empty() ? 0 : 1);
  const error_reply lost{sluice_error::backend_lost, "08S01",
                         "sluice: lost the backend connection while preparing the statement"};
  if (switches > 0) {
    auto replies = co_await run_commands(b, before, switches);
    if (!replies) {
      session.drop_backend("backend_lost");
      co_return prepared_on_backend{nullptr, lost, false, true};
    }
  }
  std::vector<std::uint8_t> framed;
  append_command(framed, command::stmt_prepare, statement.sql);
  session.metrics().statement_prepares.Increment();
  std::vector<std::uint8_t> response;
  const bool prepared_ok =
      !co_await write_all(b.stream, framed) && co_await read_response(b, shape::prepare, response);
  const bool prepare_failed = prepared_ok && b.scanner.ended_with_error();
  const error_reply refused{b.scanner.error_code(),
                            b.scanner.sql_state().empty() ? "HY000" : b.scanner.sql_state(),
                            b.scanner.error_message()};
  const std::uint32_t id = b.scanner.prepared_statement_id();
  if (prepared_ok && switches > 0) {
    auto replies = co_await run_commands(b, after, switches);
    bool fine = replies.has_value();
    if (fine) {
      for (const auto& reply : *replies) fine = fine && !reply.error;
    }
    if (!fine) {
      // The client's own context could not be put back: this backend cannot serve it.
      session.drop_backend("restore_failed after a lazy prepare");
      co_return prepared_on_backend{nullptr, lost, false, true};
    }
  }
  if (!prepared_ok) {
    session.drop_backend("backend_lost during prepare");
    co_return prepared_on_backend{nullptr, lost, false, true};
  }
  if (prepare_failed) {
    // E.g. a table was dropped since the client prepared: the execute fails as it would.
    session.release_if_free();
    co_return prepared_on_backend{nullptr, refused, false};
  }
  if (!co_await remember_statement(b, statement.cache_key, id)) {
    session.drop_backend("backend_lost");
    co_return prepared_on_backend{nullptr, std::nullopt, true};
  }
  co_return prepared_on_backend{b.statements.find(statement.cache_key), std::nullopt, false};
}

// Drops the long data a statement has on the held backend (COM_STMT_RESET has a reply there).
awaitable<void> drop_long_data(client_session& session, client_statement& statement) {
  if (!statement.long_data_on_backend) co_return;
  if (session.holds_backend()) {
    backend_connection& b = session.backend();
    if (backend_statement* prepared = b.statements.find(statement.cache_key)) {
      std::vector<std::uint8_t> framed;
      append_statement_command(framed, command::stmt_reset, prepared->id);
      auto replies = co_await run_commands(b, framed, 1);
      if (!replies) session.drop_backend("backend_lost");
    }
  }
  session.tracked().set_long_data(statement, false);
}

}  // namespace

awaitable<outcome> prepare_statement(client_session& session, const frame& f) {
  const std::uint8_t reply_seq = reply_sequence(f);
  const std::string sql(text_of(f.payload.subspan(1)));
  if (f.payload.size() == protocol::max_packet_payload) {
    const error_reply too_large{protocol::server_error::net_packet_too_large, "08S01",
                                "sluice: a statement to prepare must be under 16 MiB"};
    co_return co_await session.reply_error(reply_seq, too_large);
  }
  session::tracked_session& tracked = session.tracked();
  if (tracked.statements.full()) {
    const error_reply too_many{
        protocol::server_error::too_many_statements, "42000",
        "Can't create more than max_prepared_stmt_count statements (current value: " +
            std::to_string(session::statement_table::max_statements) + ")"};
    co_return co_await session.reply_error(reply_seq, too_many);
  }
  // Statement texts stay in sluice while the statement is open (for lazy prepares): bounded per
  // client, a clear error beyond, and the client's open statements keep working.
  const std::size_t limit = session.settings().client_statement_memory;
  if (limit > 0 && tracked.statements.bytes() + 2 * sql.size() > limit) {
    const error_reply too_much{sluice_error::client_memory, "HY000",
                               "sluice: this connection's prepared statements would hold more than "
                               "client_statement_memory (" +
                                   std::to_string(limit) +
                                   " bytes); close statements it no longer needs"};
    co_return co_await session.reply_error(reply_seq, too_much);
  }
  command_context command{reply_seq, shape::prepare, {}, {}};
  const outcome acquired = co_await session.acquire_backend(command);
  if (acquired != outcome::keep_going || !session.holds_backend()) co_return acquired;
  backend_connection& b = session.backend();
  std::vector<std::uint8_t> response;
  session.metrics().statement_prepares.Increment();
  const bool answered =
      !co_await write_all(b.stream, f.wire) && co_await read_response(b, shape::prepare, response);
  if (!answered) {
    session.drop_backend("backend_lost during prepare");
    const error_reply lost{sluice_error::backend_lost, "08S01",
                           "sluice: lost the backend connection during the prepare"};
    co_return co_await session.reply_error(reply_seq, lost);
  }
  if (!b.scanner.ended_with_error() && response.size() >= 4 + 9) {
    const auto header =
        protocol::decode_frame_header(std::span<const std::uint8_t, 4>(response.data(), 4));
    const auto ok = protocol::decode_stmt_prepare_ok(
        std::span<const std::uint8_t>(response).subspan(4, header.payload_length));
    if (ok) {
      const session::session_vars& vars = tracked.vars;
      client_statement statement;
      statement.sql = sql;
      statement.cache_key = statement_cache_key(vars, sql);
      statement.schema = vars.schema;
      statement.charset_client = vars.charset.values[0];
      if (auto mode = vars.system.find("sql_mode"); mode != vars.system.end())
        statement.sql_mode = mode->second;
      statement.param_count = ok->num_params;
      statement.traits = sql::classify_statement(sql);
      const std::string key = statement.cache_key;
      if (!co_await remember_statement(b, key, ok->statement_id)) {
        session.drop_backend("backend_lost");
        co_return outcome::close;
      }
      const std::optional<std::uint32_t> client_id = tracked.statements.add(std::move(statement));
      // The client knows the statement by sluice's id, never the backend's.
      if (client_id)
        protocol::set_statement_id(std::span<std::uint8_t>(response).subspan(4), *client_id);
    }
  }
  // Sequence ids: the backend answered a command sent with the client's own numbering.
  if (co_await session.client().write(response)) co_return outcome::close;
  session.metrics().bytes_to_clients.Increment(static_cast<double>(response.size()));
  session.settle(command);
  co_return outcome::keep_going;
}

awaitable<outcome> execute_statement(client_session& session, const frame& f) {
  const std::uint8_t reply_seq = reply_sequence(f);
  const std::uint32_t client_id = statement_id_in(session, f);
  session::tracked_session& tracked = session.tracked();
  client_statement* statement = tracked.statements.find(client_id);
  if (!statement)
    co_return co_await unknown_statement(session, reply_seq, client_id, "mysqld_stmt_execute");
  if (statement->long_data_error_code) {
    // Its long data could not be sent: the execute fails, as the server fails it.
    const error_reply failed{*statement->long_data_error_code, "HY000",
                             statement->long_data_error_message};
    statement->long_data_error_code.reset();
    co_await drop_long_data(session, *statement);
    co_return co_await session.reply_error(reply_seq, failed);
  }
  const auto head = protocol::decode_stmt_execute(f.payload, statement->param_count);
  const bool continues = f.payload.size() == protocol::max_packet_payload;
  if (!head || (continues && statement->param_count > 0 && !head->new_params_bound)) {
    const error_reply malformed{protocol::server_error::unknown_command, "08S01",
                                "Malformed COM_STMT_EXECUTE"};
    co_return co_await session.reply_error(reply_seq, malformed);
  }
  if (head->new_params_bound) statement->param_types.assign(head->types.begin(), head->types.end());
  // A backend that turns out dead before the execute ran there (closed while it sat idle: KILL,
  // wait_timeout, a network drop) is replaced once, as for COM_QUERY, when nothing went back to
  // the client and it held nothing there: the statement is prepared on the next backend lazily.
  for (int attempt = 0;; ++attempt) {
    command_context command{reply_seq, shape::query, statement->traits, {}};
    command.rebuilt_for_retry = attempt == 0 && !continues;
    const outcome acquired = co_await session.acquire_backend(command);
    if (acquired != outcome::keep_going || !session.holds_backend()) co_return acquired;
    const bool may_retry = command.rebuilt_for_retry && session.may_retry_elsewhere();
    // Looked up again: a reference into the table must not outlive a wait.
    statement = tracked.statements.find(client_id);
    if (!statement) co_return outcome::close;
    const prepared_on_backend on_backend =
        co_await statement_on_backend(session, client_id, *statement);
    if (on_backend.close) co_return outcome::close;
    if (on_backend.lost && may_retry) {
      session.metrics().statement_retries.Increment();
      continue;
    }
    if (on_backend.error) co_return co_await session.reply_error(reply_seq, *on_backend.error);
    backend_statement* prepared = on_backend.statement;
    // Re-executing closes the cursor the statement had open.
    tracked.close_cursor(client_id);
    // Long data already waits in the backend's statement (the client stayed pinned to it); the
    // execute uses it up.
    tracked.set_long_data(*statement, false);
    const bool rebind = !head->new_params_bound && statement->param_count > 0 &&
                        prepared->bound_types != statement->param_types;
    const std::span<const std::uint8_t> types =
        rebind ? std::span<const std::uint8_t>(statement->param_types)
               : std::span<const std::uint8_t>();
    const std::vector<std::uint8_t> payload =
        protocol::rewrite_stmt_execute(f.payload, *head, prepared->id, types);
    prepared->bound_types = statement->param_types;
    const std::vector<std::uint8_t> wire = with_backend_id(f, payload, prepared->id);
    if (head->opens_cursor()) command.facts.cursor_request = client_id;
    // The server runs a statement in the schema it was prepared in, switching there and back,
    // which it reports as a change of session state.
    command.facts.schema_switch_expected = statement->schema != tracked.vars.schema;
    const outcome ran = co_await session.run_on_backend(command, wire, continues);
    if (!command.lost_before_reply) co_return ran;
    // Dropped before answering (counted there): the dead backend's statement went with it.
    statement = tracked.statements.find(client_id);
    if (!statement) co_return outcome::close;
  }
}

awaitable<outcome> fetch_statement(client_session& session, const frame& f) {
  const std::uint8_t reply_seq = reply_sequence(f);
  const std::uint32_t client_id = statement_id_in(session, f);
  session::tracked_session& tracked = session.tracked();
  client_statement* statement = tracked.statements.find(client_id);
  if (!statement)
    co_return co_await unknown_statement(session, reply_seq, client_id, "mysqld_stmt_fetch");
  backend_statement* prepared = session.holds_backend() && tracked.cursor_statement == client_id
                                    ? session.backend().statements.find(statement->cache_key)
                                    : nullptr;
  if (!prepared) {
    const error_reply no_cursor{
        protocol::server_error::no_open_cursor, "HY000",
        "The statement (" + std::to_string(client_id) + ") has no open cursor."};
    co_return co_await session.reply_error(reply_seq, no_cursor);
  }
  const std::vector<std::uint8_t> wire = with_backend_id(f, f.payload, prepared->id);
  command_context command{reply_seq, shape::fetch, {}, {}};
  command.facts.cursor_request = client_id;
  command.facts.fetching = true;
  co_return co_await session.run_on_backend(command, wire, false);
}

awaitable<outcome> reset_statement(client_session& session, const frame& f) {
  const std::uint8_t reply_seq = reply_sequence(f);
  const std::uint32_t client_id = statement_id_in(session, f);
  session::tracked_session& tracked = session.tracked();
  client_statement* statement = tracked.statements.find(client_id);
  if (!statement)
    co_return co_await unknown_statement(session, reply_seq, client_id, "mysqld_stmt_reset");
  statement->long_data_error_code.reset();
  const bool cursor_open = tracked.cursor_statement == client_id;
  if (session.holds_backend() && (cursor_open || statement->long_data_on_backend)) {
    // Its cursor or its long data is on the held backend: the server resets it there.
    if (backend_statement* prepared = session.backend().statements.find(statement->cache_key)) {
      const std::vector<std::uint8_t> wire = with_backend_id(f, f.payload, prepared->id);
      tracked.close_cursor(client_id);
      tracked.set_long_data(*statement, false);
      command_context command{reply_seq, shape::single, {}, {}};
      co_return co_await session.run_on_backend(command, wire, false);
    }
  }
  tracked.set_long_data(*statement, false);
  // Nothing of it lives on a backend between executes: the reset is sluice's alone.
  co_return co_await session.reply_ok(reply_seq);
}

awaitable<outcome> close_statement(client_session& session, const frame& f) {
  // The backend statements stay cached for other clients.
  const std::uint32_t client_id = statement_id_in(session, f);
  session::tracked_session& tracked = session.tracked();
  client_statement* statement = tracked.statements.find(client_id);
  if (!statement) co_return outcome::keep_going;
  const bool cursor_open = tracked.cursor_statement == client_id;
  if (session.holds_backend() && (cursor_open || statement->long_data_on_backend)) {
    // Close the cursor and drop the long data with a reset of the backend statement, which stays
    // cached for other clients.
    statement->long_data_on_backend = true;
    co_await drop_long_data(session, *statement);
    tracked.close_cursor(client_id);
    session.release_if_free();
  }
  tracked.statements.erase(client_id);
  tracked.pins.set_long_data_pending(tracked.statements.long_data_on_backend());
  co_return outcome::keep_going;
}

awaitable<outcome> send_long_data(client_session& session, const frame& f) {
  // The data goes straight to a backend's statement, which keeps it until the execute: sluice
  // holds none of it, and the client keeps that backend (pin long_data) until the execute, a
  // reset or a close. There is no reply; a failure is answered by the execute.
  const std::uint32_t client_id = statement_id_in(session, f);
  client_statement* statement = session.tracked().statements.find(client_id);
  if (!statement || f.payload.size() < 7 || statement->long_data_error_code)
    co_return outcome::keep_going;
  const bool continues = f.payload.size() == protocol::max_packet_payload;
  command_context command{0, shape::single, {}, {}};
  const std::optional<acquire_failure> failed = co_await session.lease_and_restore(command);
  if (failed && failed->client_gone) co_return outcome::close;
  statement = session.tracked().statements.find(client_id);
  if (!statement) co_return outcome::close;
  std::optional<error_reply> error;
  if (failed) {
    error = failed->error;
  } else {
    const prepared_on_backend on_backend =
        co_await statement_on_backend(session, client_id, *statement);
    if (on_backend.close) co_return outcome::close;
    error = on_backend.error;
    if (!error) {
      const std::vector<std::uint8_t> wire =
          with_backend_id(f, f.payload, on_backend.statement->id);
      backend_connection& b = session.backend();
      bool sent = !co_await write_all(b.stream, wire);
      if (sent && continues) {
        const std::size_t max_command = session.settings().max_allowed_packet;
        const frames_relayed rest =
            co_await relay_client_frames(session.client(), b, frames_end::short_frame, max_command);
        if (rest == frames_relayed::too_large) {
          session.drop_backend("command_too_large");
          co_await session.reply_packet_too_large(1);
          co_return outcome::close;
        }
        sent = rest == frames_relayed::all;
      }
      if (!sent) {
        session.drop_backend("backend_lost");
        error = error_reply{sluice_error::backend_lost, "08S01",
                            "sluice: lost the backend connection while sending long data"};
      } else {
        session.tracked().set_long_data(*statement, true);
      }
    }
  }
  if (error) {
    statement->long_data_error_code = error->code;
    statement->long_data_error_message = error->message;
    log(log_level::info, session.subject(), "long_data_failed code=", error->code);
  }
  session.log_pin_change();
  co_return outcome::keep_going;
}

}  // namespace sluice::proxy
