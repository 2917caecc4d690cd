// Admin command parsing and table rendering.
#include "admin/admin_format.h"

#include <algorithm>
#include <cctype>
#include <sstream>

#include "proxy/text_escape.h"

namespace sluice::admin {

using proxy::json_string;
using proxy::printable;

namespace {

std::string trim(std::string_view s) {
  const auto begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return {};
  const auto end = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(begin, end - begin + 1));
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

bool is_number(const std::string& s) {
  if (s.empty() || s.size() > 20) return false;
  // JSON (RFC 8259 section 6): an optional minus, then 0 or a digit 1-9 first, never a dot.
  const std::size_t first = s[0] == '-' ? 1 : 0;
  if (first >= s.size() || !std::isdigit(static_cast<unsigned char>(s[first]))) return false;
  if (s[first] == '0' && first + 1 < s.size() && s[first + 1] != '.') return false;
  std::size_t i = first;
  bool digits = false, dot = false;
  for (; i < s.size(); ++i) {
    if (std::isdigit(static_cast<unsigned char>(s[i]))) {
      digits = true;
    } else if (s[i] == '.' && !dot) {
      dot = true;
    } else {
      return false;
    }
  }
  return digits && s.back() != '.';
}

}  // namespace

std::string render_text(const admin_table& table) {
  std::vector<std::size_t> width(table.columns.size());
  for (std::size_t c = 0; c < table.columns.size(); ++c) width[c] = table.columns[c].size();
  for (const auto& row : table.rows)
    for (std::size_t c = 0; c < row.size() && c < width.size(); ++c)
      width[c] = std::max(width[c], printable(row[c]).size());
  std::ostringstream out;
  // Cells may hold what a client chose (a user name): control characters are shown escaped, so
  // that no cell can start a line of its own.
  const auto line = [&](const std::vector<std::string>& raw) {
    std::vector<std::string> cells;
    cells.reserve(raw.size());
    for (const auto& cell : raw) cells.push_back(printable(cell));
    std::string text;
    for (std::size_t c = 0; c < width.size(); ++c) {
      const std::string& cell = c < cells.size() ? cells[c] : std::string();
      text += cell;
      if (c + 1 < width.size()) text += std::string(width[c] - cell.size() + 2, ' ');
    }
    // Only trailing padding goes: an empty first cell keeps the columns aligned.
    text.erase(text.find_last_not_of(' ') + 1);
    out << text << '\n';
  };
  line(table.columns);
  std::vector<std::string> rule;
  for (auto w : width) rule.push_back(std::string(w, '-'));
  line(rule);
  for (const auto& row : table.rows) line(row);
  out << "(" << table.rows.size() << (table.rows.size() == 1 ? " row)" : " rows)") << '\n';
  return out.str();
}

std::string render_json(const admin_table& table) {
  std::string out = "[";
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    out += r ? ",{" : "{";
    for (std::size_t c = 0; c < table.columns.size(); ++c) {
      if (c) out += ',';
      out += json_string(table.columns[c]);
      out += ':';
      const std::string& cell = c < table.rows[r].size() ? table.rows[r][c] : std::string();
      out += is_number(cell) ? cell : json_string(cell);
    }
    out += '}';
  }
  return out + "]\n";
}

bool admin_command::is(std::initializer_list<std::string_view> verb) const {
  if (words.size() != verb.size()) return false;
  return std::equal(verb.begin(), verb.end(), words.begin());
}

std::vector<std::string> split_commands(std::string_view line) {
  std::vector<std::string> out;
  std::string current;
  char quote = 0;
  for (char c : line) {
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == ';') {
      if (auto t = trim(current); !t.empty()) out.push_back(t);
      current.clear();
      continue;
    }
    current += c;
  }
  if (auto t = trim(current); !t.empty()) out.push_back(t);
  return out;
}

admin_command parse_admin_command(std::string_view text) {
  admin_command cmd;
  std::string body = trim(text);
  // SET key = value keeps the value's case and spaces.
  if (body.size() > 4 && upper(body.substr(0, 4)) == "SET ") {
    const auto eq = body.find('=');
    cmd.words = {"SET"};
    if (eq != std::string::npos) {
      cmd.set_key = trim(std::string_view(body).substr(4, eq - 4));
      std::transform(cmd.set_key.begin(), cmd.set_key.end(), cmd.set_key.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      cmd.set_value = trim(std::string_view(body).substr(eq + 1));
      if (cmd.set_value.size() >= 2 &&
          (cmd.set_value.front() == '\'' || cmd.set_value.front() == '"') &&
          cmd.set_value.back() == cmd.set_value.front())
        cmd.set_value = cmd.set_value.substr(1, cmd.set_value.size() - 2);
    }
    return cmd;
  }
  std::istringstream in(body);
  for (std::string word; in >> word;) cmd.words.push_back(upper(word));
  if (cmd.words.size() >= 2 && cmd.words[cmd.words.size() - 2] == "FORMAT" &&
      cmd.words.back() == "JSON") {
    cmd.json = true;
    cmd.words.resize(cmd.words.size() - 2);
  } else if (cmd.words.size() >= 2 && cmd.words.back() == "JSON") {
    cmd.json = true;
    cmd.words.pop_back();
  }
  return cmd;
}

}  // namespace sluice::admin
