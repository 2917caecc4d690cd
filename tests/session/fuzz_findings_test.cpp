// Inputs the fuzz targets (tests/fuzz) found in the session layer, each kept as a test; the input
// files are in tests/fuzz/findings/ and the findings are described in docs/TESTING.md.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "session/restore_plan.h"
#include "session/session_vars.h"
#include "sql/sql_lexer.h"
#include "tests/protocol/codec_case.h"

namespace sluice::session {
namespace {

using sql::sql_lexer;
using sql::token;
using sql::token_kind;

// Whether `sql` lexes as one statement: no ';' outside strings, names and comments.
bool one_statement(std::string_view sql) {
  sql_lexer lexer(sql);
  for (token t = lexer.next(); t.kind != token_kind::end; t = lexer.next())
    if (t.kind == token_kind::op && t.text == ";") return false;
  return true;
}

std::string restore_after(const std::string& report) {
  session_vars vars;
  apply_session_state({report}, vars);
  backend_vars fresh;
  fresh.schema = "";  // a backend without a default schema: no COM_CHANGE_USER comes first
  return plan_restore(vars, fresh, true, collation_table{}).set_statement;
}

// F3 (fuzz_session_state): a tracker report names a system variable "c.arac|er_se;_client"; the
// restore writes the name as it is ("SET c.arac|er_se;_client=..."), so the ';' ends the SET and
// the rest runs as another statement. Servers report identifiers only, so this needs a lying
// backend; a reported name that is not an identifier is now unreplayable (the client is pinned).
TEST(fuzz_finding, session_state_variable_name_ends_restore) {
  const auto input = protocol::test::hex(
      "001d14632e617261637c65725f73653b5f636c69656e74078b8b99c79200cb012118636861726163747363725f"
      "74655f656f6e6e6563ff69747307757466386d6234020131");
  const std::string report(input.begin(), input.end());
  const std::string sql = restore_after(report);
  ASSERT_FALSE(sql.empty());
  EXPECT_TRUE(one_statement(sql)) << sql;
}

// F3 too: a character-set value "#N" is sluice's notation for a collation id and was written
// bare, so a reported "#1; DO 2" was written as "1; DO 2"; now only an exact id is an id.
TEST(fuzz_finding, session_state_charset_value_ends_restore) {
  const std::string value = "#1; DO 2";
  std::string entry = std::string(1, static_cast<char>(20)) + "character_set_client" +
                      static_cast<char>(value.size()) + value;
  const std::string report = std::string(1, '\0') + static_cast<char>(entry.size()) + entry;
  const std::string sql = restore_after(report);
  ASSERT_FALSE(sql.empty());
  EXPECT_TRUE(one_statement(sql)) << sql;
}

}  // namespace
}  // namespace sluice::session
