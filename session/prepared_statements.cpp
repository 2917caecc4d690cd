// The per-backend statement cache.
#include "session/prepared_statements.h"

namespace sluice::session {

backend_statement* backend_statement_cache::find(const std::string& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return nullptr;
  order_.splice(order_.begin(), order_, it->second.position);
  return &it->second.statement;
}

std::vector<std::uint32_t> backend_statement_cache::insert(const std::string& key,
                                                           std::uint32_t id) {
  std::vector<std::uint32_t> to_close;
  if (auto replaced = erase(key)) to_close.push_back(*replaced);
  order_.push_front(key);
  entries_.emplace(key, entry{backend_statement{id, {}}, order_.begin()});
  while (entries_.size() > capacity_) {
    const std::string oldest = order_.back();
    if (auto closed = erase(oldest)) to_close.push_back(*closed);
  }
  return to_close;
}

std::optional<std::uint32_t> backend_statement_cache::erase(const std::string& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  const std::uint32_t id = it->second.statement.id;
  order_.erase(it->second.position);
  entries_.erase(it);
  return id;
}

}  // namespace sluice::session
