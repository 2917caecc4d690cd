// Commands framed to mislead (robustness issue items 6 and 7): [sluice] max_allowed_packet is a
// bound on the whole command, not its first frame; the further frames of a command sluice answers
// itself are never read as commands; a command not at sequence id 0 is refused and never
// forwarded.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/constants.h"
#include "protocol/frame.h"
#include "tests/support/fixtures.h"
#include "tests/support/raw_client.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr std::size_t one_mib = 1024 * 1024;
constexpr std::size_t full_frame = protocol::max_packet_payload;  // 16 MiB - 1: more follows

constexpr std::uint16_t packet_too_large = 1153;  // ER_NET_PACKET_TOO_LARGE
constexpr std::uint16_t out_of_order = 1156;      // ER_NET_PACKETS_OUT_OF_ORDER
constexpr std::uint16_t unknown_command = 1047;   // ER_UNKNOWN_COM_ERROR

// The COM_QUERY payload of SELECT LENGTH('xxx...') is this much longer than its x's.
constexpr std::size_t query_overhead = std::string_view("\x03SELECT LENGTH('')").size();

// A COM_QUERY payload of SELECT LENGTH('xxx...') of `payload_bytes` bytes in all.
std::vector<std::uint8_t> length_query_payload(std::size_t payload_bytes) {
  const std::string sql = "\x03SELECT LENGTH('" + std::string(payload_bytes - query_overhead, 'x');
  std::vector<std::uint8_t> payload(sql.begin(), sql.end());
  payload.push_back('\'');
  payload.push_back(')');
  return payload;
}

std::size_t frames_of(std::size_t payload_bytes) {
  return payload_bytes / full_frame + 1;
}

class HostileCommandsTest : public integration_test {
 protected:
  std::unique_ptr<raw_client> raw_login() {
    auto client = std::make_unique<raw_client>(sluice_port());
    const auto login = client->login("app", "app-pw");
    if (!login || !login->is_ok()) throw std::runtime_error("raw login to sluice failed");
    return client;
  }
};

// ---- 6. max_allowed_packet counts the whole command ---------------------------------------

// With max_allowed_packet = 20M: an 18 MiB command (two frames) runs; a 40 MiB one (three frames,
// each under the limit on its own) gets 1153 as MySQL answers it, and the connection ends. The old
// release checked only the first frame and forwarded all 40 MiB.
TEST_F(HostileCommandsTest, MaxAllowedPacketBoundsTheWholeCommandNotItsFirstFrame) {
  start_sluice({{"sluice.max_allowed_packet", "20M"}});

  auto fits = raw_login();
  const std::string text(18 * one_mib - query_overhead, 'x');
  ASSERT_EQ(frames_of(18 * one_mib), 2u);
  const auto answer_18 = fits->query("SELECT LENGTH('" + text + "')");
  ASSERT_FALSE(answer_18.error) << "an 18 MiB command failed: " << answer_18.error->error_code()
                                << " " << answer_18.error->error_message();
  ASSERT_EQ(answer_18.rows.size(), 1u);
  EXPECT_EQ(answer_18.rows[0].at(0), std::to_string(text.size()));

  auto too_large = raw_login();
  const auto forty = length_query_payload(40 * one_mib);
  ASSERT_EQ(frames_of(forty.size()), 3u);
  // sluice stops reading once the command is over the limit: the rest may never be taken.
  too_large->send_packet(0, forty);
  const auto answer = too_large->read_packet(10s);
  ASSERT_TRUE(answer.has_value()) << "no answer to a 40 MiB command";
  ASSERT_TRUE(answer->is_err()) << "a 40 MiB command under max_allowed_packet = 20M was answered "
                                << "with packet 0x" << std::hex << int(answer->payload.at(0));
  EXPECT_EQ(answer->error_code(), packet_too_large) << answer->error_message();
  EXPECT_EQ(answer->sql_state(), "08S01");
  EXPECT_THAT(answer->error_message(),
              HasSubstr("Got a packet bigger than 'max_allowed_packet' bytes"));
  EXPECT_TRUE(too_large->closed_by_peer(5s)) << "the connection stayed open after 1153";
  EXPECT_THAT(sluice().log(), HasSubstr("close reason=packet_too_large"));

  // The backend that got part of the command is not pooled: the next client's statement runs.
  auto next = connect_app();
  EXPECT_EQ(next->scalar("SELECT 1"), "1");
  EXPECT_TRUE(sluice().running());
}

// ---- 6. The rest of a command sluice answers itself -----------------------------------------

// A 16 MiB - 1 first frame of a command sluice answers without a backend, then a short last frame
// whose bytes read as a command of their own (a COM_QUERY, or COM_QUIT). That frame must be read
// as the rest of the command: the client gets the command's one answer (or none), nothing more,
// its connection stays open and its next real command works. The old release read the last frame
// as a new command: MariaDB's 1156 for the COM_QUERY (sequence id 1), or a close for COM_QUIT.
struct continued_command {
  const char* name;
  std::uint8_t command;
  std::vector<std::uint8_t> body_start;  // after the command byte; the rest is filler
  int expected_ok;                       // answers expected: OK packets
  int expected_err;                      //                   ERR packets (1047)
  std::string last_frame;                // the payload of the short frame that ends the command
};

void PrintTo(const continued_command& c, std::ostream* out) {
  *out << c.name;
}

class ContinuedCommandTest : public HostileCommandsTest,
                             public ::testing::WithParamInterface<continued_command> {};

TEST_P(ContinuedCommandTest, TheLastFrameIsNeverReadAsACommand) {
  const continued_command& c = GetParam();
  start_sluice();
  auto client = raw_login();
  std::vector<std::uint8_t> wire;
  std::vector<std::uint8_t> first(full_frame, 'f');
  first[0] = c.command;
  std::copy(c.body_start.begin(), c.body_start.end(), first.begin() + 1);
  std::uint8_t header[4];
  protocol::encode_frame_header({static_cast<std::uint32_t>(first.size()), 0}, header);
  wire.insert(wire.end(), header, header + 4);
  wire.insert(wire.end(), first.begin(), first.end());
  protocol::encode_frame_header({static_cast<std::uint32_t>(c.last_frame.size()), 1}, header);
  wire.insert(wire.end(), header, header + 4);
  wire.insert(wire.end(), c.last_frame.begin(), c.last_frame.end());
  ASSERT_TRUE(client->send_bytes(wire));

  // Every packet that comes within 1 s: the command's answer and nothing else.
  int oks = 0, errs = 0;
  std::vector<std::string> others;
  while (auto packet = client->read_packet(1s)) {
    if (packet->is_ok()) {
      ++oks;
    } else if (packet->is_err()) {
      ++errs;
      if (packet->error_code() != unknown_command)
        others.push_back("ERR " + std::to_string(packet->error_code()) + " " +
                         packet->error_message());
    } else {
      others.push_back("packet 0x" + std::to_string(packet->payload.at(0)));
    }
  }
  EXPECT_EQ(oks, c.expected_ok);
  EXPECT_EQ(errs, c.expected_err);
  EXPECT_TRUE(others.empty()) << ::testing::PrintToString(others);

  const auto next = client->query("SELECT 'next'");
  ASSERT_FALSE(next.error) << "the next command failed: "
                           << (next.error->error_code() == 0
                                   ? std::string("the connection was closed")
                                   : std::to_string(next.error->error_code()) + " " +
                                         next.error->error_message());
  ASSERT_EQ(next.rows.size(), 1u);
  EXPECT_EQ(next.rows[0].at(0), "next");
  EXPECT_TRUE(sluice().running());
}

const std::string misread_query = "\x03SELECT 'the last frame read as a command'";
const std::string misread_quit = "\x01";
const std::vector<std::uint8_t> statement_id_1 = {1, 0, 0, 0};

INSTANTIATE_TEST_SUITE_P(
    Commands, ContinuedCommandTest,
    ::testing::Values(
        continued_command{"PingThenQuery", 0x0E, {}, 1, 0, misread_query},
        continued_command{"PingThenQuit", 0x0E, {}, 1, 0, misread_quit},
        continued_command{"StmtCloseThenQuery", 0x19, statement_id_1, 0, 0, misread_query},
        continued_command{"StmtCloseThenQuit", 0x19, statement_id_1, 0, 0, misread_quit},
        continued_command{"UnknownCommandThenQuery", 0xEE, {}, 0, 1, misread_query},
        continued_command{"UnknownCommandThenQuit", 0xEE, {}, 0, 1, misread_quit}),
    [](const ::testing::TestParamInfo<continued_command>& info) { return info.param.name; });

// ---- 7. A command not at sequence id 0 ---------------------------------------------------------

// A client sends COM_QUERY at sequence id 5. MariaDB answers that with 1156 and closes the
// connection; the old release forwarded it, then pooled the closed backend as healthy, and the
// next client got 7004 (26-46 % of the good client's statements below). Now sluice answers 1156
// (08S01) itself, closes the client and never forwards it: with one backend, the good client's
// statements between the bad ones all run, on the same backend session all along.
TEST_F(HostileCommandsTest, CommandNotAtSequenceZeroGets1156AndNeverReachesTheBackend) {
  start_sluice({{"backend.max_connections", "1"}});
  auto good = connect_app();
  const std::string backend_session = good->scalar("SELECT CONNECTION_ID()");
  constexpr int rounds = 30;
  int failures = 0, bad_left_open = 0;
  std::string first_failure;
  std::set<std::string> sessions_seen = {backend_session};
  for (int i = 0; i < rounds; ++i) {
    auto bad = raw_login();
    ASSERT_TRUE(bad->send_command(static_cast<std::uint8_t>(protocol::command::query),
                                  "SELECT 'out of order'", 5));
    const auto answer = bad->read_packet(5s);
    ASSERT_TRUE(answer.has_value()) << "round " << i << ": no answer";
    ASSERT_TRUE(answer->is_err()) << "round " << i << ": the command was answered with packet 0x"
                                  << std::hex << int(answer->payload.at(0));
    EXPECT_EQ(answer->error_code(), out_of_order) << answer->error_message();
    EXPECT_EQ(answer->sql_state(), "08S01");
    EXPECT_EQ(answer->error_message(), "Got packets out of order");
    // Once one stayed open, the others are not waited for (the loop would take minutes).
    if (!bad->closed_by_peer(bad_left_open == 0 ? 5s : 50ms)) ++bad_left_open;

    const query_result result = good->query("SELECT CONNECTION_ID()");
    if (!result.ok) {
      if (failures++ == 0) first_failure = result.describe();
    } else {
      sessions_seen.insert(result.rows.at(0).at(0).value_or("NULL"));
    }
  }
  std::cout << "good client: " << failures << " of " << rounds << " statements failed"
            << (failures ? " (first: " + first_failure + ")" : "")
            << "; backend sessions seen: " << sessions_seen.size() << "\n";
  RecordProperty("good_client_failures", failures);
  EXPECT_EQ(failures, 0) << "first: " << first_failure;
  EXPECT_EQ(bad_left_open, 0) << "bad clients still connected after their 1156";
  EXPECT_EQ(sessions_seen.size(), 1u) << "the backend session changed: a bad command reached it";
  EXPECT_THAT(sluice().log(), HasSubstr("close reason=packets_out_of_order"));
  EXPECT_TRUE(sluice().running());
}

}  // namespace
}  // namespace sluice::test
