// Fuzz target: a line typed on the admin port (proxy/admin_format.h): splitting it into commands,
// parsing each, and the JSON the answers are rendered in.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "admin/admin_format.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sluice::admin;
  using sluice::fuzz::check;
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  std::size_t total = 0;
  admin_table table{{"command", "word"}, {}};
  for (const std::string& text : split_commands(line)) {
    check(!text.empty(), "no blank command");
    check(line.find(text) != std::string_view::npos, "a command is a piece of the line");
    total += text.size();
    const admin_command command = parse_admin_command(text);
    check(command.set_key.empty() || command.words == std::vector<std::string>{"SET"},
          "only SET has a key");
    for (const auto& word : command.words) {
      check(!word.empty(), "words are not empty");
      table.rows.push_back({text, word});
    }
  }
  check(total <= size, "commands do not overlap");
  // Cells are the client's text: whatever it holds, the answer is valid JSON (checked for ASCII
  // text: other bytes are passed through, and JSON needs UTF-8).
  const std::string json = render_json(table);
  if (std::ranges::all_of(line, [](char c) { return static_cast<unsigned char>(c) < 0x80; }))
    check(nlohmann::json::accept(json), "render_json writes JSON");
  return 0;
}
