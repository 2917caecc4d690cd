// A throwaway public-key infrastructure for the TLS tests: a CA and the certificates it signs, made
// with the openssl command line in a temporary directory (EC P-256 keys: quick to make).
#pragma once

#include <filesystem>
#include <string>

namespace sluice::test {

struct issued_certificate {
  std::filesystem::path cert_file;  // PEM
  std::filesystem::path key_file;   // PEM, unencrypted
};

class test_pki {
 public:
  // Makes the CA ("sluice test CA <label>"); throws std::runtime_error with openssl's output.
  explicit test_pki(const std::string& label = "one");
  ~test_pki();  // removes the directory
  test_pki(const test_pki&) = delete;
  test_pki& operator=(const test_pki&) = delete;

  const std::filesystem::path& ca_file() const { return ca_file_; }
  const std::filesystem::path& directory() const { return dir_; }

  // A server certificate for `common_name` whose subjectAltName is `alt_names`
  // ("DNS:localhost,IP:127.0.0.1"), valid for two days; `file_name` names its two files.
  issued_certificate issue_server(const std::string& file_name, const std::string& common_name,
                                  const std::string& alt_names);
  // A client certificate (extendedKeyUsage clientAuth) for `common_name`.
  issued_certificate issue_client(const std::string& file_name, const std::string& common_name);

 private:
  issued_certificate issue(const std::string& file_name, const std::string& common_name,
                           const std::string& extensions);

  std::filesystem::path dir_;
  std::filesystem::path ca_file_;
  std::filesystem::path ca_key_;
};

// The serial number of the PEM certificate in `cert_file`, as hex digits (openssl x509 -serial).
std::string certificate_serial(const std::filesystem::path& cert_file);

}  // namespace sluice::test
