// The response relay: read from the backend, let the scanner find the end, write what belongs to
// this response to the client.
#include "proxy/backend_relay.h"

#include "protocol/constants.h"
#include "proxy/socket_io.h"

namespace sluice::proxy {

using scan_state = protocol::response_scanner::state;

awaitable<frames_relayed> relay_client_frames(client_connection& client,
                                              backend_connection& backend, frames_end until,
                                              std::size_t max_command) {
  if (until == frames_end::short_frame) {
    while (client.command_continues()) {
      frame f;
      const auto ec = co_await client.next_continuation(f, max_command);
      if (ec == asio::error::message_size) co_return frames_relayed::too_large;
      if (ec || co_await write_all(backend.stream, f.wire)) co_return frames_relayed::failed;
    }
    co_return frames_relayed::all;
  }
  for (;;) {
    frame f;
    if (co_await client.next_required(f, protocol::max_packet_payload))
      co_return frames_relayed::failed;
    if (co_await write_all(backend.stream, f.wire)) co_return frames_relayed::failed;
    if (f.payload.empty()) co_return frames_relayed::all;
  }
}

awaitable<relay_result> relay_response(client_connection& client, backend_connection& backend,
                                       std::size_t max_packet) {
  relay_result result;
  for (;;) {
    auto [read_ec, n] = co_await read_some(backend.stream, backend.buffer);
    if (read_ec) {
      result.end = relay_end::backend_lost;
      co_return result;
    }
    const std::size_t used =
        backend.scanner.feed(std::span<const std::uint8_t>(backend.buffer.data(), n));
    const auto write_ec =
        co_await client.write(std::span<const std::uint8_t>(backend.buffer.data(), used));
    result.bytes += used;
    result.forwarded_any = true;
    const scan_state state = backend.scanner.current();
    if (write_ec) {
      // A response that ended as the client left leaves the backend clean.
      result.end = state == scan_state::done ? relay_end::complete : relay_end::client_lost;
      co_return result;
    }
    if (used < n || state == scan_state::malformed) {
      result.end = relay_end::malformed;
      co_return result;
    }
    if (state == scan_state::local_infile) {
      const frames_relayed file =
          co_await relay_client_frames(client, backend, frames_end::empty_frame, max_packet);
      if (file != frames_relayed::all) {
        result.end = relay_end::client_lost;
        co_return result;
      }
      backend.scanner.resume_after_local_infile();
      continue;
    }
    if (state == scan_state::done) co_return result;
  }
}

}  // namespace sluice::proxy
