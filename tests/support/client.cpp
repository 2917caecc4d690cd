// A thin RAII wrapper over MariaDB Connector/C for black-box tests of sluice.
#include "tests/support/client.h"

#include <mutex>
#include <stdexcept>

namespace sluice::test {
namespace {

// MYSQL_CLIENT_AUTHENTICATION_PLUGIN from <mysql/client_plugin.h>, which libmariadb-dev ships
// but which cannot be included on its own (it needs private headers).
constexpr int authentication_plugin_type = 2;

// mysql_init() initialises the library lazily, which is not thread-safe; the pooling tests
// create hundreds of clients at once, so initialise it once up front.
void init_library() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (mysql_library_init(0, nullptr, nullptr) != 0) {
      throw std::runtime_error("mysql_library_init failed");
    }
  });
}

MYSQL* new_handle() {
  init_library();
  MYSQL* mysql = mysql_init(nullptr);
  if (mysql == nullptr) throw std::runtime_error("mysql_init: out of memory");
  return mysql;
}

void fill_error(MYSQL* mysql, query_result& result) {
  result.ok = false;
  result.error_code = mysql_errno(mysql);
  result.sql_state = mysql_sqlstate(mysql);
  result.message = mysql_error(mysql);
}

}  // namespace

std::string query_result::describe() const {
  if (ok) return "ok";
  return std::to_string(error_code) + " (" + sql_state + "): " + message;
}

mysql_client::mysql_client() : mysql_(new_handle()) {}

mysql_client::~mysql_client() {
  if (mysql_ != nullptr) mysql_close(mysql_);
}

mysql_client::mysql_client(mysql_client&& other) noexcept
    : mysql_(std::exchange(other.mysql_, nullptr)),
      connected_(std::exchange(other.connected_, false)) {}

mysql_client& mysql_client::operator=(mysql_client&& other) noexcept {
  if (this != &other) {
    if (mysql_ != nullptr) mysql_close(mysql_);
    mysql_ = std::exchange(other.mysql_, nullptr);
    connected_ = std::exchange(other.connected_, false);
  }
  return *this;
}

bool mysql_client::connect(const std::string& host, std::uint16_t port, const std::string& user,
                           const std::string& password, const std::string& db, unsigned long flags,
                           const client_options& options) {
  // A handle is good for one connection attempt; start each attempt from a fresh one.
  mysql_close(mysql_);
  mysql_ = new_handle();
  connected_ = false;

  unsigned int connect_timeout = static_cast<unsigned int>(options.connect_timeout.count());
  unsigned int read_timeout = static_cast<unsigned int>(options.read_timeout.count());
  unsigned int write_timeout = static_cast<unsigned int>(options.write_timeout.count());
  unsigned long max_packet = options.max_allowed_packet;
  unsigned int protocol = MYSQL_PROTOCOL_TCP;
  mysql_options(mysql_, MYSQL_OPT_PROTOCOL, &protocol);
  mysql_options(mysql_, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
  mysql_options(mysql_, MYSQL_OPT_READ_TIMEOUT, &read_timeout);
  mysql_options(mysql_, MYSQL_OPT_WRITE_TIMEOUT, &write_timeout);
  mysql_options(mysql_, MYSQL_OPT_MAX_ALLOWED_PACKET, &max_packet);
  if (options.auth_plugin) mysql_options(mysql_, MYSQL_DEFAULT_AUTH, options.auth_plugin->c_str());
  if (options.charset) mysql_options(mysql_, MYSQL_SET_CHARSET_NAME, options.charset->c_str());
  if (options.local_infile) {
    unsigned int enable = 1;
    mysql_options(mysql_, MYSQL_OPT_LOCAL_INFILE, &enable);
  }
  if (options.tls) {
    const client_tls& tls = *options.tls;
    my_bool enforce = tls.enforce;
    my_bool verify = tls.verify_server_cert;
    mysql_options(mysql_, MYSQL_OPT_SSL_ENFORCE, &enforce);
    mysql_options(mysql_, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
    if (!tls.ca_file.empty()) mysql_options(mysql_, MYSQL_OPT_SSL_CA, tls.ca_file.c_str());
    if (!tls.cert_file.empty()) mysql_options(mysql_, MYSQL_OPT_SSL_CERT, tls.cert_file.c_str());
    if (!tls.key_file.empty()) mysql_options(mysql_, MYSQL_OPT_SSL_KEY, tls.key_file.c_str());
  }

  connected_ =
      mysql_real_connect(mysql_, host.c_str(), user.c_str(), password.c_str(),
                         db.empty() ? nullptr : db.c_str(), port, nullptr, flags) != nullptr;
  return connected_;
}

void mysql_client::close() {
  mysql_close(mysql_);
  mysql_ = new_handle();
  connected_ = false;
}

query_result mysql_client::query(std::string_view sql) {
  query_result result;
  if (mysql_real_query(mysql_, sql.data(), sql.size()) != 0) {
    fill_error(mysql_, result);
    return result;
  }
  result.ok = true;
  for (;;) {
    result_set set;
    if (MYSQL_RES* res = mysql_store_result(mysql_)) {
      const unsigned int field_count = mysql_num_fields(res);
      const MYSQL_FIELD* fields = mysql_fetch_fields(res);
      for (unsigned int i = 0; i < field_count; ++i) set.columns.emplace_back(fields[i].name);
      while (MYSQL_ROW data = mysql_fetch_row(res)) {
        const unsigned long* lengths = mysql_fetch_lengths(res);
        row values;
        values.reserve(field_count);
        for (unsigned int i = 0; i < field_count; ++i) {
          if (data[i] == nullptr) {
            values.emplace_back(std::nullopt);
          } else {
            values.emplace_back(std::string(data[i], lengths[i]));
          }
        }
        set.rows.push_back(std::move(values));
      }
      mysql_free_result(res);
    } else if (mysql_field_count(mysql_) != 0) {
      fill_error(mysql_, result);  // rows were announced but could not be read
      break;
    }
    set.affected_rows = mysql_affected_rows(mysql_);
    set.last_insert_id = mysql_insert_id(mysql_);
    set.warnings = static_cast<std::uint16_t>(mysql_warning_count(mysql_));
    result.result_sets.push_back(std::move(set));

    const int next = mysql_next_result(mysql_);
    if (next == -1) break;
    if (next > 0) {
      fill_error(mysql_, result);
      break;
    }
  }
  for (const auto& set : result.result_sets) {
    if (!set.columns.empty()) {
      result.rows = set.rows;
      break;
    }
  }
  if (!result.result_sets.empty()) {
    const auto& last = result.result_sets.back();
    result.affected_rows = last.affected_rows;
    result.last_insert_id = last.last_insert_id;
    result.warnings = last.warnings;
  }
  return result;
}

std::optional<std::string> mysql_client::scalar_or_null(std::string_view sql) {
  query_result result = query(sql);
  if (!result.ok) {
    throw std::runtime_error("query failed: " + std::string(sql) + ": " + result.describe());
  }
  if (result.rows.empty() || result.rows.front().empty()) {
    throw std::runtime_error("query returned no value: " + std::string(sql));
  }
  return result.rows.front().front();
}

std::string mysql_client::scalar(std::string_view sql) {
  auto value = scalar_or_null(sql);
  if (!value) throw std::runtime_error("query returned NULL: " + std::string(sql));
  return *value;
}

void mysql_client::execute(std::string_view sql) {
  query_result result = query(sql);
  if (!result.ok) {
    throw std::runtime_error("statement failed: " + std::string(sql) + ": " + result.describe());
  }
}

unsigned mysql_client::error_code() const {
  return mysql_errno(mysql_);
}

std::string mysql_client::sql_state() const {
  return mysql_sqlstate(mysql_);
}

std::string mysql_client::error_message() const {
  return mysql_error(mysql_);
}

unsigned long mysql_client::thread_id() const {
  return mysql_thread_id(mysql_);
}

std::string mysql_client::tls_version() const {
  if (!connected_ || mysql_get_ssl_cipher(mysql_) == nullptr) return "";
  const char* version = nullptr;
  if (mariadb_get_infov(mysql_, MARIADB_CONNECTION_TLS_VERSION, &version) != 0 || !version)
    return "";
  return version;
}

bool client_auth_plugin_available(const std::string& name) {
  MYSQL* mysql = new_handle();
  const bool found =
      mysql_client_find_plugin(mysql, name.c_str(), authentication_plugin_type) != nullptr;
  mysql_close(mysql);
  return found;
}

}  // namespace sluice::test
