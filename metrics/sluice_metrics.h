// Every metric sluice exports, declared once with its type, labels and help text.
//
// Counters and histograms are updated where events happen; gauges of current state are set by
// the event loop's periodic refresh. prometheus-cpp's metrics are thread-safe, and the HTTP
// exposer serves scrapes from its own threads, so a scrape never waits on the event loop.
// Labels are bounded: pool, user (configured accounts only), reason, kind, state.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace sluice::metrics {

// Why a client or a statement was turned away (the `reason` label of rejections).
enum class rejection {
  max_client_connections,
  per_user,
  per_address,
  queue_full,
  queue_timeout,
  backend_unavailable,
  auth_failed,
  login_evicted,       // a connection still logging in closed to make room for a new one
  tls_failed,          // the client's TLS handshake failed (its certificate, version, ciphers)
  insecure_transport,  // a login without TLS under [tls] require_secure_transport
};
inline constexpr std::size_t rejection_count = 10;
std::string_view to_string(rejection r) noexcept;

// States a backend connection is counted in (`state` label of sluice_backends).
enum class backend_state { idle, active, opening, resetting, pinned };
inline constexpr std::size_t backend_state_count = 5;

// Pin reasons, as the statement classifier names them (`reason` label).
inline constexpr std::array<std::string_view, 13> pin_reasons = {
    "user_variable",  "temporary_table", "table_lock",   "named_lock",       "prepared_statement",
    "cursor",         "long_data",       "found_rows",   "session_variable", "next_transaction",
    "xa_transaction", "handler",         "session_state"};

// Backend close reasons (`reason` label of sluice_backend_closed_total).
inline constexpr std::array<std::string_view, 7> close_reasons = {
    "idle_timeout", "max_lifetime",     "variant_swap", "cap_lowered",
    "shutdown",     "reserve_returned", "broken"};
inline constexpr std::array<std::string_view, 7> timeout_kinds = {
    "client_idle", "idle_in_transaction", "query", "login", "client_read", "client_write", "wait"};

class sluice_metrics {
  // Declared first: the metric references below are built from them.
  std::shared_ptr<prometheus::Registry> registry_;
  std::string pool_;

 public:
  sluice_metrics(const std::string& pool, const std::string& version);

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

  // Traffic.
  prometheus::Counter& statements;    // commands forwarded to a backend
  prometheus::Counter& transactions;  // transactions that ended (commit or rollback)
  prometheus::Counter& bytes_from_clients;
  prometheus::Counter& bytes_to_clients;
  prometheus::Histogram& statement_seconds;  // from sending to the backend to the last byte
  // Clients.
  prometheus::Counter& client_connections;  // accepted connections
  prometheus::Counter& rejected(rejection r) { return *rejected_[static_cast<std::size_t>(r)]; }
  // Queue.
  prometheus::Histogram& queue_wait_seconds;  // every lease, 0 when a backend was idle
  prometheus::Counter& queue_timeouts;
  prometheus::Counter& queue_overflows;
  // Backends.
  prometheus::Counter& backend_connects;
  prometheus::Counter& backend_connect_failures;
  prometheus::Histogram& backend_connect_seconds;
  prometheus::Counter& backend_closed(std::string_view reason);
  prometheus::Counter& resets;              // COM_RESET_CONNECTION / COM_CHANGE_USER sluice sent
  prometheus::Counter& restores;            // state restores (one round trip each)
  prometheus::Counter& statement_prepares;  // COM_STMT_PREPARE sluice ran on a backend
  // Statements sent again on another backend because theirs was found dead before it answered
  // anything (killed or timed out while idle).
  prometheus::Counter& statement_retries;
  // Backend connections moved to another account by COM_CHANGE_USER ([auth] mode server).
  prometheus::Counter& account_switches;

  // Gauges of current state.
  prometheus::Gauge& backends(backend_state s) { return *backends_[static_cast<std::size_t>(s)]; }
  prometheus::Gauge& backend_max_connections;
  prometheus::Gauge& clients_connected;
  prometheus::Gauge& clients_active;
  prometheus::Gauge& clients_waiting;
  prometheus::Gauge& clients_pinned(std::string_view reason);
  prometheus::Gauge& waiting_by_user(const std::string& user);
  // Backend connections by the account they are logged in as. The first `max_account_labels`
  // accounts have a label value of their own; later ones share "other", so that the label's
  // values stay bounded whatever accounts log in.
  static constexpr std::size_t max_account_labels = 32;
  prometheus::Gauge& backends_of_account(const std::string& account);
  // Every account gauge made so far, to zero before a refresh.
  void zero_account_gauges();
  prometheus::Gauge& queue_max_waiting;
  prometheus::Gauge& queue_timeout_seconds;
  prometheus::Gauge& max_wait_seconds;  // how long the oldest waiting statement has waited
  prometheus::Gauge& paused;
  prometheus::Gauge& reserve_in_use;  // backends above max_connections, from the reserve
  // Clients closed or statements killed by a timeout (timeout_kinds).
  prometheus::Counter& timeouts(std::string_view kind);

 private:
  std::array<prometheus::Counter*, rejection_count> rejected_{};
  std::array<prometheus::Gauge*, backend_state_count> backends_{};
  std::map<std::string, prometheus::Counter*, std::less<>> closed_;
  std::map<std::string, prometheus::Gauge*, std::less<>> pinned_;
  std::map<std::string, prometheus::Counter*, std::less<>> timeouts_;
  prometheus::Family<prometheus::Gauge>* waiting_by_user_family_ = nullptr;
  std::map<std::string, prometheus::Gauge*, std::less<>> waiting_by_user_;
  prometheus::Family<prometheus::Gauge>* backends_by_account_family_ = nullptr;
  std::map<std::string, prometheus::Gauge*, std::less<>> backends_by_account_;
};

}  // namespace sluice::metrics
