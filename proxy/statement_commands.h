// Binary prepared statements under multiplexing (COM_STMT_*): clients know their statements by
// sluice's ids; each execute prepares its statement lazily on whichever backend it lands on (each
// backend caches statements for every client), and the client's long data and parameter types
// follow it there.
#pragma once

#include "proxy/asio_types.h"
#include "proxy/client_session.h"
#include "proxy/frame_reader.h"

namespace sluice::proxy {

awaitable<outcome> prepare_statement(client_session& session, const frame& request);
awaitable<outcome> execute_statement(client_session& session, const frame& request);
awaitable<outcome> fetch_statement(client_session& session, const frame& request);
awaitable<outcome> reset_statement(client_session& session, const frame& request);
// COM_STMT_CLOSE has no reply.
awaitable<outcome> close_statement(client_session& session, const frame& request);
// COM_STMT_SEND_LONG_DATA has no reply either: failures are reported by the execute.
awaitable<outcome> send_long_data(client_session& session, const frame& request);

}  // namespace sluice::proxy
