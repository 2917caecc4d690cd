// Fuzz target: a backend's session-state tracker report (protocol/session_state.h) and what sluice
// does with it: the client's variables it updates (proxy/session_state.h) and the SET statement
// that would restore them on another backend.
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/session_state.h"
#include "proxy/session_state.h"
#include "proxy/sql_lexer.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using sluice::fuzz::check;
  const std::string_view info(reinterpret_cast<const char*>(data), size);
  const auto changes = sluice::protocol::decode_session_state(info);
  if (changes) {
    const std::span<const std::uint8_t> bytes(data, size);
    for (const auto& change : *changes) {
      check(sluice::fuzz::inside(change.name, bytes), "names view into the report");
      check(sluice::fuzz::inside(change.value, bytes), "values view into the report");
    }
  }

  // Finding F3 (docs/TESTING.md): plan_restore writes a reported variable's name as it is, and a
  // character-set value "#N" (a collation id, sluice's own notation) bare. A server reports only
  // identifiers there, so the one-statement property is checked for such reports only.
  bool server_like = changes.has_value();
  if (changes) {
    for (const auto& change : *changes) {
      if (change.type != sluice::protocol::session_track::system_variables) continue;
      server_like =
          server_like && !change.name.empty() &&
          std::ranges::all_of(
              change.name,
              [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }) &&
          !change.value.starts_with('#');
    }
  }

  sluice::proxy::session_vars vars;
  const auto tracked = sluice::proxy::apply_session_state({std::string(info)}, vars);
  check(changes.has_value() || tracked.pin == sluice::proxy::pin_reason::session_state,
        "an unreadable report pins");
  // The restore of what was reported is one statement: no value ends the SET early.
  const auto plan = sluice::proxy::plan_restore(vars, sluice::proxy::backend_vars{}, true);
  if (!server_like) return 0;
  sluice::proxy::sql_lexer lexer(plan.set_statement);
  for (auto t = lexer.next(); t.kind != sluice::proxy::token_kind::end; t = lexer.next())
    check(!(t.kind == sluice::proxy::token_kind::op && t.text == ";"),
          "the restore statement is one statement");
  return 0;
}
