// Fuzz target: the SQL text of a client's COM_QUERY (proxy/sql_lexer.h,
// proxy/statement_classifier.h): tokenizing, classifying for pins, and KILL parsing.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sql/sql_lexer.h"
#include "sql/statement_classifier.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sluice::sql;
  using sluice::fuzz::check;
  const std::string_view sql(reinterpret_cast<const char*>(data), size);

  sql_lexer lexer(sql);
  const char* previous_end = sql.data();
  std::size_t tokens = 0;
  for (token t = lexer.next(); t.kind != token_kind::end; t = lexer.next()) {
    ++tokens;
    check(tokens <= size, "every token consumes input");
    check(t.text.data() >= sql.data() && t.text.data() + t.text.size() <= sql.data() + size,
          "tokens view into the text");
    check(t.text.data() >= previous_end, "tokens come in text order");
    previous_end = t.text.data() + t.text.size();
  }
  check(lexer.next().kind == token_kind::end, "end is returned again");

  const statement_traits traits = classify_statement(sql);
  check(traits == classify_statement(sql), "classification is a function of the text");
  for (const auto& effect : traits.effects)
    check(effect.what != statement_effect::kind::pin || effect.reason != pin_reason::none,
          "a pin effect has a reason");

  const kill_statement kill = parse_kill(sql);
  check(!kill.supported || kill.is_kill, "a supported KILL is a KILL");
  return 0;
}
