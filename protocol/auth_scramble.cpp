// Authentication scrambles and tokens for mysql_native_password and caching_sha2_password.
#include "protocol/auth_scramble.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <stdexcept>

#include "protocol/codec_errc.h"

namespace sluice::protocol {
namespace {

constexpr std::size_t scramble_size = 20;
constexpr std::size_t oaep_overhead = 42;  // 2 * SHA-1 digest size + 2 (RFC 8017, 7.1.1)

template <class T, void (*Free)(T*)>
using openssl_ptr = std::unique_ptr<T, std::integral_constant<decltype(Free), Free>>;

std::string digest(const EVP_MD* md, std::initializer_list<std::string_view> parts) {
  openssl_ptr<EVP_MD_CTX, EVP_MD_CTX_free> ctx(EVP_MD_CTX_new());
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int size = 0;
  bool ok = ctx && EVP_DigestInit_ex(ctx.get(), md, nullptr) == 1;
  for (const auto part : parts) ok = ok && EVP_DigestUpdate(ctx.get(), part.data(), part.size());
  ok = ok && EVP_DigestFinal_ex(ctx.get(), out.data(), &size) == 1;
  if (!ok) throw std::runtime_error("OpenSSL digest failed");
  return std::string(reinterpret_cast<const char*>(out.data()), size);
}

std::string sha1(std::initializer_list<std::string_view> parts) {
  return digest(EVP_sha1(), parts);
}

std::string sha256(std::initializer_list<std::string_view> parts) {
  return digest(EVP_sha256(), parts);
}

std::string xor_with(std::string bytes, std::string_view key) {
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] ^= key[i % key.size()];
  return bytes;
}

bool same_token(std::string_view expected, std::string_view token) {
  return expected.size() == token.size() &&
         CRYPTO_memcmp(expected.data(), token.data(), token.size()) == 0;
}

}  // namespace

std::string generate_scramble() {
  std::array<unsigned char, scramble_size> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  std::string scramble(scramble_size, '\0');
  constexpr unsigned printable_first = 0x21, printable_count = 0x7e - 0x21 + 1;
  for (std::size_t i = 0; i < scramble_size; ++i) {
    scramble[i] = static_cast<char>(printable_first + random[i] % printable_count);
  }
  return scramble;
}

std::string native_password_token(std::string_view password, std::string_view scramble) {
  if (password.empty()) return {};
  const auto stage1 = sha1({password});
  const auto stage2 = sha1({stage1});
  return xor_with(stage1, sha1({scramble, stage2}));
}

std::optional<std::string> native_stage2_of_hash(std::string_view stored) {
  if (stored.size() != 41 || stored[0] != '*') return std::nullopt;
  std::string stage2(20, '\0');
  for (std::size_t i = 0; i < 20; ++i) {
    int value = 0;
    for (char c : stored.substr(1 + 2 * i, 2)) {
      value <<= 4;
      if (c >= '0' && c <= '9')
        value |= c - '0';
      else if (c >= 'A' && c <= 'F')
        value |= c - 'A' + 10;
      else if (c >= 'a' && c <= 'f')
        value |= c - 'a' + 10;
      else
        return std::nullopt;
    }
    stage2[i] = static_cast<char>(value);
  }
  return stage2;
}

std::optional<std::string> native_stage1_from_token(std::string_view token,
                                                    std::string_view scramble,
                                                    std::string_view stage2) {
  if (token.size() != 20 || stage2.size() != 20) return std::nullopt;
  std::string stage1 = xor_with(std::string(token), sha1({scramble, stage2}));
  if (!same_token(stage2, sha1({stage1}))) return std::nullopt;
  return stage1;
}

std::string native_token_from_stage1(std::string_view stage1, std::string_view scramble) {
  return xor_with(std::string(stage1), sha1({scramble, sha1({stage1})}));
}

bool verify_native_password(std::string_view password, std::string_view scramble,
                            std::string_view token) {
  if (password.empty()) return token.empty();
  return same_token(native_password_token(password, scramble), token);
}

std::string caching_sha2_token(std::string_view password, std::string_view scramble) {
  if (password.empty()) return {};
  const auto stage1 = sha256({password});
  const auto stage2 = sha256({stage1});
  return xor_with(stage1, sha256({stage2, scramble}));
}

bool verify_caching_sha2(std::string_view password, std::string_view scramble,
                         std::string_view token) {
  if (password.empty()) return token.empty();
  return same_token(caching_sha2_token(password, scramble), token);
}

bool verify_cleartext_password(std::string_view password, std::string_view sent) {
  if (sent.ends_with('\0')) sent.remove_suffix(1);
  return same_token(password, sent);
}

boost::system::result<std::string> rsa_encrypt_password(std::string_view password,
                                                        std::string_view scramble,
                                                        std::string_view pem_public_key) {
  if (scramble.empty()) return codec_errc::malformed;
  openssl_ptr<BIO, BIO_free_all> bio(
      BIO_new_mem_buf(pem_public_key.data(), static_cast<int>(pem_public_key.size())));
  openssl_ptr<EVP_PKEY, EVP_PKEY_free> key(
      bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) {
    ERR_clear_error();
    return codec_errc::malformed;
  }
  if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) return codec_errc::unsupported;

  // Built in one buffer so that wiping it leaves no copy of the password behind.
  std::string plaintext;
  plaintext.reserve(password.size() + 1);
  plaintext.append(password).push_back('\0');
  plaintext = xor_with(std::move(plaintext), scramble);
  const auto wipe = [&plaintext] { OPENSSL_cleanse(plaintext.data(), plaintext.size()); };
  const auto key_size = static_cast<std::size_t>(EVP_PKEY_get_size(key.get()));
  if (plaintext.size() + oaep_overhead > key_size) {
    wipe();
    return codec_errc::too_large;
  }

  openssl_ptr<EVP_PKEY_CTX, EVP_PKEY_CTX_free> ctx(EVP_PKEY_CTX_new(key.get(), nullptr));
  std::string ciphertext(key_size, '\0');
  std::size_t ciphertext_size = ciphertext.size();
  const bool ok =
      ctx && EVP_PKEY_encrypt_init(ctx.get()) == 1 &&
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) == 1 &&
      EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(ciphertext.data()),
                       &ciphertext_size, reinterpret_cast<const unsigned char*>(plaintext.data()),
                       plaintext.size()) == 1;
  wipe();
  if (!ok) {
    ERR_clear_error();
    return codec_errc::unsupported;
  }
  ciphertext.resize(ciphertext_size);
  return ciphertext;
}

}  // namespace sluice::protocol
