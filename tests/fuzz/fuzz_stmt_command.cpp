// Fuzz target: the statement-id commands a client sends (protocol/stmt_command.h):
// COM_STMT_EXECUTE's parameter block and its rewrite for a backend, and the id of
// COM_STMT_SEND_LONG_DATA / _CLOSE / _RESET / _FETCH.
//
// Input: int<2> parameter count (as the prepare reported it), int<4> backend statement id,
// int<1> whether types bound elsewhere are inserted, then the client's payload.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "protocol/stmt_command.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sluice::protocol;
  using sluice::fuzz::check;
  constexpr std::size_t control = 7;
  if (size < control) return 0;
  const auto param_count = static_cast<std::uint16_t>(data[0] | data[1] << 8);
  const std::uint32_t backend_id =
      static_cast<std::uint32_t>(data[2]) | static_cast<std::uint32_t>(data[3]) << 8 |
      static_cast<std::uint32_t>(data[4]) << 16 | static_cast<std::uint32_t>(data[5]) << 24;
  const bool bind_types = data[6] & 1;
  const std::span<const std::uint8_t> payload(data + control, size - control);

  // Any statement command: the id reads back as written.
  if (const auto id = statement_id_of(payload)) {
    std::vector<std::uint8_t> copy(payload.begin(), payload.end());
    set_statement_id(copy, backend_id);
    check(statement_id_of(copy).value() == backend_id, "statement_id_of(set_statement_id(id))");
    check(std::equal(copy.begin() + 5, copy.end(), payload.begin() + 5),
          "set_statement_id changes only the id");
  }

  const auto head = decode_stmt_execute(payload, param_count);
  if (!head) return 0;
  check(head->statement_id == statement_id_of(payload).value(), "the execute's id");
  check(head->flag_offset <= payload.size(), "the flag is inside the payload");
  check(head->types.empty() ||
            (head->types.data() >= payload.data() &&
             head->types.data() + head->types.size() <= payload.data() + payload.size()),
        "the types view into the payload");
  check(head->types.size() == (head->new_params_bound ? 2u * param_count : 0u),
        "two bytes of type per parameter when bound");

  // Types the client bound on another backend: inserted when this execute relies on them.
  const std::vector<std::uint8_t> types(2u * param_count, 0xfd);
  const std::span<const std::uint8_t> to_bind =
      bind_types ? std::span<const std::uint8_t>(types) : std::span<const std::uint8_t>();
  const auto rewritten = rewrite_stmt_execute(payload, *head, backend_id, to_bind);
  const bool inserted = !to_bind.empty() && !head->new_params_bound && head->flag_offset != 0;
  check(rewritten.size() == payload.size() + (inserted ? to_bind.size() : 0),
        "the rewrite adds only the types");
  const auto again = decode_stmt_execute(rewritten, param_count);
  check(again.has_value(), "a rewritten execute decodes");
  check(again->statement_id == backend_id, "the rewrite carries the backend's id");
  check(again->flags == head->flags, "the rewrite keeps the cursor flags");
  check(again->flag_offset == head->flag_offset, "the rewrite keeps the NULL bitmap");
  if (inserted) {
    check(again->new_params_bound, "inserted types are flagged as bound");
    check(std::ranges::equal(again->types, to_bind), "the inserted types");
    check(std::equal(
              rewritten.end() - static_cast<std::ptrdiff_t>(payload.size() - head->flag_offset - 1),
              rewritten.end(), payload.begin() + head->flag_offset + 1),
          "the values follow unchanged");
  } else {
    check(again->new_params_bound == head->new_params_bound, "the bound flag is kept");
    check(std::equal(rewritten.begin() + 5, rewritten.end(), payload.begin() + 5),
          "only the id changes");
  }
  return 0;
}
