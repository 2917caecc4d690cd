// INI parsing: tables of valid configurations with every parsed value, and of invalid ones with
// the words their error message must carry.
#include "config/config.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "config/config_file.h"
#include "config/config_keys.h"

namespace sluice {
namespace {

using namespace std::chrono_literals;

// The two things every configuration must have; cases add to it.
const std::string required =
    "[backend]\n"
    "address = 10.0.0.5:3306\n"
    "[users]\n"
    "app = secret\n";

config required_parsed() {
  config c;
  c.backend = {"10.0.0.5", 3306};
  c.users = {{"app", "secret"}};
  return c;
}

void expect_same(const config& got, const config& want) {
  EXPECT_EQ(got.listen.host, want.listen.host);
  EXPECT_EQ(got.listen.port, want.listen.port);
  EXPECT_EQ(got.pool_mode, want.pool_mode);
  EXPECT_EQ(got.shutdown_timeout.count(), want.shutdown_timeout.count()) << "shutdown_timeout";
  EXPECT_EQ(got.max_allowed_packet, want.max_allowed_packet);
  EXPECT_EQ(got.backend.host, want.backend.host);
  EXPECT_EQ(got.backend.port, want.backend.port);
  EXPECT_EQ(got.backend_user, want.backend_user);
  EXPECT_EQ(got.backend_password, want.backend_password);
  EXPECT_EQ(got.connect_timeout.count(), want.connect_timeout.count()) << "connect_timeout";
  EXPECT_TRUE(got.tls == want.tls) << "[tls]";
  EXPECT_TRUE(got.backend_tls == want.backend_tls) << "[backend] tls*";
  EXPECT_EQ(got.pool.max_connections, want.pool.max_connections);
  EXPECT_EQ(got.pool.min_idle, want.pool.min_idle);
  EXPECT_EQ(got.pool.max_waiting, want.pool.max_waiting);
  EXPECT_EQ(got.pool.queue_timeout.count(), want.pool.queue_timeout.count()) << "queue_timeout";
  EXPECT_EQ(got.pool.idle_timeout.count(), want.pool.idle_timeout.count()) << "idle_timeout";
  EXPECT_EQ(got.pool.max_lifetime.count(), want.pool.max_lifetime.count()) << "max_lifetime";
  EXPECT_EQ(got.pool.connect_retry.count(), want.pool.connect_retry.count()) << "connect_retry";
  EXPECT_EQ(got.users, want.users);
  EXPECT_EQ(got.log, want.log);
}

// ---------------------------------------------------------------------------------------------
// Valid configurations.

struct valid_case {
  std::string name;
  std::string text;
  std::function<void(config&)> expect;  // applied to required_parsed()
};

void PrintTo(const valid_case& c, std::ostream* out) {
  *out << c.name;
}

class config_valid : public ::testing::TestWithParam<valid_case> {};

TEST_P(config_valid, parses) {
  const valid_case& c = GetParam();
  config want = required_parsed();
  c.expect(want);
  config got;
  ASSERT_NO_THROW(got = parse_config(c.text, "test.ini")) << c.text;
  expect_same(got, want);
}

const std::vector<valid_case> valid_cases = {
    {"defaults", required, [](config&) {}},
    {"every_key",
     required + "[sluice]\n"
                "listen = 0.0.0.0:7000\n"
                "pool_mode = session\n"
                "shutdown_timeout = 30s\n"
                "max_allowed_packet = 16M\n"
                "[backend]\n"
                "user = proxy\n"
                "password = hunter2\n"
                "max_connections = 32\n"
                "min_idle = 4\n"
                "connect_timeout = 2s\n"
                "idle_timeout = 10m\n"
                "max_lifetime = 2h\n"
                "[queue]\n"
                "timeout = 1500ms\n"
                "max_waiting = 100\n"
                "[log]\n"
                "level = debug\n",
     [](config& c) {
       c.listen = {"0.0.0.0", 7000};
       c.pool_mode = pool_mode::session;
       c.shutdown_timeout = 30s;
       c.max_allowed_packet = 16 * 1024 * 1024;
       c.backend_user = "proxy";
       c.backend_password = "hunter2";
       c.pool.max_connections = 32;
       c.pool.min_idle = 4;
       c.connect_timeout = 2s;
       c.pool.idle_timeout = 10min;
       c.pool.max_lifetime = 2h;
       c.pool.queue_timeout = 1500ms;
       c.pool.max_waiting = 100;
       c.log = log_level::debug;
     }},
    {"inline_comments",
     required + "[backend]\n"
                "max_connections = 8 ; eight\n"
                "min_idle = 2\t# two\n"
                "user = proxy ;no space after the semicolon\n"
                "password = a;b#c\n",
     [](config& c) {
       c.pool.max_connections = 8;
       c.pool.min_idle = 2;
       c.backend_user = "proxy";
       c.backend_password = "a;b#c";  // ';' and '#' inside a word are part of it
     }},
    {"quoted_values",
     "[backend]\n"
     "address = \"10.0.0.5:3306\"\n"
     "password = \"p ; not # a comment\"   ; a comment\n"
     "[users]\n"
     "app = \"  spaced  \"\n"
     "nobody = \"\"\n",
     [](config& c) {
       c.backend_password = "p ; not # a comment";
       c.users = {{"app", "  spaced  "}, {"nobody", ""}};
     }},
    {"ipv6_endpoints",
     required + "[sluice]\n"
                "listen = [::1]:6033\n"
                "[backend]\n"
                "max_connections = 16\n"
                "[sluice]\n"
                "pool_mode = transaction\n",
     [](config& c) {
       c.listen = {"::1", 6033};
     }},
    {"ipv6_backend",
     "[backend]\n"
     "address = [2001:db8::7]:3307\n"
     "[users]\n"
     "app = secret\n",
     [](config& c) {
       c.backend = {"2001:db8::7", 3307};
     }},
    {"names_are_case_insensitive",
     required + "[SLUICE]\n"
                "Pool_Mode = SESSION\n"
                "[Log]\n"
                "LEVEL = Warning\n",
     [](config& c) {
       c.pool_mode = pool_mode::session;
       c.log = log_level::warn;
     }},
    {"comments_blank_lines_indentation_and_crlf",
     "; a comment\r\n"
     "# another\r\n"
     "\r\n"
     "  [backend]  \r\n"
     "\taddress   =   10.0.0.5:3306\r\n"
     "   ; indented comment\r\n"
     "[users]\r\n"
     "app=secret\r\n"
     "[log]\r\n"
     "level = error\r\n",
     [](config& c) { c.log = log_level::error; }},
    {"user_names_keep_case_and_values_keep_equals",
     required + "[users]\n"
                "App = other\n"
                "carol = a=b\n",
     [](config& c) {
       c.users["App"] = "other";
       c.users["carol"] = "a=b";
     }},
    {"min_idle_may_equal_max_connections",
     required + "[backend]\n"
                "max_connections = 3\n"
                "min_idle = 3\n",
     [](config& c) {
       c.pool.max_connections = 3;
       c.pool.min_idle = 3;
     }},
    {"tls_towards_clients",
     required + "[tls]\n"
                "cert_file = /etc/sluice/chain.pem\n"
                "key_file = /etc/sluice/key.pem\n"
                "ca_file = /etc/sluice/clients-ca.pem\n"
                "verify_client = required\n"
                "min_version = TLSv1.3\n"
                "ciphers = ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256\n"
                "require_secure_transport = on\n",
     [](config& c) {
       c.tls.cert_file = "/etc/sluice/chain.pem";
       c.tls.key_file = "/etc/sluice/key.pem";
       c.tls.ca_file = "/etc/sluice/clients-ca.pem";
       c.tls.verify_client = client_certificates::required;
       c.tls.min_version = tls_version::v1_3;
       c.tls.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";
       c.tls.require_secure_transport = true;
     }},
    {"tls_optional_client_certificates_and_short_version",
     required + "[tls]\n"
                "cert_file = a.pem\n"
                "key_file = b.pem\n"
                "ca_file = c.pem\n"
                "verify_client = optional\n"
                "min_version = 1.2\n",
     [](config& c) {
       c.tls.cert_file = "a.pem";
       c.tls.key_file = "b.pem";
       c.tls.ca_file = "c.pem";
       c.tls.verify_client = client_certificates::optional;
     }},
    {"tls_towards_the_backend",
     required + "[backend]\n"
                "tls = verify_identity\n"
                "tls_ca_file = /etc/ssl/db-ca.pem\n"
                "tls_cert_file = /etc/sluice/db-client.pem\n"
                "tls_key_file = /etc/sluice/db-client.key\n"
                "tls_server_name = db.internal\n",
     [](config& c) {
       c.backend_tls.mode = backend_tls_mode::verify_identity;
       c.backend_tls.ca_file = "/etc/ssl/db-ca.pem";
       c.backend_tls.cert_file = "/etc/sluice/db-client.pem";
       c.backend_tls.key_file = "/etc/sluice/db-client.key";
       c.backend_tls.server_name = "db.internal";
     }},
    {"backend_tls_preferred_needs_no_files", required + "[backend]\ntls = PREFERRED\n",
     [](config& c) { c.backend_tls.mode = backend_tls_mode::preferred; }},
    {"log_level_info", required + "[log]\nlevel = info\n",
     [](config& c) { c.log = log_level::info; }},
};

INSTANTIATE_TEST_SUITE_P(config, config_valid, ::testing::ValuesIn(valid_cases),
                         [](const auto& info) { return info.param.name; });

// ---------------------------------------------------------------------------------------------
// Durations and sizes, one value each.

struct value_case {
  std::string name;
  std::string value;
  std::uint64_t expected;  // milliseconds or bytes
};

void PrintTo(const value_case& c, std::ostream* out) {
  *out << c.name << " '" << c.value << "'";
}

class config_duration : public ::testing::TestWithParam<value_case> {};

TEST_P(config_duration, parses_as_milliseconds) {
  const value_case& c = GetParam();
  const config got = parse_config(required + "[queue]\ntimeout = " + c.value + "\n", "test.ini");
  EXPECT_EQ(got.pool.queue_timeout.count(), static_cast<std::int64_t>(c.expected));
}

INSTANTIATE_TEST_SUITE_P(config, config_duration,
                         ::testing::Values(value_case{"milliseconds", "250ms", 250},
                                           value_case{"seconds", "10s", 10'000},
                                           value_case{"minutes", "5m", 300'000},
                                           value_case{"minutes_long_form", "2min", 120'000},
                                           value_case{"hours", "1h", 3'600'000},
                                           value_case{"bare_is_seconds", "7", 7'000},
                                           value_case{"bare_fraction", "0.5", 500},
                                           value_case{"fraction_with_unit", "1.5m", 90'000},
                                           value_case{"upper_case_unit", "250MS", 250},
                                           value_case{"space_before_unit", "10 s", 10'000},
                                           value_case{"zero", "0", 0},
                                           value_case{"a_century", "876000h", 3'153'600'000'000}),
                         [](const auto& info) { return info.param.name; });

class config_size : public ::testing::TestWithParam<value_case> {};

TEST_P(config_size, parses_as_bytes) {
  const value_case& c = GetParam();
  const config got =
      parse_config(required + "[sluice]\nmax_allowed_packet = " + c.value + "\n", "test.ini");
  EXPECT_EQ(got.max_allowed_packet, c.expected);
}

INSTANTIATE_TEST_SUITE_P(config, config_size,
                         ::testing::Values(value_case{"bytes", "65536", 65536},
                                           value_case{"kibibytes", "64K", 64 * 1024},
                                           value_case{"lower_case_unit", "64k", 64 * 1024},
                                           value_case{"mebibytes", "16M", 16 * 1024 * 1024},
                                           value_case{"gibibytes", "1G", 1024 * 1024 * 1024},
                                           value_case{"smallest", "1K", 1024}),
                         [](const auto& info) { return info.param.name; });

// ---------------------------------------------------------------------------------------------
// Invalid configurations.

struct invalid_case {
  std::string name;
  std::string text;
  std::string message;  // a substring of the error
};

void PrintTo(const invalid_case& c, std::ostream* out) {
  *out << c.name;
}

class config_invalid : public ::testing::TestWithParam<invalid_case> {};

TEST_P(config_invalid, is_rejected_with_a_message) {
  const invalid_case& c = GetParam();
  try {
    parse_config(c.text, "test.ini");
    ADD_FAILURE() << "accepted:\n" << c.text;
  } catch (const config_error& e) {
    EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos)
        << "message: " << e.what() << "\nwanted: " << c.message;
  }
}

// `required` is four lines long: an added line N is line 4 + N.
const std::vector<invalid_case> invalid_cases = {
    {"unknown_section", required + "[server]\n", "test.ini:5: unknown section [server]"},
    {"empty_section_name", required + "[]\n", "test.ini:5: unknown section []"},
    {"section_without_closing_bracket", required + "[backend\n",
     "test.ini:5: section header '[backend' lacks a closing ]"},
    {"unknown_key", required + "[backend]\nhost = 10.0.0.1\n",
     "test.ini:6: unknown key 'host' in [backend]"},
    {"key_of_another_section", required + "[queue]\nmax_connections = 3\n",
     "unknown key 'max_connections' in [queue]"},
    {"duplicate_key", required + "[backend]\nmax_connections = 4\nMax_Connections = 5\n",
     "test.ini:7: backend.max_connections: defined twice"},
    {"duplicate_key_in_a_reopened_section", required + "[backend]\naddress = 10.0.0.6:3306\n",
     "test.ini:6: backend.address: defined twice"},
    {"duplicate_user", required + "[users]\napp = other\n",
     "test.ini:6: [users] app: defined twice"},
    {"key_before_any_section", "address = 10.0.0.5:3306\n" + required,
     "test.ini:1: key 'address' appears before any [section]"},
    {"line_without_equals", required + "[backend]\nmax_connections 4\n",
     "test.ini:6: expected 'key = value', got 'max_connections 4'"},
    {"empty_key", required + "[backend]\n= 4\n", "test.ini:6: empty key"},
    {"bad_duration_unit", required + "[queue]\ntimeout = 10d\n",
     "test.ini:6: queue.timeout: unknown duration unit 'd' (use ms, s, m or h)"},
    {"duration_without_number", required + "[queue]\ntimeout = ms\n",
     "queue.timeout: expected a duration such as 500ms, 10s, 5m or 1h, got 'ms'"},
    {"negative_duration", required + "[backend]\nidle_timeout = -5s\n",
     "backend.idle_timeout: expected a duration"},
    {"duration_with_two_points", required + "[backend]\nmax_lifetime = 1.2.3s\n",
     "backend.max_lifetime: expected a duration"},
    {"empty_duration", required + "[sluice]\nshutdown_timeout =\n",
     "sluice.shutdown_timeout: expected a duration"},
    // 1e20 hours in milliseconds does not fit in 64 bits.
    {"duration_too_long", required + "[backend]\nmax_lifetime = 99999999999999999999h\n",
     "backend.max_lifetime: '99999999999999999999h' is too long"},
    {"duration_beyond_steady_clock", required + "[backend]\nconnect_timeout = 3000000h\n",
     "backend.connect_timeout: '3000000h' is too long"},
    {"bad_number", required + "[backend]\nmax_connections = 12abc\n",
     "test.ini:6: backend.max_connections: expected a whole number, got '12abc'"},
    {"negative_number", required + "[queue]\nmax_waiting = -1\n",
     "queue.max_waiting: expected a whole number, got '-1'"},
    {"empty_number", required + "[backend]\nmin_idle =\n",
     "backend.min_idle: expected a whole number, got ''"},
    {"number_too_big", required + "[queue]\nmax_waiting = 99999999999999999999\n",
     "queue.max_waiting: expected a whole number"},
    {"zero_max_connections", required + "[backend]\nmax_connections = 0\n",
     "backend.max_connections: must be at least 1"},
    {"bad_size_unit", required + "[sluice]\nmax_allowed_packet = 16X\n",
     "sluice.max_allowed_packet: expected a whole number, got '16X'"},
    {"size_unit_alone", required + "[sluice]\nmax_allowed_packet = M\n",
     "sluice.max_allowed_packet: expected a whole number, got ''"},
    {"size_too_small", required + "[sluice]\nmax_allowed_packet = 512\n",
     "sluice.max_allowed_packet: must be at least 1K"},
    // 17179869185 * 2^30 wraps around 2^64 to exactly 1G.
    {"size_overflow", required + "[sluice]\nmax_allowed_packet = 17179869185G\n",
     "sluice.max_allowed_packet: '17179869185G' is too large"},
    {"port_zero", required + "[sluice]\nlisten = 127.0.0.1:0\n",
     "test.ini:6: sluice.listen: port must be 1-65535"},
    {"port_too_big", required + "[sluice]\nlisten = 127.0.0.1:70000\n",
     "sluice.listen: port must be 1-65535"},
    {"port_missing", required + "[sluice]\nlisten = 127.0.0.1\n",
     "sluice.listen: expected IP:PORT, got '127.0.0.1'"},
    {"port_not_a_number", required + "[sluice]\nlisten = 127.0.0.1:mysql\n",
     "sluice.listen: expected a whole number, got 'mysql'"},
    {"host_name_instead_of_ip", "[backend]\naddress = db.example.com:3306\n[users]\napp = secret\n",
     "test.ini:2: backend.address: 'db.example.com' is not an IP address"},
    {"localhost_is_a_name_too", required + "[sluice]\nlisten = localhost:6033\n",
     "'localhost' is not an IP address"},
    {"bad_ipv4", required + "[sluice]\nlisten = 300.1.1.1:6033\n",
     "'300.1.1.1' is not an IP address"},
    {"missing_backend_address", "[users]\napp = secret\n", "test.ini: backend.address is required"},
    {"empty_users", "[backend]\naddress = 10.0.0.5:3306\n[users]\n",
     "test.ini: [users] must list at least one 'name = password' account"},
    {"no_users_section", "[backend]\naddress = 10.0.0.5:3306\n", "[users] must list at least one"},
    {"min_idle_above_max_connections", required + "[backend]\nmax_connections = 4\nmin_idle = 5\n",
     "backend.min_idle (5) exceeds backend.max_connections (4)"},
    {"pool_mode_bogus", required + "[sluice]\npool_mode = bogus\n",
     "test.ini:6: sluice.pool_mode: expected transaction or session, got 'bogus'"},
    {"log_level_bogus", required + "[log]\nlevel = loud\n",
     "log.level: expected error, warn, info or debug, got 'loud'"},
    {"empty_backend_user", required + "[backend]\nuser =\n", "backend.user: must not be empty"},
    {"empty_text", "", "backend.address is required"},
    {"tls_certificate_without_key", required + "[tls]\ncert_file = a.pem\n",
     "tls.cert_file and tls.key_file go together"},
    {"tls_key_without_certificate", required + "[tls]\nkey_file = a.key\n",
     "tls.cert_file and tls.key_file go together"},
    {"tls_verify_client_without_ca",
     required + "[tls]\ncert_file = a.pem\nkey_file = a.key\nverify_client = required\n",
     "tls.verify_client needs tls.ca_file"},
    {"tls_verify_client_without_certificate",
     required + "[tls]\nca_file = ca.pem\nverify_client = optional\n",
     "tls.verify_client needs tls.cert_file and tls.key_file"},
    {"tls_required_without_certificate", required + "[tls]\nrequire_secure_transport = on\n",
     "tls.require_secure_transport = on needs tls.cert_file and tls.key_file"},
    {"tls_verify_client_bogus", required + "[tls]\nverify_client = maybe\n",
     "tls.verify_client: expected off, optional or required, got 'maybe'"},
    {"tls_min_version_too_old", required + "[tls]\nmin_version = TLSv1.1\n",
     "tls.min_version: expected TLSv1.2 or TLSv1.3, got 'TLSv1.1'"},
    {"backend_tls_bogus", required + "[backend]\ntls = on\n",
     "backend.tls: expected disabled, preferred, required, verify_ca or verify_identity, got 'on'"},
    {"backend_verify_ca_without_ca", required + "[backend]\ntls = verify_ca\n",
     "backend.tls = verify_ca and verify_identity need backend.tls_ca_file"},
    {"backend_verify_identity_without_ca", required + "[backend]\ntls = verify_identity\n",
     "backend.tls = verify_ca and verify_identity need backend.tls_ca_file"},
    {"backend_client_certificate_without_key",
     required + "[backend]\ntls = required\ntls_cert_file = c.pem\n",
     "backend.tls_cert_file and backend.tls_key_file go together"},
};

INSTANTIATE_TEST_SUITE_P(config, config_invalid, ::testing::ValuesIn(invalid_cases),
                         [](const auto& info) { return info.param.name; });

// ---------------------------------------------------------------------------------------------
// Files.

TEST(config_file, loads_and_names_the_file_in_errors) {
  const std::string path = ::testing::TempDir() + "sluice_config_test.ini";
  {
    std::ofstream out(path);
    out << required << "[backend]\nmax_connections = 7\n";
  }
  EXPECT_EQ(load_config_file(path).pool.max_connections, 7u);

  {
    std::ofstream out(path);
    out << required << "[backend]\nmax_connections = seven\n";
  }
  try {
    load_config_file(path);
    ADD_FAILURE() << "accepted";
  } catch (const config_error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ":6: backend.max_connections"), std::string::npos)
        << e.what();
  }
  std::remove(path.c_str());
}

TEST(config_file, a_missing_file_is_a_config_error) {
  const std::string path = ::testing::TempDir() + "sluice_config_test_missing.ini";
  try {
    load_config_file(path);
    ADD_FAILURE() << "loaded a missing file";
  } catch (const config_error& e) {
    EXPECT_EQ(std::string(e.what()), path + ": cannot read the file");
  }
}

}  // namespace
}  // namespace sluice
