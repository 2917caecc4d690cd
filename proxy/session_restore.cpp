// Running the restore plan on a backend and recording what its session then holds.
#include "proxy/session_restore.h"

#include "protocol/constants.h"
#include "proxy/backend_commands.h"
#include "proxy/log.h"
#include "session/restore_plan.h"

namespace sluice::proxy {

using protocol::command;

awaitable<restore_result> restore_session(backend_connection& b, const restore_request& request,
                                          const backend_login& login,
                                          const session::collation_table& collations) {
  restore_result result;
  const session::session_vars& want = request.want;
  auto plan = session::plan_restore(want, b.vars, request.needs_last_insert_id, collations);
  result.switched_account = b.account != login.user;
  if (plan.change_user || result.switched_account) {
    result.changed_user = true;
    if (auto failure = co_await change_user_without_schema(b, login)) {
      log(log_level::warn, b.subject(), "close reason=change_user_failed ", *failure);
      result.status = restore_status::backend_broken;
      result.error = {sluice_error::backend_lost, "08S01",
                      "sluice: could not prepare a backend session"};
      co_return result;
    }
    plan = session::plan_restore(want, b.vars, request.needs_last_insert_id, collations);
  }
  if (plan.empty() && !request.clear_diagnostics) co_return result;
  std::vector<std::uint8_t> framed;
  std::size_t replies = 0;
  std::optional<std::size_t> init_db_reply;
  if (plan.multi_statements) {
    // COM_SET_OPTION: 0 turns multi-statements on, 1 off.
    const char option[2] = {static_cast<char>(*plan.multi_statements ? 0 : 1), 0};
    append_command(framed, command::set_option, std::string_view(option, 2));
    ++replies;
  }
  if (plan.schema) {
    init_db_reply = replies;
    append_command(framed, command::init_db, *plan.schema);
    ++replies;
  }
  if (!plan.set_statement.empty()) {
    append_command(framed, command::query, plan.set_statement);
    ++replies;
  }
  if (request.clear_diagnostics) {
    // MariaDB resets the warning list only for statements that use a table (SET and DO 0 keep
    // it); information_schema.COLLATIONS is readable by every account.
    append_command(framed, command::query,
                   "DO (SELECT 1 FROM information_schema.COLLATIONS LIMIT 1)");
    ++replies;
  }
  result.round_trip = true;
  auto replied = co_await run_commands(b, framed, replies);
  if (!replied) {
    log(log_level::warn, b.subject(), "close reason=restore_failed ", replied.error().message());
    result.status = restore_status::backend_broken;
    result.error = {sluice_error::backend_lost, "08S01",
                    "sluice: lost the backend connection while preparing it"};
    co_return result;
  }
  for (std::size_t i = 0; i < replied->size(); ++i) {
    const command_reply& reply = (*replied)[i];
    if (!reply.error) continue;
    result.error = {reply.error_code, reply.sql_state.empty() ? "HY000" : reply.sql_state,
                    reply.error_message};
    if (init_db_reply == i) {
      // The client's schema was dropped: the statement fails as it would on MySQL, and the
      // backend keeps its previous schema.
      b.vars.schema.reset();
      result.status = restore_status::statement_error;
    } else {
      // A value the server reported would not go back: what the session holds is unknown.
      log(log_level::warn, b.subject(), "close reason=restore_failed ", reply.error_message);
      result.status = restore_status::backend_broken;
    }
    co_return result;
  }
  // The backend now holds exactly the client's state (tracker reports in these replies only
  // echo what sluice set, or were pending from the backend's previous statement).
  b.tracker_report_pending = false;
  b.vars.schema = want.schema;
  b.vars.charset = want.charset;
  b.vars.autocommit = want.autocommit;
  b.vars.multi_statements = want.multi_statements;
  b.vars.system = want.system;
  for (auto it = b.vars.user.begin(); it != b.vars.user.end();) {
    it = it->second == session::opaque_value ? std::next(it) : b.vars.user.erase(it);
  }
  for (const auto& [name, value] : want.user) b.vars.user[name] = value;
  if (request.needs_last_insert_id) b.vars.last_insert_id = want.last_insert_id;
  co_return result;
}

}  // namespace sluice::proxy
