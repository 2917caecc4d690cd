// Tests of the protocol constants and the codec error category.
#include "protocol/constants.h"

#include <gtest/gtest.h>

#include "protocol/codec_errc.h"

namespace sluice::protocol {
namespace {

static_assert(capability::protocol_41 == 0x200);
static_assert(capability::deprecate_eof == 0x01000000);
static_assert(server_status::session_state_changed == 0x4000);

TEST(command, names_follow_the_documentation) {
  EXPECT_EQ(to_string(command::query), "COM_QUERY");
  EXPECT_EQ(to_string(command::stmt_send_long_data), "COM_STMT_SEND_LONG_DATA");
  EXPECT_EQ(to_string(command::reset_connection), "COM_RESET_CONNECTION");
  EXPECT_EQ(to_string(static_cast<command>(0x7f)), "COM_UNKNOWN");
}

TEST(codec_errc, is_a_boost_error_code) {
  const boost::system::error_code ec = codec_errc::truncated;
  EXPECT_STREQ(ec.category().name(), "sluice.codec");
  EXPECT_EQ(ec, codec_errc::truncated);
  EXPECT_NE(ec, codec_errc::malformed);
  EXPECT_EQ(ec.message(), "truncated packet");
  EXPECT_EQ(make_error_code(codec_errc::too_large).message(), "value too large");
}

}  // namespace
}  // namespace sluice::protocol
