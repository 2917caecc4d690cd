// Authentication scrambles and tokens for mysql_native_password and caching_sha2_password.
#pragma once

#include <boost/system/result.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::protocol {

// The authentication plugins sluice speaks, as the protocol names them.
inline constexpr std::string_view native_password_plugin = "mysql_native_password";
inline constexpr std::string_view caching_sha2_plugin = "caching_sha2_password";

// Scrambles passed to these functions are exactly the 20 bytes (callers strip a trailing NUL).

// 20 random bytes (RAND_bytes), each mapped into printable ASCII 0x21..0x7e (never NUL).
// Throws std::runtime_error if the random generator fails: the proxy must not authenticate then.
std::string generate_scramble();

// "Native Authentication": SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))); empty password -> empty.
std::string native_password_token(std::string_view password, std::string_view scramble);
// Constant-time compare; an empty password accepts only an empty token.
bool verify_native_password(std::string_view password, std::string_view scramble,
                            std::string_view token);

// mysql_native_password without the password, from what the server stores: stage 1 is SHA1(pw),
// stage 2 SHA1(SHA1(pw)), the hash in mysql.user as "*" and 40 hex digits.
// The stage 2 of a stored "*HEX" hash; nullopt when it is not one (another plugin's, or empty).
std::optional<std::string> native_stage2_of_hash(std::string_view stored);
// A client's native token for `scramble`, checked against stage 2: the stage 1 it carries, or
// nullopt when it does not verify. (token = stage1 XOR SHA1(scramble + stage2).)
std::optional<std::string> native_stage1_from_token(std::string_view token,
                                                    std::string_view scramble,
                                                    std::string_view stage2);
// The native token for `scramble` from stage 1 (what logging in as the account needs).
std::string native_token_from_stage1(std::string_view stage1, std::string_view scramble);

// "Caching_sha2_password" fast path:
// SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + scramble); empty password -> empty.
std::string caching_sha2_token(std::string_view password, std::string_view scramble);
bool verify_caching_sha2(std::string_view password, std::string_view scramble,
                         std::string_view token);

// caching_sha2_password full authentication over TLS: after the server's "perform full
// authentication" (0x01 0x04) the client sends its password in the clear, NUL-terminated
// (the connection is encrypted). Constant-time in the password's bytes; the NUL is optional.
bool verify_cleartext_password(std::string_view password, std::string_view sent);

// caching_sha2 / sha256 full authentication over plain TCP: (password + '\0') XOR scramble
// (cyclic), RSA-encrypted with the server's PEM public key, OAEP padding. Errors: `malformed` for
// an unreadable key or an empty scramble, `unsupported` for a non-RSA key, `too_large` when the
// password does not fit the key.
boost::system::result<std::string> rsa_encrypt_password(std::string_view password,
                                                        std::string_view scramble,
                                                        std::string_view pem_public_key);

}  // namespace sluice::protocol
