// A minimal HTTP/1.0-style server: GET only, one request per connection, bounded size and time.
#include "admin/http_endpoint.h"

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>

#include "admin/http_request.h"
#include "proxy/socket_io.h"

namespace sluice::admin {
namespace {

using namespace asio::experimental::awaitable_operators;

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
  proxy::listen_on(acceptor_, listen_, false);
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
    // Every slot taken: the oldest connection makes room (a probe must never be turned away by
    // connections that send nothing or read nothing).
    if (open_.size() >= max_connections) {
      slot* oldest = open_.front();
      open_.pop_front();
      oldest->evicted = true;
      error_code ignored;
      oldest->socket->close(ignored);
    }
    asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
  }
}

awaitable<void> http_endpoint::serve(tcp::socket socket) {
  slot self{&socket};
  struct unregister {
    std::list<slot*>& list;
    std::list<slot*>::iterator it;
    const slot& self;
    ~unregister() {
      if (!self.evicted) list.erase(it);
    }
  } guard{open_, open_.insert(open_.end(), &self), self};
  asio::steady_timer timer(io_);
  std::string request(max_request, '\0');
  std::size_t have = 0;
  http_request parsed;
  http_parse state = http_parse::incomplete;
  timer.expires_after(request_timeout);
  while (state == http_parse::incomplete && have < max_request) {
    auto read =
        co_await (socket.async_read_some(asio::buffer(request.data() + have, max_request - have),
                                         use_nothrow) ||
                  timer.async_wait(use_nothrow));
    if (read.index() == 1) co_return;
    auto [ec, n] = std::get<0>(read);
    if (ec) co_return;
    have += n;
    state = parse_http_request(std::string_view(request.data(), have), parsed);
  }
  std::string answer;
  if (state != http_parse::complete) {
    answer = response(400, "Bad Request", "text/plain", "bad request\n");
  } else if (parsed.method != "GET") {
    answer = response(405, "Method Not Allowed", "text/plain", "only GET\n");
  } else {
    answer = respond(parsed.path);
  }
  timer.expires_after(response_timeout);
  auto written = co_await (asio::async_write(socket, asio::buffer(answer), use_nothrow) ||
                           timer.async_wait(use_nothrow));
  (void)written;
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

}  // namespace sluice::admin
