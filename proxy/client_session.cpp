// A client session's state, its lease on a backend, and the operations commands are served with.
#include "proxy/client_session.h"

#include <algorithm>
#include <cassert>
#include <charconv>

#include "protocol/constants.h"
#include "proxy/account_directory.h"
#include "proxy/backend_commands.h"
#include "proxy/backend_relay.h"
#include "proxy/log.h"
#include "proxy/session_restore.h"
#include "proxy/socket_io.h"

namespace sluice::proxy {
namespace {

namespace status = protocol::server_status;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

// During a drain, how long a newly accepted client may take to log in and send its first command
// before it counts as idle and is closed.
constexpr auto drain_grace_for_new_clients = std::chrono::seconds(2);

}  // namespace

client_session::client_session(tcp::socket socket, proxy_context& context)
    : context_(context),
      id_(context.next_client_id++),
      client_(std::move(socket), &context.large_frames) {
  ++context_.connections_by_address[client_.address()];
  ++context_.clients_by_state[static_cast<std::size_t>(state_)];
  registration_ = context_.sessions.insert(context_.sessions.end(), this);
  metrics().client_connections.Increment();
}

client_session::~client_session() {
  --context_.clients_by_state[static_cast<std::size_t>(state_)];
  context_.sessions.erase(registration_);
  if (auto it = context_.connections_by_address.find(client_.address());
      it != context_.connections_by_address.end() && --it->second == 0)
    context_.connections_by_address.erase(it);
  if (authenticated()) {
    if (auto it = context_.connections_by_user.find(user_);
        it != context_.connections_by_user.end() && --it->second == 0)
      context_.connections_by_user.erase(it);
  }
  let_go_account();
}

void client_session::set_state(client_state next) {
  if (next == state_) return;
  assert(allowed_transition(state_, next));
  const auto now = pool::clock::now();
  --context_.clients_by_state[static_cast<std::size_t>(state_)];
  ++context_.clients_by_state[static_cast<std::size_t>(next)];
  if (next == client_state::active && state_ == client_state::idle) {
    command_started_ = now;
    kill_sent_ = false;
  }
  state_ = next;
  state_since_ = now;
}

void client_session::become_user(const std::string& user, std::optional<std::string> stage1) {
  if (authenticated()) {
    if (auto it = context_.connections_by_user.find(user_);
        it != context_.connections_by_user.end() && --it->second == 0)
      context_.connections_by_user.erase(it);
  }
  let_go_account();
  user_ = user;
  ++context_.connections_by_user[user_];
  tenant_ = pool().tenant_of(user_);
  if (stage1 && context_.accounts) {
    account_ = user;
    context_.accounts->hold(account_, std::move(*stage1));
  }
}

void client_session::let_go_account() {
  if (!account_.empty() && context_.accounts) context_.accounts->let_go(account_);
  account_.clear();
}

std::string client_session::subject() const {
  return "C-" + std::to_string(id_) + " " + (user_.empty() ? "?" : user_) + "@" + client_.peer();
}

milliseconds client_session::idle_for(pool::time_point now) const {
  if (state_ != client_state::idle) return milliseconds(0);
  return duration_cast<milliseconds>(now - state_since_);
}

milliseconds client_session::running_for(pool::time_point now) const {
  if (state_ != client_state::active && state_ != client_state::waiting) return milliseconds(0);
  return duration_cast<milliseconds>(now - command_started_);
}

milliseconds client_session::waited(pool::time_point now) const {
  if (state_ != client_state::waiting) return milliseconds(0);
  return duration_cast<milliseconds>(now - state_since_);
}

std::chrono::seconds client_session::wait_timeout() const {
  const auto& system = tracked_.vars.system;
  if (const auto it = system.find("wait_timeout"); it != system.end()) {
    std::uint64_t seconds = 0;
    const std::string& text = it->second;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec == std::errc() && end == text.data() + text.size())
      return std::chrono::seconds(static_cast<std::int64_t>(seconds));
  }
  // An interactive client that logged in before the server's values were known and has not run
  // a statement since idles for interactive_timeout, once it is known.
  const session::server_defaults& server = context_.pool->server_defaults();
  const bool interactive = interactive_timeout_pending_ && context_.pool->server_defaults_known();
  const std::uint64_t server_default =
      interactive ? server.interactive_timeout : server.wait_timeout;
  return std::chrono::seconds(static_cast<std::int64_t>(server_default));
}

void client_session::start_session_timeouts() {
  interactive_timeout_pending_ = false;
  if (!(client_.capabilities & protocol::capability::interactive)) return;
  if (!pool().server_defaults_known()) {
    interactive_timeout_pending_ = true;
    return;
  }
  const session::server_defaults& server = pool().server_defaults();
  if (server.interactive_timeout == server.wait_timeout) return;
  tracked_.vars.system["wait_timeout"] = std::to_string(server.interactive_timeout);
}

// ---- The backend -------------------------------------------------------------------------------

bool client_session::may_release() const noexcept {
  return settings().pool_mode == pool_mode::transaction && !tracked_.holds_backend_state();
}

void client_session::release_if_free() {
  if (!backend_ || !may_release()) return;
  pool().release(std::move(*backend_));
  backend_.reset();
}

void client_session::drop_backend(std::string_view reason) {
  if (!backend_) return;
  log(log_level::warn, backend_->conn->subject(), "close reason=", reason, " client=C-", id_);
  pool().discard(std::move(*backend_));
  backend_.reset();
  if (tracked_.in_transaction || tracked_.pins.reason() != sql::pin_reason::none)
    lost_backend_state_ = true;
  tracked_.forget_backend_state();
}

awaitable<void> client_session::end_lease() {
  if (!backend_) co_return;
  const bool dirty = tracked_.holds_backend_state() || settings().pool_mode == pool_mode::session;
  if (dirty) {
    metrics().resets.Increment();
    // Rolls back, and drops what the client left: variables, temporary tables, locks, statements.
    ++context_.resetting;
    const bool reset = co_await reset_session(*backend_->conn);
    --context_.resetting;
    if (!reset) {
      drop_backend("reset_failed");
      co_return;
    }
  }
  pool().release(std::move(*backend_));
  backend_.reset();
  tracked_.forget_backend_state();
}

awaitable<std::optional<acquire_failure>> client_session::lease_backend() {
  const auto started = pool::clock::now();
  set_state(client_state::waiting);
  const int variant = pool().variant_for(variant_of(client_.capabilities), account_);
  auto leased = co_await pool().acquire(variant, tenant_, client_.socket());
  set_state(client_state::active);
  if (!client_.is_open()) {
    // Closed while it waited (a timeout, KILL, the drain): a backend it got goes straight back.
    if (leased) pool().release(std::move(*leased));
    co_return acquire_failure{{}, true};
  }
  if (leased) {
    backend_ = std::move(*leased);
    fresh_lease_ = true;
    co_return std::nullopt;
  }
  const auto error = leased.error();
  if (error == asio::error::operation_aborted) {
    log(log_level::info, subject(), "close reason=client_left_queue");
    co_return acquire_failure{{}, true};
  }
  const auto waited_ms = duration_cast<milliseconds>(pool::clock::now() - started).count();
  const auto& limits = pool().core().limits();
  const std::string& pool_name = pool().name();
  acquire_failure failure{{sluice_error::queue_timeout, "HY000", ""}, false};
  error_reply& reply = failure.error;
  if (error == pool::pool_errc::queue_timeout) {
    reply.message = "sluice: waited " + std::to_string(waited_ms) + " ms for a backend of pool '" +
                    pool_name + "' (max_connections=" + std::to_string(limits.max_connections) +
                    ", queue timeout " + std::to_string(limits.queue_timeout.count()) + " ms)";
  } else if (error == pool::pool_errc::queue_full) {
    reply.code = sluice_error::queue_full;
    reply.message = "sluice: too many statements wait for a backend of pool '" + pool_name +
                    "' (max_waiting=" + std::to_string(limits.max_waiting) + ")";
  } else if (error == pool::pool_errc::user_queue_full) {
    reply.code = sluice_error::user_queue_full;
    reply.message = "sluice: too many statements of user '" + user_ +
                    "' wait for a backend of pool '" + pool_name + "' (its max_waiting)";
  } else if (error == pool::pool_errc::backend_unavailable) {
    reply.code = sluice_error::backend_unavailable;
    reply.message = "sluice: the backend of pool '" + pool_name + "' is unavailable (" +
                    pool().last_connect_error() + ")";
  } else {
    reply.code = sluice_error::shutting_down;
    reply.message = "sluice is shutting down";
  }
  log(log_level::info, subject(), "reject reason=", error.message(), " waited_ms=", waited_ms);
  co_return failure;
}

awaitable<std::optional<acquire_failure>> client_session::lease_and_restore(
    const command_context& command) {
  tracked_.hold_for_next = false;
  fresh_lease_ = false;
  // A statement that reads what the previous one left (warnings, FOUND_ROWS(), ROW_COUNT()) on a
  // backend that ran someone else's statement must not see theirs.
  const bool clear_diagnostics = command.traits.reads_previous_statement && !backend_;
  // A backend found dead by the restore (closed while it sat idle) is replaced once: nothing of
  // the client's command reached it.
  for (int attempt = 0;; ++attempt) {
    if (!backend_) {
      auto failed = co_await lease_backend();
      if (failed) co_return failed;
    }
    // A backend connection exists now, so the server's interactive_timeout is known; unless the
    // client set its own wait_timeout meanwhile.
    if (interactive_timeout_pending_) {
      interactive_timeout_pending_ = false;
      if (!tracked_.vars.system.contains("wait_timeout")) start_session_timeouts();
    }
    const restore_request request{tracked_.vars, command.traits.uses_last_insert_id,
                                  clear_diagnostics};
    // The account's login: the pool may have handed over an idle connection of another account,
    // which the restore moves to this one.
    const std::optional<backend_login> login = pool().login_for(account_);
    if (!login) {
      release_if_free();
      co_return acquire_failure{{sluice_error::backend_unavailable, "HY000",
                                 "sluice: no credentials held for account '" + account_ + "'"},
                                false};
    }
    const restore_result restored =
        co_await restore_session(*backend_->conn, request, *login, pool().collations());
    if (restored.switched_account) pool().count_account_switch();
    if (restored.changed_user && !restored.switched_account) metrics().resets.Increment();
    if (restored.round_trip) metrics().restores.Increment();
    if (restored.status == restore_status::done) co_return std::nullopt;
    if (restored.status == restore_status::statement_error) {
      release_if_free();
      co_return acquire_failure{restored.error, false};
    }
    const bool replaceable = fresh_lease_ && !tracked_.holds_backend_state() && attempt == 0;
    drop_backend("restore_failed");
    if (!replaceable) co_return acquire_failure{restored.error, false};
    metrics().statement_retries.Increment();
  }
}

awaitable<outcome> client_session::acquire_backend(const command_context& command) {
  const std::optional<acquire_failure> failed = co_await lease_and_restore(command);
  if (!failed) co_return outcome::keep_going;
  if (failed->client_gone) co_return outcome::close;
  co_return co_await reply_error(command.reply_seq, failed->error);
}

awaitable<outcome> client_session::run_on_backend(command_context& command,
                                                  std::span<const std::uint8_t> wire,
                                                  bool continues) {
  const std::size_t max_packet = protocol::max_packet_payload;
  for (int attempt = 0;; ++attempt) {
    backend_connection& b = *backend_->conn;
    bool sent = !co_await write_all(b.stream, wire);
    if (sent && continues) {
      // A command of 16 MiB or more continues in further frames.
      const std::size_t max_command = settings().max_allowed_packet;
      const frames_relayed rest =
          co_await relay_client_frames(client_, b, frames_end::short_frame, max_command);
      if (rest == frames_relayed::too_large) {
        // The backend got part of the command: it cannot serve anyone. As MySQL does, the
        // client gets 1153 and the connection ends.
        drop_backend("command_too_large");
        co_await reply_packet_too_large(command.reply_seq);
        co_return outcome::close;
      }
      sent = rest == frames_relayed::all;
    }
    relay_result relayed;
    if (sent) {
      b.scanner.start(command.shape);
      metrics().bytes_from_clients.Increment(static_cast<double>(wire.size()));
      const auto sent_at = pool::clock::now();
      relayed = co_await relay_response(client_, b, max_packet);
      metrics().statements.Increment();
      metrics().bytes_to_clients.Increment(static_cast<double>(relayed.bytes));
      metrics().statement_seconds.Observe(
          std::chrono::duration<double>(pool::clock::now() - sent_at).count());
    }
    const bool nothing_back =
        !sent || (relayed.end == relay_end::backend_lost && !relayed.forwarded_any);
    // A backend leased for this command that fails before answering anything was closed while
    // it sat idle (KILL, wait_timeout, a network drop): the command did not run there, so it
    // goes to another backend, once, unless the client held state on the dead one.
    if (nothing_back && (command.retryable || command.rebuilt_for_retry) && !continues &&
        attempt == 0 && may_retry_elsewhere()) {
      drop_backend("lost_before_reply");
      metrics().statement_retries.Increment();
      if (command.rebuilt_for_retry) {
        command.lost_before_reply = true;
        co_return outcome::keep_going;
      }
      const std::optional<acquire_failure> failed = co_await lease_and_restore(command);
      if (!failed) continue;
      if (failed->client_gone) co_return outcome::close;
      co_return co_await reply_error(command.reply_seq, failed->error);
    }
    if (!sent) {
      drop_backend("backend_write_failed");
      const error_reply lost{sluice_error::backend_lost, "08S01",
                             "sluice: lost the backend connection before the statement ran"};
      co_return co_await reply_error(command.reply_seq, lost);
    }
    switch (relayed.end) {
      case relay_end::complete:
        break;
      case relay_end::backend_lost: {
        drop_backend("backend_lost");
        if (relayed.forwarded_any) co_return outcome::close;  // the client got part of a response
        const error_reply lost{sluice_error::backend_lost, "08S01",
                               "sluice: lost the backend connection during the statement"};
        co_return co_await reply_error(command.reply_seq, lost);
      }
      case relay_end::client_lost:
        drop_backend("client_left_mid_response");
        co_return outcome::close;
      case relay_end::malformed:
        drop_backend("protocol_error");
        co_return outcome::close;
    }
    break;
  }
  backend_connection& b = *backend_->conn;
  const bool untracked =
      !b.scanner.ended_with_error() &&
      std::any_of(command.traits.effects.begin(), command.traits.effects.end(), [](auto& e) {
        return e.what == sql::statement_effect::kind::untracked_system_variable;
      });
  settle(command, !untracked);
  if (untracked && backend_) co_await learn_untracked_variables(command.traits);
  co_return outcome::keep_going;
}

awaitable<void> client_session::learn_untracked_variables(const sql::statement_traits& traits) {
  // SET SESSION x = @@x changes nothing, but the tracker reports it, with the value.
  std::string sql;
  for (const sql::statement_effect& e : traits.effects) {
    if (e.what != sql::statement_effect::kind::untracked_system_variable) continue;
    sql += sql.empty() ? "SET SESSION " : ", ";
    sql += "`" + e.name + "`=@@session.`" + e.name + "`";
  }
  std::vector<std::uint8_t> framed;
  append_command(framed, protocol::command::query, sql);
  auto replies = co_await run_commands(*backend_->conn, framed, 1);
  if (!replies || (*replies)[0].error) {
    // What the client set is known only to this backend.
    log(log_level::info, subject(), "pin reason=session_variable (could not read back ", sql, ")");
    tracked_.pins.pin_until_reset(sql::pin_reason::session_variable);
    if (!replies) drop_backend("backend_lost");
    co_return;
  }
  session::apply_session_state((*replies)[0].state_blobs, tracked_.vars);
  session::backend_vars& have = backend_->conn->vars;
  have.charset = tracked_.vars.charset;  // SET @@collation_connection moves the character set too
  have.system = tracked_.vars.system;
  release_if_free();
}

void client_session::settle(const command_context& command, bool may_release_now) {
  backend_connection& b = *backend_->conn;
  if (b.scanner.ended_with_error() &&
      protocol::server_error::closes_connection(b.scanner.error_code(), b.scanner.sql_state())) {
    // The server closes this connection after such an error: never pooled, nor used again.
    drop_backend("fatal_error");
    return;
  }
  const session::settled result = session::settle_response(
      tracked_, b.vars, b.tracker_report_pending, b.scanner, command.traits, command.facts);
  if (result.transaction_ended) metrics().transactions.Increment();
  if (result.unexplained_change)
    log(log_level::info, subject(),
        "pin reason=session_state (the server reported a change sluice cannot replay)");
  log_pin_change();
  if (may_release_now) release_if_free();
}

void client_session::log_pin_change() {
  const sql::pin_reason pin = tracked_.pins.reason();
  if (pin == logged_pin_) return;
  if (pin == sql::pin_reason::none) {
    log(log_level::debug, subject(), "unpin reason=", to_string(logged_pin_));
  } else {
    log(log_level::debug, subject(), "pin reason=", to_string(pin));
  }
  logged_pin_ = pin;
}

// ---- Replies -----------------------------------------------------------------------------------

std::uint16_t client_session::status_flags() const noexcept {
  std::uint16_t flags = 0;
  if (tracked_.vars.autocommit) flags |= status::autocommit;
  if (tracked_.in_transaction) flags |= status::in_trans;
  return flags;
}

awaitable<outcome> client_session::reply_ok(std::uint8_t sequence_id) {
  const std::uint16_t flags = status_flags();
  const bool sent = co_await client_.send_ok(sequence_id, flags);
  co_return sent ? outcome::keep_going : outcome::close;
}

awaitable<outcome> client_session::reply_eof(std::uint8_t sequence_id) {
  const std::uint16_t flags = status_flags();
  const bool sent = co_await client_.send_eof(sequence_id, flags);
  co_return sent ? outcome::keep_going : outcome::close;
}

awaitable<outcome> client_session::reply_error(std::uint8_t sequence_id, const error_reply& error) {
  const bool sent = co_await client_.send_error(sequence_id, error);
  co_return sent ? outcome::keep_going : outcome::close;
}

awaitable<void> client_session::reply_packet_too_large(std::uint8_t sequence_id) {
  const error_reply too_large{protocol::server_error::net_packet_too_large, "08S01",
                              "Got a packet bigger than 'max_allowed_packet' bytes"};
  co_await client_.send_error(sequence_id, too_large);
  log(log_level::info, subject(), "close reason=packet_too_large");
}

// ---- Ends and interventions --------------------------------------------------------------------

void client_session::close_for(std::string_view reason) {
  log(log_level::info, subject(), "close reason=", reason);
  kill_running_statement();
  client_.close();
}

bool client_session::kill_running_statement() {
  if (kill_sent_ || state_ != client_state::active || !backend_) return false;
  kill_sent_ = true;
  pool().kill_query(backend_->conn->server_thread_id, account_);
  return true;
}

void client_session::close_if_idle() {
  if (state_ == client_state::active || state_ == client_state::waiting || backend_) return;
  if (!served_command_ && pool::clock::now() - accepted_at_ < drain_grace_for_new_clients) return;
  client_.close();
}

void client_session::force_close() {
  client_.close();
  if (backend_) backend_->conn->stream.close();
}

}  // namespace sluice::proxy
