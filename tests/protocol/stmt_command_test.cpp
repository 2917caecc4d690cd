// Tests of the statement commands' ids and of COM_STMT_EXECUTE's parameter block.
#include "protocol/stmt_command.h"

#include <gtest/gtest.h>

#include "protocol/codec_errc.h"
#include "tests/protocol/codec_case.h"

namespace sluice::protocol::test {
namespace {

bytes prefix(const bytes& b, std::size_t n) {
  return bytes(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n));
}

TEST(statement_id, is_read_and_written_little_endian) {
  bytes close = hex("19 | 04 03 02 01");
  EXPECT_EQ(statement_id_of(close).value(), 0x01020304u);
  set_statement_id(close, 7);
  EXPECT_EQ(close, hex("19 | 07 00 00 00"));
}

TEST(statement_id, a_payload_too_short_for_an_id_is_an_error) {
  for (std::size_t n = 0; n < 5; ++n) {
    const bytes b = prefix(hex("19 | 04 03 02 01"), n);
    EXPECT_FALSE(statement_id_of(b).has_value()) << n;
  }
}

// COM_STMT_EXECUTE of statement 5, no cursor, iteration count 1, two parameters: NULL bitmap
// 0x00, new_params_bound_flag, then (when bound) the types LONGLONG and VAR_STRING, then the
// values 42 and "ab".
const bytes bound = hex(
    "17 | 05 00 00 00 | 00 | 01 00 00 00 | 00 | 01 | 08 00 fd 00 | 2a 00 00 00 00 00 00 00 | 02 "
    "61 62");
const bytes unbound =
    hex("17 | 05 00 00 00 | 00 | 01 00 00 00 | 00 | 00 | 2a 00 00 00 00 00 00 00 | 02 61 62");

TEST(stmt_execute, decodes_bound_types) {
  const auto head = decode_stmt_execute(bound, 2);
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->statement_id, 5u);
  EXPECT_EQ(head->flags, 0);
  EXPECT_FALSE(head->opens_cursor());
  EXPECT_TRUE(head->new_params_bound);
  EXPECT_EQ(head->flag_offset, 11u);
  EXPECT_EQ(bytes(head->types.begin(), head->types.end()), hex("08 00 fd 00"));
}

TEST(stmt_execute, decodes_a_reuse_of_bound_types) {
  const auto head = decode_stmt_execute(unbound, 2);
  ASSERT_TRUE(head.has_value());
  EXPECT_FALSE(head->new_params_bound);
  EXPECT_TRUE(head->types.empty());
}

TEST(stmt_execute, a_statement_without_parameters_ends_after_the_iteration_count) {
  const auto head = decode_stmt_execute(hex("17 | 09 00 00 00 | 01 | 01 00 00 00"), 0);
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->statement_id, 9u);
  EXPECT_TRUE(head->opens_cursor());  // CURSOR_TYPE_READ_ONLY
  EXPECT_EQ(head->flag_offset, 0u);
}

TEST(stmt_execute, every_truncation_before_the_values_is_an_error) {
  // Up to the end of the types (11 + 1 + 4 bytes) every prefix lacks a field.
  for (std::size_t n = 0; n < 16; ++n) {
    EXPECT_FALSE(decode_stmt_execute(prefix(bound, n), 2).has_value()) << n;
  }
  EXPECT_TRUE(decode_stmt_execute(prefix(bound, 16), 2).has_value());
}

TEST(stmt_execute, a_wide_null_bitmap_moves_the_flag) {
  // Nine parameters take a two-byte NULL bitmap.
  const bytes nine = hex("17 | 01 00 00 00 | 00 | 01 00 00 00 | ff 01 | 00");
  const auto head = decode_stmt_execute(nine, 9);
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->flag_offset, 12u);
  EXPECT_FALSE(head->new_params_bound);
}

TEST(stmt_execute, rewrite_changes_only_the_id_when_types_are_sent) {
  const auto head = decode_stmt_execute(bound, 2).value();
  bytes expected = bound;
  expected[1] = 0x63;
  EXPECT_EQ(rewrite_stmt_execute(bound, head, 0x63, hex("08 00 fd 00")), expected);
}

TEST(stmt_execute, rewrite_inserts_the_types_a_backend_statement_lacks) {
  const auto head = decode_stmt_execute(unbound, 2).value();
  bytes expected = bound;
  expected[1] = 0x63;
  EXPECT_EQ(rewrite_stmt_execute(unbound, head, 0x63, hex("08 00 fd 00")), expected);
}

TEST(stmt_execute, rewrite_without_types_to_bind_keeps_the_flag_at_zero) {
  const auto head = decode_stmt_execute(unbound, 2).value();
  bytes expected = unbound;
  expected[1] = 0x63;
  EXPECT_EQ(rewrite_stmt_execute(unbound, head, 0x63, {}), expected);
}

}  // namespace
}  // namespace sluice::protocol::test
