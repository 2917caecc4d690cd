// Running many client threads at once with small stacks, collecting their failures.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/client.h"

namespace sluice::test {

// Runs body(0) .. body(count - 1) each on its own thread (stack of `stack_size` bytes), all
// started before any is joined; returns "thread N: what()" for every body that threw.
std::vector<std::string> run_threads(std::size_t count,
                                     const std::function<void(std::size_t)>& body,
                                     std::size_t stack_size = 1 << 20);

// "N failures:" and the first ten, one per line, for an assertion message.
std::string describe_failures(const std::vector<std::string>& failures);

// Clients that run `body` over and over on threads of their own until stopped (or the body
// throws: the message is kept and that thread stops).
class background_load {
 public:
  background_load(std::vector<std::unique_ptr<mysql_client>> clients,
                  std::function<void(mysql_client&, std::size_t)> body);
  ~background_load() { stop(); }
  background_load(const background_load&) = delete;
  background_load& operator=(const background_load&) = delete;

  void stop();
  // Waits until the clients have run `rounds` rounds between them (or one failed, or `timeout`
  // passed): on a busy machine a test can otherwise be done before the load has begun.
  bool wait_for_rounds(int rounds, std::chrono::milliseconds timeout);
  int rounds() const { return rounds_; }
  std::vector<std::string> failures() const;

 private:
  std::vector<std::unique_ptr<mysql_client>> clients_;
  std::function<void(mysql_client&, std::size_t)> body_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<int> rounds_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> failures_;
};

}  // namespace sluice::test
