// A client's login and change of user: the greeting, authentication (mysql_native_password and
// caching_sha2_password's fast path, against [users]), and the refusals sluice answers before and
// after it (frontend limits, shutdown). Unknown users and wrong passwords get the same answer in
// the same time.
#pragma once

#include "proxy/asio_types.h"
#include "proxy/client_session.h"
#include "proxy/frame_reader.h"

namespace sluice::proxy {

// Greets the client and authenticates it; true once it is logged in (state idle).
awaitable<bool> log_in(client_session& session);

// COM_CHANGE_USER: authenticates the new user first, then moves the client's counts, limits,
// share and queue to it; the session starts over as after a login.
awaitable<outcome> change_user(client_session& session, const frame& request);

}  // namespace sluice::proxy
