// Random free ports outside the ephemeral range, verified by binding them.
#include "tests/support/ports.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <string>

namespace sluice::test {
namespace {

// Below 1024 a port needs privileges; root tests would take ports of system services.
constexpr std::uint32_t lowest_port = 1024;
// Fewer candidates than this below the range and the picker looks above it instead.
constexpr std::uint32_t enough_ports = 1000;
constexpr int attempts = 500;

// Whether 127.0.0.1:port can be bound now. No SO_REUSEADDR: a port still in TIME_WAIT counts as
// taken, since a server that reuses addresses would get it but one that does not would fail.
bool bindable(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

port_range ephemeral_port_range() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  unsigned first = 0, last = 0;
  if (in >> first >> last && first > 0 && first <= last && last <= 65535)
    return {static_cast<std::uint16_t>(first), static_cast<std::uint16_t>(last)};
  return {32768, 60999};
}

std::uint16_t free_port() {
  // Shared by every thread of the test process: the picks must stay distinct.
  static std::mutex mutex;
  static std::set<std::uint16_t> handed_out;
  static std::mt19937 random{std::random_device{}()};
  const std::lock_guard lock(mutex);

  const port_range ephemeral = ephemeral_port_range();
  std::uint32_t low = lowest_port, high = ephemeral.first - 1u;
  if (ephemeral.first < lowest_port + enough_ports) {
    low = std::max<std::uint32_t>(ephemeral.last + 1u, lowest_port);
    high = 65535;
  }
  if (low > high) throw std::runtime_error("free_port: no ports outside the ephemeral range");
  std::uniform_int_distribution<std::uint32_t> pick(low, high);
  for (int i = 0; i < attempts; ++i) {
    const auto port = static_cast<std::uint16_t>(pick(random));
    if (handed_out.contains(port) || !bindable(port)) continue;
    handed_out.insert(port);
    return port;
  }
  throw std::runtime_error("free_port: no free port in " + std::to_string(low) + "-" +
                           std::to_string(high) + " after " + std::to_string(attempts) + " tries");
}

}  // namespace sluice::test
