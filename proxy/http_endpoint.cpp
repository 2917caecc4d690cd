// A minimal HTTP/1.0-style server: GET only, one request per connection, bounded size and time.
#include "proxy/http_endpoint.h"

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include "proxy/socket_io.h"

namespace sluice::proxy {
namespace {

using namespace asio::experimental::awaitable_operators;

constexpr auto request_timeout = std::chrono::seconds(5);

std::string response(int status, std::string_view reason, std::string_view content_type,
                     const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
         "\r\nContent-Type: " + std::string(content_type) +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
         body;
}

}  // namespace

http_endpoint::http_endpoint(endpoint listen, std::shared_ptr<prometheus::Registry> registry,
                             const health_state& health)
    : listen_(std::move(listen)),
      registry_(std::move(registry)),
      health_(health),
      io_(1),
      acceptor_(io_) {}

http_endpoint::~http_endpoint() {
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

void http_endpoint::start() {
  listen_on(acceptor_, listen_, false);
  asio::co_spawn(io_, accept_loop(), asio::detached);
  thread_ = std::thread([this] { io_.run(); });
}

awaitable<void> http_endpoint::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_nothrow);
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      continue;
    }
    if (connections_ >= max_connections) continue;  // closing it is the answer
    asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
  }
}

awaitable<void> http_endpoint::serve(tcp::socket socket) {
  ++connections_;
  struct counted {
    std::size_t& n;
    ~counted() { --n; }
  } guard{connections_};
  std::string request;
  asio::steady_timer timer(io_);
  timer.expires_after(request_timeout);
  auto read = co_await (asio::async_read_until(socket, asio::dynamic_buffer(request, max_request),
                                               "\r\n\r\n", use_nothrow) ||
                        timer.async_wait(use_nothrow));
  if (read.index() == 1) co_return;
  if (std::get<0>(std::get<0>(read))) co_return;  // closed, or a request over max_request
  // "GET /path HTTP/1.1"
  std::string answer;
  const auto line_end = request.find("\r\n");
  const std::string_view line(request.data(), line_end);
  const auto first_space = line.find(' ');
  const auto second_space = line.find(' ', first_space + 1);
  if (first_space == std::string_view::npos || second_space == std::string_view::npos) {
    answer = response(400, "Bad Request", "text/plain", "bad request\n");
  } else if (line.substr(0, first_space) != "GET") {
    answer = response(405, "Method Not Allowed", "text/plain", "only GET\n");
  } else {
    std::string_view path = line.substr(first_space + 1, second_space - first_space - 1);
    path = path.substr(0, path.find('?'));
    answer = respond(path);
  }
  co_await asio::async_write(socket, asio::buffer(answer), use_nothrow);
  error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
}

std::string http_endpoint::respond(std::string_view path) const {
  if (path == "/metrics") {
    prometheus::TextSerializer serializer;
    return response(200, "OK", "text/plain; version=0.0.4; charset=utf-8",
                    serializer.Serialize(registry_->Collect()));
  }
  if (path == "/ready") {
    if (health_.ready.load() && health_.live()) return response(200, "OK", "text/plain", "ready\n");
    return response(503, "Service Unavailable", "text/plain",
                    health_.live() ? "not ready: no backend connection can be made\n"
                                   : "not ready: the event loop is stalled\n");
  }
  if (path == "/live") {
    if (health_.live()) return response(200, "OK", "text/plain", "live\n");
    return response(503, "Service Unavailable", "text/plain", "the event loop is stalled\n");
  }
  return response(404, "Not Found", "text/plain", "try /metrics, /ready or /live\n");
}

}  // namespace sluice::proxy
