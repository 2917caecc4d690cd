// Running many client threads at once with small stacks, collecting their failures.
#include "tests/support/threads.h"

#include <pthread.h>

#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace sluice::test {
namespace {

struct thread_job {
  const std::function<void(std::size_t)>* body;
  std::size_t index;
  std::mutex* failures_mutex;
  std::vector<std::string>* failures;
};

void* run_job(void* arg) {
  auto* job = static_cast<thread_job*>(arg);
  std::string failure;
  try {
    (*job->body)(job->index);
  } catch (const std::exception& e) {
    failure = e.what();
  } catch (...) {
    failure = "unknown exception";
  }
  if (!failure.empty()) {
    std::lock_guard lock(*job->failures_mutex);
    job->failures->push_back("thread " + std::to_string(job->index) + ": " + failure);
  }
  return nullptr;
}

}  // namespace

std::vector<std::string> run_threads(std::size_t count,
                                     const std::function<void(std::size_t)>& body,
                                     std::size_t stack_size) {
  std::mutex failures_mutex;
  std::vector<std::string> failures;
  std::vector<thread_job> jobs(count);
  std::vector<pthread_t> threads;
  threads.reserve(count);

  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, stack_size);
  std::string start_error;
  for (std::size_t i = 0; i < count; ++i) {
    jobs[i] = thread_job{&body, i, &failures_mutex, &failures};
    pthread_t thread;
    if (const int rc = pthread_create(&thread, &attr, run_job, &jobs[i]); rc != 0) {
      start_error = "pthread_create for thread " + std::to_string(i) + ": " + std::strerror(rc);
      break;
    }
    threads.push_back(thread);
  }
  pthread_attr_destroy(&attr);
  for (pthread_t thread : threads) pthread_join(thread, nullptr);
  if (!start_error.empty()) throw std::runtime_error(start_error);
  return failures;
}

std::string describe_failures(const std::vector<std::string>& failures) {
  std::string text = std::to_string(failures.size()) + " failures:\n";
  for (std::size_t i = 0; i < failures.size() && i < 10; ++i) text += failures[i] + "\n";
  return text;
}

background_load::background_load(std::vector<std::unique_ptr<mysql_client>> clients,
                                 std::function<void(mysql_client&, std::size_t)> body)
    : clients_(std::move(clients)), body_(std::move(body)) {
  for (std::size_t i = 0; i < clients_.size(); ++i) {
    threads_.emplace_back([this, i] {
      try {
        while (!stop_) {
          body_(*clients_[i], i);
          ++rounds_;
        }
      } catch (const std::exception& e) {
        std::lock_guard lock(mutex_);
        failures_.push_back("background client " + std::to_string(i) + ": " + e.what());
      }
    });
  }
}

bool background_load::wait_for_rounds(int rounds, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (rounds_ < rounds && std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard lock(mutex_);
      if (!failures_.empty()) return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return rounds_ >= rounds;
}

void background_load::stop() {
  stop_ = true;
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

std::vector<std::string> background_load::failures() const {
  std::lock_guard lock(mutex_);
  return failures_;
}

}  // namespace sluice::test
