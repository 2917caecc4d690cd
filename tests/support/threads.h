// Running many client threads at once with small stacks, collecting their failures.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace sluice::test {

// Runs body(0) .. body(count - 1) each on its own thread (stack of `stack_size` bytes), all
// started before any is joined; returns "thread N: what()" for every body that threw.
std::vector<std::string> run_threads(std::size_t count,
                                     const std::function<void(std::size_t)>& body,
                                     std::size_t stack_size = 1 << 20);

}  // namespace sluice::test
