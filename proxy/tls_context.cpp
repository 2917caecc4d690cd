// Building, describing and swapping the TLS contexts.
#include "proxy/tls_context.h"

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

namespace sluice::proxy {
namespace {

constexpr unsigned char session_id_context[] = "sluice";

// OpenSSL's reason for the last failure ("No such file or directory", "key values mismatch").
std::string openssl_reason() {
  const unsigned long last = ERR_peek_last_error();
  const char* reason = last ? ERR_reason_error_string(last) : nullptr;
  ERR_clear_error();
  return reason ? reason : "unknown OpenSSL error";
}

std::string file_failure(std::string_view key, const std::string& path) {
  return std::string(key) + " " + path + ": " + openssl_reason();
}

ssl_context_ptr new_context(const SSL_METHOD* method) {
  return ssl_context_ptr(SSL_CTX_new(method), SSL_CTX_free);
}

// The last session ticket a backend gave, kept on its context for the next connection: a TLS
// handshake that resumes skips the certificate exchange and its signatures.
struct session_slot {
  SSL_SESSION* last = nullptr;
  ~session_slot() {
    if (last) SSL_SESSION_free(last);
  }
};

void free_session_slot(void*, void* slot, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<session_slot*>(slot);
}

int session_slot_index() {
  static const int index =
      SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_session_slot);
  return index;
}

session_slot* slot_of(SSL_CTX* context) {
  return static_cast<session_slot*>(SSL_CTX_get_ex_data(context, session_slot_index()));
}

int remember_session(SSL* ssl, SSL_SESSION* session) {
  session_slot* slot = slot_of(SSL_get_SSL_CTX(ssl));
  if (!slot) return 0;
  if (slot->last) SSL_SESSION_free(slot->last);
  slot->last = session;
  return 1;  // the slot keeps the reference
}

bool is_ip_address(const std::string& text) {
  unsigned char bytes[16];
  return inet_pton(AF_INET, text.c_str(), bytes) == 1 ||
         inet_pton(AF_INET6, text.c_str(), bytes) == 1;
}

}  // namespace

boost::system::result<ssl_context_ptr, std::string> make_client_tls_context(
    const client_tls_settings& settings) {
  if (!settings.enabled()) return ssl_context_ptr();
  ERR_clear_error();
  ssl_context_ptr context = new_context(TLS_server_method());
  if (!context) return "tls: cannot create a context: " + openssl_reason();
  SSL_CTX* ctx = context.get();
  const int min_version =
      settings.min_version == tls_version::v1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
  SSL_CTX_set_min_proto_version(ctx, min_version);
  // No renegotiation (a client could make sluice do handshakes at will) and the server's cipher
  // order. Not SSL_MODE_RELEASE_BUFFERS: it frees and allocates OpenSSL's record buffers around
  // every record, an allocation per packet; tls_stream::release_buffers gives them back once the
  // client is idle instead, as the frame buffer of a plaintext client.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_use_certificate_chain_file(ctx, settings.cert_file.c_str()) != 1)
    return file_failure("tls.cert_file", settings.cert_file);
  if (SSL_CTX_use_PrivateKey_file(ctx, settings.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    return file_failure("tls.key_file", settings.key_file);
  if (SSL_CTX_check_private_key(ctx) != 1)
    return "tls.key_file " + settings.key_file + " does not belong to tls.cert_file " +
           settings.cert_file + ": " + openssl_reason();
  if (!settings.ciphers.empty() && SSL_CTX_set_cipher_list(ctx, settings.ciphers.c_str()) != 1)
    return "tls.ciphers '" + settings.ciphers + "': " + openssl_reason();
  if (!settings.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, settings.ca_file.c_str(), nullptr) != 1)
      return file_failure("tls.ca_file", settings.ca_file);
    // The CAs named in the certificate request, so a client with several picks the right one.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(settings.ca_file.c_str());
    if (!names) return file_failure("tls.ca_file", settings.ca_file);
    SSL_CTX_set_client_CA_list(ctx, names);
  }
  switch (settings.verify_client) {
    case client_certificates::off:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
      break;
    case client_certificates::optional:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
      break;
    case client_certificates::required:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
      break;
  }
  // Clients resume with session tickets (a context's ticket key lives as long as it does); the
  // id context is what a resumed session with a verified client certificate is checked against.
  SSL_CTX_set_session_id_context(ctx, session_id_context, sizeof session_id_context - 1);
  return context;
}

boost::system::result<backend_tls_context, std::string> make_backend_tls_context(
    const backend_tls_settings& settings, const endpoint& address) {
  backend_tls_context out;
  out.mode = settings.mode;
  out.server_name = settings.server_name.empty() ? address.host : settings.server_name;
  if (settings.mode == backend_tls_mode::disabled) return out;
  ERR_clear_error();
  out.context = new_context(TLS_client_method());
  if (!out.context) return "backend.tls: cannot create a context: " + openssl_reason();
  SSL_CTX* ctx = out.context.get();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
  if (!settings.ca_file.empty() &&
      SSL_CTX_load_verify_locations(ctx, settings.ca_file.c_str(), nullptr) != 1)
    return file_failure("backend.tls_ca_file", settings.ca_file);
  if (!settings.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, settings.cert_file.c_str()) != 1)
      return file_failure("backend.tls_cert_file", settings.cert_file);
    if (SSL_CTX_use_PrivateKey_file(ctx, settings.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
      return file_failure("backend.tls_key_file", settings.key_file);
    if (SSL_CTX_check_private_key(ctx) != 1)
      return "backend.tls_key_file " + settings.key_file +
             " does not belong to backend.tls_cert_file " + settings.cert_file + ": " +
             openssl_reason();
  }
  const bool verify = settings.mode == backend_tls_mode::verify_ca ||
                      settings.mode == backend_tls_mode::verify_identity;
  SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  // Client-side session cache of one entry, kept by the callback rather than OpenSSL's cache
  // (which clients cannot look up by server).
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_set_ex_data(ctx, session_slot_index(), new session_slot);
  SSL_CTX_sess_set_new_cb(ctx, remember_session);
  return out;
}

SSL* new_client_ssl(const ssl_context_ptr& context) {
  SSL* ssl = SSL_new(context.get());
  if (ssl) SSL_set_accept_state(ssl);
  return ssl;
}

SSL* new_backend_ssl(const backend_tls_context& tls) {
  SSL* ssl = SSL_new(tls.context.get());
  if (!ssl) return nullptr;
  SSL_set_connect_state(ssl);
  const bool ip = is_ip_address(tls.server_name);
  if (!ip) SSL_set_tlsext_host_name(ssl, tls.server_name.c_str());  // SNI carries names only
  if (tls.mode == backend_tls_mode::verify_identity) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (ip) {
      X509_VERIFY_PARAM_set1_ip_asc(param, tls.server_name.c_str());
    } else {
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      X509_VERIFY_PARAM_set1_host(param, tls.server_name.c_str(), 0);
    }
  }
  if (const session_slot* slot = slot_of(tls.context.get());
      slot && slot->last && SSL_SESSION_is_resumable(slot->last))
    SSL_set_session(ssl, slot->last);
  return ssl;
}

std::string describe_certificate(const ssl_context_ptr& context) {
  X509* certificate = context ? SSL_CTX_get0_certificate(context.get()) : nullptr;
  if (!certificate) return "no certificate";
  std::string out = "subject=";
  if (char* subject = X509_NAME_oneline(X509_get_subject_name(certificate), nullptr, 0)) {
    out += subject;
    OPENSSL_free(subject);
  }
  if (BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(certificate), nullptr)) {
    if (char* hex = BN_bn2hex(serial)) {
      out += std::string(" serial=") + hex;
      OPENSSL_free(hex);
    }
    BN_free(serial);
  }
  BIO* text = BIO_new(BIO_s_mem());
  if (text && ASN1_TIME_print(text, X509_get0_notAfter(certificate)) == 1) {
    char* data = nullptr;
    const long size = BIO_get_mem_data(text, &data);
    out += " not_after=" + std::string(data, static_cast<std::size_t>(size));
  }
  BIO_free(text);
  return out;
}

std::string describe_session(const SSL* ssl) {
  std::string out = SSL_get_version(ssl);
  if (const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl))
    out += std::string(" ") + SSL_CIPHER_get_name(cipher);
  if (SSL_session_reused(ssl)) out += ", resumed";
  return out;
}

std::optional<std::string> tls_contexts::load_client_side(const client_tls_settings& settings) {
  auto built = make_client_tls_context(settings);
  if (!built) return built.error();
  clients_ = std::move(*built);
  return std::nullopt;
}

std::optional<std::string> tls_contexts::load_backend_side(const backend_tls_settings& settings,
                                                           const endpoint& address) {
  auto built = make_backend_tls_context(settings, address);
  if (!built) return built.error();
  backend_ = std::move(*built);
  return std::nullopt;
}

}  // namespace sluice::proxy
