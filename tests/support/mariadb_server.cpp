// A throwaway MariaDB server on a free loopback port, the backend of the integration tests.
#include "tests/support/mariadb_server.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <exception>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <thread>

#include "tests/support/client.h"
#include "tests/support/sluice_process.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

// The redo log is sized down from 96 MiB so each test's datadir stays small. Commits are not
// fsynced (flush-log-at-trx-commit=2): a SIGKILLed server keeps them, an OS crash would not.
const std::vector<std::string> innodb_options = {"--innodb-log-file-size=8M"};

bool running_as_root() {
  return ::geteuid() == 0;
}

// Runs mariadb-install-db into `datadir`; throws with its output if it fails.
void install_datadir(const std::filesystem::path& datadir) {
  std::vector<std::string> install = {find_program("mariadb-install-db"), "--no-defaults",
                                      "--datadir=" + datadir.string(),
                                      "--auth-root-authentication-method=normal", "--skip-test-db"};
  if (running_as_root()) install.emplace_back("--user=root");
  install.insert(install.end(), innodb_options.begin(), innodb_options.end());
  const command_result installed = run_command(install, 120s);
  if (installed.status != 0) {
    throw std::runtime_error("mariadb-install-db failed (status " +
                             std::to_string(installed.status) + "):\n" +
                             last_lines(installed.output, 40));
  }
}

// What a cached template datadir was made from; a different mariadbd means a new template.
std::string template_key(const std::string& mariadbd) {
  struct stat info {};
  ::stat(mariadbd.c_str(), &info);
  std::string key = mariadbd + " " + std::to_string(info.st_size) + " " +
                    std::to_string(info.st_mtime) + " root=" + (running_as_root() ? "1" : "0");
  for (const auto& option : innodb_options) key += " " + option;
  return key + "\n";
}

// Holds an exclusive flock on a file for as long as it lives.
class file_lock {
 public:
  explicit file_lock(const std::filesystem::path& path)
      : fd_(::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644)) {
    if (fd_ < 0) throw std::runtime_error("cannot open lock file " + path.string());
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) {
        ::close(fd_);
        throw std::runtime_error("cannot lock " + path.string());
      }
    }
  }
  ~file_lock() { ::close(fd_); }
  file_lock(const file_lock&) = delete;
  file_lock& operator=(const file_lock&) = delete;

 private:
  int fd_;
};

std::unique_ptr<mysql_client> connect_root(const mariadb_server& server, unsigned long flags = 0) {
  auto client = std::make_unique<mysql_client>();
  client_options options;
  options.connect_timeout = 5s;
  options.read_timeout = 60s;
  if (!client->connect(server.host(), server.port(), "root", "", "", flags, options)) {
    throw std::runtime_error("cannot log in to MariaDB on port " + std::to_string(server.port()) +
                             " as root: " + client->error_message());
  }
  return client;
}

}  // namespace

mariadb_server::mariadb_server() : mariadb_server(std::vector<std::string>{}) {}

mariadb_server::mariadb_server(std::vector<std::string> extra_options)
    : dir_(make_temp_dir("sluice-mariadb-")), extra_options_(std::move(extra_options)) {
  try {
    mariadbd_ = find_program("mariadbd");
    prepare_datadir();

    // A port picked now can be taken before mariadbd binds it; then mariadbd exits and we retry.
    for (int attempt = 1;; ++attempt) {
      port_ = free_port();
      launch();
      try {
        wait_ready();
        break;
      } catch (const std::exception&) {
        const bool port_taken =
            !process_.running() &&
            error_log_tail().find("Address already in use") != std::string::npos;
        if (!port_taken || attempt == 3) throw;
      }
    }

    run_sql(std::string("CREATE USER '") + backend_user + "'@'%' IDENTIFIED BY '" +
            backend_password + "'; GRANT ALL ON *.* TO '" + backend_user + "'@'%'; " +
            "CREATE DATABASE " + test_database);
  } catch (...) {
    process_ = child_process();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    throw;
  }
}

mariadb_server::~mariadb_server() {
  process_ = child_process();  // SIGKILL: nothing in it is worth a clean shutdown
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

mariadb_server& mariadb_server::shared() {
  static std::unique_ptr<mariadb_server> server;
  static std::string failure;
  if (server) return *server;
  if (!failure.empty())
    throw std::runtime_error("shared MariaDB failed to start earlier: " + failure);
  try {
    server = std::make_unique<mariadb_server>();
  } catch (const std::exception& e) {
    failure = e.what();
    throw;
  }
  return *server;
}

void mariadb_server::prepare_datadir() {
  const auto datadir = dir_ / "data";
#ifdef SLUICE_TEST_MARIADB_TEMPLATE
  // mariadb-install-db takes seconds on a busy machine and every test process needs a datadir:
  // make one pristine copy per build tree (under a lock: ctest -j runs processes side by side)
  // and copy it.
  const std::filesystem::path cache = SLUICE_TEST_MARIADB_TEMPLATE;
  try {
    std::filesystem::create_directories(cache.parent_path());
    file_lock lock(cache.string() + ".lock");
    const std::string key = template_key(mariadbd_);
    if (read_text_file(cache / "key") != key) {
      std::filesystem::remove_all(cache);
      install_datadir(cache / "data");
      std::ofstream(cache / "key") << key;
    }
    std::filesystem::copy(cache / "data", datadir, std::filesystem::copy_options::recursive);
    return;
  } catch (const std::filesystem::filesystem_error&) {
    std::error_code ignored;
    std::filesystem::remove_all(datadir, ignored);  // fall through: install without the cache
  }
#endif
  install_datadir(datadir);
}

void mariadb_server::launch() {
  std::vector<std::string> argv = {mariadbd_,
                                   "--no-defaults",
                                   "--datadir=" + (dir_ / "data").string(),
                                   "--port=" + std::to_string(port_),
                                   "--bind-address=127.0.0.1",
                                   "--socket=" + (dir_ / "sock").string(),
                                   "--pid-file=" + (dir_ / "mariadbd.pid").string(),
                                   "--log-error=" + (dir_ / "err.log").string(),
                                   "--skip-name-resolve",
                                   "--innodb-buffer-pool-size=64M",
                                   "--max-connections=500",
                                   "--max-allowed-packet=256M",
                                   "--local-infile=1",
                                   "--innodb-flush-log-at-trx-commit=2"};
  argv.insert(argv.end(), innodb_options.begin(), innodb_options.end());
  argv.insert(argv.end(), extra_options_.begin(), extra_options_.end());
  if (running_as_root()) argv.emplace_back("--user=root");
  process_ = child_process(argv, dir_ / "mariadbd.out");
}

void mariadb_server::wait_ready() {
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  std::string last_error;
  for (;;) {
    if (auto status = process_.wait_for_exit(0ms)) {
      throw std::runtime_error("mariadbd exited with status " + std::to_string(*status) +
                               " while starting on port " + std::to_string(port_) + "; log:\n" +
                               error_log_tail());
    }
    mysql_client probe;
    client_options options;
    options.connect_timeout = 2s;
    options.read_timeout = 5s;
    if (probe.connect(host(), port_, "root", "", "", 0, options)) return;
    last_error = probe.error_message();
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error("mariadbd not ready on port " + std::to_string(port_) +
                               " after 60 s (" + last_error + "); log:\n" + error_log_tail());
    }
    std::this_thread::sleep_for(50ms);
  }
}

void mariadb_server::run_sql(const std::string& sql) {
  auto root = connect_root(*this, CLIENT_MULTI_STATEMENTS);
  const query_result result = root->query(sql);
  if (!result.ok) throw std::runtime_error("MariaDB error " + result.describe() + " in: " + sql);
}

std::vector<std::vector<std::string>> mariadb_server::query(const std::string& sql) {
  auto root = connect_root(*this);
  const query_result result = root->query(sql);
  if (!result.ok) throw std::runtime_error("MariaDB error " + result.describe() + " in: " + sql);
  std::vector<std::vector<std::string>> rows;
  rows.reserve(result.rows.size());
  for (const auto& r : result.rows) {
    auto& out = rows.emplace_back();
    for (const auto& value : r) out.push_back(value.value_or("NULL"));
  }
  return rows;
}

int mariadb_server::count_backend_connections() {
  const auto rows = query(std::string("SELECT COUNT(*) FROM information_schema.PROCESSLIST ") +
                          "WHERE USER = '" + backend_user + "'");
  return std::stoi(rows.at(0).at(0));
}

bool mariadb_server::statement_running(const std::string& pattern) {
  return query("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '" + pattern +
               "'")
             .at(0)
             .at(0) != "0";
}

void mariadb_server::kill_hard() {
  process_.kill_hard();
}

void mariadb_server::start_again() {
  if (process_.running()) throw std::logic_error("start_again: mariadbd is still running");
  launch();
  wait_ready();
}

std::string mariadb_server::error_log_tail() const {
  return last_lines(read_text_file(dir_ / "err.log") + read_text_file(dir_ / "mariadbd.out"), 30);
}

}  // namespace sluice::test
