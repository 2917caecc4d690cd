// The syntax of configuration values: durations (500ms, 10s, 5m, 1h), sizes (64K, 16M, 1G),
// whole numbers, on/off, IP:PORT endpoints; parsed strictly, and written back the same way.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"

namespace sluice {

std::string trim(std::string_view s);
std::string lower(std::string s);

// Each throws config_error naming `key` and the value when the value does not parse.
std::uint64_t parse_unsigned(const std::string& v, const std::string& key);
std::chrono::milliseconds parse_duration(const std::string& v, const std::string& key);
std::size_t parse_size(const std::string& v, const std::string& key);
endpoint parse_endpoint(const std::string& v, const std::string& key);
bool parse_bool(const std::string& v, const std::string& key);
double parse_rate(const std::string& v, const std::string& key);

std::string duration_text(std::chrono::milliseconds d);
std::string size_text(std::size_t n);
std::string rate_text(double rate);
std::string endpoint_text(const std::optional<endpoint>& e);  // "off" when absent

}  // namespace sluice
