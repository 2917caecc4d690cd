// Picking loopback TCP ports for the servers a test starts, outside the kernel's ephemeral range.
#pragma once

#include <cstdint>

namespace sluice::test {

// The ports the kernel gives to outgoing connections and to bind(port 0)
// (/proc/sys/net/ipv4/ip_local_port_range; Linux's default 32768-60999 if it cannot be read).
struct port_range {
  std::uint16_t first = 0;
  std::uint16_t last = 0;
  bool contains(std::uint16_t port) const { return port >= first && port <= last; }
};
port_range ephemeral_port_range();

// A TCP port free on 127.0.0.1 now, chosen at random below the ephemeral range (above it if
// too few ports lie below), so that no process's outgoing connection can take it between the
// pick and the server's bind. Checked with a bind; never the same port twice in one process.
// Another process can still bind it first: servers that fail to bind are retried by their
// starters. Throws std::runtime_error when no free port is found.
std::uint16_t free_port();

}  // namespace sluice::test
