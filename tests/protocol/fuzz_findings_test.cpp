// Inputs the fuzz targets (tests/fuzz) found, each kept as a test; the input files are in
// tests/fuzz/findings/ and the findings are described in docs/TESTING.md.
#include <gtest/gtest.h>

#include <string>

#include "protocol/constants.h"
#include "protocol/handshake.h"
#include "tests/protocol/codec_case.h"

namespace sluice::protocol::test {
namespace {

// F2 (fuzz_handshake_v10): a greeting with CLIENT_SECURE_CONNECTION but not CLIENT_PLUGIN_AUTH
// and a scramble of 37 bytes (the length byte said 37). encode_handshake_v10 writes part 2 whole
// but the length byte as 0 (no plugin auth), so every reader takes 13 bytes of part 2: the
// encoder wrote a greeting whose scramble could not be read back. Now it cuts the scramble to
// the 20 bytes the layout carries, and the greeting reads back as written.
TEST(fuzz_finding, handshake_v10_long_scramble_without_plugin_auth) {
  const bytes input =
      hex("0a0100010a21dacaa125dadacada3122009ef6ff2525d2252522daca0a0100010a21dacaa125dadacada3122"
          "009ef6ff2525d2252522dacada22dada22da9e");
  const auto greeting = decode_handshake_v10(input);
  ASSERT_TRUE(greeting.has_value());
  ASSERT_TRUE(greeting->capabilities & capability::secure_connection);
  ASSERT_FALSE(greeting->capabilities & capability::plugin_auth);
  ASSERT_EQ(greeting->auth_plugin_data.size(), 37u);

  bytes encoded;
  encode_handshake_v10(*greeting, encoded);
  const auto again = decode_handshake_v10(encoded);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->auth_plugin_data, greeting->auth_plugin_data.substr(0, 20));
  handshake_v10 cut = *greeting;
  cut.auth_plugin_data.resize(20);
  EXPECT_EQ(*again, cut);
}

// F2 too (fuzz_handshake_v10, input tests/fuzz/findings/handshake_v10_scramble_length_wraps):
// with CLIENT_PLUGIN_AUTH the length byte is 8 + part 2 + its NUL, which wraps to 0 from a
// 255-byte scramble on, so readers took 13 bytes of part 2 and the rest as the plugin name. Now
// the scramble is cut to the 254 bytes the length byte describes.
TEST(fuzz_finding, handshake_v10_scramble_length_wraps) {
  handshake_v10 greeting;
  greeting.server_version = "10.11.19-MariaDB";
  greeting.connection_id = 7;
  greeting.auth_plugin_data = std::string(255, 's');
  greeting.capabilities = capability::long_password | capability::protocol_41 |
                          capability::secure_connection | capability::plugin_auth;
  greeting.auth_plugin_name = "mysql_native_password";

  bytes encoded;
  encode_handshake_v10(greeting, encoded);
  const auto again = decode_handshake_v10(encoded);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->auth_plugin_data, greeting.auth_plugin_data.substr(0, 254));
  EXPECT_EQ(again->auth_plugin_name, greeting.auth_plugin_name);
}

}  // namespace
}  // namespace sluice::protocol::test
