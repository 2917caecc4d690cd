// One client connection from handshake to close: authentication, then each command served on a
// pooled backend (leased per statement or transaction, or pinned) with its response streamed back.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "proxy/asio_types.h"
#include "proxy/backend_pool.h"
#include "proxy/frame_reader.h"
#include "proxy/prepared_statements.h"
#include "proxy/server_context.h"
#include "proxy/session_pins.h"
#include "proxy/session_state.h"
#include "proxy/statement_classifier.h"

namespace sluice::proxy {

// sluice's own error codes (MySQL leaves this range unused); SQLSTATE HY000 unless noted.
namespace sluice_error {
inline constexpr std::uint16_t queue_timeout = 7001;
inline constexpr std::uint16_t queue_full = 7002;
inline constexpr std::uint16_t backend_unavailable = 7003;
inline constexpr std::uint16_t backend_lost = 7004;
inline constexpr std::uint16_t shutting_down = 7005;
inline constexpr std::uint16_t too_many_from_address = 7006;
inline constexpr std::uint16_t user_queue_full = 7007;
}  // namespace sluice_error

// Serves one client until it leaves; the coroutine frame owns the session.
awaitable<void> serve_client(tcp::socket socket, server_context& context);

class client_session {
 public:
  client_session(tcp::socket socket, server_context& context);
  ~client_session();
  client_session(const client_session&) = delete;
  client_session& operator=(const client_session&) = delete;

  awaitable<void> run();
  // Drain: an idle client (no statement running, no backend held) is closed now. A client that
  // connected moments ago and has not run a command yet is not idle: it may log in and run its
  // first command (a restart with so_reuseport must not fail connections already accepted).
  void close_if_idle();
  // Drain timeout: close the client whatever it is doing.
  void force_close();
  // A timeout fired: close the client connection; its backend is reset and returned.
  void close_for(std::string_view reason);
  // Idle time since the last command ended (zero while one runs).
  std::chrono::milliseconds idle_for(pool::time_point now) const;
  // How long the current command has run (zero when idle).
  std::chrono::milliseconds running_for(pool::time_point now) const;
  bool in_transaction() const noexcept { return in_transaction_; }
  bool busy() const noexcept { return busy_; }
  // query_timeout: the backend statement is being killed (once per statement).
  bool kill_requested = false;

  std::uint32_t id() const noexcept { return id_; }
  const std::string& user() const noexcept { return user_; }
  const std::string& peer() const noexcept { return peer_; }
  // "idle" (between commands), "waiting" (for a backend) or "active" (a command is served).
  std::string_view state() const noexcept;
  bool waiting() const noexcept { return waiting_since_.has_value(); }
  std::chrono::milliseconds waited() const;
  pin_reason pinned() const noexcept { return pins_.reason(); }
  // KILL CONNECTION from another client: the statement under way is killed on its backend, and
  // the connection closed.
  void kill_connection(std::string_view by);
  bool holds_backend() const noexcept { return backend_.has_value(); }
  bool authenticated() const noexcept { return authenticated_; }
  std::chrono::system_clock::time_point connected_at() const noexcept { return connected_at_; }
  std::uint64_t backend_id() const noexcept { return backend_ ? backend_->conn->id : 0; }
  std::uint32_t backend_thread_id() const noexcept {
    return backend_ ? backend_->conn->server_thread_id : 0;
  }

 private:
  enum class outcome { keep_going, close };

  awaitable<bool> handshake();
  // [limits] checks before the greeting (connections, per address) and after login (per user).
  std::optional<std::pair<std::uint16_t, std::string>> refuse_before_login();
  std::optional<std::pair<std::uint16_t, std::string>> refuse_after_login();
  awaitable<bool> authenticate(std::string_view user, std::string_view plugin, std::string token,
                               std::uint8_t& sequence_id);
  awaitable<void> command_loop();
  awaitable<outcome> dispatch(const frame& f);
  awaitable<outcome> forward(const frame& f, protocol::response_scanner::shape shape,
                             const statement_traits& traits);
  // Leases a backend if the client holds none and restores the client's session on it.
  awaitable<outcome> prepare_backend(const statement_traits& traits, std::uint8_t sequence_id);
  // Sends `wire` (a command, possibly after commands without replies) to the held backend,
  // streams the response back and settles the lease. `continues`: the command's last frame was
  // a full one, so the client sends more frames.
  awaitable<outcome> run_on_backend(std::span<const std::uint8_t> wire, bool continues,
                                    protocol::response_scanner::shape shape,
                                    const statement_traits& traits, std::uint8_t sequence_id);
  // Binary prepared statements (COM_STMT_*), under sluice's own statement ids.
  awaitable<outcome> prepare_statement(const frame& f);
  awaitable<outcome> execute_statement(const frame& f);
  awaitable<outcome> fetch_statement(const frame& f);
  awaitable<outcome> reset_statement(const frame& f);
  awaitable<outcome> close_statement(const frame& f);
  awaitable<outcome> send_long_data(const frame& f);
  // The statement on the held backend, prepared there now if it was not; nullptr after an
  // error was sent to the client (or the backend was lost: then `result` says close or not).
  awaitable<backend_statement*> statement_on_backend(client_statement& statement,
                                                     std::uint8_t sequence_id, outcome& result);
  // Reads one whole response of the held backend into `out` (prepare responses are small).
  awaitable<bool> read_whole_response(protocol::response_scanner::shape shape,
                                      std::vector<std::uint8_t>& out);
  // The sluice statement id a statement command names (-1: the last prepared; 0: none).
  std::uint32_t statement_id_in(const frame& f) const;
  client_statement* find_statement(std::uint32_t id);
  // Records a statement prepared on `b` and closes there what its cache lets go; false if the
  // backend could not be written to.
  awaitable<bool> remember_statement(backend_connection& b, const std::string& key,
                                     std::uint32_t id);
  awaitable<outcome> unknown_statement(std::uint8_t sequence_id, std::uint32_t id,
                                       std::string_view command);
  std::string statement_cache_key(std::string_view sql) const;
  awaitable<outcome> kill(const kill_statement& request, std::uint8_t sequence_id);
  void backend_lost();
  awaitable<outcome> lease_backend(std::uint8_t sequence_id);
  awaitable<error_code> next_command(frame& f);
  awaitable<outcome> restore_session(bool needs_last_insert_id, bool clear_diagnostics,
                                     std::uint8_t sequence_id);
  awaitable<outcome> relay_response(std::uint8_t sequence_id);
  awaitable<bool> relay_client_frames_until_short(backend_connection& b);
  awaitable<bool> relay_local_infile(backend_connection& b);
  // Settles the client's state after a response; gives the backend back if nothing holds it
  // (unless `may_release` is false: the caller has more to do on it first).
  void after_response(const statement_traits& traits, bool may_release = true);
  void release_if_free();
  awaitable<void> learn_untracked_variables(const statement_traits& traits);
  awaitable<outcome> reset_connection(std::uint8_t sequence_id);
  awaitable<outcome> change_user(const frame& f);
  awaitable<void> end_lease(bool reset_first);
  void reset_session_vars(std::string schema, std::uint16_t collation_id);

  awaitable<bool> send_ok(std::uint8_t sequence_id);
  awaitable<bool> send_eof(std::uint8_t sequence_id);
  awaitable<bool> send_error(std::uint8_t sequence_id, std::uint16_t code, std::string_view state,
                             std::string_view message);
  // An ERR to the client; the session goes on unless the client is gone.
  awaitable<outcome> reply_error(std::uint8_t sequence_id, std::uint16_t code,
                                 std::string_view state, std::string_view message);
  awaitable<bool> send_payload(std::uint8_t sequence_id);
  std::uint16_t status_flags() const noexcept;
  int backend_variant() const noexcept;
  std::string subject() const;

 public:
  std::string subject_text() const { return subject(); }

 private:
  tcp::socket socket_;
  server_context& context_;
  std::uint32_t id_;
  std::string peer_;
  std::string user_;
  std::uint32_t capabilities_ = 0;
  std::string scramble_;
  std::uint16_t login_collation_ = 0;  // from the handshake (or COM_CHANGE_USER)
  frame_reader reader_;
  std::vector<std::uint8_t> out_;  // small packets sluice writes itself

  session_vars vars_;
  std::optional<lease> backend_;
  session_pins pins_;
  pin_reason logged_pin_ = pin_reason::none;  // the last pin reason logged
  std::unordered_map<std::uint32_t, client_statement> statements_;
  std::uint32_t next_statement_id_ = 1;
  std::uint32_t last_prepared_id_ = 0;  // for an execute with id -1 ("the last prepared")
  std::optional<std::uint32_t> cursor_statement_;  // the statement whose cursor is open
  // Set while an execute that asked for a cursor, or a fetch, runs.
  std::optional<std::uint32_t> cursor_request_;
  bool fetching_ = false;
  bool schema_switch_expected_ = false;  // an execute runs in another schema than the client's
  bool in_transaction_ = false;
  bool hold_for_next_ = false;  // the last statement left warnings a SHOW WARNINGS may read
  bool busy_ = false;           // a command is being served
  bool authenticated_ = false;
  // A command after login has been served (until then a drain leaves a new client alone).
  bool served_command_ = false;
  std::string address_;  // the peer's IP, for per-address limits
  int tenant_ = 0;       // the pool's queue and share for this client's user
  pool::time_point accepted_at_ = pool::clock::now();
  pool::time_point last_activity_ = pool::clock::now();
  pool::time_point command_started_{};
  std::optional<pool::time_point> waiting_since_;  // set while the statement waits for a backend
  std::chrono::system_clock::time_point connected_at_ = std::chrono::system_clock::now();
  std::list<client_session*>::iterator registration_;
};

}  // namespace sluice::proxy
