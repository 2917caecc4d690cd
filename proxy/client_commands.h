// A client's life after accept: login under its deadline, then the command loop, which reads each
// command and dispatches it (COM_QUERY and the other text-protocol commands here, prepared
// statements to statement_commands, COM_CHANGE_USER to client_login).
#pragma once

#include "proxy/asio_types.h"
#include "proxy/proxy_context.h"

namespace sluice::proxy {

// Serves one client until it leaves; the coroutine frame owns the session.
awaitable<void> serve_client(tcp::socket socket, proxy_context& context);

}  // namespace sluice::proxy
