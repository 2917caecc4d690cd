// The admin port over a plain loopback TCP socket.
#include "tests/support/admin_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

namespace sluice::test {

admin_client::admin_client(std::uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("socket() failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd_);
    throw std::runtime_error("cannot connect to the admin port " + std::to_string(port));
  }
}

admin_client::~admin_client() {
  ::close(fd_);
}

std::string admin_client::command(const std::string& line) {
  using steady = std::chrono::steady_clock;
  const std::string text = line + "\n";
  if (::send(fd_, text.data(), text.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(text.size()))
    throw std::runtime_error("admin port: send failed");
  const auto deadline = steady::now() + std::chrono::seconds(5);
  for (;;) {
    if (const auto end = pending_.find("\n\n"); end != std::string::npos) {
      std::string answer = pending_.substr(0, end);
      pending_.erase(0, end + 2);
      return answer;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now()).count();
    pollfd p{fd_, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0)
      throw std::runtime_error("admin port: no answer to '" + line + "'");
    char chunk[65536];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) throw std::runtime_error("admin port closed the connection");
    pending_.append(chunk, static_cast<std::size_t>(n));
  }
}

}  // namespace sluice::test
