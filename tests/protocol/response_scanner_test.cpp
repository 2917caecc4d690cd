// Tests of the response scanner: every response shape, fed whole, split at every point and byte
// by byte, with the bytes of the next response behind it.
#include "protocol/response_scanner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <numeric>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "protocol/frame.h"
#include "protocol/generic_response.h"
#include "protocol/stmt_prepare_ok.h"
#include "protocol/wire.h"
#include "tests/protocol/codec_case.h"

namespace sluice::protocol::test {
namespace {

using namespace capability;
using shape = response_scanner::shape;
using state = response_scanner::state;
using status = std::uint16_t;
namespace flag = server_status;

// What sluice negotiates with a backend (backend_connector.cpp): never DEPRECATE_EOF.
constexpr std::uint32_t backend_caps = long_password | long_flag | protocol_41 | transactions |
                                       secure_connection | multi_statements | multi_results |
                                       ps_multi_results | plugin_auth | capability::session_track;
constexpr status autocommit = flag::autocommit;
// The scanner keeps the first 16 bytes of packets after the first (see response_scanner.cpp):
// an ERR after rows keeps 16 - 9 (header, code, '#', state) bytes of its message.
constexpr std::size_t later_packet_capture = 16;
constexpr std::size_t err_prefix = 9;
constexpr std::size_t first_packet_capture = 64 * 1024;
std::string cut(std::string_view message) {
  return std::string(message.substr(0, later_packet_capture - err_prefix));
}

// ---- Payload builders (the codec's encoders where it has them) ----

bytes ok(const ok_packet& p) {
  bytes out;
  encode_ok(p, backend_caps, out);
  return out;
}

bytes err(std::uint16_t code, std::string sql_state, std::string message) {
  bytes out;
  encode_err({.error_code = code, .sql_state = std::move(sql_state), .message = std::move(message)},
             backend_caps, out);
  return out;
}

bytes eof(status flags, std::uint16_t warnings = 0) {
  bytes out;
  encode_eof({.warnings = warnings, .status_flags = flags}, backend_caps, out);
  return out;
}

bytes lenenc(std::uint64_t n) {
  bytes out;
  wire_writer(out).lenenc_int(n);
  return out;
}

// "Protocol::ColumnDefinition41" of a VARCHAR column `name` in sluice_test.t.
bytes column(std::string_view name) {
  bytes out;
  wire_writer w(out);
  for (const std::string_view s : {std::string_view("def"), std::string_view("sluice_test"),
                                   std::string_view("t"), std::string_view("t"), name, name}) {
    w.lenenc_string(s);
  }
  w.lenenc_int(0x0c);
  w.u16(45);    // utf8mb4_general_ci
  w.u32(1020);  // column length
  w.u8(0xfd);   // MYSQL_TYPE_VAR_STRING
  w.u16(0);     // flags
  w.u8(0);      // decimals
  w.u16(0);     // filler
  return out;
}

// A text-protocol row: each value a length-encoded string, NULL as 0xFB.
bytes text_row(std::initializer_list<std::optional<std::string_view>> values) {
  bytes out;
  wire_writer w(out);
  for (const auto& v : values) {
    if (v)
      w.lenenc_string(*v);
    else
      w.u8(0xfb);
  }
  return out;
}

// A binary-protocol row of LONG columns: header 0x00, NULL bitmap (offset 2), the values.
bytes binary_row(std::initializer_list<std::uint32_t> values) {
  bytes out;
  wire_writer w(out);
  w.u8(0x00);
  w.zeros((values.size() + 7 + 2) / 8);
  for (const auto v : values) w.u32(v);
  return out;
}

bytes prepare_ok(std::uint32_t id, std::uint16_t columns, std::uint16_t params,
                 std::uint16_t warnings = 0) {
  bytes out;
  encode_stmt_prepare_ok(
      {.statement_id = id, .num_columns = columns, .num_params = params, .warnings = warnings},
      out);
  return out;
}

// A payload of `size` bytes starting with `head`, the rest `fill`.
bytes sized(bytes head, std::size_t size, std::uint8_t fill) {
  head.resize(size, fill);
  return head;
}

bytes local_infile_request(std::string_view file) {
  return cat({hex("fb"), text(file)});
}

using payloads = std::vector<bytes>;

payloads join(std::initializer_list<payloads> parts) {
  payloads out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// Column count, definitions and their EOF: the head of a result set.
payloads result_head(std::initializer_list<std::string_view> names, status flags = autocommit) {
  payloads out{lenenc(names.size())};
  for (const auto name : names) out.push_back(column(name));
  out.push_back(eof(flags));
  return out;
}

// Frames payloads as a server does: sequence ids from 1 (the command was 0), a payload of
// 0xFFFFFF bytes or more continued in the next packets (the codec's own append_packets).
bytes frames(const payloads& list) {
  bytes out;
  std::uint8_t sequence_id = 1;
  for (const auto& p : list) sequence_id = append_packets(out, p, sequence_id);
  return out;
}

// ---- The table ----

struct outcome {
  state final = state::done;
  int local_infile_requests = 0;
  bool error = false;
  bool has_status = false;
  status status_flags = 0;
  std::uint16_t warnings = 0;
  std::uint64_t last_insert_id = 0;
  std::vector<std::string> state_blobs{};
  bool state_lost = false;
  bool eof_state_changed = false;
  std::uint32_t statement_id = 0;
  std::uint16_t error_code = 0;
  std::string sql_state{};
  std::string error_message{};
};

struct scanner_case {
  std::string name;
  shape command;
  // Builds the whole response (for a malformed one: up to the end of the packet that gives it
  // away). Built by the test that needs it: gtest runs each test in its own process, and the
  // 16 MiB cases would otherwise be built in every one of them.
  std::function<bytes()> response;
  outcome expected;
};

void PrintTo(const scanner_case& c, std::ostream* os) {
  *os << c.name;
}

// `SET @@session.autocommit=0` style state blob: one SESSION_TRACK_SYSTEM_VARIABLES entry.
std::string variable_blob(std::string_view name, std::string_view value) {
  bytes data;
  wire_writer d(data);
  d.lenenc_string(name);
  d.lenenc_string(value);
  bytes entry;
  wire_writer e(entry);
  e.u8(static_cast<std::uint8_t>(session_track::system_variables));
  e.lenenc_string(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
  return std::string(entry.begin(), entry.end());
}

const std::string schema_blob = "\x01\x05\x04test";  // USE test (session_track_schema)
const std::string rows_matched = "Rows matched: 1  Changed: 1  Warnings: 0";
const std::string interrupted = "Query execution was interrupted";
const std::string no_such_table = "Table 'sluice_test.nope' doesn't exist";

// A text row of `size` bytes: a one-byte value, then one long value of `fill` bytes.
bytes long_text_row(std::size_t size, std::uint8_t fill) {
  const bytes first = text_row({"a"});
  for (const std::size_t prefix : {1, 3, 4, 9}) {
    const bytes length = lenenc(size - first.size() - prefix);
    if (length.size() == prefix) return sized(cat({first, length}), size, fill);
  }
  ADD_FAILURE() << "no row of " << size << " bytes";
  return {};
}

// A text row whose one value is `value_size` bytes: from 2^24 bytes on, the value's length prefix
// is 0xFE and 8 bytes, so the row starts with 0xFE though it is no EOF.
bytes fe_text_row(std::size_t value_size, std::uint8_t fill) {
  const bytes length = lenenc(value_size);
  EXPECT_EQ(length.front(), eof_header);
  return sized(length, length.size() + value_size, fill);
}

// A binary row of one BLOB column (NULL bitmap 0x00, length-encoded value), `size` bytes.
bytes binary_blob_row(std::size_t size, std::uint8_t fill) {
  const std::size_t value = size - 2 - 9;
  return sized(cat({hex("00 00"), lenenc(value)}), size, fill);
}

// 1 MiB of state blobs is all the scanner keeps; each of these OKs reports about 60 KB.
constexpr std::size_t big_blob_size = 60000;
constexpr std::size_t blob_budget = 1024 * 1024;
payloads oks_with_big_state(std::size_t count) {
  payloads out;
  for (std::size_t i = 0; i < count; ++i) {
    const status more = i + 1 < count ? flag::more_results_exists : 0;
    static const std::string blob =
        variable_blob("character_set_client", std::string(big_blob_size, 'x'));
    out.push_back(
        ok({.status_flags = static_cast<status>(autocommit | more | flag::session_state_changed),
            .session_state_info = blob}));
  }
  return out;
}
std::vector<std::string> kept_big_blobs(std::size_t count) {
  const std::string blob = variable_blob("character_set_client", std::string(big_blob_size, 'x'));
  return std::vector<std::string>(std::min(count, blob_budget / blob.size()), blob);
}

const std::vector<scanner_case> cases = {
    // ---- shape::query: OK, ERR, LOCAL INFILE ----
    {"query_ok",
     shape::query,
     [] { return frames({ok({.status_flags = autocommit})}); },
     {.has_status = true, .status_flags = autocommit}},
    {"query_ok_insert_id_warnings_info",
     shape::query,
     [] {
       return frames({ok({.affected_rows = 1,
                          .last_insert_id = 42,
                          .status_flags = flag::in_trans,
                          .warnings = 3,
                          .info = rows_matched})});
     },
     {.has_status = true, .status_flags = flag::in_trans, .warnings = 3, .last_insert_id = 42}},
    {"query_ok_8_byte_insert_id",
     shape::query,
     [] {
       return frames({ok({.affected_rows = 0x100000000,
                          .last_insert_id = 0x123456789abcdef0,
                          .status_flags = autocommit})});
     },
     {.has_status = true, .status_flags = autocommit, .last_insert_id = 0x123456789abcdef0}},
    {"query_ok_session_state_schema",
     shape::query,
     [] {
       return frames({ok({.status_flags = autocommit | flag::session_state_changed,
                          .session_state_info = schema_blob})});
     },
     {.has_status = true,
      .status_flags = autocommit | flag::session_state_changed,
      .state_blobs = {schema_blob}}},
    {"query_ok_session_state_with_info",
     shape::query,
     [] {
       return frames({ok({.status_flags = autocommit | flag::session_state_changed,
                          .info = "info text",
                          .session_state_info = variable_blob("autocommit", "OFF")})});
     },
     {.has_status = true,
      .status_flags = autocommit | flag::session_state_changed,
      .state_blobs = {variable_blob("autocommit", "OFF")}}},
    // The flag is set but the state info runs past the packet: what changed is unknown.
    {"query_ok_session_state_unreadable",
     shape::query,
     [] { return frames({hex("00 | 00 | 00 | 02 40 | 00 00 | 00 | 09 | 01 05 04")}); },
     {.has_status = true,
      .status_flags = autocommit | flag::session_state_changed,
      .state_lost = true}},
    // Only the first 64 KiB of the first packet are kept: a longer state report is lost.
    {"query_ok_session_state_beyond_capture",
     shape::query,
     [] {
       return frames({ok({.status_flags = autocommit | flag::session_state_changed,
                          .session_state_info = variable_blob(
                              "character_set_client", std::string(first_packet_capture, 'x'))})});
     },
     {.has_status = true,
      .status_flags = autocommit | flag::session_state_changed,
      .state_lost = true}},
    {"query_err",
     shape::query,
     [] { return frames({err(1146, "42S02", no_such_table)}); },
     {.error = true, .error_code = 1146, .sql_state = "42S02", .error_message = no_such_table}},
    // Before it knows the client's capabilities a server sends no SQL state.
    {"query_err_without_sql_state",
     shape::query,
     [] {
       return frames({cat({hex("ff 10 04"), text("Too many connections")})});
     },
     {.error = true, .error_code = 1040, .error_message = "Too many connections"}},
    {"query_err_without_message",
     shape::query,
     [] { return frames({hex("ff 15 04")}); },
     {.error = true, .error_code = 1045}},
    {"query_local_infile_then_ok",
     shape::query,
     [] {
       return frames({local_infile_request("/tmp/data.csv"),
                      ok({.affected_rows = 3, .status_flags = autocommit, .warnings = 1})});
     },
     {.local_infile_requests = 1, .has_status = true, .status_flags = autocommit, .warnings = 1}},
    {"query_local_infile_then_err",
     shape::query,
     [] {
       return frames(
           {local_infile_request("/etc/shadow"),
            err(1148, "42000", "The used command is not allowed with this MariaDB version")});
     },
     {.local_infile_requests = 1,
      .error = true,
      .error_code = 1148,
      .sql_state = "42000",
      .error_message = "The used command is not allowed with this MariaDB version"}},
    // Multi-statement: an INSERT's OK, then LOAD DATA LOCAL.
    {"query_ok_then_local_infile",
     shape::query,
     [] {
       return frames({ok({.affected_rows = 1,
                          .last_insert_id = 7,
                          .status_flags = autocommit | flag::more_results_exists}),
                      local_infile_request("x.csv"),
                      ok({.affected_rows = 2, .status_flags = autocommit})});
     },
     {.local_infile_requests = 1,
      .has_status = true,
      .status_flags = autocommit,
      .last_insert_id = 7}},

    // ---- shape::query: result sets ----
    {"query_result_set",
     shape::query,
     [] {
       return frames(join({result_head({"a", "b"}),
                           {text_row({"1", "one"}), text_row({"2", std::nullopt}),
                            text_row({"", ""}), eof(autocommit)}}));
     },
     {.has_status = true, .status_flags = autocommit}},
    {"query_result_set_no_rows",
     shape::query,
     [] {
       return frames(join({result_head({"a"}), {eof(flag::in_trans, 2)}}));
     },
     {.has_status = true, .status_flags = flag::in_trans, .warnings = 2}},
    {"query_result_set_session_state_in_eof",
     shape::query,
     [] {
       return frames(join(
           {result_head({"a"}), {text_row({"1"}), eof(autocommit | flag::session_state_changed)}}));
     },
     {.has_status = true,
      .status_flags = autocommit | flag::session_state_changed,
      .eof_state_changed = true}},
    {"query_two_result_sets",
     shape::query,
     [] {
       return frames(join({result_head({"a"}),
                           {text_row({"1"}), eof(autocommit | flag::more_results_exists)},
                           result_head({"b", "c"}),
                           {text_row({"2", "3"}), eof(autocommit, 1)}}));
     },
     {.has_status = true, .status_flags = autocommit, .warnings = 1}},
    // CALL: result sets, then the procedure's own OK.
    {"query_call_result_sets_then_ok",
     shape::query,
     [] {
       return frames(join({result_head({"a"}),
                           {text_row({"1"}), eof(autocommit | flag::more_results_exists)},
                           result_head({"b"}),
                           {eof(autocommit | flag::more_results_exists),
                            ok({.affected_rows = 0,
                                .last_insert_id = 99,
                                .status_flags = autocommit | flag::session_state_changed,
                                .session_state_info = schema_blob})}}));
     },
     {.has_status = true,
      .status_flags = autocommit | flag::session_state_changed,
      .last_insert_id = 99,
      .state_blobs = {schema_blob}}},
    {"query_oks_then_result_set",
     shape::query,
     [] {
       return frames(join({{ok({.last_insert_id = 5,
                                .status_flags = autocommit | flag::more_results_exists |
                                                flag::session_state_changed,
                                .session_state_info = variable_blob("sql_mode", "")}),
                            ok({.status_flags = autocommit | flag::more_results_exists |
                                                flag::session_state_changed,
                                .session_state_info = schema_blob})},
                           result_head({"a"}),
                           {text_row({"x"}), eof(autocommit)}}));
     },
     {.has_status = true,
      .status_flags = autocommit,
      .last_insert_id = 5,
      .state_blobs = {variable_blob("sql_mode", ""), schema_blob}}},
    // 18 OKs of ~60 KB of state each: past 1 MiB the rest is counted as lost.
    {"query_state_blobs_beyond_budget",
     shape::query,
     [] { return frames(oks_with_big_state(18)); },
     {.has_status = true,
      .status_flags = autocommit | flag::session_state_changed,
      .state_blobs = kept_big_blobs(18),
      .state_lost = true}},
    // An ERR after rows: KILL QUERY. Only the head of a later packet is kept (message cut).
    {"query_err_mid_rows",
     shape::query,
     [] {
       return frames(join({result_head({"a"}),
                           {text_row({"1"}), text_row({"2"}), err(1317, "70100", interrupted)}}));
     },
     {.error = true,
      .has_status = true,
      .status_flags = autocommit,
      .error_code = 1317,
      .sql_state = "70100",
      .error_message = cut(interrupted)}},
    // The second statement fails: the flags are still the first result set's.
    {"query_err_after_more_results",
     shape::query,
     [] {
       return frames(join({result_head({"a"}),
                           {text_row({"1"}), eof(autocommit | flag::more_results_exists),
                            err(1146, "42S02", no_such_table)}}));
     },
     {.error = true,
      .has_status = true,
      .status_flags = autocommit | flag::more_results_exists,
      .error_code = 1146,
      .sql_state = "42S02",
      .error_message = no_such_table}},
    // COM_STMT_EXECUTE: binary rows start with 0x00, never taken for an OK.
    {"query_binary_result_set",
     shape::query,
     [] {
       return frames(join({result_head({"a", "b"}),
                           {binary_row({1, 2}), binary_row({0xfe, 0xff}), eof(autocommit)}}));
     },
     {.has_status = true, .status_flags = autocommit}},
    // COM_STMT_EXECUTE with a cursor: the column EOF says so and rows come with COM_STMT_FETCH.
    {"query_cursor_opened",
     shape::query,
     [] {
       return frames(result_head({"a", "b"}, autocommit | flag::cursor_exists));
     },
     {.has_status = true, .status_flags = autocommit | flag::cursor_exists}},
    // A text row may start with 0xFE when its first value is 2^24 bytes or more (8-byte length
    // prefix): 9 bytes or more, never an EOF.
    {"query_row_of_9_bytes_starting_fe",
     shape::query,
     [] {
       return frames(
           join({result_head({"a"}), {hex("fe 00 00 00 00 00 00 00 00"), eof(autocommit)}}));
     },
     {.has_status = true, .status_flags = autocommit}},
    {"query_column_count_lenenc_2_bytes",
     shape::query,
     [] {
       return frames(join({{hex("fc fb 00")},
                           payloads(0xfb, column("c")),
                           {eof(autocommit), text_row({"1"}), eof(autocommit)}}));
     },
     {.has_status = true, .status_flags = autocommit}},
    {"query_many_rows",
     shape::query,
     [] {
       return frames(
           join({result_head({"a"}), payloads(300, text_row({"row"})), {eof(autocommit)}}));
     },
     {.has_status = true, .status_flags = autocommit}},

    // ---- 16 MiB packets: a 0xFFFFFF payload continues in the next packet ----
    // A row of exactly 0xFFFFFF bytes is followed by an empty packet, which is not a row.
    {"query_row_of_0xffffff_bytes",
     shape::query,
     [] {
       return frames(
           join({result_head({"a"}),
                 {long_text_row(max_packet_payload, 'x'), text_row({"2"}), eof(autocommit)}}));
     },
     {.has_status = true, .status_flags = autocommit}},
    // The continuation is 5 bytes starting 0xFE: an EOF to anyone not counting packets.
    {"query_row_continued_by_fake_eof",
     shape::query,
     [] {
       return frames(
           join({result_head({"a"}), {long_text_row(max_packet_payload + 5, 0xfe), eof(0)}}));
     },
     {.has_status = true}},
    // A row that starts with 0xFE and is 2^24 + 9 bytes long.
    {"query_row_starting_fe",
     shape::query,
     [] {
       return frames(join({result_head({"a"}), {fe_text_row(0x1000000, 0xfe), eof(autocommit)}}));
     },
     {.has_status = true, .status_flags = autocommit}},
    // A binary row whose continuation starts 0xFF (an ERR's header).
    {"query_binary_row_continued_by_fake_err",
     shape::query,
     [] {
       return frames(join({result_head({"a"}),
                           {binary_blob_row(max_packet_payload + 20, 0xff), eof(autocommit)}}));
     },
     {.has_status = true, .status_flags = autocommit}},
    // Two full packets and an empty one: 2 x 0xFFFFFF bytes exactly.
    {"query_row_of_twice_0xffffff_bytes",
     shape::query,
     [] {
       return frames(
           join({result_head({"a"}),
                 {long_text_row(2 * std::size_t{max_packet_payload}, 0x00), eof(autocommit)}}));
     },
     {.has_status = true, .status_flags = autocommit}},

    // ---- shape::field_list ----
    {"field_list",
     shape::field_list,
     [] {
       return frames({column("a"), column("b"), eof(autocommit)});
     },
     {.has_status = true, .status_flags = autocommit}},
    {"field_list_no_columns",
     shape::field_list,
     [] { return frames({eof(autocommit)}); },
     {.has_status = true, .status_flags = autocommit}},
    // Only a response's first packet is captured at length: a field list has none (its ERR is
    // cut like a later packet's; the proxy relays it whole).
    {"field_list_err",
     shape::field_list,
     [] { return frames({err(1146, "42S02", no_such_table)}); },
     {.error = true,
      .error_code = 1146,
      .sql_state = "42S02",
      .error_message = cut(no_such_table)}},
    // More results never follow a field list.
    {"field_list_ignores_more_results",
     shape::field_list,
     [] {
       return frames({column("a"), eof(autocommit | flag::more_results_exists)});
     },
     {.has_status = true, .status_flags = autocommit | flag::more_results_exists}},

    // ---- shape::prepare ----
    {"prepare_no_params_no_columns",
     shape::prepare,
     [] { return frames({prepare_ok(1, 0, 0)}); },
     {.statement_id = 1}},
    {"prepare_params_only",
     shape::prepare,
     [] {
       return frames({prepare_ok(2, 0, 2), column("?"), column("?"), eof(autocommit)});
     },
     {.has_status = true, .status_flags = autocommit, .statement_id = 2}},
    {"prepare_columns_only",
     shape::prepare,
     [] {
       return frames({prepare_ok(3, 2, 0), column("a"), column("b"), eof(autocommit)});
     },
     {.has_status = true, .status_flags = autocommit, .statement_id = 3}},
    // The server repeats the prepare's warning count in the definitions' EOFs.
    {"prepare_params_and_columns",
     shape::prepare,
     [] {
       return frames({prepare_ok(0x01020304, 3, 1, 1), column("?"), eof(autocommit, 1), column("a"),
                      column("b"), column("c"), eof(autocommit, 1)});
     },
     {.has_status = true, .status_flags = autocommit, .warnings = 1, .statement_id = 0x01020304}},
    {"prepare_warnings_without_definitions",
     shape::prepare,
     [] { return frames({prepare_ok(9, 0, 0, 2)}); },
     {.warnings = 2, .statement_id = 9}},
    {"prepare_300_params",
     shape::prepare,
     [] {
       return frames(
           join({{prepare_ok(4, 0, 300)}, payloads(300, column("?")), {eof(autocommit)}}));
     },
     {.has_status = true, .status_flags = autocommit, .statement_id = 4}},
    {"prepare_err",
     shape::prepare,
     [] { return frames({err(1064, "42000", "You have an error in your SQL syntax")}); },
     {.error = true,
      .error_code = 1064,
      .sql_state = "42000",
      .error_message = "You have an error in your SQL syntax"}},

    // ---- shape::fetch ----
    {"fetch_rows_cursor_still_open",
     shape::fetch,
     [] {
       return frames({binary_row({1}), binary_row({2}), eof(autocommit | flag::cursor_exists)});
     },
     {.has_status = true, .status_flags = autocommit | flag::cursor_exists}},
    {"fetch_last_rows",
     shape::fetch,
     [] {
       return frames(
           {binary_row({3}), eof(autocommit | flag::cursor_exists | flag::last_row_sent)});
     },
     {.has_status = true, .status_flags = autocommit | flag::cursor_exists | flag::last_row_sent}},
    {"fetch_no_rows_left",
     shape::fetch,
     [] { return frames({eof(autocommit | flag::last_row_sent)}); },
     {.has_status = true, .status_flags = autocommit | flag::last_row_sent}},
    {"fetch_ignores_more_results",
     shape::fetch,
     [] {
       return frames({binary_row({3}), eof(autocommit | flag::more_results_exists)});
     },
     {.has_status = true, .status_flags = autocommit | flag::more_results_exists}},
    {"fetch_err",
     shape::fetch,
     [] { return frames({err(1421, "HY000", "no open cursor")}); },
     {.error = true,
      .error_code = 1421,
      .sql_state = "HY000",
      .error_message = cut("no open cursor")}},

    // ---- shape::single ----
    {"single_ok_init_db",
     shape::single,
     [] {
       return frames({ok({.status_flags = autocommit | flag::session_state_changed,
                          .session_state_info = schema_blob})});
     },
     {.has_status = true,
      .status_flags = autocommit | flag::session_state_changed,
      .state_blobs = {schema_blob}}},
    {"single_err",
     shape::single,
     [] { return frames({err(1049, "42000", "Unknown database 'nope'")}); },
     {.error = true,
      .error_code = 1049,
      .sql_state = "42000",
      .error_message = "Unknown database 'nope'"}},
    // COM_SET_OPTION and COM_DEBUG answer with an EOF.
    {"single_eof",
     shape::single,
     [] { return frames({eof(autocommit, 4)}); },
     {.has_status = true, .status_flags = autocommit, .warnings = 4}},
    {"single_statistics_text",
     shape::single,
     [] {
       return frames(
           {text("Uptime: 17  Threads: 1  Questions: 2  Slow queries: 0  Opens: 17  Open tables: "
                 "10  Queries per second avg: 0.117")});
     },
     {}},
    // More results never follow a single-packet answer.
    // An OK that announces more results is followed by them, even here: a multi-statement
    // COM_QUERY run as one reply (backend_commands.cpp) ends with its last OK.
    {"single_ok_with_more_results_reads_the_next_ok",
     shape::single,
     [] {
       return frames({ok({.status_flags = autocommit | flag::more_results_exists}),
                      ok({.last_insert_id = 8, .status_flags = autocommit, .warnings = 1})});
     },
     {.has_status = true, .status_flags = autocommit, .warnings = 1, .last_insert_id = 8}},
    // An EOF never announces more results here.
    {"single_eof_ignores_more_results",
     shape::single,
     [] { return frames({eof(autocommit | flag::more_results_exists)}); },
     {.has_status = true, .status_flags = autocommit | flag::more_results_exists}},
};

// Inputs that break the protocol: the scanner must say `malformed` once the packet is complete,
// so that the connection is closed rather than reused.
const std::vector<scanner_case> malformed_cases = {
    {"query_empty_first_packet",
     shape::query,
     [] { return frames({{}}); },
     {.final = state::malformed}},
    {"query_truncated_column_count",
     shape::query,
     [] { return frames({hex("fc 02")}); },
     {.final = state::malformed}},
    {"query_ok_without_status",
     shape::query,
     [] { return frames({hex("00 00 00")}); },
     {.final = state::malformed}},
    {"query_ok_affected_rows_null",
     shape::query,
     [] { return frames({hex("00 fb 00 02 00 00 00")}); },
     {.final = state::malformed}},
    {"query_row_where_column_eof_belongs",
     shape::query,
     [] {
       return frames({lenenc(1), column("a"), text_row({"1"})});
     },
     {.final = state::malformed}},
    {"query_fe_row_where_column_eof_belongs",
     shape::query,
     [] {
       return frames({lenenc(1), column("a"), hex("fe 00 00 00 00 00 00 00 00")});
     },
     {.final = state::malformed}},
    {"query_empty_packet_where_column_eof_belongs",
     shape::query,
     [] {
       return frames({lenenc(1), column("a"), {}});
     },
     {.final = state::malformed}},
    {"query_empty_first_packet_of_next_result",
     shape::query,
     [] {
       return frames({ok({.status_flags = flag::more_results_exists}), {}});
     },
     {.final = state::malformed, .has_status = true, .status_flags = flag::more_results_exists}},
    {"field_list_empty_packet",
     shape::field_list,
     [] {
       return frames({column("a"), {}});
     },
     {.final = state::malformed}},
    {"prepare_not_an_ok",
     shape::prepare,
     [] { return frames({hex("01 02 03 04 05 06 07 08 09 0a 0b 0c")}); },
     {.final = state::malformed}},
    {"prepare_ok_too_short",
     shape::prepare,
     [] { return frames({hex("00 01 00 00 00 00 00 01")}); },
     {.final = state::malformed}},
    {"prepare_local_infile",
     shape::prepare,
     [] { return frames({local_infile_request("x")}); },
     {.final = state::malformed}},
    {"prepare_column_where_param_eof_belongs",
     shape::prepare,
     [] {
       return frames({prepare_ok(1, 0, 1), column("?"), column("?")});
     },
     {.final = state::malformed, .statement_id = 1}},
    {"prepare_column_where_column_eof_belongs",
     shape::prepare,
     [] {
       return frames({prepare_ok(1, 1, 1), column("?"), eof(0), column("a"), column("b")});
     },
     {.final = state::malformed, .has_status = true, .statement_id = 1}},
    {"prepare_empty_packet",
     shape::prepare,
     [] { return frames({{}}); },
     {.final = state::malformed}},
    {"single_empty_packet",
     shape::single,
     [] { return frames({{}}); },
     {.final = state::malformed}},
    {"single_ok_affected_rows_null",
     shape::single,
     [] { return frames({hex("00 fb 00 02 00 00 00")}); },
     {.final = state::malformed}},
};

// Behaviour the scanner got wrong (findings F1 and S1 in docs/TESTING.md), fixed: a message of
// 16 MiB or more is classified when its last packet ends, and a short EOF carries no flags over.
const std::vector<scanner_case> known_bugs = {
    // An OK of 16 MiB or more (a huge info or session-state report) is done after its first
    // packet: the continuation is left unconsumed and taken for the next response.
    {"query_ok_of_0xffffff_bytes",
     shape::query,
     [] {
       return frames({ok({.status_flags = autocommit | flag::session_state_changed,
                          .session_state_info = variable_blob(
                              "init_connect", std::string(max_packet_payload, 'x'))})});
     },
     {.has_status = true,
      .status_flags = autocommit | flag::session_state_changed,
      .state_lost = true}},
    {"single_statistics_text_of_0xffffff_bytes",
     shape::single,
     [] { return frames({sized(text("Uptime: 1"), max_packet_payload + 1, ' ')}); },
     {}},
    // The same for a LOCAL INFILE request (a 16 MiB file name): found by fuzz_response_scanner
    // (tests/fuzz/findings/response_scanner_local_infile_inside_16mib_request).
    {"query_local_infile_request_of_0xffffff_bytes",
     shape::query,
     [] {
       return frames({sized(local_infile_request("/tmp/"), max_packet_payload + 3, 'f'),
                      ok({.affected_rows = 1, .status_flags = autocommit})});
     },
     {.local_infile_requests = 1, .has_status = true, .status_flags = autocommit}},
    // A 1-byte (pre-4.1) EOF cannot say "more results"; the scanner reuses the flags of the
    // previous EOF and waits for a result that never comes.
    {"query_short_eof_after_more_results",
     shape::query,
     [] {
       return frames(join({result_head({"a"}, autocommit | flag::more_results_exists),
                           {text_row({"1"}), hex("fe")}}));
     },
     {.final = state::malformed,
      .has_status = true,
      .status_flags = autocommit | flag::more_results_exists}},
};

// ---- Driving the scanner ----

// The next response on the same connection: must never be consumed.
const bytes next_response = frames({ok({.status_flags = flag::in_trans})});

struct run {
  std::size_t consumed = 0;
  int local_infile_requests = 0;
  std::vector<std::size_t> stops;  // bytes consumed when the scanner stopped (paused or ended)
};

// Feeds `bytes` as one read from the socket, the way the proxy does: a LOCAL INFILE request is
// relayed (the client's file goes to the server) and the scan resumes with the rest.
void feed(response_scanner& scanner, std::span<const std::uint8_t> bytes, run& r) {
  while (!bytes.empty() && scanner.current() == state::reading) {
    const std::size_t used = scanner.feed(bytes);
    ASSERT_LE(used, bytes.size());
    r.consumed += used;
    bytes = bytes.subspan(used);
    if (scanner.current() != state::reading) r.stops.push_back(r.consumed);
    if (scanner.current() == state::local_infile) {
      ++r.local_infile_requests;
      scanner.resume_after_local_infile();
    } else if (scanner.current() == state::reading) {
      ASSERT_TRUE(bytes.empty()) << "stopped early while still reading";
    }
  }
}

// Where the messages of a stream end: after each packet shorter than 0xFFFFFF bytes (a full
// one continues in the next packet).
std::vector<std::size_t> message_ends(const bytes& stream) {
  std::vector<std::size_t> ends;
  std::size_t at = 0;
  while (at + frame_header_size <= stream.size()) {
    const auto header =
        decode_frame_header(std::span<const std::uint8_t, 4>(stream.data() + at, 4));
    at += frame_header_size + header.payload_length;
    if (header.payload_length < max_packet_payload) ends.push_back(at);
  }
  return ends;
}

void expect_outcome(const response_scanner& scanner, const run& r, const scanner_case& c,
                    const bytes& response) {
  const outcome& e = c.expected;
  // The scanner pauses (LOCAL INFILE) and ends only where a message ends, never between the
  // packets of a 16 MiB one: the proxy relays no further than it consumed.
  const auto ends = message_ends(response);
  for (const std::size_t stop : r.stops)
    EXPECT_TRUE(std::ranges::binary_search(ends, stop)) << "stopped inside a message at " << stop;
  EXPECT_EQ(r.consumed, response.size());
  EXPECT_EQ(scanner.current(), e.final);
  EXPECT_EQ(r.local_infile_requests, e.local_infile_requests);
  EXPECT_EQ(scanner.ended_with_error(), e.error);
  EXPECT_EQ(scanner.has_status(), e.has_status);
  EXPECT_EQ(scanner.status_flags(), e.status_flags);
  EXPECT_EQ(scanner.warnings(), e.warnings);
  EXPECT_EQ(scanner.last_insert_id(), e.last_insert_id);
  EXPECT_EQ(scanner.session_state_blobs(), e.state_blobs);
  EXPECT_EQ(scanner.session_state_lost(), e.state_lost);
  EXPECT_EQ(scanner.eof_state_changed(), e.eof_state_changed);
  EXPECT_EQ(scanner.prepared_statement_id(), e.statement_id);
  EXPECT_EQ(scanner.error_code(), e.error_code);
  EXPECT_EQ(scanner.sql_state(), e.sql_state);
  EXPECT_EQ(scanner.error_message(), e.error_message);
}

// Where a split can change what the scanner sees. Everywhere in a small stream; in a large one
// (16 MiB rows), around every packet header and the two capture limits of every packet, where
// the scanner's state changes (feeding 16 MiB at every index would take hours).
constexpr std::size_t every_point_limit = 4096;
constexpr std::ptrdiff_t window = 8;

std::vector<std::size_t> split_points(const bytes& stream) {
  std::vector<std::size_t> points;
  if (stream.size() <= every_point_limit) {
    points.resize(stream.size() - 1);
    std::iota(points.begin(), points.end(), std::size_t{1});
    return points;
  }
  std::set<std::size_t> around;
  const auto add_window = [&](std::size_t at) {
    for (std::ptrdiff_t d = -window; d <= window; ++d) {
      const auto p = static_cast<std::ptrdiff_t>(at) + d;
      if (p > 0 && p < static_cast<std::ptrdiff_t>(stream.size()))
        around.insert(static_cast<std::size_t>(p));
    }
  };
  std::size_t at = 0;
  while (at + frame_header_size <= stream.size()) {
    const auto header =
        decode_frame_header(std::span<const std::uint8_t, 4>(stream.data() + at, 4));
    add_window(at);
    add_window(at + frame_header_size + later_packet_capture);
    add_window(at + frame_header_size + first_packet_capture);
    at += frame_header_size + header.payload_length;
  }
  return {around.begin(), around.end()};
}

bytes with_next_response(const bytes& response) {
  return cat({response, next_response});
}

// A scanner that has already scanned a response leaving every field set: start() must reset it.
response_scanner used_scanner() {
  response_scanner scanner(backend_caps);
  scanner.start(shape::query);
  const bytes previous =
      frames(join({{ok({.last_insert_id = 3,
                        .status_flags = flag::more_results_exists | flag::session_state_changed,
                        .warnings = 2,
                        .session_state_info = "\x01\x02\x01x"})},
                   result_head({"a"}, flag::session_state_changed),
                   {err(1317, "70100", interrupted)}}));
  run r;
  feed(scanner, previous, r);
  EXPECT_EQ(scanner.current(), state::done);
  EXPECT_TRUE(scanner.ended_with_error());
  return scanner;
}

class scanner_table : public ::testing::TestWithParam<scanner_case> {};

TEST_P(scanner_table, fed_whole_stops_at_its_end) {
  const auto& c = GetParam();
  const bytes response = c.response();
  const bytes stream = with_next_response(response);
  response_scanner scanner(backend_caps);
  scanner.start(c.command);
  run r;
  feed(scanner, stream, r);
  expect_outcome(scanner, r, c, response);
  // Once finished, nothing more is taken.
  EXPECT_EQ(scanner.feed(next_response), 0u);
}

TEST_P(scanner_table, start_forgets_the_previous_response) {
  const auto& c = GetParam();
  response_scanner scanner = used_scanner();
  scanner.start(c.command);
  const bytes response = c.response();
  run r;
  feed(scanner, with_next_response(response), r);
  expect_outcome(scanner, r, c, response);
}

TEST_P(scanner_table, split_in_two_at_every_point) {
  const auto& c = GetParam();
  const bytes response = c.response();
  const bytes stream = with_next_response(response);
  const std::span<const std::uint8_t> all(stream);
  response_scanner scanner(backend_caps);
  for (const std::size_t split : split_points(stream)) {
    SCOPED_TRACE("split at " + std::to_string(split));
    scanner.start(c.command);
    run r;
    feed(scanner, all.first(split), r);
    if (split < response.size()) {
      // Every strict prefix of a response is an unfinished response.
      ASSERT_EQ(scanner.current(), state::reading);
      ASSERT_EQ(r.consumed, split);
    }
    feed(scanner, all.subspan(split), r);
    expect_outcome(scanner, r, c, response);
    if (::testing::Test::HasFailure()) return;  // one failing split says enough
  }
}

TEST_P(scanner_table, fed_in_pieces) {
  const auto& c = GetParam();
  const bytes response = c.response();
  const bytes stream = with_next_response(response);
  const std::span<const std::uint8_t> all(stream);
  response_scanner scanner(backend_caps);
  scanner.start(c.command);
  run r;
  std::size_t at = 0;
  auto cuts = split_points(stream);
  cuts.push_back(stream.size());
  for (const std::size_t cut : cuts) {  // byte by byte when the stream is small
    feed(scanner, all.subspan(at, cut - at), r);
    at = cut;
  }
  expect_outcome(scanner, r, c, response);
}

INSTANTIATE_TEST_SUITE_P(protocol, scanner_table, ::testing::ValuesIn(cases),
                         [](const auto& info) { return info.param.name; });
INSTANTIATE_TEST_SUITE_P(malformed, scanner_table, ::testing::ValuesIn(malformed_cases),
                         [](const auto& info) { return info.param.name; });
INSTANTIATE_TEST_SUITE_P(fixed_findings, scanner_table, ::testing::ValuesIn(known_bugs),
                         [](const auto& info) { return info.param.name; });

// Not a table case: these check the LOCAL INFILE pause itself, which the driver above hides.
TEST(response_scanner, local_infile_pauses_until_resumed) {
  const bytes request = frames({local_infile_request("f.csv")});
  // The server's answer once the client's file (relayed by the proxy) has arrived.
  const bytes both =
      frames({local_infile_request("f.csv"), ok({.affected_rows = 1, .status_flags = autocommit})});
  const auto answer = std::span<const std::uint8_t>(both).subspan(request.size());
  response_scanner scanner(backend_caps);
  scanner.start(shape::query);
  EXPECT_EQ(scanner.feed(both), request.size());
  EXPECT_EQ(scanner.current(), state::local_infile);
  EXPECT_EQ(scanner.feed(answer), 0u) << "nothing is consumed until resumed";
  scanner.resume_after_local_infile();
  EXPECT_EQ(scanner.current(), state::reading);
  EXPECT_EQ(scanner.feed(answer), answer.size());
  EXPECT_EQ(scanner.current(), state::done);
  EXPECT_EQ(scanner.status_flags(), autocommit);
}

TEST(response_scanner, resume_outside_local_infile_changes_nothing) {
  response_scanner scanner(backend_caps);
  scanner.start(shape::query);
  const bytes response = frames({ok({.status_flags = autocommit})});
  EXPECT_EQ(scanner.feed(std::span<const std::uint8_t>(response).first(3)), 3u);
  scanner.resume_after_local_infile();
  EXPECT_EQ(scanner.current(), state::reading);
  EXPECT_EQ(scanner.feed(std::span<const std::uint8_t>(response).subspan(3)), response.size() - 3);
  EXPECT_EQ(scanner.current(), state::done);
}

TEST(response_scanner, a_new_scanner_has_nothing_to_scan) {
  response_scanner scanner(backend_caps);
  EXPECT_EQ(scanner.current(), state::done);
  EXPECT_EQ(scanner.feed(next_response), 0u);
}

}  // namespace
}  // namespace sluice::protocol::test
