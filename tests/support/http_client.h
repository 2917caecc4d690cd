// A blocking HTTP/1.0 client for tests, just enough for a scrape or a health probe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace sluice::test {

struct http_response {
  int status = 0;
  std::string headers;
  std::string body;
};

// GET http://127.0.0.1:port/path; nullopt when the connection fails or no complete answer
// arrives within `timeout` (HTTP/1.0: the server closes the connection after the answer).
std::optional<http_response> http_get(std::uint16_t port, const std::string& path,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace sluice::test
