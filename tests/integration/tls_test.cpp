// TLS on both sides of sluice: clients that verify sluice's certificate (Connector/C, the mariadb
// CLI, PyMySQL), client certificates, require_secure_transport, large results and LOCAL INFILE
// over TLS, certificate rotation on reload, stalled handshakes, and TLS towards a MariaDB that
// serves a certificate of its own.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <regex>
#include <string>
#include <thread>

#include "tests/support/client.h"
#include "tests/support/fixtures.h"
#include "tests/support/raw_client.h"
#include "tests/support/test_pki.h"
#include "tests/support/threads.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// One CA for the whole suite: sluice's certificate names localhost and 127.0.0.1, the backend's
// only db.internal, and a client certificate for app.
struct suite_pki {
  test_pki ca{"one"};
  test_pki other_ca{"two"};
  issued_certificate sluice = ca.issue_server("sluice", "localhost", "DNS:localhost,IP:127.0.0.1");
  issued_certificate rotated =
      ca.issue_server("sluice-rotated", "localhost", "DNS:localhost,IP:127.0.0.1");
  issued_certificate backend = ca.issue_server("backend", "db.internal", "DNS:db.internal");
  issued_certificate app = ca.issue_client("app", "app");
};

class TlsTest : public integration_test {
 protected:
  static void SetUpTestSuite() {
    server();  // the shared MariaDB first, from the main thread
    pki_ = new suite_pki();
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  static const suite_pki& pki() { return *pki_; }

  // [tls] with sluice's certificate, and `overrides` on top.
  sluice_process& start_tls_sluice(config_overrides overrides = {}) {
    overrides.emplace("tls.cert_file", pki().sluice.cert_file.string());
    overrides.emplace("tls.key_file", pki().sluice.key_file.string());
    return start_sluice(overrides);
  }

  // Connector/C that insists on TLS and checks the certificate against `ca` and the host name.
  static client_options verifying(const std::filesystem::path& ca) {
    client_options options;
    client_tls tls;
    tls.verify_server_cert = true;
    tls.ca_file = ca.string();
    options.tls = tls;
    return options;
  }

  std::unique_ptr<mysql_client> connect_tls(client_options options = verifying(pki().ca.ca_file()),
                                            const std::string& db = "") {
    return connect_to_sluice("app", "app-pw", db, 0, options);
  }

 private:
  static inline suite_pki* pki_ = nullptr;
};

TEST_F(TlsTest, ConnectorCVerifiesTheCertificateAndTheHostName) {
  start_tls_sluice();
  auto client = connect_tls();
  EXPECT_THAT(client->tls_version(), StartsWith("TLSv1."));
  EXPECT_EQ(client->scalar("SELECT 41 + 1"), "42");

  // A CA that did not sign sluice's certificate: Connector/C refuses to go on.
  mysql_client untrusting;
  EXPECT_FALSE(untrusting.connect("127.0.0.1", sluice_port(), "app", "app-pw", "", 0,
                                  verifying(pki().other_ca.ca_file())));
  EXPECT_EQ(untrusting.error_code(), 2026u) << untrusting.error_message();  // SSL connection error
  EXPECT_TRUE(sluice().running());
}

TEST_F(TlsTest, WithoutACertificateTlsIsNotOffered) {
  start_sluice();
  mysql_client client;
  EXPECT_FALSE(client.connect("127.0.0.1", sluice_port(), "app", "app-pw", "", 0,
                              verifying(pki().ca.ca_file())));
  EXPECT_EQ(client.error_code(), 2026u) << client.error_message();
  auto plain = connect_app();
  EXPECT_EQ(plain->tls_version(), "");
  EXPECT_EQ(plain->scalar("SELECT 1"), "1");
}

TEST_F(TlsTest, MariadbCliVerifiesTheServerCertificate) {
  start_tls_sluice();
  const std::string port = std::to_string(sluice_port());
  auto cli = [&](const std::filesystem::path& ca) {
    return run_command({find_program("mariadb"), "--no-defaults", "-h127.0.0.1", "-P" + port,
                        "-uapp", "-papp-pw", "--ssl-verify-server-cert", "--ssl-ca=" + ca.string(),
                        "-N", "-B", "-e", "SELECT CONCAT('answer=', 6 * 7)"},
                       30s);
  };
  const command_result trusted = cli(pki().ca.ca_file());
  EXPECT_EQ(trusted.status, 0) << trusted.output;
  EXPECT_THAT(trusted.output, HasSubstr("answer=42"));

  const command_result untrusted = cli(pki().other_ca.ca_file());
  EXPECT_NE(untrusted.status, 0) << untrusted.output;
  EXPECT_THAT(untrusted.output, Not(HasSubstr("answer=42")));
}

// Debian's interpreter, which has python3-pymysql, as the driver matrix runs it: another python3
// may come first in PATH.
const std::string debian_python = "/usr/bin/python3";

TEST_F(TlsTest, PyMysqlChecksTheCertificateAndHostName) {
  start_tls_sluice();
  const std::string script =
      "import sys, pymysql\n"
      "c = pymysql.connect(host='127.0.0.1', port=int(sys.argv[1]), user='app', "
      "password='app-pw', connect_timeout=10, ssl={'ca': sys.argv[2], 'check_hostname': True})\n"
      "cur = c.cursor()\n"
      "cur.execute('SELECT 6 * 7')\n"
      "print('answer=%s version=%s' % (cur.fetchone()[0], c._sock.version()))\n";
  const command_result run = run_command(
      {debian_python, "-c", script, std::to_string(sluice_port()), pki().ca.ca_file().string()},
      60s);
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("answer=42 version=TLSv1."));

  const command_result untrusted =
      run_command({debian_python, "-c", script, std::to_string(sluice_port()),
                   pki().other_ca.ca_file().string()},
                  60s);
  EXPECT_NE(untrusted.status, 0) << untrusted.output;
  EXPECT_THAT(untrusted.output, HasSubstr("CERTIFICATE_VERIFY_FAILED"));
}

TEST_F(TlsTest, NodeMysql2VerifiesTheCertificate) {
  const std::string node_modules = SLUICE_NODE_MODULES;
  ASSERT_TRUE(std::filesystem::exists(node_modules + "/mysql2/package.json"))
      << "node-mysql2 is missing: install it with scripts/install-deps.sh";
  start_tls_sluice();
  const std::string script =
      "const fs = require('fs');\n"
      "const mysql = require('mysql2/promise');\n"
      "(async () => {\n"
      "  const c = await mysql.createConnection({host: '127.0.0.1', port: "
      "Number(process.argv[1]),\n"
      "    user: 'app', password: 'app-pw', connectTimeout: 10000,\n"
      "    ssl: {ca: fs.readFileSync(process.argv[2]), rejectUnauthorized: true}});\n"
      "  const [rows] = await c.query('SELECT 6 * 7 AS a');\n"
      "  console.log('answer=' + rows[0].a + ' version=' + c.connection.stream.getProtocol());\n"
      "  await c.end();\n"
      "})().catch((e) => { console.log('error: ' + e.code + ' ' + e.message); process.exit(1); "
      "});\n";
  auto run = [&](const std::filesystem::path& ca) {
    return run_command({find_program("env"), "NODE_PATH=" + node_modules, find_program("node"),
                        "-e", script, std::to_string(sluice_port()), ca.string()},
                       60s);
  };
  const command_result trusted = run(pki().ca.ca_file());
  EXPECT_EQ(trusted.status, 0) << trusted.output;
  EXPECT_THAT(trusted.output, HasSubstr("answer=42 version=TLSv1."));

  const command_result untrusted = run(pki().other_ca.ca_file());
  EXPECT_NE(untrusted.status, 0) << untrusted.output;
  EXPECT_THAT(untrusted.output, Not(HasSubstr("answer=42")));
}

TEST_F(TlsTest, ClientCertificateRequiredIsCheckedAndRefusedWhenMissing) {
  start_tls_sluice(
      {{"tls.verify_client", "required"}, {"tls.ca_file", pki().ca.ca_file().string()}});
  client_options with_certificate = verifying(pki().ca.ca_file());
  with_certificate.tls->cert_file = pki().app.cert_file.string();
  with_certificate.tls->key_file = pki().app.key_file.string();
  auto client = connect_tls(with_certificate);
  EXPECT_EQ(client->scalar("SELECT 7"), "7");

  mysql_client without;
  EXPECT_FALSE(without.connect("127.0.0.1", sluice_port(), "app", "app-pw", "", 0,
                               verifying(pki().ca.ca_file())));
  EXPECT_TRUE(
      wait_until([&] { return sluice().log().find("reason=tls_failed") != std::string::npos; }, 5s))
      << sluice().log();
  EXPECT_TRUE(sluice().running());
}

TEST_F(TlsTest, RequireSecureTransportRefusesPlaintextWith3159) {
  start_tls_sluice({{"tls.require_secure_transport", "on"}});
  mysql_client plain;
  EXPECT_FALSE(plain.connect("127.0.0.1", sluice_port(), "app", "app-pw"));
  EXPECT_EQ(plain.error_code(), 3159u);
  EXPECT_THAT(plain.error_message(), HasSubstr("insecure transport are prohibited"));

  auto encrypted = connect_tls();
  EXPECT_EQ(encrypted->scalar("SELECT 3159"), "3159");
}

// caching_sha2_password's full authentication: a token that does not verify makes sluice ask
// for the password (0x01 0x04), which a client may send in the clear only because TLS protects
// it; without TLS the same token is refused at once.
TEST_F(TlsTest, CachingSha2FullAuthenticationOverTls) {
  start_tls_sluice();
  const std::string wrong_token(32, 'x');
  auto full_authentication = [&](const std::string& cleartext) {
    raw_client raw(sluice_port());
    raw_login_options options;
    options.tls = true;
    options.tls_ca_file = pki().ca.ca_file().string();
    options.auth_plugin = "caching_sha2_password";
    options.auth_token = wrong_token;
    const auto asked = raw.send_handshake_response("app", "app-pw", options);
    if (!asked) return std::string("no answer to the handshake response");
    const std::vector<std::uint8_t> perform_full_authentication = {0x01, 0x04};
    if (asked->payload != perform_full_authentication)
      return std::string("not asked for full authentication");
    std::vector<std::uint8_t> password(cleartext.begin(), cleartext.end());
    password.push_back(0);
    raw.send_packet(static_cast<std::uint8_t>(asked->sequence_id + 1), password);
    const auto result = raw.read_packet();
    if (!result) return std::string("no answer to the password");
    if (result->is_err()) return std::string("ERR");
    const auto answer = raw.query("SELECT 'in'");
    return answer.error || answer.rows.empty() ? std::string("query failed") : std::string("OK");
  };
  EXPECT_EQ(full_authentication("app-pw"), "OK");
  EXPECT_EQ(full_authentication("not-the-password"), "ERR");

  raw_client plain(sluice_port());
  raw_login_options options;
  options.auth_plugin = "caching_sha2_password";
  options.auth_token = wrong_token;
  const auto refused = plain.send_handshake_response("app", "app-pw", options);
  ASSERT_TRUE(refused);
  EXPECT_TRUE(refused->is_err()) << "full authentication offered without TLS";
}

TEST_F(TlsTest, TwentyMebibyteRowBothWaysOverTls) {
  start_tls_sluice();
  auto client = connect_tls(verifying(pki().ca.ca_file()), mariadb_server::test_database);
  client->execute("CREATE OR REPLACE TABLE tls_big (id INT PRIMARY KEY, data LONGTEXT)");
  std::string data(20u << 20, 'a');
  std::mt19937 random(20);
  for (char& c : data) c = static_cast<char>('a' + random() % 26);
  client->execute("INSERT INTO tls_big VALUES (1, '" + data + "')");
  const query_result back = client->query("SELECT data FROM tls_big WHERE id = 1");
  ASSERT_TRUE(back.ok) << back.describe();
  ASSERT_EQ(back.rows.size(), 1u);
  ASSERT_TRUE(back.rows[0][0].has_value());
  EXPECT_EQ(back.rows[0][0]->size(), data.size());
  EXPECT_TRUE(*back.rows[0][0] == data) << "the 20 MiB value came back changed";
  EXPECT_EQ(client->scalar("SELECT 1"), "1");  // the connection goes on after it
}

TEST_F(TlsTest, LoadDataLocalInfileOverTls) {
  start_tls_sluice();
  constexpr int rows = 20000;
  const auto dir = make_temp_dir("sluice-tls-infile-");
  const auto path = dir / "rows.tsv";
  {
    std::ofstream out(path);
    for (int i = 0; i < rows; ++i) out << i << "\tname_" << i << "\n";
  }
  client_options options = verifying(pki().ca.ca_file());
  options.local_infile = true;
  auto client = connect_tls(options, mariadb_server::test_database);
  client->execute("CREATE OR REPLACE TABLE tls_ld (id INT PRIMARY KEY, name VARCHAR(32))");
  const query_result loaded =
      client->query("LOAD DATA LOCAL INFILE '" + path.string() + "' INTO TABLE tls_ld (id, name)");
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(loaded.ok) << loaded.describe();
  EXPECT_EQ(loaded.affected_rows, static_cast<std::uint64_t>(rows));
  EXPECT_EQ(client->scalar("SELECT SUM(id) FROM tls_ld"),
            std::to_string(static_cast<long long>(rows) * (rows - 1) / 2));
}

// After a second idle, a client's buffers (and OpenSSL's) are given back; its next statements,
// and two sent at once, still arrive whole.
TEST_F(TlsTest, IdleTlsClientGoesOnAfterItsBuffersWereGivenBack) {
  start_tls_sluice();
  auto client = connect_tls();
  EXPECT_EQ(client->scalar("SELECT 1"), "1");
  std::this_thread::sleep_for(1600ms);  // the upkeep releases buffers after 1 s idle
  EXPECT_EQ(client->scalar("SELECT REPEAT('y', 100000)"), std::string(100000, 'y'));
  std::this_thread::sleep_for(1600ms);
  raw_client raw(sluice_port());
  raw_login_options options;
  options.tls = true;
  options.tls_ca_file = pki().ca.ca_file().string();
  const auto logged_in = raw.login("app", "app-pw", options);
  ASSERT_TRUE(logged_in && !logged_in->is_err());
  std::this_thread::sleep_for(1600ms);
  const auto answer = raw.query("SELECT 'raw after idle'");
  ASSERT_FALSE(answer.error);
  ASSERT_EQ(answer.rows.size(), 1u);
  EXPECT_EQ(answer.rows[0].at(0), "raw after idle");
  EXPECT_EQ(client->scalar("SELECT 2"), "2");
  EXPECT_TRUE(sluice().running());
}

TEST_F(TlsTest, TwoHundredTlsClientsThroughEightBackendConnections) {
  start_tls_sluice({{"backend.max_connections", "8"}, {"queue.timeout", "60s"}});
  const auto failures = run_threads(200, [&](std::size_t i) {
    mysql_client client;
    client_options options = verifying(pki().ca.ca_file());
    options.connect_timeout = 60s;
    if (!client.connect("127.0.0.1", sluice_port(), "app", "app-pw", "", 0, options))
      throw std::runtime_error("login: " + client.error_message());
    if (client.tls_version().empty()) throw std::runtime_error("not encrypted");
    for (int round = 0; round < 5; ++round) {
      const std::string expected = std::to_string(i * 10 + round);
      if (client.scalar("SELECT " + expected) != expected) throw std::runtime_error("wrong answer");
    }
  });
  EXPECT_TRUE(failures.empty()) << describe_failures(failures);
  EXPECT_LE(server().count_backend_connections(), 8);
  EXPECT_TRUE(sluice().running());
}

TEST_F(TlsTest, ReloadRotatesTheCertificateForNewConnections) {
  // sluice reads copies, so the test can replace them as an operator would.
  const auto dir = make_temp_dir("sluice-tls-rotate-");
  const auto cert = dir / "cert.pem";
  const auto key = dir / "key.pem";
  std::filesystem::copy_file(pki().sluice.cert_file, cert);
  std::filesystem::copy_file(pki().sluice.key_file, key);
  start_sluice({{"tls.cert_file", cert.string()}, {"tls.key_file", key.string()}});

  auto serial_seen = [&] {
    raw_client raw(sluice_port());
    if (!raw.request_tls() || !raw.start_tls(pki().ca.ca_file().string())) return std::string();
    return raw.peer_certificate_serial();
  };
  const std::string first = certificate_serial(pki().sluice.cert_file);
  const std::string second = certificate_serial(pki().rotated.cert_file);
  ASSERT_NE(first, second);
  EXPECT_EQ(serial_seen(), first);
  auto existing = connect_tls();

  std::filesystem::copy_file(pki().rotated.cert_file, cert,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(pki().rotated.key_file, key,
                             std::filesystem::copy_options::overwrite_existing);
  sluice().send_signal(SIGHUP);
  EXPECT_TRUE(wait_until([&] { return serial_seen() == second; }, 10s)) << sluice().log();
  EXPECT_EQ(existing->scalar("SELECT 'still here'"), "still here");
  auto fresh = connect_tls();
  EXPECT_EQ(fresh->scalar("SELECT 2"), "2");

  // A broken certificate file: the reload keeps the running certificate and says why.
  { std::ofstream(cert, std::ios::trunc) << "not a certificate\n"; }
  sluice().send_signal(SIGHUP);
  EXPECT_TRUE(wait_until(
      [&] { return sluice().log().find("reload: [tls] not applied") != std::string::npos; }, 10s))
      << sluice().log();
  EXPECT_THAT(sluice().log(), HasSubstr(cert.string()));
  EXPECT_EQ(serial_seen(), second);
  EXPECT_EQ(existing->scalar("SELECT 3"), "3");
  EXPECT_TRUE(sluice().running());
  std::filesystem::remove_all(dir);
}

TEST_F(TlsTest, StalledTlsHandshakeIsClosedByTheLoginTimeout) {
  start_tls_sluice({{"limits.login_timeout", "1s"}});
  raw_client stalled(sluice_port());
  ASSERT_TRUE(stalled.request_tls());  // the SSLRequest, then no ClientHello
  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(stalled.closed_by_peer(5s));
  EXPECT_LE(elapsed_ms(started), 3000) << "login_timeout is 1s";
  EXPECT_TRUE(wait_until(
      [&] { return sluice().log().find("close reason=login_timeout") != std::string::npos; }, 5s))
      << sluice().log();
  auto client = connect_tls();
  EXPECT_EQ(client->scalar("SELECT 1"), "1");
  EXPECT_TRUE(sluice().running());
}

// A MariaDB that serves a certificate for db.internal (not for 127.0.0.1, where it listens).
class BackendTlsTest : public TlsTest {
 protected:
  static void SetUpTestSuite() {
    TlsTest::SetUpTestSuite();
    backend_ = new mariadb_server({"--ssl-cert=" + pki().backend.cert_file.string(),
                                   "--ssl-key=" + pki().backend.key_file.string(),
                                   "--ssl-ca=" + pki().ca.ca_file().string()});
  }
  static void TearDownTestSuite() {
    delete backend_;
    backend_ = nullptr;
    TlsTest::TearDownTestSuite();
  }

  sluice_process& start_backend_tls_sluice(config_overrides overrides) {
    sluice_config config = make_config(overrides);
    config.set("backend", "address", "127.0.0.1:" + std::to_string(backend_->port()));
    config.set("backend", "tls_ca_file", pki().ca.ca_file().string());
    return start_sluice(config);
  }

  // The TLS version of the backend connection that serves the client's statements.
  static std::string backend_tls_version(mysql_client& client) {
    return client.scalar(
        "SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS "
        "WHERE VARIABLE_NAME = 'Ssl_version'");
  }

  static inline mariadb_server* backend_ = nullptr;
};

TEST_F(BackendTlsTest, VerifyIdentityRefusesACertificateForAnotherName) {
  start_backend_tls_sluice({{"backend.tls", "verify_identity"}, {"queue.timeout", "3s"}});
  mysql_client client;
  const bool logged_in = client.connect("127.0.0.1", sluice_port(), "app", "app-pw");
  const bool answered = logged_in && client.query("SELECT 1").ok;
  EXPECT_FALSE(answered) << "a statement ran over a backend whose certificate names db.internal";
  EXPECT_TRUE(wait_until(
      [&] {
        const std::string log = sluice().log();
        return log.find("TLS handshake with the server (127.0.0.1) failed") != std::string::npos &&
               log.find("certificate verify failed") != std::string::npos;
      },
      10s))
      << sluice().log();
  EXPECT_TRUE(sluice().running());
}

TEST_F(BackendTlsTest, VerifyIdentityWithTheRightNameEncryptsTheBackendLink) {
  start_backend_tls_sluice(
      {{"backend.tls", "verify_identity"}, {"backend.tls_server_name", "db.internal"}});
  auto client = connect_app();
  EXPECT_THAT(backend_tls_version(*client), StartsWith("TLSv1."));
  EXPECT_EQ(client->scalar("SELECT 5"), "5");
}

TEST_F(BackendTlsTest, VerifyCaAcceptsTheCertificateWithoutItsName) {
  start_backend_tls_sluice({{"backend.tls", "verify_ca"}});
  auto client = connect_app();
  EXPECT_THAT(backend_tls_version(*client), StartsWith("TLSv1."));
}

TEST_F(BackendTlsTest, DisabledKeepsTheBackendLinkPlain) {
  start_backend_tls_sluice({{"backend.tls", "disabled"}});
  auto client = connect_app();
  EXPECT_EQ(backend_tls_version(*client), "");
}

// OpenSSL's own verdict (SSL_session_reused), which sluice logs at debug level: MariaDB's
// Ssl_sessions_reused stays 0 for resumed TLS 1.3 sessions (openssl s_client -starttls mysql
// -sess_in reports "Reused" against the same server).
TEST_F(BackendTlsTest, ANewBackendConnectionResumesTheTlsSessionOfAnEarlierOne) {
  start_backend_tls_sluice(
      {{"backend.tls", "verify_ca"}, {"backend.max_connections", "4"}, {"log.level", "debug"}});
  auto first = connect_app();
  first->execute("BEGIN");  // keeps the first backend connection, so the next client needs another
  const std::string on_first = first->scalar("SELECT CONNECTION_ID()");
  auto second = connect_app();
  EXPECT_NE(second->scalar("SELECT CONNECTION_ID()"), on_first)
      << "the second client ran on the first client's backend connection";
  first->execute("COMMIT");
  const std::string log = sluice().log();
  EXPECT_THAT(log, HasSubstr("S-1 tls TLSv1.")) << log;
  EXPECT_THAT(log, Not(HasSubstr("S-1 tls TLSv1.3 TLS_AES_256_GCM_SHA384, resumed"))) << log;
  EXPECT_TRUE(std::regex_search(log, std::regex("S-2 tls TLSv1\\.[23] [A-Z0-9_-]+, resumed")))
      << "the second backend connection did a full handshake\n"
      << log;
}

TEST_F(BackendTlsTest, BothSidesEncryptedAtOnce) {
  sluice_config config = make_config({{"backend.tls", "required"},
                                      {"tls.cert_file", pki().sluice.cert_file.string()},
                                      {"tls.key_file", pki().sluice.key_file.string()}});
  config.set("backend", "address", "127.0.0.1:" + std::to_string(backend_->port()));
  start_sluice(config);
  auto client = connect_tls();
  EXPECT_THAT(client->tls_version(), StartsWith("TLSv1."));
  EXPECT_THAT(backend_tls_version(*client), StartsWith("TLSv1."));
}

}  // namespace
}  // namespace sluice::test
