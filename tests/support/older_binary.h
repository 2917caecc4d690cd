// Running a regression test against an older sluice ($SLUICE_BINARY) that refuses the
// configuration keys added since: the keys it does not know are left out, and it is said so.
#pragma once

#include <string>

#include "tests/support/sluice_config.h"

namespace sluice::test {

class mariadb_server;

// Whether $SLUICE_BINARY names another binary than the one this build tree tests.
bool testing_another_binary();

// Whether the sluice under test knows `dotted_key` (e.g. "limits.client_read_timeout"):
// `--check-config` of basic_sluice_config with the key set to `value` does not answer "unknown
// key". Remembered per key.
bool binary_knows_key(const std::string& dotted_key, const std::string& value,
                      const mariadb_server& server);

// `overrides` without the keys the binary under test refuses, each named on stdout. Only for
// another binary: the build's own keeps every key, so a key it lost fails the test's start-up.
config_overrides without_unknown_keys(const config_overrides& overrides,
                                      const mariadb_server& server);

}  // namespace sluice::test
