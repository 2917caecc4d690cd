// idle_client: the idle clients of bench/idle.sh. Logs N clients in (Connector/C, a few threads),
// runs one SELECT 1 on each (unless --login-only) so that every session has served a command as
// an application's pooled connection has, then holds them all open and silent until its standard
// input closes; then closes them and exits.
//
// Clients can come from several loopback source addresses (127.0.0.1, 127.0.0.2, ...), each with
// its own ephemeral port range, for more clients than one address has ports.
#include <mysql.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

struct options {
  unsigned port = 0;
  std::string user;
  std::string password;
  std::size_t clients = 10000;
  std::size_t threads = 8;
  std::size_t sources = 1;  // loopback source addresses 127.0.0.1 .. 127.0.0.N
  bool login_only = false;
};

void usage(std::FILE* out) {
  std::fprintf(out,
               "Usage: idle_client --port P --user U --password PW [options]\n"
               "\n"
               "  --clients N   clients to log in and hold (default 10000)\n"
               "  --threads N   threads logging them in (default 8)\n"
               "  --sources N   loopback source addresses 127.0.0.1 .. 127.0.0.N (default 1)\n"
               "  --login-only  no SELECT 1 after the login\n"
               "\n"
               "Prints 'READY clients=N failed=F errors=CODE:COUNT,...' once every login was\n"
               "tried, then holds the clients until standard input closes. Exit status 0 when\n"
               "every client logged in, 1 otherwise, 2 on bad usage.\n");
}

std::optional<options> parse_options(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      usage(stdout);
      std::exit(0);
    }
    if (arg == "--login-only") {
      o.login_only = true;
      continue;
    }
    if (i + 1 >= argc) return std::nullopt;
    const std::string value = argv[++i];
    if (arg == "--user") {
      o.user = value;
      continue;
    }
    if (arg == "--password") {
      o.password = value;
      continue;
    }
    char* end = nullptr;
    const unsigned long number = std::strtoul(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0') return std::nullopt;
    if (arg == "--port") {
      o.port = static_cast<unsigned>(number);
    } else if (arg == "--clients") {
      o.clients = number;
    } else if (arg == "--threads") {
      o.threads = number;
    } else if (arg == "--sources") {
      o.sources = number;
    } else {
      return std::nullopt;
    }
  }
  if (o.port == 0 || o.port > 65535 || o.user.empty() || o.clients == 0 || o.threads == 0 ||
      o.sources == 0 || o.sources > 254)
    return std::nullopt;
  return o;
}

// Logs one client in from `source` and runs SELECT 1 (unless login_only); the handle, or nullptr
// and the error.
MYSQL* log_in(const options& o, const std::string& source, unsigned& error) {
  MYSQL* mysql = mysql_init(nullptr);
  if (mysql == nullptr) {
    error = 2008;  // CR_OUT_OF_MEMORY
    return nullptr;
  }
  const unsigned timeout_s = 30;
  mysql_optionsv(mysql, MYSQL_OPT_CONNECT_TIMEOUT, &timeout_s);
  mysql_optionsv(mysql, MYSQL_OPT_READ_TIMEOUT, &timeout_s);
  mysql_optionsv(mysql, MYSQL_OPT_BIND, source.c_str());
  if (mysql_real_connect(mysql, "127.0.0.1", o.user.c_str(), o.password.c_str(), nullptr, o.port,
                         nullptr, 0) == nullptr ||
      (!o.login_only && mysql_query(mysql, "SELECT 1") != 0)) {
    error = mysql_errno(mysql);
    mysql_close(mysql);
    return nullptr;
  }
  if (MYSQL_RES* result = mysql_store_result(mysql)) mysql_free_result(result);
  return mysql;
}

}  // namespace

int main(int argc, char** argv) {
  const auto parsed = parse_options(argc, argv);
  if (!parsed) {
    usage(stderr);
    return 2;
  }
  const options o = *parsed;
  mysql_library_init(0, nullptr, nullptr);

  std::vector<MYSQL*> clients(o.clients, nullptr);
  std::mutex errors_mutex;
  std::map<unsigned, std::size_t> errors;
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < o.threads; ++t) {
    threads.emplace_back([&] {
      mysql_thread_init();
      for (std::size_t i = next++; i < o.clients; i = next++) {
        const std::string source = "127.0.0." + std::to_string(1 + i % o.sources);
        unsigned error = 0;
        clients[i] = log_in(o, source, error);
        if (clients[i] == nullptr) {
          std::lock_guard lock(errors_mutex);
          ++errors[error];
        }
      }
      mysql_thread_end();
    });
  }
  for (auto& thread : threads) thread.join();

  std::size_t failed = 0;
  std::string error_text;
  for (const auto& [code, count] : errors) {
    failed += count;
    error_text +=
        (error_text.empty() ? "" : ",") + std::to_string(code) + ":" + std::to_string(count);
  }
  std::cout << "READY clients=" << o.clients - failed << " failed=" << failed
            << " errors=" << (error_text.empty() ? "none" : error_text) << std::endl;

  // Held, silent, until the script is done measuring.
  std::string ignored;
  while (std::getline(std::cin, ignored)) {
  }
  for (MYSQL* mysql : clients)
    if (mysql != nullptr) mysql_close(mysql);
  mysql_library_end();
  return failed == 0 ? 0 : 1;
}
