// sluice's INI configuration file: parsing (every key from the key table) and environment
// overrides (SLUICE_<SECTION>_<KEY>, e.g. SLUICE_BACKEND_PASSWORD, so that secrets need not sit in
// a file or an image).
#pragma once

#include <string>

#include "config/config.h"

namespace sluice {

// Parses INI text; `origin` (a file name) prefixes error messages. `environment` supplies the
// overrides (getenv when null). Throws config_error naming the line, key and problem.
config parse_config(const std::string& text, const std::string& origin,
                    const char* (*environment)(const char*) = nullptr);
config load_config_file(const std::string& path);

}  // namespace sluice
