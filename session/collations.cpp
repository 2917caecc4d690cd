// The collation table and the "#N" spelling of a handshake collation id.
#include "session/collations.h"

#include <charconv>

namespace sluice::session {

void collation_table::add(std::uint16_t id, std::string collation, std::string charset) {
  by_id_[id] = {std::move(collation), std::move(charset)};
}

const collation_names* collation_table::find(std::uint16_t id) const {
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &it->second;
}

const collation_names* collation_table::at_login(std::uint16_t id) const {
  return find(id);
}

std::optional<std::string> collation_table::refused_client_charset(std::uint16_t id) const {
  const collation_names* names = at_login(id);
  if (!names) return std::nullopt;
  const std::string& cs = names->charset;
  if (cs == "ucs2" || cs == "utf16" || cs == "utf16le" || cs == "utf32") return cs;
  return std::nullopt;
}

std::optional<std::uint16_t> collation_id_of(std::string_view value) {
  if (value.size() < 2 || value[0] != '#') return std::nullopt;
  std::uint16_t id = 0;
  const auto [end, ec] = std::from_chars(value.data() + 1, value.data() + value.size(), id);
  if (ec != std::errc() || end != value.data() + value.size()) return std::nullopt;
  return id;
}

}  // namespace sluice::session
