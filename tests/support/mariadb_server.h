// A throwaway MariaDB server on a free loopback port, the backend of the integration tests.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/child_process.h"

namespace sluice::test {

// Owns a temporary datadir and one mariadbd process. Root logs in over TCP without a password;
// the backend account sluice uses is backend_user / backend_password (GRANT ALL), and the
// database test_database exists. Not thread-safe except for run_sql, query and
// count_backend_connections, which each use their own connection.
class mariadb_server {
 public:
  static constexpr const char* backend_user = "sluice";
  static constexpr const char* backend_password = "backend-pw";
  static constexpr const char* test_database = "sluice_test";

  // Initialises a datadir and starts mariadbd; throws std::runtime_error (with the server's log)
  // if it is not ready within 60 s.
  mariadb_server();
  // The same with options added to mariadbd's command line, e.g. {"--ssl-cert=...",
  // "--ssl-key=...", "--ssl-ca=..."} for a server that offers TLS.
  explicit mariadb_server(std::vector<std::string> extra_options);
  // SIGKILLs mariadbd (it is throwaway) and removes the directory.
  ~mariadb_server();
  mariadb_server(const mariadb_server&) = delete;
  mariadb_server& operator=(const mariadb_server&) = delete;

  // One server per test process, started on first use, stopped at exit. Call it first from the
  // main thread (see child_process). If starting failed once, later calls rethrow at once.
  static mariadb_server& shared();

  std::uint16_t port() const { return port_; }
  std::string host() const { return "127.0.0.1"; }
  const std::filesystem::path& directory() const { return dir_; }

  // Runs SQL as root (several statements allowed); throws std::runtime_error with the error.
  void run_sql(const std::string& sql);
  // Rows of the first result set, as root; NULL reads as "NULL". Throws on error.
  std::vector<std::vector<std::string>> query(const std::string& sql);
  // Connections the backend account has open right now.
  int count_backend_connections();
  // Whether a statement whose text matches the LIKE `pattern` is running on the server now.
  bool statement_running(const std::string& pattern);

  // SIGKILLs mariadbd and waits until it is gone (clients see their connections drop).
  void kill_hard();
  // Starts mariadbd again on the same datadir and port; waits until it is ready.
  void start_again();
  bool running() { return process_.running(); }
  // The mariadbd process, for faults the harness has no verb for (SIGSTOP freezes it).
  pid_t pid() const { return process_.pid(); }

  // The tail of the server's error log, for failure messages.
  std::string error_log_tail() const;

 private:
  void prepare_datadir();
  void launch();
  void wait_ready();

  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  std::string mariadbd_;
  std::vector<std::string> extra_options_;
  child_process process_;
};

}  // namespace sluice::test
