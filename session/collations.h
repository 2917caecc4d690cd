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

 private:
  std::unordered_map<std::uint16_t, collation_names> by_id_;
};

// The collation id of a "#N" value (how a handshake's collation is held until it is restored).
std::optional<std::uint16_t> collation_id_of(std::string_view value);

}  // namespace sluice::session
