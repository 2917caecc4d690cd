// The test PKI: openssl req and openssl x509 run as child processes.
#include "tests/support/test_pki.h"

#include <fstream>
#include <stdexcept>
#include <vector>

#include "tests/support/child_process.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

void run_openssl(std::vector<std::string> arguments) {
  arguments.insert(arguments.begin(), find_program("openssl"));
  const command_result result = run_command(arguments, 30s);
  if (result.status != 0) {
    std::string command;
    for (const auto& word : arguments) command += word + " ";
    throw std::runtime_error("test_pki: " + command + "failed:\n" + last_lines(result.output, 20));
  }
}

std::vector<std::string> new_ec_key(const std::filesystem::path& key) {
  return {"-newkey", "ec",      "-pkeyopt",  "ec_paramgen_curve:prime256v1",
          "-nodes",  "-keyout", key.string()};
}

}  // namespace

test_pki::test_pki(const std::string& label)
    : dir_(make_temp_dir("sluice-pki-")), ca_file_(dir_ / "ca.pem"), ca_key_(dir_ / "ca.key") {
  std::vector<std::string> make_ca = {"req", "-x509"};
  const auto key = new_ec_key(ca_key_);
  make_ca.insert(make_ca.end(), key.begin(), key.end());
  make_ca.insert(make_ca.end(),
                 {"-out", ca_file_.string(), "-days", "2", "-subj", "/CN=sluice test CA " + label});
  try {
    run_openssl(make_ca);
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    throw;
  }
}

test_pki::~test_pki() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

issued_certificate test_pki::issue(const std::string& file_name, const std::string& common_name,
                                   const std::string& extensions) {
  const issued_certificate out{dir_ / (file_name + ".pem"), dir_ / (file_name + ".key")};
  const auto request = dir_ / (file_name + ".csr");
  const auto extension_file = dir_ / (file_name + ".ext");
  std::ofstream(extension_file) << extensions;
  std::vector<std::string> make_request = {"req"};
  const auto key = new_ec_key(out.key_file);
  make_request.insert(make_request.end(), key.begin(), key.end());
  make_request.insert(make_request.end(),
                      {"-out", request.string(), "-subj", "/CN=" + common_name});
  run_openssl(make_request);
  run_openssl({"x509", "-req", "-in", request.string(), "-CA", ca_file_.string(), "-CAkey",
               ca_key_.string(), "-CAcreateserial", "-out", out.cert_file.string(), "-days", "2",
               "-extfile", extension_file.string()});
  return out;
}

issued_certificate test_pki::issue_server(const std::string& file_name,
                                          const std::string& common_name,
                                          const std::string& alt_names) {
  return issue(
      file_name, common_name,
      "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=" + alt_names + "\n");
}

issued_certificate test_pki::issue_client(const std::string& file_name,
                                          const std::string& common_name) {
  return issue(file_name, common_name, "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n");
}

std::string certificate_serial(const std::filesystem::path& cert_file) {
  const command_result result = run_command(
      {find_program("openssl"), "x509", "-noout", "-serial", "-in", cert_file.string()}, 30s);
  if (result.status != 0) throw std::runtime_error("openssl x509 -serial: " + result.output);
  // "serial=1A2B...\n"
  const auto equals = result.output.find('=');
  std::string serial = result.output.substr(equals + 1);
  while (!serial.empty() && (serial.back() == '\n' || serial.back() == '\r')) serial.pop_back();
  return serial;
}

}  // namespace sluice::test
