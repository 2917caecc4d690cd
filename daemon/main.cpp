// sluice's entry point: command line, configuration, signals, the event loop.
#include <sys/resource.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <string>

#include "admin/admin_server.h"
#include "admin/http_endpoint.h"
#include "config/config.h"
#include "config/config_file.h"
#include "daemon/daemon.h"
#include "proxy/log.h"
#include "proxy/tls_context.h"

namespace {

// Every client, backend, admin and HTTP connection is a file descriptor. The soft limit is raised
// up to the hard one when the configured limits need more, with a warning when even that is short.
void check_open_files_limit(const sluice::config& settings) {
  using namespace sluice::proxy;
  using sluice::log_level;
  const std::size_t needed = settings.pool.max_connections + settings.pool.max_waiting +
                             sluice::admin::admin_server::max_connections +
                             sluice::admin::http_endpoint::max_connections + 64;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur >= needed) return;
  const rlim_t wanted =
      limit.rlim_max == RLIM_INFINITY ? needed : std::min<rlim_t>(needed, limit.rlim_max);
  if (wanted > limit.rlim_cur) {
    limit.rlim_cur = wanted;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur < needed)
    log(log_level::warn, "", "open_files_limit limit=", limit.rlim_cur, " needed=", needed,
        " reason=the configured connections may not all fit (raise LimitNOFILE / ulimit -n)");
  else
    log(log_level::info, "", "open_files_limit raised=", limit.rlim_cur);
}

constexpr const char* usage =
    "Usage: sluice --config FILE\n"
    "       sluice --check-config FILE\n"
    "       sluice --help | --version\n"
    "\n"
    "sluice is a MySQL/MariaDB connection-pool proxy. Applications connect to it as to a MySQL\n"
    "server; it multiplexes their statements onto a bounded pool of backend connections, queues\n"
    "statements when the pool is exhausted, and reports saturation before failure.\n"
    "\n"
    "  --config FILE        run with the INI configuration FILE\n"
    "  --check-config FILE  validate FILE and exit (0 when valid)\n"
    "  --help               show this text\n"
    "  --version            show the version\n"
    "\n"
    "Signals: SIGTERM/SIGINT drain (stop accepting, finish running statements and transactions\n"
    "within [sluice] shutdown_timeout, then exit 0); a second one exits at once.\n"
    "SIGHUP re-reads the configuration file (users, limits, timeouts, log level); a bad file is\n"
    "refused with a log line and the running configuration stays.\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace sluice::proxy;
  using sluice::config;
  using sluice::config_error;
  using sluice::log_level;
  std::string config_path;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << usage;
      return 0;
    }
    if (arg == "--version") {
      std::cout << "sluice " << SLUICE_VERSION << "\n";
      return 0;
    }
    if ((arg == "--config" || arg == "--check-config") && i + 1 < argc) {
      check_only = arg == "--check-config";
      config_path = argv[++i];
      continue;
    }
    std::cerr << "sluice: unknown argument '" << arg << "'\n\n" << usage;
    return 2;
  }
  if (config_path.empty()) {
    std::cerr << usage;
    return 2;
  }
  config settings;
  try {
    settings = sluice::load_config_file(config_path);
  } catch (const config_error& e) {
    std::cerr << "sluice: configuration error: " << e.what() << "\n";
    return 2;
  }
  if (check_only) {
    // The TLS files too: a certificate that does not load would stop the start.
    sluice::proxy::tls_contexts tls;
    auto failure = tls.load_client_side(settings.tls);
    if (!failure) failure = tls.load_backend_side(settings.backend_tls, settings.backend);
    if (failure) {
      std::cerr << "sluice: configuration error: " << *failure << "\n";
      return 2;
    }
    std::cout << config_path << ": configuration is valid\n";
    return 0;
  }
  std::signal(SIGPIPE, SIG_IGN);
  set_log_level(settings.log);
  set_log_format(settings.log_format);
  set_log_info_rate_limit(settings.log_info_rate_limit);
  check_open_files_limit(settings);

  boost::asio::io_context io(1);
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  // Once drained, nothing but the signal waits is left: cancel them so run() returns.
  boost::asio::signal_set reload_signal(io, SIGHUP);
  sluice::daemon proxy(io, settings, config_path, [&] {
    signals.cancel();
    reload_signal.cancel();
  });
  try {
    proxy.start();
  } catch (const boost::system::system_error& e) {
    std::cerr << "sluice: cannot start: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "sluice: cannot start: " << e.what() << "\n";
    return 1;
  }
  int received = 0;
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int signal_number) {
        if (ec) return;
        if (++received == 1) {
          log(log_level::info, "", "signal ", strsignal(signal_number), ": draining");
          signals.async_wait(on_signal);  // a second signal exits at once
          proxy.drain();
        } else {
          log(log_level::warn, "", "second signal: exiting now");
          io.stop();
        }
      };
  signals.async_wait(on_signal);
  std::function<void(const boost::system::error_code&, int)> on_reload =
      [&](const boost::system::error_code& ec, int) {
        if (ec) return;
        log(log_level::info, "", "signal SIGHUP: reloading ", config_path);
        proxy.reload();
        reload_signal.async_wait(on_reload);
      };
  reload_signal.async_wait(on_reload);
  io.run();
  // A second signal stopped the loop with sessions still open: their coroutines would be torn
  // down after the daemon they refer to. Exit at once, as promised, without unwinding.
  if (received > 1) std::_Exit(1);
  return 0;
}
