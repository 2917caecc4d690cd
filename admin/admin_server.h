// The admin port: plain text over TCP for telnet, nc and scripts. One command per line (';'
// chains), every answer ends with an empty line; a prompt only for interactive users. An
// operator must always get in: when every slot is taken, a new connection closes the one that
// has been silent longest.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <string>

#include "admin/admin_format.h"
#include "config/config.h"
#include "proxy/asio_types.h"

namespace sluice::admin {

class admin_server {
 public:
  // Runs one parsed command and returns its answer (without the closing empty line).
  using handler = std::function<std::string(const admin_command&)>;

  admin_server(asio::io_context& io, endpoint listen, std::string password, handler run);
  void start();  // throws on bind failure (a start-up error)
  void stop();
  void set_password(std::string password) { password_ = std::move(password); }

  static constexpr std::size_t max_line = 4096;
  static constexpr std::size_t max_connections = 16;
  static constexpr auto idle_timeout = std::chrono::minutes(5);

 private:
  struct connection {
    tcp::socket* socket;
    std::chrono::steady_clock::time_point last_line;  // or the accept
    bool evicted = false;
  };

  awaitable<void> accept_loop();
  awaitable<void> serve(tcp::socket socket);
  void evict_longest_silent();

  asio::io_context& io_;
  endpoint listen_;
  std::string password_;
  handler run_;
  tcp::acceptor acceptor_;
  std::list<connection*> open_;  // live admin connections, closed by stop()
};

}  // namespace sluice::admin
