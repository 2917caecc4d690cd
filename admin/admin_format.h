// The admin port's text: command parsing and table rendering (aligned text or JSON). Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sluice::admin {

struct admin_table {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
};

// Aligned columns under a header, as PgBouncer's SHOW commands read in a terminal.
std::string render_text(const admin_table& table);
// A JSON array of objects; cells that are plain numbers become JSON numbers.
std::string render_json(const admin_table& table);

struct admin_command {
  std::vector<std::string> words;  // upper-cased, except the value of SET
  std::string set_key;             // SET key = value
  std::string set_value;
  bool json = false;  // "... FORMAT JSON" or "... JSON"
  bool is(std::initializer_list<std::string_view> verb) const;
};

// One line may chain commands with ';' (a ';' inside quotes does not split).
std::vector<std::string> split_commands(std::string_view line);
// Empty `words` when the text is blank.
admin_command parse_admin_command(std::string_view text);

}  // namespace sluice::admin
