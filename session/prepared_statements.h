// Binary prepared statements under multiplexing: a client's statements are known by ids sluice
// gives out, and prepared lazily on whichever backend the client gets; each backend keeps the
// statements it prepared, by what their parse depends on, for any client to reuse (bounded, LRU).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "sql/statement_classifier.h"

namespace sluice::session {

using sql::statement_traits;

// One statement a client prepared, under the id sluice gave it.
struct client_statement {
  std::string sql;
  // What the server's parse depends on besides the text: schema, character set, sql_mode.
  std::string cache_key;
  // That context as it was at COM_STMT_PREPARE (the server keeps a statement's schema from then):
  // a lazy prepare on another backend runs in it, even if the client has moved on since.
  std::string schema;
  std::string charset_client;
  std::optional<std::string> sql_mode;  // nullopt: the server's default
  std::uint16_t param_count = 0;
  statement_traits traits;  // what running it does to session state
  // The parameter types the client bound last (2 bytes each); a client sends them only when its
  // bindings change, so they are re-sent to a backend statement that has other types bound.
  std::vector<std::uint8_t> param_types;
  // Long data for it is on the held backend (sent there as it came; the client is pinned).
  bool long_data_on_backend = false;
  // Sending long data failed (no backend could be had): the next execute answers this error,
  // as the server reports long-data errors at the execute.
  std::optional<std::uint16_t> long_data_error_code;
  std::string long_data_error_message;
  // What the statement makes sluice hold (its text, twice: as text and in its cache key).
  std::size_t bytes() const noexcept { return sql.size() + cache_key.size(); }
};

// A statement prepared on one backend connection.
struct backend_statement {
  std::uint32_t id = 0;                   // the server's id
  std::vector<std::uint8_t> bound_types;  // the types its last execute bound
};

// The statements a backend connection holds, by cache key, least recently used first out.
class backend_statement_cache {
 public:
  explicit backend_statement_cache(std::size_t capacity = 256) : capacity_(capacity) {}

  // The statement for `key`, now the most recently used; nullptr if not prepared here.
  backend_statement* find(const std::string& key);
  // Records a statement just prepared. Returns the ids to close on the backend: one replaced
  // under the same key, and the least recently used beyond the capacity.
  std::vector<std::uint32_t> insert(const std::string& key, std::uint32_t id);
  // Forgets `key` (its statement was closed on the backend).
  std::optional<std::uint32_t> erase(const std::string& key);
  // The backend session was reset: it holds no statements any more.
  void clear() {
    entries_.clear();
    order_.clear();
  }
  std::size_t size() const noexcept { return entries_.size(); }

 private:
  struct entry {
    backend_statement statement;
    std::list<std::string>::iterator position;
  };
  std::size_t capacity_;
  std::unordered_map<std::string, entry> entries_;
  std::list<std::string> order_;  // most recently used first
};

}  // namespace sluice::session
