// A thin RAII wrapper over MariaDB Connector/C for black-box tests of sluice.
#pragma once

#include <mysql.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::test {

using row = std::vector<std::optional<std::string>>;  // nullopt is SQL NULL

// One result of a statement: rows (with column names) or an OK packet's numbers.
struct result_set {
  std::vector<std::string> columns;  // empty for statements that return no rows
  std::vector<row> rows;
  std::uint64_t affected_rows = 0;
  std::uint64_t last_insert_id = 0;
  std::uint16_t warnings = 0;
};

struct query_result {
  bool ok = false;
  unsigned error_code = 0;
  std::string sql_state;
  std::string message;
  // Rows of the first result set that has columns (so `SET @a = 1; SELECT @a` gives @a's row).
  std::vector<row> rows;
  // From the last statement that ran.
  std::uint64_t affected_rows = 0;
  std::uint64_t last_insert_id = 0;
  std::uint16_t warnings = 0;
  // Every result, in order, including those before an error in a multi-statement.
  std::vector<result_set> result_sets;

  // "1146 (42S02): Table 'x' doesn't exist", or "ok" — for assertion messages.
  std::string describe() const;
};

// Connector/C's TLS options (MYSQL_OPT_SSL_*).
struct client_tls {
  bool enforce = true;              // MYSQL_OPT_SSL_ENFORCE: TLS or no connection
  bool verify_server_cert = false;  // the CA signed it and it names the host (VERIFY_IDENTITY)
  std::string ca_file;
  std::string cert_file;  // a client certificate, with key_file
  std::string key_file;
};

struct client_options {
  // A hung proxy must fail the test, not hang CI.
  std::chrono::seconds connect_timeout{10};
  std::chrono::seconds read_timeout{30};
  std::chrono::seconds write_timeout{30};
  std::optional<std::string> auth_plugin;  // MYSQL_DEFAULT_AUTH, e.g. "caching_sha2_password"
  std::optional<std::string> charset;      // MYSQL_SET_CHARSET_NAME
  bool local_infile = false;               // MYSQL_OPT_LOCAL_INFILE
  unsigned long max_allowed_packet = 256UL << 20;
  std::optional<client_tls> tls;  // none: plain TCP, as Connector/C does without TLS options
};

class mysql_client {
 public:
  mysql_client();
  ~mysql_client();
  mysql_client(const mysql_client&) = delete;
  mysql_client& operator=(const mysql_client&) = delete;
  mysql_client(mysql_client&& other) noexcept;
  mysql_client& operator=(mysql_client&& other) noexcept;

  // Connects over TCP; on failure error_code()/error_message() say why. `flags` are CLIENT_*
  // capability flags such as CLIENT_MULTI_STATEMENTS.
  bool connect(const std::string& host, std::uint16_t port, const std::string& user,
               const std::string& password, const std::string& db = "", unsigned long flags = 0,
               const client_options& options = {});
  void close();
  bool connected() const { return connected_; }

  // Runs one COM_QUERY (several statements with CLIENT_MULTI_STATEMENTS) and reads every result.
  query_result query(std::string_view sql);
  // First column of the first row; throws std::runtime_error on an error, no row or NULL.
  std::string scalar(std::string_view sql);
  // Like scalar, but NULL is nullopt.
  std::optional<std::string> scalar_or_null(std::string_view sql);
  // Runs a statement and throws std::runtime_error if it fails.
  void execute(std::string_view sql);

  unsigned error_code() const;
  std::string sql_state() const;
  std::string error_message() const;
  // The connection id from the handshake (mysql_thread_id).
  unsigned long thread_id() const;
  // The TLS version of the connection ("TLSv1.3"), or "" when it is not encrypted.
  std::string tls_version() const;
  MYSQL* handle() { return mysql_; }

 private:
  MYSQL* mysql_ = nullptr;
  bool connected_ = false;
};

// Whether Connector/C can load the named client authentication plugin.
bool client_auth_plugin_available(const std::string& name);

}  // namespace sluice::test
