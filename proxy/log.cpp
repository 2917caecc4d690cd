// The stderr log sink: one write per line so concurrent lines never interleave.
#include "proxy/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>

namespace sluice::proxy {
namespace {

std::atomic<log_level> current_level{log_level::info};

const char* level_word(log_level level) {
  switch (level) {
    case log_level::error:
      return "error";
    case log_level::warn:
      return "warn";
    case log_level::info:
      return "info";
    case log_level::debug:
      return "debug";
  }
  return "info";
}

}  // namespace

void set_log_level(log_level level) noexcept {
  current_level = level;
}

bool log_enabled(log_level level) noexcept {
  return level <= current_level.load();
}

void write_log_line(log_level level, std::string_view subject, std::string_view text) {
  const auto now = std::chrono::system_clock::now();
  const std::time_t secs = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char stamp[40];
  const auto n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  std::string line(stamp, n);
  line += '.';
  line += static_cast<char>('0' + millis / 100);
  line += static_cast<char>('0' + millis / 10 % 10);
  line += static_cast<char>('0' + millis % 10);
  line += "Z ";
  line += level_word(level);
  line += ' ';
  if (!subject.empty()) {
    line += subject;
    line += ' ';
  }
  line += text;
  line += '\n';
  // A short write to stderr is not worth handling: the line is best effort.
  [[maybe_unused]] auto written = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace sluice::proxy
