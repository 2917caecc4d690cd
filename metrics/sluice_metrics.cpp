// The metric table: names, help texts, label sets and histogram buckets.
#include "metrics/sluice_metrics.h"

namespace sluice::metrics {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Registry;

// Seconds, from sub-millisecond (a hot pool) to the longest queue timeouts.
const prometheus::Histogram::BucketBoundaries wait_buckets = {
    0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
const prometheus::Histogram::BucketBoundaries statement_buckets = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
const prometheus::Histogram::BucketBoundaries connect_buckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

prometheus::Counter& counter(Registry& r, const char* name, const char* help,
                             const prometheus::Labels& labels) {
  return BuildCounter().Name(name).Help(help).Register(r).Add(labels);
}

prometheus::Gauge& gauge(Registry& r, const char* name, const char* help,
                         const prometheus::Labels& labels) {
  return BuildGauge().Name(name).Help(help).Register(r).Add(labels);
}

prometheus::Histogram& histogram(Registry& r, const char* name, const char* help,
                                 const prometheus::Labels& labels,
                                 const prometheus::Histogram::BucketBoundaries& buckets) {
  return BuildHistogram().Name(name).Help(help).Register(r).Add(labels, buckets);
}

}  // namespace

std::string_view to_string(rejection r) noexcept {
  switch (r) {
    case rejection::max_client_connections:
      return "max_client_connections";
    case rejection::per_user:
      return "per_user";
    case rejection::per_address:
      return "per_address";
    case rejection::queue_full:
      return "queue_full";
    case rejection::queue_timeout:
      return "queue_timeout";
    case rejection::backend_unavailable:
      return "backend_unavailable";
    case rejection::auth_failed:
      return "auth_failed";
    case rejection::login_evicted:
      return "login_evicted";
    case rejection::tls_failed:
      return "tls_failed";
    case rejection::insecure_transport:
      return "insecure_transport";
  }
  return "unknown";
}

sluice_metrics::sluice_metrics(const std::string& pool, const std::string& version)
    : registry_(std::make_shared<Registry>()),
      pool_(pool),
      statements(counter(*registry_, "sluice_statements_total", "Commands forwarded to a backend.",
                         {{"pool", pool}})),
      transactions(counter(*registry_, "sluice_transactions_total",
                           "Transactions that ended on a backend (commit or rollback).",
                           {{"pool", pool}})),
      bytes_from_clients(counter(*registry_, "sluice_client_bytes_total",
                                 "Bytes relayed for clients (in: their commands, out: responses).",
                                 {{"pool", pool}, {"direction", "in"}})),
      bytes_to_clients(BuildCounter()
                           .Name("sluice_client_bytes_total")
                           .Help("Bytes relayed for clients (in: their commands, out: responses).")
                           .Register(*registry_)
                           .Add({{"pool", pool}, {"direction", "out"}})),
      statement_seconds(histogram(*registry_, "sluice_statement_duration_seconds",
                                  "Time from forwarding a command to the end of its response.",
                                  {{"pool", pool}}, statement_buckets)),
      client_connections(counter(*registry_, "sluice_client_connections_total",
                                 "Client connections accepted.", {})),
      queue_wait_seconds(histogram(*registry_, "sluice_queue_wait_seconds",
                                   "Time statements waited for a backend (0 when one was idle).",
                                   {{"pool", pool}}, wait_buckets)),
      queue_timeouts(counter(*registry_, "sluice_queue_timeouts_total",
                             "Statements that waited [queue] timeout and got error 7001.",
                             {{"pool", pool}})),
      queue_overflows(counter(*registry_, "sluice_queue_overflows_total",
                              "Statements refused because max_waiting statements already wait.",
                              {{"pool", pool}})),
      backend_connects(counter(*registry_, "sluice_backend_connects_total",
                               "Backend connections opened.", {{"pool", pool}})),
      backend_connect_failures(counter(*registry_, "sluice_backend_connect_failures_total",
                                       "Backend connection attempts that failed.",
                                       {{"pool", pool}})),
      backend_connect_seconds(histogram(*registry_, "sluice_backend_connect_duration_seconds",
                                        "Time to connect and log in to the backend.",
                                        {{"pool", pool}}, connect_buckets)),
      resets(counter(*registry_, "sluice_backend_resets_total",
                     "Backend sessions reset before reuse (COM_RESET_CONNECTION or "
                     "COM_CHANGE_USER).",
                     {{"pool", pool}})),
      restores(counter(*registry_, "sluice_state_restores_total",
                       "Client session states restored on a backend (one round trip each).",
                       {{"pool", pool}})),
      statement_prepares(counter(*registry_, "sluice_backend_statement_prepares_total",
                                 "Binary prepared statements prepared on a backend: a client's "
                                 "COM_STMT_PREPARE, or a lazy prepare where an execute landed.",
                                 {{"pool", pool}})),
      statement_retries(counter(*registry_, "sluice_statement_retries_total",
                                "Statements sent again on another backend because the one they "
                                "were sent to was found dead (closed while idle) before it "
                                "answered anything.",
                                {{"pool", pool}})),
      account_switches(counter(*registry_, "sluice_backend_account_switches_total",
                               "Backend connections moved to another account with "
                               "COM_CHANGE_USER instead of being closed and reopened.",
                               {{"pool", pool}})),
      backend_max_connections(gauge(*registry_, "sluice_backend_max_connections",
                                    "The configured cap on backend connections.",
                                    {{"pool", pool}})),
      clients_connected(gauge(*registry_, "sluice_clients", "Client connections by state.",
                              {{"state", "connected"}})),
      clients_active(BuildGauge()
                         .Name("sluice_clients")
                         .Help("Client connections by state.")
                         .Register(*registry_)
                         .Add({{"state", "active"}})),
      clients_waiting(BuildGauge()
                          .Name("sluice_clients")
                          .Help("Client connections by state.")
                          .Register(*registry_)
                          .Add({{"state", "waiting"}})),
      queue_max_waiting(gauge(*registry_, "sluice_queue_max_waiting",
                              "The configured [queue] max_waiting.", {{"pool", pool}})),
      queue_timeout_seconds(gauge(*registry_, "sluice_queue_timeout_seconds",
                                  "The configured [queue] timeout.", {{"pool", pool}})),
      max_wait_seconds(gauge(*registry_, "sluice_queue_oldest_wait_seconds",
                             "How long the oldest waiting statement has waited.",
                             {{"pool", pool}})),
      paused(gauge(*registry_, "sluice_pool_paused",
                   "1 while the admin PAUSE holds back new leases.", {{"pool", pool}})),
      reserve_in_use(gauge(*registry_, "sluice_backends_reserve_in_use",
                           "Backend connections above max_connections, taken from the reserve.",
                           {{"pool", pool}})) {
  auto& rejections = BuildCounter()
                         .Name("sluice_rejections_total")
                         .Help("Clients or statements turned away, by reason.")
                         .Register(*registry_);
  for (std::size_t i = 0; i < rejection_count; ++i)
    rejected_[i] = &rejections.Add({{"reason", std::string(to_string(static_cast<rejection>(i)))}});
  auto& backends_family = BuildGauge()
                              .Name("sluice_backends")
                              .Help("Backend connections by state (pinned ones are also active).")
                              .Register(*registry_);
  static constexpr std::array<const char*, backend_state_count> states = {
      "idle", "active", "opening", "resetting", "pinned"};
  for (std::size_t i = 0; i < backend_state_count; ++i)
    backends_[i] = &backends_family.Add({{"pool", pool}, {"state", states[i]}});
  auto& closed_family = BuildCounter()
                            .Name("sluice_backend_closed_total")
                            .Help("Backend connections closed, by reason.")
                            .Register(*registry_);
  for (auto reason : close_reasons)
    closed_[std::string(reason)] =
        &closed_family.Add({{"pool", pool}, {"reason", std::string(reason)}});
  auto& timeouts_family = BuildCounter()
                              .Name("sluice_client_timeouts_total")
                              .Help("Clients closed or statements killed by a timeout, by kind.")
                              .Register(*registry_);
  for (auto kind : timeout_kinds)
    timeouts_[std::string(kind)] = &timeouts_family.Add({{"kind", std::string(kind)}});
  auto& pinned_family = BuildGauge()
                            .Name("sluice_clients_pinned")
                            .Help("Clients pinned to their backend, by reason.")
                            .Register(*registry_);
  for (auto reason : pin_reasons)
    pinned_[std::string(reason)] = &pinned_family.Add({{"reason", std::string(reason)}});
  waiting_by_user_family_ = &BuildGauge()
                                 .Name("sluice_queue_waiting")
                                 .Help("Statements waiting for a backend now, by user.")
                                 .Register(*registry_);
  backends_by_account_family_ =
      &BuildGauge()
           .Name("sluice_backend_connections_by_account")
           .Help(
               "Backend connections (idle or leased) by the account they are logged in as; "
               "accounts beyond the first 32 count as \"other\".")
           .Register(*registry_);
  BuildGauge()
      .Name("sluice_build_info")
      .Help("Always 1; the version label says which sluice this is.")
      .Register(*registry_)
      .Add({{"version", version}})
      .Set(1);
  BuildGauge().Name("sluice_up").Help("1 while sluice runs.").Register(*registry_).Add({}).Set(1);
}

prometheus::Counter& sluice_metrics::backend_closed(std::string_view reason) {
  auto it = closed_.find(reason);
  if (it == closed_.end()) it = closed_.find("broken");
  return *it->second;
}

prometheus::Counter& sluice_metrics::timeouts(std::string_view kind) {
  auto it = timeouts_.find(kind);
  if (it == timeouts_.end()) it = timeouts_.find("query");
  return *it->second;
}

prometheus::Gauge& sluice_metrics::clients_pinned(std::string_view reason) {
  auto it = pinned_.find(reason);
  if (it == pinned_.end()) it = pinned_.find("session_state");
  return *it->second;
}

prometheus::Gauge& sluice_metrics::waiting_by_user(const std::string& user) {
  auto it = waiting_by_user_.find(user);
  if (it == waiting_by_user_.end())
    it = waiting_by_user_
             .emplace(user, &waiting_by_user_family_->Add({{"pool", pool_}, {"user", user}}))
             .first;
  return *it->second;
}

prometheus::Gauge& sluice_metrics::backends_of_account(const std::string& account) {
  auto it = backends_by_account_.find(account);
  if (it != backends_by_account_.end()) return *it->second;
  const bool own_label = backends_by_account_.size() < max_account_labels;
  const std::string label = own_label ? account : std::string("other");
  if (!own_label) {
    it = backends_by_account_.find(label);
    if (it != backends_by_account_.end()) return *it->second;
  }
  auto& gauge = backends_by_account_family_->Add({{"pool", pool_}, {"account", label}});
  return *backends_by_account_.emplace(label, &gauge).first->second;
}

void sluice_metrics::zero_account_gauges() {
  for (auto& [account, gauge] : backends_by_account_) gauge->Set(0);
}

}  // namespace sluice::metrics
