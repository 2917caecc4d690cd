// Settling a client's session after a response: what the scanner saw (status flags, warnings,
// insert ids, tracker reports, cursors) becomes the client's state and the backend's, and the
// release rule follows from it. Also the client's statement table.
#include "session/tracked_session.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/constants.h"
#include "protocol/frame.h"
#include "protocol/generic_response.h"
#include "sql/statement_classifier.h"

namespace sluice::session {
namespace {

namespace cap = protocol::capability;
namespace status = protocol::server_status;
using shape = protocol::response_scanner::shape;

constexpr std::uint32_t backend_caps = cap::protocol_41 | cap::transactions | cap::session_track;

// A scanner that has read `packets` (payloads, numbered from 1) as the answer to `s`.
protocol::response_scanner scanned(shape s, const std::vector<std::vector<std::uint8_t>>& packets) {
  std::vector<std::uint8_t> wire;
  std::uint8_t sequence = 1;
  for (const auto& payload : packets) protocol::append_packets(wire, payload, sequence++);
  protocol::response_scanner scanner(backend_caps);
  scanner.start(s);
  EXPECT_EQ(scanner.feed(wire), wire.size());
  EXPECT_EQ(scanner.current(), protocol::response_scanner::state::done);
  return scanner;
}

std::vector<std::uint8_t> ok(std::uint16_t flags, std::uint16_t warnings = 0,
                             std::uint64_t insert_id = 0, std::string_view state = {}) {
  protocol::ok_packet packet;
  packet.status_flags = flags;
  packet.warnings = warnings;
  packet.last_insert_id = insert_id;
  packet.session_state_info = state;
  std::vector<std::uint8_t> out;
  protocol::encode_ok(packet, backend_caps, out);
  return out;
}

std::vector<std::uint8_t> eof(std::uint16_t flags) {
  std::vector<std::uint8_t> out;
  protocol::encode_eof({0, flags}, backend_caps, out);
  return out;
}

tracked_session logged_in() {
  tracked_session s;
  s.start_over("shop", 45, false);
  return s;
}

struct settle_fixture : ::testing::Test {
  tracked_session session = logged_in();
  backend_vars backend;
  bool report_pending = false;

  settled settle(const protocol::response_scanner& scanner, std::string_view sql = "SELECT 1",
                 const command_facts& facts = {}) {
    return settle_response(session, backend, report_pending, scanner, sql::classify_statement(sql),
                           facts);
  }
};

TEST_F(settle_fixture, an_autocommit_statement_leaves_nothing_on_the_backend) {
  const auto result = settle(scanned(shape::query, {ok(status::autocommit)}));
  EXPECT_FALSE(result.transaction_ended);
  EXPECT_FALSE(session.holds_backend_state());
  EXPECT_TRUE(session.vars.autocommit);
  EXPECT_EQ(backend.schema, "shop") << "the backend learns what the client's session holds";
}

TEST_F(settle_fixture, a_transaction_holds_the_backend_until_it_ends) {
  settle(scanned(shape::query, {ok(status::autocommit | status::in_trans)}), "BEGIN");
  EXPECT_TRUE(session.in_transaction);
  EXPECT_TRUE(session.holds_backend_state());
  const auto result = settle(scanned(shape::query, {ok(status::autocommit)}), "COMMIT");
  EXPECT_TRUE(result.transaction_ended);
  EXPECT_FALSE(session.holds_backend_state());
}

TEST_F(settle_fixture, warnings_hold_the_backend_for_a_show_warnings) {
  settle(scanned(shape::query, {ok(status::autocommit, 2)}));
  EXPECT_TRUE(session.hold_for_next);
  EXPECT_TRUE(session.holds_backend_state());
  settle(scanned(shape::query, {ok(status::autocommit)}));
  EXPECT_FALSE(session.hold_for_next);
}

TEST_F(settle_fixture, an_insert_id_is_the_clients_and_the_backends) {
  settle(scanned(shape::query, {ok(status::autocommit, 0, 42)}), "INSERT INTO t VALUES ()");
  EXPECT_EQ(session.vars.last_insert_id, 42u);
  EXPECT_EQ(backend.last_insert_id, 42u);
}

TEST_F(settle_fixture, a_literal_user_variable_is_replayed_not_pinned) {
  settle(scanned(shape::query, {ok(status::autocommit)}), "SET @x = 7");
  EXPECT_EQ(session.vars.user.at("x"), "7");
  EXPECT_EQ(backend.user.at("x"), "7");
  EXPECT_FALSE(session.holds_backend_state());
}

TEST_F(settle_fixture, a_computed_user_variable_pins_until_it_is_a_literal_again) {
  settle(scanned(shape::query, {ok(status::autocommit)}), "SET @x = NOW()");
  EXPECT_EQ(session.pins.reason(), pin_reason::user_variable);
  EXPECT_EQ(backend.user.at("x"), opaque_value);
  settle(scanned(shape::query, {ok(status::autocommit)}), "SET @x = 1");
  EXPECT_EQ(session.pins.reason(), pin_reason::none);
}

// int<1> type, string<lenenc> data: "state changed", as MariaDB sends it.
const std::string state_changed("\x02\x01\x31", 3);

TEST_F(settle_fixture, a_change_nothing_explains_pins_until_reset) {
  const auto result =
      settle(scanned(shape::query,
                     {ok(status::autocommit | status::session_state_changed, 0, 0, state_changed)}),
             "CALL p()");
  EXPECT_TRUE(result.unexplained_change);
  EXPECT_EQ(session.pins.reason(), pin_reason::session_state);
}

TEST_F(settle_fixture, an_execute_in_its_prepare_time_schema_explains_its_change) {
  command_facts facts;
  facts.schema_switch_expected = true;
  const auto result =
      settle(scanned(shape::query,
                     {ok(status::autocommit | status::session_state_changed, 0, 0, state_changed)}),
             "", facts);
  EXPECT_FALSE(result.unexplained_change);
  EXPECT_EQ(session.pins.reason(), pin_reason::none);
}

TEST_F(settle_fixture, a_report_pending_from_the_backends_last_statement_is_not_this_ones) {
  report_pending = true;
  const auto result = settle(scanned(
      shape::query, {ok(status::autocommit | status::session_state_changed, 0, 0, state_changed)}));
  EXPECT_FALSE(result.unexplained_change);
  EXPECT_FALSE(report_pending);
}

TEST_F(settle_fixture, a_cursor_pins_until_its_last_row) {
  const std::vector<std::uint8_t> one_column = {1};
  const std::vector<std::uint8_t> definition = {3, 'd', 'e', 'f'};
  command_facts opened;
  opened.cursor_request = 5;
  settle(scanned(shape::query,
                 {one_column, definition, eof(status::autocommit | status::cursor_exists)}),
         "", opened);
  EXPECT_EQ(session.cursor_statement, 5u);
  EXPECT_EQ(session.pins.reason(), pin_reason::cursor);
  command_facts fetch;
  fetch.cursor_request = 5;
  fetch.fetching = true;
  settle(scanned(shape::fetch, {eof(status::autocommit | status::last_row_sent)}), "", fetch);
  EXPECT_FALSE(session.cursor_statement);
  EXPECT_EQ(session.pins.reason(), pin_reason::none);
}

TEST_F(settle_fixture, losing_the_backend_forgets_what_was_held_there) {
  settle(scanned(shape::query, {ok(status::autocommit | status::in_trans, 1)}), "BEGIN");
  session.pins.pin_until_reset(pin_reason::session_state);
  session.forget_backend_state();
  EXPECT_FALSE(session.holds_backend_state());
  EXPECT_EQ(session.vars.schema, "shop") << "replayable state stays the client's";
}

TEST(statement_table, ids_count_from_one_and_minus_one_is_the_last_prepared) {
  statement_table table;
  EXPECT_EQ(table.add({}), 1u);
  EXPECT_EQ(table.add({}), 2u);
  EXPECT_EQ(table.resolve(0xFFFFFFFFu), 2u);
  EXPECT_EQ(table.resolve(1), 1u);
  EXPECT_NE(table.find(1), nullptr);
  EXPECT_TRUE(table.erase(1));
  EXPECT_EQ(table.find(1), nullptr);
  table.clear();
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.resolve(0xFFFFFFFFu), 0u) << "no statement after a reset";
}

TEST(statement_table, a_client_cannot_hold_more_than_max_statements) {
  statement_table table;
  for (std::size_t i = 0; i < statement_table::max_statements; ++i) ASSERT_TRUE(table.add({}));
  EXPECT_TRUE(table.full());
  EXPECT_FALSE(table.add({}));
}

TEST(statement_table, a_statement_never_shares_a_backend_statement_holding_anothers_long_data) {
  statement_table table;
  client_statement same_text;
  same_text.sql = "SELECT ?";
  same_text.cache_key = std::string("db\0utf8mb4\0\0SELECT ?", 20);
  const auto first = table.add(same_text);
  const auto second = table.add(same_text);
  ASSERT_TRUE(first && second);
  EXPECT_FALSE(table.keep_apart_from_long_data(*second)) << "no long data anywhere: shared";
  table.find(*first)->long_data_on_backend = true;
  EXPECT_FALSE(table.keep_apart_from_long_data(*first)) << "its own long data";
  const std::size_t before = table.bytes();
  EXPECT_TRUE(table.keep_apart_from_long_data(*second));
  const std::string& own = table.find(*second)->cache_key;
  EXPECT_NE(own, same_text.cache_key);
  EXPECT_EQ(table.bytes(), before + own.size() - same_text.cache_key.size());
  EXPECT_FALSE(table.keep_apart_from_long_data(*second)) << "already apart";
  table.find(*second)->long_data_on_backend = true;
  EXPECT_FALSE(table.keep_apart_from_long_data(*first)) << "the two keys differ now";
}

}  // namespace
}  // namespace sluice::session
