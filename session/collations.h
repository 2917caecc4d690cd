// The server's collations by id, learnt from the backend (information_schema.COLLATIONS), so that
// the collation id a client sends at login means what the server itself would make of it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sluice::session {

struct collation_names {
  std::string collation;  // e.g. utf8mb4_unicode_ci
  std::string charset;    // e.g. utf8mb4
};

class collation_table {
 public:
  void add(std::uint16_t id, std::string collation, std::string charset);
  // nullptr for an id the server does not know (MySQL 8's 255 on MariaDB, say).
  const collation_names* find(std::uint16_t id) const;
  std::size_t size() const noexcept { return by_id_.size(); }

  // How the server treats a login's collation id: its character set and collation, or nullptr
  // when the session keeps the server's global character set variables (an id it does not know).
  const collation_names* at_login(std::uint16_t id) const;
  // The character set of `id` when the server refuses it for a client (ucs2, utf16, utf16le,
  // utf32 cannot be parsed): the login then fails with 1231, as it does directly.
  std::optional<std::string> refused_client_charset(std::uint16_t id) const;

 private:
  std::unordered_map<std::uint16_t, collation_names> by_id_;
};

// The collation id of a "#N" value (how a handshake's collation is held until it is restored).
std::optional<std::uint16_t> collation_id_of(std::string_view value);

}  // namespace sluice::session
