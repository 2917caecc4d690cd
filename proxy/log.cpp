// The stderr log sink: one write per line so concurrent lines never interleave.
#include "proxy/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>

#include "proxy/text_escape.h"

namespace sluice::proxy {
namespace {

std::atomic<log_level> current_level{log_level::info};
std::atomic<log_format> current_format{log_format::plain};
std::atomic<std::size_t> info_budget{100};

std::mutex limiter_mutex;
std::int64_t limiter_second = 0;
std::size_t limiter_written = 0;
std::size_t limiter_suppressed = 0;

std::string timestamp() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t secs = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char stamp[40];
  const auto n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>(millis));
  return std::string(stamp, n) + frac;
}

void emit(const std::string& line) {
  // A short write to stderr is not worth handling: the line is best effort.
  [[maybe_unused]] auto written = ::write(STDERR_FILENO, line.data(), line.size());
}

// True when an info/debug line may be written now; also reports lines held back before.
bool within_budget(std::size_t& suppressed_before) {
  const std::size_t budget = info_budget.load();
  if (budget == 0) return true;
  const auto second = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  std::lock_guard lock(limiter_mutex);
  if (second != limiter_second) {
    limiter_second = second;
    limiter_written = 0;
    suppressed_before = limiter_suppressed;
    limiter_suppressed = 0;
  }
  if (limiter_written >= budget) {
    ++limiter_suppressed;
    return false;
  }
  ++limiter_written;
  return true;
}

}  // namespace

void set_log_level(log_level level) noexcept {
  current_level = level;
}
void set_log_format(log_format format) noexcept {
  current_format = format;
}
void set_log_info_rate_limit(std::size_t lines_per_second) noexcept {
  info_budget = lines_per_second;
}

bool log_enabled(log_level level) noexcept {
  return level <= current_level.load();
}

std::string format_log_line(log_level level, std::string_view subject, std::string_view text,
                            log_format format) {
  if (format == log_format::plain) {
    // Subjects and texts carry what clients chose (user names): escaped, no client can write a
    // line of its own into the log.
    std::string line = timestamp() + " " + to_string(level) + " ";
    if (!subject.empty()) {
      line += printable(subject);
      line += ' ';
    }
    line += printable(text);
    line += '\n';
    return line;
  }
  // JSON: the first word is the event, key=value words become fields, the rest is "detail".
  std::string line =
      "{\"time\":" + json_string(timestamp()) + ",\"level\":" + json_string(to_string(level));
  if (!subject.empty()) line += ",\"subject\":" + json_string(subject);
  std::string detail;
  std::size_t pos = 0;
  bool first = true;
  while (pos < text.size()) {
    const auto end = std::min(text.find(' ', pos), text.size());
    const std::string_view word = text.substr(pos, end - pos);
    pos = end + 1;
    if (word.empty()) continue;
    const auto eq = word.find('=');
    if (first) {
      line += ",\"event\":" + json_string(word);
      first = false;
    } else if (eq != std::string_view::npos && eq > 0) {
      line += "," + json_string(word.substr(0, eq)) + ":" + json_string(word.substr(eq + 1));
    } else {
      if (!detail.empty()) detail += ' ';
      detail += word;
    }
  }
  if (!detail.empty()) line += ",\"detail\":" + json_string(detail);
  return line + "}\n";
}

void write_log_line(log_level level, std::string_view subject, std::string_view text) {
  const auto format = current_format.load();
  // Only connection churn (lines about a client, "C-<id> ...") is rate-limited: lifecycle lines
  // such as a drain or a reload always get through.
  if (level >= log_level::info && subject.starts_with("C-")) {
    std::size_t suppressed_before = 0;
    const bool allowed = within_budget(suppressed_before);
    if (suppressed_before > 0)
      emit(format_log_line(
          log_level::warn, "",
          "log_suppressed lines=" + std::to_string(suppressed_before) + " reason=info_rate_limit",
          format));
    if (!allowed) return;
  }
  emit(format_log_line(level, subject, text, format));
}

}  // namespace sluice::proxy
