// One client connection from accept to close: its state (one transition function), what sluice
// tracks of its session, and its lease on a backend (one rule for giving it back, one way of
// dropping a broken one). The commands themselves are served by client_commands,
// statement_commands and client_login, through the operations below.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "metrics/sluice_metrics.h"
#include "protocol/response_scanner.h"
#include "proxy/asio_types.h"
#include "proxy/backend_pool.h"
#include "proxy/client_connection.h"
#include "proxy/client_state.h"
#include "proxy/errors.h"
#include "proxy/proxy_context.h"
#include "session/tracked_session.h"
#include "sql/statement_classifier.h"

namespace sluice::proxy {

// Whether the session goes on after a command.
enum class outcome { keep_going, close };

// What one command carries through its service (never kept in the session between commands).
struct command_context {
  std::uint8_t reply_seq = 1;  // the sequence id of sluice's or the server's first reply packet
  protocol::response_scanner::shape shape = protocol::response_scanner::shape::query;
  sql::statement_traits traits;
  session::command_facts facts;
  // The command's bytes do not depend on the backend (no statement ids): if the backend it was
  // sent to turns out dead before answering, it may be sent to another one.
  bool retryable = false;
  // The command names a backend's statement (COM_STMT_EXECUTE): if the backend turns out dead
  // before answering, run_on_backend drops it, sets `lost_before_reply` and returns, and the
  // caller prepares the statement on another backend and sends the command again, once.
  bool rebuilt_for_retry = false;
  bool lost_before_reply = false;
};

// Why no backend could be had for a command: the error to answer, or the client left.
struct acquire_failure {
  error_reply error;
  bool client_gone = false;
};

class client_session {
 public:
  client_session(tcp::socket socket, proxy_context& context);
  ~client_session();
  client_session(const client_session&) = delete;
  client_session& operator=(const client_session&) = delete;

  // ---- State ----
  client_state state() const noexcept { return state_; }
  // The one function that moves the session between states (and keeps the per-state counts and
  // timestamps); an illegal move is a bug and asserts.
  void set_state(client_state next);
  std::uint32_t id() const noexcept { return id_; }
  // The authenticated user ("" until login succeeds).
  const std::string& user() const noexcept { return user_; }
  const std::string& peer() const noexcept { return client_.peer(); }
  // "C-<id> user@address" with the user escaped, for log lines.
  std::string subject() const;
  bool authenticated() const noexcept { return !user_.empty(); }
  // The user is now `user` (login or change of user): per-user counts, share and queue follow.
  // `stage1`: in [auth] mode server, what the login proved (SHA1(password)); the client's
  // statements then run as that account, whose credentials are held while it is logged in.
  void become_user(const std::string& user, std::optional<std::string> stage1 = std::nullopt);
  // The account the client's statements run as ("" for the configured backend user).
  const std::string& account() const noexcept { return account_; }
  bool served_a_command() const noexcept { return served_command_; }
  std::chrono::system_clock::time_point connected_at() const noexcept { return connected_at_; }
  pool::time_point accepted_at() const noexcept { return accepted_at_; }
  // Idle time since the last command ended (zero unless idle).
  std::chrono::milliseconds idle_for(pool::time_point now) const;
  // How long the current command has run (zero unless active or waiting).
  std::chrono::milliseconds running_for(pool::time_point now) const;
  // How long the current command has waited for a backend (zero unless waiting).
  std::chrono::milliseconds waited(pool::time_point now) const;
  // The client's own session wait_timeout: how long the server would let it idle before closing
  // it (the value it set, or what the server gives a new session).
  std::chrono::seconds wait_timeout() const;
  // At login and change of user: an interactive client's session starts with the server's
  // interactive_timeout as its wait_timeout, as the server does it. Before the first backend
  // connection has told sluice that value, it is applied at the client's first lease.
  void start_session_timeouts();

  // ---- What the session shares and holds ----
  proxy_context& context() noexcept { return context_; }
  const proxy_context& context() const noexcept { return context_; }
  const config& settings() const noexcept { return *context_.settings; }
  backend_pool& pool() noexcept { return *context_.pool; }
  metrics::sluice_metrics& metrics() noexcept { return context_.pool->metrics(); }
  client_connection& client() noexcept { return client_; }
  const client_connection& client() const noexcept { return client_; }
  session::tracked_session& tracked() noexcept { return tracked_; }
  const session::tracked_session& tracked() const noexcept { return tracked_; }
  std::uint16_t login_collation = 0;  // from the handshake or COM_CHANGE_USER, for resets
  std::string scramble;               // of the greeting; COM_CHANGE_USER answers it too

  // ---- The backend ----
  bool holds_backend() const noexcept { return backend_.has_value(); }
  backend_connection& backend() noexcept { return *backend_->conn; }
  std::uint64_t backend_id() const noexcept { return backend_ ? backend_->conn->id : 0; }
  // The account the held backend is logged in as ("" without one).
  const std::string& backend_account() const noexcept {
    static const std::string none;
    return backend_ ? backend_->conn->account : none;
  }
  std::uint32_t backend_thread_id() const noexcept {
    return backend_ ? backend_->conn->server_thread_id : 0;
  }
  // Leases a backend if the client holds none, and restores the client's session on it; the
  // failure, if any, is not answered (COM_STMT_SEND_LONG_DATA has no reply to carry it).
  awaitable<std::optional<acquire_failure>> lease_and_restore(const command_context& command);
  // The same, answering a failure: on keep_going without a backend, the client was answered.
  awaitable<outcome> acquire_backend(const command_context& command);
  // Whether a command that failed on the held backend before anything went back to the client
  // may go to another backend: the backend was leased for this command (so the client held no
  // transaction or pinned state on it) and holds none now.
  bool may_retry_elsewhere() const noexcept {
    return fresh_lease_ && !tracked_.holds_backend_state();
  }
  // Sends `wire` (a command, possibly after commands without replies) to the held backend,
  // streams the response back and settles the session. `continues`: the command's last frame
  // was a full one, so the client sends more frames.
  awaitable<outcome> run_on_backend(command_context& command, std::span<const std::uint8_t> wire,
                                    bool continues);
  // Settles the session after a response the backend's scanner read; gives the backend back when
  // the release rule allows (unless `may_release` is false: the caller has more to do on it).
  void settle(const command_context& command, bool may_release = true);
  // The release rule: transaction pooling, and the client holds nothing on the backend.
  bool may_release() const noexcept;
  void release_if_free();
  // The backend is broken or in an unknown state: it is closed, not pooled, and what the client
  // held there is gone with it. If that was a transaction or pinned state, the client's
  // connection is closed after the current command's reply, as a direct client's would be: its
  // next statements must not run, committed one by one, on another backend.
  void drop_backend(std::string_view reason);
  bool lost_backend_state() const noexcept { return lost_backend_state_; }
  // Ends the lease at a command boundary (reset, change of user, quit): resets the backend first
  // when the client left state on it, then hands it back.
  awaitable<void> end_lease();

  // ---- Replies sluice sends itself ----
  std::uint16_t status_flags() const noexcept;
  awaitable<outcome> reply_ok(std::uint8_t sequence_id);
  awaitable<outcome> reply_eof(std::uint8_t sequence_id);
  // An ERR to the client; the session goes on unless the client is gone.
  awaitable<outcome> reply_error(std::uint8_t sequence_id, const error_reply& error);
  // 1153: the command was larger than [sluice] max_allowed_packet (the connection then ends).
  awaitable<void> reply_packet_too_large(std::uint8_t sequence_id);

  // ---- Ends and interventions (admin port, upkeep, KILL, drain) ----
  // Closes the client connection with a logged reason; a running statement is killed on its
  // backend, and the backend is reset or closed when the session ends.
  void close_for(std::string_view reason);
  // query_timeout: kills the running statement on its backend, once per statement.
  bool kill_running_statement();
  // Drain: an idle client (no command running, no backend held) is closed now. A client that
  // connected moments ago and has not run a command yet is not idle: it may log in and run its
  // first command (a restart with so_reuseport must not fail connections already accepted).
  void close_if_idle();
  // Drain timeout: close the client and its backend whatever they are doing.
  void force_close();

  // Counts a served command (for the drain grace of new clients).
  void command_served() noexcept { served_command_ = true; }
  // Logs pin changes once per change.
  void log_pin_change();

 private:
  awaitable<std::optional<acquire_failure>> lease_backend();
  void let_go_account();
  // After SET @@x = ... (which MariaDB's tracker does not report): reads the values back.
  awaitable<void> learn_untracked_variables(const sql::statement_traits& traits);

  proxy_context& context_;
  std::uint32_t id_;
  client_connection client_;
  std::string user_;
  std::string account_;
  int tenant_ = 0;  // the pool's queue and share for this client's user
  client_state state_ = client_state::login;
  session::tracked_session tracked_;
  std::optional<lease> backend_;
  sql::pin_reason logged_pin_ = sql::pin_reason::none;
  bool served_command_ = false;
  bool kill_sent_ = false;  // the running statement's KILL QUERY went out
  bool lost_backend_state_ = false;
  bool fresh_lease_ = false;                  // the held backend was leased for the current command
  bool interactive_timeout_pending_ = false;  // start_session_timeouts ran before it was known
  pool::time_point accepted_at_ = pool::clock::now();
  pool::time_point state_since_ = accepted_at_;  // when the current state began
  pool::time_point command_started_{};
  std::chrono::system_clock::time_point connected_at_ = std::chrono::system_clock::now();
  std::list<client_session*>::iterator registration_;
};

}  // namespace sluice::proxy
