// Parsing and writing configuration values.
#include "config/config_values.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <limits>

namespace sluice {

std::string trim(std::string_view s) {
  auto begin = s.find_first_not_of(" \t\r");
  if (begin == std::string_view::npos) return {};
  auto end = s.find_last_not_of(" \t\r");
  return std::string(s.substr(begin, end - begin + 1));
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::uint64_t parse_unsigned(const std::string& v, const std::string& key) {
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || v.empty())
    throw config_error(key + ": expected a whole number, got '" + v + "'");
  return n;
}

// "250ms", "10s", "5m", "1h"; a bare number is seconds (fractions allowed: "0.5").
std::chrono::milliseconds parse_duration(const std::string& v, const std::string& key) {
  std::size_t digits = 0;
  while (digits < v.size() &&
         (std::isdigit(static_cast<unsigned char>(v[digits])) || v[digits] == '.'))
    ++digits;
  const std::string number = v.substr(0, digits);
  const std::string unit = lower(trim(v.substr(digits)));
  double value = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (number.empty() || ec != std::errc() || end != number.data() + number.size())
    throw config_error(key + ": expected a duration such as 500ms, 10s, 5m or 1h, got '" + v + "'");
  double scale = 0;
  if (unit.empty() || unit == "s")
    scale = 1000;
  else if (unit == "ms")
    scale = 1;
  else if (unit == "m" || unit == "min")
    scale = 60'000;
  else if (unit == "h")
    scale = 3'600'000;
  else
    throw config_error(key + ": unknown duration unit '" + unit + "' (use ms, s, m or h)");
  // Durations are added to steady_clock time points (64-bit nanoseconds): keep them far from
  // overflowing, and keep the conversion below defined.
  constexpr double max_ms = 100.0 * 365 * 24 * 3'600'000;
  if (value * scale > max_ms)
    throw config_error(key + ": '" + v + "' is too long (at most 100 years)");
  return std::chrono::milliseconds(static_cast<std::int64_t>(value * scale));
}

// "65536", "64K", "64M", "1G".
std::size_t parse_size(const std::string& v, const std::string& key) {
  if (v.empty()) throw config_error(key + ": expected a size such as 16M");
  std::uint64_t scale = 1;
  std::string number = v;
  switch (std::toupper(static_cast<unsigned char>(v.back()))) {
    case 'K':
      scale = 1024;
      break;
    case 'M':
      scale = 1024 * 1024;
      break;
    case 'G':
      scale = 1024ull * 1024 * 1024;
      break;
    default:
      scale = 1;
  }
  if (scale != 1) number.pop_back();
  const std::uint64_t n = parse_unsigned(number, key);
  if (n > std::numeric_limits<std::size_t>::max() / scale)
    throw config_error(key + ": '" + v + "' is too large");
  return static_cast<std::size_t>(n * scale);
}

endpoint parse_endpoint(const std::string& v, const std::string& key) {
  auto colon = v.rfind(':');
  if (colon == std::string::npos || colon == 0)
    throw config_error(key + ": expected IP:PORT, got '" + v + "'");
  endpoint e;
  e.host = v.substr(0, colon);
  if (e.host.size() > 2 && e.host.front() == '[' && e.host.back() == ']')
    e.host = e.host.substr(1, e.host.size() - 2);
  const auto port = parse_unsigned(v.substr(colon + 1), key);
  if (port == 0 || port > 65535) throw config_error(key + ": port must be 1-65535");
  e.port = static_cast<std::uint16_t>(port);
  unsigned char buf[16];
  if (inet_pton(AF_INET, e.host.c_str(), buf) != 1 && inet_pton(AF_INET6, e.host.c_str(), buf) != 1)
    throw config_error(key + ": '" + e.host +
                       "' is not an IP address (sluice does not resolve host names, so that no "
                       "lookup can block it)");
  return e;
}

bool parse_bool(const std::string& v, const std::string& key) {
  const auto b = lower(v);
  if (b == "on" || b == "true" || b == "yes" || b == "1") return true;
  if (b == "off" || b == "false" || b == "no" || b == "0") return false;
  throw config_error(key + ": expected on or off, got '" + v + "'");
}

double parse_rate(const std::string& v, const std::string& key) {
  double rate = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), rate);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size() || rate < 0)
    throw config_error(key + ": expected a rate per second (0: no limit), got '" + v + "'");
  return rate;
}

std::string duration_text(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

std::string rate_text(double rate) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", rate);
  return text;
}

std::string endpoint_text(const std::optional<endpoint>& e) {
  if (!e) return "off";
  const std::string host = e->host.find(':') != std::string::npos ? "[" + e->host + "]" : e->host;
  return host + ":" + std::to_string(e->port);
}

std::string size_text(std::size_t n) {
  if (n != 0 && n % (1024 * 1024) == 0) return std::to_string(n / (1024 * 1024)) + "M";
  if (n != 0 && n % 1024 == 0) return std::to_string(n / 1024) + "K";
  return std::to_string(n);
}

}  // namespace sluice
