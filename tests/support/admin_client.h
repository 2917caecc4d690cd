// A client of sluice's admin port for tests: one command line, one answer ending with an empty
// line.
#pragma once

#include <cstdint>
#include <string>

namespace sluice::test {

class admin_client {
 public:
  // Connects to 127.0.0.1:port; throws std::runtime_error if it cannot.
  explicit admin_client(std::uint16_t port);
  ~admin_client();
  admin_client(const admin_client&) = delete;
  admin_client& operator=(const admin_client&) = delete;

  // Sends `line` and returns the answer without its terminating empty line; throws
  // std::runtime_error if no answer comes within 5 s or the port closes the connection.
  std::string command(const std::string& line);

 private:
  int fd_ = -1;
  std::string pending_;
};

}  // namespace sluice::test
