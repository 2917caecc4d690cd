// One line per event on stderr: time, level, subject (C-<id> user@addr, S-<id>), event and
// reason, as plain text or JSON. Info lines about clients beyond a per-second budget are counted
// and summarised instead of written, so a connection storm cannot flood the log.
#pragma once

#include <cstddef>
#include <sstream>
#include <string>
#include <string_view>

#include "config/config.h"

namespace sluice::proxy {

void set_log_level(log_level level) noexcept;
void set_log_format(log_format format) noexcept;
void set_log_info_rate_limit(std::size_t lines_per_second) noexcept;
bool log_enabled(log_level level) noexcept;
// `text` starts with the event word, then key=value details ("close reason=client_quit").
void write_log_line(log_level level, std::string_view subject, std::string_view text);
// Renders a line as it would be written (no rate limit); for tests.
std::string format_log_line(log_level level, std::string_view subject, std::string_view text,
                            log_format format);

// log(level, subject, parts...): the parts are streamed together into one line.
template <class... Parts>
void log(log_level level, std::string_view subject, const Parts&... parts) {
  if (!log_enabled(level)) return;
  std::ostringstream text;
  (text << ... << parts);
  write_log_line(level, subject, text.str());
}

}  // namespace sluice::proxy
