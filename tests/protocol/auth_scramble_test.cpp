// Tests of scrambles and auth tokens, against vectors computed outside the code under test.
#include "protocol/auth_scramble.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include <memory>
#include <string>
#include <vector>

#include "protocol/codec_errc.h"
#include "tests/protocol/codec_case.h"

namespace sluice::protocol::test {
namespace {

// The scramble of the captured MariaDB 10.11 greeting.
const std::string scramble = "x}-e6|/qmP*~]9A|l,2X";

std::string as_string(const bytes& b) {
  return std::string(b.begin(), b.end());
}

std::string sha1(std::string_view s) {
  std::string out(SHA_DIGEST_LENGTH, '\0');
  SHA1(reinterpret_cast<const unsigned char*>(s.data()), s.size(),
       reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

TEST(scramble, is_twenty_printable_random_bytes) {
  const auto first = generate_scramble();
  const auto second = generate_scramble();
  ASSERT_EQ(first.size(), 20u);
  for (const char c : first) {
    EXPECT_GE(c, 0x21);
    EXPECT_LE(c, 0x7e);
  }
  EXPECT_NE(first, second);
}

// Expected tokens computed with Python's hashlib from the formulas in the documentation.
TEST(native_password, token_matches_an_independent_computation) {
  EXPECT_EQ(to_hex(text(native_password_token("secret", scramble))),
            "0d 34 3e 87 bf 62 43 08 23 69 48 c6 55 53 a3 b4 94 eb 21 ef");
}

// What a server does with the published PASSWORD('password') hash: recover SHA1(pw) from the
// token and check that hashing it gives the stored SHA1(SHA1(pw)).
TEST(native_password, token_verifies_against_the_published_stored_hash) {
  const auto stored = as_string(hex("2470c0c06dee42fd1618bb99005adca2ec9d1e19"));
  const auto token = native_password_token("password", scramble);
  ASSERT_EQ(token.size(), 20u);
  const auto mask = sha1(scramble + stored);
  std::string stage1 = token;
  for (std::size_t i = 0; i < stage1.size(); ++i) stage1[i] ^= mask[i];
  EXPECT_EQ(sha1(stage1), stored);
}

TEST(native_password, verify_accepts_only_the_right_password) {
  const auto token = native_password_token("secret", scramble);
  EXPECT_TRUE(verify_native_password("secret", scramble, token));
  EXPECT_FALSE(verify_native_password("Secret", scramble, token));
  EXPECT_FALSE(verify_native_password("secret", generate_scramble(), token));
  EXPECT_FALSE(verify_native_password("secret", scramble, token.substr(0, 19)));
  EXPECT_FALSE(verify_native_password("secret", scramble, ""));
}

TEST(native_password, empty_password_means_empty_token) {
  EXPECT_EQ(native_password_token("", scramble), "");
  EXPECT_TRUE(verify_native_password("", scramble, ""));
  EXPECT_FALSE(verify_native_password("", scramble, native_password_token("x", scramble)));
}

// Stored hashes computed by MariaDB 10.11 itself: SELECT PASSWORD('...').
struct stored_hash {
  const char* password;
  const char* hash;
};
const stored_hash mariadb_hashes[] = {
    {"secret", "*14E65567ABDB5135D0CFD9A70B3032C179A49EE7"},
    {"app-pw", "*72B37E3F4D899EDC98A9363172669E192CE424D5"},
    {"a b c", "*9C8C1D69948A4906AC6C757C1E148EE027DBB7F3"},
    {"p\xC3\xA4ssw\xC3\xB6rd", "*0225EC5004ABB0B8CB557541FE53DE1A5D8CC825"},
};

TEST(native_hash, stage2_is_what_mariadb_stores) {
  for (const auto& v : mariadb_hashes) {
    const auto stage2 = native_stage2_of_hash(v.hash);
    ASSERT_TRUE(stage2) << v.hash;
    EXPECT_EQ(*stage2, sha1(sha1(v.password))) << v.password;
  }
  EXPECT_EQ(native_stage2_of_hash("*14e65567abdb5135d0cfd9a70b3032c179a49ee7"),
            native_stage2_of_hash("*14E65567ABDB5135D0CFD9A70B3032C179A49EE7"))
      << "hex digits in either case";
}

TEST(native_hash, anything_else_is_not_a_native_hash) {
  for (const char* stored :
       {"", "*", "14E65567ABDB5135D0CFD9A70B3032C179A49EE7X",
        "*14E65567ABDB5135D0CFD9A70B3032C179A49EE", "*14E65567ABDB5135D0CFD9A70B3032C179A49EG",
        "$A$005$abcdefghijklmnopqrstuvwxyz0123456789ABC"})
    EXPECT_FALSE(native_stage2_of_hash(stored)) << stored;
}

TEST(native_hash, a_clients_token_yields_stage1_only_for_the_right_password) {
  for (const auto& v : mariadb_hashes) {
    const std::string stage2 = *native_stage2_of_hash(v.hash);
    const std::string token = native_password_token(v.password, scramble);
    const auto stage1 = native_stage1_from_token(token, scramble, stage2);
    ASSERT_TRUE(stage1) << v.password;
    EXPECT_EQ(*stage1, sha1(v.password));
    // What logging in to the backend as the account needs, for any other scramble.
    const std::string other_scramble = "abcdefghij0123456789";
    EXPECT_EQ(native_token_from_stage1(*stage1, other_scramble),
              native_password_token(v.password, other_scramble));
  }
  const std::string stage2 = *native_stage2_of_hash(mariadb_hashes[0].hash);
  EXPECT_FALSE(
      native_stage1_from_token(native_password_token("wrong", scramble), scramble, stage2));
  EXPECT_FALSE(native_stage1_from_token("", scramble, stage2)) << "an empty token";
  EXPECT_FALSE(native_stage1_from_token(std::string(19, 'x'), scramble, stage2)) << "short";
}

TEST(caching_sha2, token_matches_an_independent_computation) {
  EXPECT_EQ(to_hex(text(caching_sha2_token("secret", scramble))),
            "10 60 e5 7e 6d a1 35 d4 a6 f0 f4 31 29 b4 59 41 "
            "f6 6e e9 81 28 3d 89 26 5a 12 2a 72 d8 8e b9 16");
}

TEST(caching_sha2, verify_accepts_only_the_right_password) {
  const auto token = caching_sha2_token("secret", scramble);
  EXPECT_TRUE(verify_caching_sha2("secret", scramble, token));
  EXPECT_FALSE(verify_caching_sha2("secret2", scramble, token));
  EXPECT_FALSE(verify_caching_sha2("secret", generate_scramble(), token));
  EXPECT_FALSE(verify_caching_sha2("secret", scramble, native_password_token("secret", scramble)));
  EXPECT_EQ(caching_sha2_token("", scramble), "");
  EXPECT_TRUE(verify_caching_sha2("", scramble, ""));
  EXPECT_FALSE(verify_caching_sha2("", scramble, token));
}

using pkey_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

std::string public_pem(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free_all)> bio(BIO_new(BIO_s_mem()), BIO_free_all);
  PEM_write_bio_PUBKEY(bio.get(), key);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::string rsa_decrypt(EVP_PKEY* key, std::string_view ciphertext) {
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new(key, nullptr),
                                                                  EVP_PKEY_CTX_free);
  std::string plaintext(static_cast<std::size_t>(EVP_PKEY_get_size(key)), '\0');
  std::size_t size = plaintext.size();
  const bool ok = EVP_PKEY_decrypt_init(ctx.get()) == 1 &&
                  EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) == 1 &&
                  EVP_PKEY_decrypt(ctx.get(), reinterpret_cast<unsigned char*>(plaintext.data()),
                                   &size, reinterpret_cast<const unsigned char*>(ciphertext.data()),
                                   ciphertext.size()) == 1;
  if (!ok) return "<decrypt failed>";
  plaintext.resize(size);
  return plaintext;
}

class rsa_password : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { key_ = EVP_RSA_gen(2048); }
  static void TearDownTestSuite() { EVP_PKEY_free(key_); }
  static EVP_PKEY* key_;
};
EVP_PKEY* rsa_password::key_ = nullptr;

TEST_F(rsa_password, round_trips_through_the_private_key) {
  ASSERT_NE(key_, nullptr);
  const auto encrypted = rsa_encrypt_password("s3cr3t-passw0rd", scramble, public_pem(key_));
  ASSERT_TRUE(encrypted) << encrypted.error().message();
  EXPECT_EQ(encrypted->size(), 256u);

  std::string password = rsa_decrypt(key_, *encrypted);
  for (std::size_t i = 0; i < password.size(); ++i) password[i] ^= scramble[i % scramble.size()];
  EXPECT_EQ(password, std::string("s3cr3t-passw0rd") + '\0');
}

TEST_F(rsa_password, password_longer_than_the_scramble_cycles_it) {
  const std::string long_password(50, 'p');
  const auto encrypted = rsa_encrypt_password(long_password, scramble, public_pem(key_));
  ASSERT_TRUE(encrypted);
  std::string password = rsa_decrypt(key_, *encrypted);
  for (std::size_t i = 0; i < password.size(); ++i) password[i] ^= scramble[i % scramble.size()];
  EXPECT_EQ(password, long_password + '\0');
}

TEST_F(rsa_password, rejects_what_cannot_be_encrypted) {
  const auto pem = public_pem(key_);
  EXPECT_EQ(rsa_encrypt_password(std::string(214, 'p'), scramble, pem).error(),
            codec_errc::too_large);  // 2048-bit OAEP/SHA-1 fits 214 bytes, with the NUL 215
  EXPECT_TRUE(rsa_encrypt_password(std::string(213, 'p'), scramble, pem));
  EXPECT_EQ(rsa_encrypt_password("pw", "", pem).error(), codec_errc::malformed);
  EXPECT_EQ(rsa_encrypt_password("pw", scramble, "not a key").error(), codec_errc::malformed);

  pkey_ptr ec_key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  ASSERT_NE(ec_key, nullptr);
  EXPECT_EQ(rsa_encrypt_password("pw", scramble, public_pem(ec_key.get())).error(),
            codec_errc::unsupported);
}

// What a client sends after "perform full authentication" over TLS: the password and a NUL.
struct cleartext_case {
  std::string name;
  std::string password;
  std::string sent;
  bool accepted;
};

const std::vector<cleartext_case> cleartext_cases = {
    {"password_and_nul", "app-pw", std::string("app-pw\0", 7), true},
    {"password_without_nul", "app-pw", "app-pw", true},
    {"wrong_password", "app-pw", std::string("app-px\0", 7), false},
    {"prefix_of_password", "app-pw", std::string("app-\0", 5), false},
    {"password_and_more", "app-pw", std::string("app-pw2\0", 8), false},
    {"two_nuls", "app-pw", std::string("app-pw\0\0", 8), false},
    {"empty_password_nul", "", std::string("\0", 1), true},
    {"empty_password_nothing", "", "", true},
    {"empty_password_given_one", "", std::string("x\0", 2), false},
    {"nothing_sent", "app-pw", "", false},
};

class cleartext_password : public ::testing::TestWithParam<cleartext_case> {};
TEST_P(cleartext_password, is_verified_as_sent_after_full_authentication) {
  const auto& c = GetParam();
  EXPECT_EQ(verify_cleartext_password(c.password, c.sent), c.accepted);
}
INSTANTIATE_TEST_SUITE_P(caching_sha2_full_auth, cleartext_password,
                         ::testing::ValuesIn(cleartext_cases),
                         [](const ::testing::TestParamInfo<cleartext_case>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace sluice::protocol::test
