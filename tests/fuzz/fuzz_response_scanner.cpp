// Fuzz target: the response scanner (protocol/response_scanner.h) fed arbitrary backend bytes in
// arbitrary pieces. Feeding in pieces must give exactly what feeding whole gives, the scanner
// must take all it is given while reading, and it may stop only at the end of a packet.
//
// Input: int<1> mode, int<1> n, n piece sizes (each + 1 bytes), then the backend's bytes.
//   mode % 5 is the command shape; mode & 0x08: the backend did not negotiate session tracking;
//   mode & 0x10: structured bytes. Raw bytes go to the scanner as they are. Structured bytes are
//   packet records the target frames itself, so lengths are right and 16 MiB packets cost no
//   copying: int<1> control, then (control & 0x3f) payload bytes; control & 0x40 pads the payload
//   with zeros to 0xFFFFFF bytes (so the next packet continues it); control & 0x80 reads one more
//   byte b and pads to (control & 0x3f) + 64 * b bytes instead. Pieces are the sizes given in
//   bytes for the first 64 bytes of every segment, in units of 64 KiB after that.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <vector>

#include "protocol/constants.h"
#include "protocol/frame.h"
#include "protocol/response_scanner.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace sluice::protocol;
using sluice::fuzz::check;
using state = response_scanner::state;
using shape = response_scanner::shape;

constexpr shape shapes[] = {shape::query, shape::field_list, shape::prepare, shape::fetch,
                            shape::single};
constexpr std::uint32_t backend_caps =
    capability::protocol_41 | capability::transactions | capability::secure_connection |
    capability::multi_statements | capability::multi_results | capability::ps_multi_results |
    capability::plugin_auth | capability::session_track;
// Whole streams up to this size are also fed as one contiguous piece.
constexpr std::size_t contiguous_limit = 1 << 20;
constexpr std::size_t fine_pieces = 64;

std::span<const std::uint8_t> zeros(std::size_t n) {
  static const std::vector<std::uint8_t> padding(max_packet_payload, 0);
  return std::span<const std::uint8_t>(padding).first(n);
}

// The backend's bytes as contiguous segments, and where its packets end.
struct stream {
  std::vector<std::span<const std::uint8_t>> segments;
  std::deque<std::array<std::uint8_t, frame_header_size>> headers;  // storage for segments
  std::size_t size = 0;
  std::vector<std::size_t> frame_ends;    // after every complete packet
  std::vector<std::size_t> message_ends;  // after packets shorter than 0xFFFFFF
  std::vector<std::size_t> frame_starts;  // of the packet ending at frame_ends[i]

  void add(std::span<const std::uint8_t> s) {
    if (s.empty()) return;
    segments.push_back(s);
    size += s.size();
  }
  void packet_ended(std::size_t start, std::uint32_t length) {
    frame_starts.push_back(start);
    frame_ends.push_back(size);
    if (length < max_packet_payload) message_ends.push_back(size);
  }
};

stream raw_stream(std::span<const std::uint8_t> bytes) {
  stream s;
  s.add(bytes);
  std::size_t at = 0;
  while (bytes.size() - at >= frame_header_size) {
    const auto header = decode_frame_header(bytes.subspan(at).first<frame_header_size>());
    if (bytes.size() - at - frame_header_size < header.payload_length) break;
    const std::size_t start = at;
    at += frame_header_size + header.payload_length;
    s.frame_starts.push_back(start);
    s.frame_ends.push_back(at);
    if (header.payload_length < max_packet_payload) s.message_ends.push_back(at);
  }
  return s;
}

stream structured_stream(std::span<const std::uint8_t> records) {
  stream s;
  std::uint8_t sequence_id = 1;
  while (!records.empty()) {
    const std::uint8_t control = records[0];
    records = records.subspan(1);
    std::size_t length = control & 0x3f;
    const std::size_t from_input = std::min(length, records.size());
    if (control & 0x40) {
      length = max_packet_payload;
    } else if ((control & 0x80) && records.size() > from_input) {
      length += 64u * records[from_input];
    }
    const auto payload = records.first(from_input);
    records = records.subspan(
        from_input +
        ((control & 0x80) && !(control & 0x40) && records.size() > from_input ? 1 : 0));
    auto& header = s.headers.emplace_back();
    encode_frame_header({static_cast<std::uint32_t>(length), sequence_id++}, header);
    const std::size_t start = s.size;
    s.add(header);
    s.add(payload);
    s.add(zeros(length - payload.size()));
    s.packet_ended(start, static_cast<std::uint32_t>(length));
  }
  return s;
}

struct outcome {
  std::size_t consumed = 0;
  int local_infile_requests = 0;
  state final = state::reading;
  bool error = false, has_status = false, state_lost = false, eof_state_changed = false;
  std::uint16_t status_flags = 0, warnings = 0, error_code = 0;
  std::uint64_t last_insert_id = 0;
  std::uint32_t statement_id = 0;
  std::vector<std::string> blobs;
  std::string sql_state, error_message;

  bool operator==(const outcome&) const = default;
};

bool contains(const std::vector<std::size_t>& sorted, std::size_t value) {
  return std::binary_search(sorted.begin(), sorted.end(), value);
}

// Feeds the segments, each cut into pieces of the sizes given (cycled; none: whole segments). A
// LOCAL INFILE request is answered as the proxy does: the scan resumes with the rest.
outcome scan(const stream& s, const std::vector<std::span<const std::uint8_t>>& segments,
             shape command, std::uint32_t caps, std::span<const std::uint8_t> piece_sizes) {
  response_scanner scanner(caps);
  scanner.start(command);
  outcome o;
  std::size_t next_piece = 0;
  for (const auto segment : segments) {
    auto rest = segment;
    while (!rest.empty() && scanner.current() == state::reading) {
      std::size_t n = rest.size();
      if (!piece_sizes.empty()) {
        // Byte-sized pieces near a segment's start; past that (16 MiB of padding) 64 KiB units,
        // or a padded packet would take millions of calls.
        const std::size_t unit = segment.size() - rest.size() < fine_pieces ? 1 : 65536;
        n = std::min<std::size_t>(n, (piece_sizes[next_piece++ % piece_sizes.size()] + 1u) * unit);
      }
      const std::size_t used = scanner.feed(rest.first(n));
      check(used <= n, "feed consumes at most what it is given");
      o.consumed += used;
      rest = rest.subspan(used);
      const state now = scanner.current();
      if (now == state::reading) {
        check(used == n, "a scanner still reading consumes everything");
        continue;
      }
      check(contains(s.frame_ends, o.consumed), "the scanner stops at the end of a packet");
      // Nor inside a message of 16 MiB or more, before its continuation packets (finding F1).
      if (now != state::malformed)
        check(contains(s.message_ends, o.consumed), "the scanner stops at the end of a message");
      if (now == state::local_infile) {
        ++o.local_infile_requests;
        check(scanner.feed(rest.first(std::min<std::size_t>(rest.size(), 1))) == 0,
              "nothing is consumed before the scan resumes");
        scanner.resume_after_local_infile();
      }
    }
    if (scanner.current() != state::reading) break;
  }
  if (scanner.current() != state::reading) {
    const std::uint8_t more[1] = {0};
    check(scanner.feed(more) == 0, "a finished scanner consumes nothing more");
  }
  o.final = scanner.current();
  o.error = scanner.ended_with_error();
  o.has_status = scanner.has_status();
  o.state_lost = scanner.session_state_lost();
  o.eof_state_changed = scanner.eof_state_changed();
  o.status_flags = scanner.status_flags();
  o.warnings = scanner.warnings();
  o.error_code = scanner.error_code();
  o.last_insert_id = scanner.last_insert_id();
  o.statement_id = scanner.prepared_statement_id();
  o.blobs = scanner.session_state_blobs();
  o.sql_state = scanner.sql_state();
  o.error_message = scanner.error_message();
  check(o.error || (o.error_code == 0 && o.sql_state.empty() && o.error_message.empty()),
        "error details only with an error");
  check(!o.error || o.final == state::done, "an ERR ends the response");
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t mode = data[0];
  const std::size_t piece_count = data[1] % 8;
  if (size < 2 + piece_count) return 0;
  const std::span<const std::uint8_t> piece_sizes(data + 2, piece_count);
  const std::span<const std::uint8_t> bytes(data + 2 + piece_count, size - 2 - piece_count);
  const shape command = shapes[mode % 5];
  const std::uint32_t caps =
      (mode & 0x08) ? backend_caps & ~capability::session_track : backend_caps;

  const stream s = (mode & 0x10) ? structured_stream(bytes) : raw_stream(bytes);

  // Whole: one contiguous piece when small enough, else one piece per segment.
  std::vector<std::uint8_t> joined;
  std::vector<std::span<const std::uint8_t>> whole = s.segments;
  if (s.size <= contiguous_limit) {
    for (const auto segment : s.segments)
      joined.insert(joined.end(), segment.begin(), segment.end());
    whole = {std::span<const std::uint8_t>(joined)};
  }
  const outcome at_once = scan(s, whole, command, caps, {});
  const outcome in_pieces = scan(s, s.segments, command, caps, piece_sizes);
  check(at_once == in_pieces, "feeding in pieces gives what feeding whole gives");

  // The ERR that ended the response is the packet the scanner stopped after.
  if (at_once.error && !joined.empty()) {
    const auto last = std::find(s.frame_ends.begin(), s.frame_ends.end(), at_once.consumed);
    const std::size_t start = s.frame_starts[static_cast<std::size_t>(last - s.frame_ends.begin())];
    const auto payload = std::span<const std::uint8_t>(joined).subspan(
        start + frame_header_size, at_once.consumed - start - frame_header_size);
    check(!payload.empty() && payload[0] == err_header, "the last packet is the ERR");
    if (payload.size() >= 3)
      check(at_once.error_code == (payload[1] | payload[2] << 8), "the ERR's code");
  }
  return 0;
}
