// One line per event on stderr: time, level, subject (C-<id> user@addr, S-<id>), event and reason.
#pragma once

#include <sstream>
#include <string>
#include <string_view>

#include "proxy/config.h"

namespace sluice::proxy {

void set_log_level(log_level level) noexcept;
bool log_enabled(log_level level) noexcept;
void write_log_line(log_level level, std::string_view subject, std::string_view text);

// log(level, subject, parts...): the parts are streamed together into one line.
template <class... Parts>
void log(log_level level, std::string_view subject, const Parts&... parts) {
  if (!log_enabled(level)) return;
  std::ostringstream text;
  (text << ... << parts);
  write_log_line(level, subject, text.str());
}

}  // namespace sluice::proxy
