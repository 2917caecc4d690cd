// Admin connections: optional password, interactive prompt, bounded lines, idle timeout.
#include "admin/admin_server.h"

#include <openssl/crypto.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read_until.hpp>

#include "proxy/log.h"
#include "proxy/socket_io.h"

namespace sluice::admin {
namespace {

using proxy::log;
using proxy::write_all;

using namespace asio::experimental::awaitable_operators;

// A script writes its command at once; a person takes longer than this to type.
constexpr auto interactive_after = std::chrono::milliseconds(150);
constexpr std::string_view prompt = "sluice> ";

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

bool same_secret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

admin_server::admin_server(asio::io_context& io, endpoint listen, std::string password, handler run)
    : io_(io),
      listen_(std::move(listen)),
      password_(std::move(password)),
      run_(std::move(run)),
      acceptor_(io) {}

void admin_server::start() {
  proxy::listen_on(acceptor_, listen_, false);
  asio::co_spawn(io_, accept_loop(), asio::detached);
  log(log_level::info, "", "admin listening on ", listen_.host, ":", listen_.port);
}

void admin_server::stop() {
  error_code ignored;
  acceptor_.close(ignored);
  for (connection* c : open_) c->socket->close(ignored);
}

awaitable<void> admin_server::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_nothrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
      continue;
    }
    if (open_.size() >= max_connections) evict_longest_silent();
    asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
  }
}

void admin_server::evict_longest_silent() {
  auto longest = open_.begin();
  for (auto it = open_.begin(); it != open_.end(); ++it)
    if ((*it)->last_line < (*longest)->last_line) longest = it;
  connection* c = *longest;
  open_.erase(longest);
  c->evicted = true;
  log(log_level::warn, "admin", "close reason=evicted (every admin slot was taken)");
  error_code ignored;
  c->socket->close(ignored);
}

awaitable<void> admin_server::serve(tcp::socket socket) {
  connection self{&socket, std::chrono::steady_clock::now()};
  struct unregister {
    std::list<connection*>& list;
    std::list<connection*>::iterator it;
    const connection& self;
    ~unregister() {
      if (!self.evicted) list.erase(it);
    }
  } guard{open_, open_.insert(open_.end(), &self), self};
  proxy::prepare_socket(socket);
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor);

  timer.expires_after(interactive_after);
  // A peek, not async_wait: Asio's epoll reactor can complete a wait spuriously when a just-closed
  // socket's descriptor state is reused for this one, and a person would then be taken for a
  // script (seen under load in AdminTest.InteractiveUserGetsBannerAndPrompt).
  auto first = co_await (proxy::wait_readable(socket) || timer.async_wait(use_nothrow));
  const bool interactive = first.index() == 1;

  std::string input;
  auto buffer = asio::dynamic_buffer(input, max_line);
  // Reads one line (without its newline); empty optional on close, timeout or a too-long line.
  auto read_line = [&]() -> awaitable<std::optional<std::string>> {
    timer.expires_after(idle_timeout);
    auto result = co_await (asio::async_read_until(socket, buffer, '\n', use_nothrow) ||
                            timer.async_wait(use_nothrow));
    if (result.index() == 1) co_return std::nullopt;
    auto [ec, n] = std::get<0>(result);
    if (ec == asio::error::not_found) {
      const std::string too_long =
          "ERROR: line longer than " + std::to_string(max_line) + " bytes\n\n";
      co_await write_all(socket, bytes_of(too_long));
      co_return std::nullopt;
    }
    if (ec) co_return std::nullopt;
    self.last_line = std::chrono::steady_clock::now();
    std::string line = input.substr(0, n - 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    input.erase(0, n);
    co_return line;
  };

  if (!password_.empty()) {
    const std::string ask = "Password: ";
    if (interactive) co_await write_all(socket, bytes_of(ask));
    auto given = co_await read_line();
    if (!given || !same_secret(*given, password_)) {
      const std::string wrong = "ERROR: wrong admin password\n\n";
      co_await write_all(socket, bytes_of(wrong));
      log(log_level::warn, "admin", "close reason=auth_failed");
      co_return;
    }
  }
  if (interactive) {
    const std::string banner = std::string("sluice ") + SLUICE_VERSION +
                               " admin. Type HELP for the commands, QUIT to leave.\n" +
                               std::string(prompt);
    co_await write_all(socket, bytes_of(banner));
  }
  for (;;) {
    auto line = co_await read_line();
    if (!line) co_return;
    std::string answer;
    bool quit = false;
    for (const auto& text : split_commands(*line)) {
      const admin_command cmd = parse_admin_command(text);
      if (cmd.is({"QUIT"}) || cmd.is({"EXIT"})) {
        quit = true;
        break;
      }
      answer += run_(cmd);
      if (answer.empty() || answer.back() != '\n') answer += '\n';
      answer += '\n';  // every answer ends with an empty line
    }
    if (interactive && !quit) answer += prompt;
    if (!answer.empty() && co_await write_all(socket, bytes_of(answer))) co_return;
    if (quit) co_return;
  }
}

}  // namespace sluice::admin
