// Brings a backend connection's session to a client's before its statement runs: the restore plan
// sent pipelined in one round trip (COM_SET_OPTION, COM_INIT_DB, one SET), or a COM_CHANGE_USER
// first when the client has no default schema and the backend has one.
#pragma once

#include "proxy/asio_types.h"
#include "proxy/backend_connection.h"
#include "proxy/backend_connector.h"
#include "proxy/errors.h"
#include "session/collations.h"
#include "session/session_vars.h"

namespace sluice::proxy {

struct restore_request {
  const session::session_vars& want;
  bool needs_last_insert_id = false;
  // The statement reads what the previous one left (warnings, FOUND_ROWS()): clear it first.
  bool clear_diagnostics = false;
};

enum class restore_status {
  done,             // the backend's session is the client's
  statement_error,  // the server refused what the client's state needs (e.g. its schema was
                    // dropped): the client gets `error`, the backend is still sound
  backend_broken,   // the backend cannot serve: drop it; the client gets `error`
};

struct restore_result {
  restore_status status = restore_status::done;
  error_reply error;
  bool round_trip = false;  // something was sent (a restore happened)
  bool changed_user = false;
  bool switched_account = false;  // the connection was moved to the login's account
};

awaitable<restore_result> restore_session(backend_connection& backend,
                                          const restore_request& request,
                                          const backend_login& login,
                                          const session::collation_table& collations);

}  // namespace sluice::proxy
