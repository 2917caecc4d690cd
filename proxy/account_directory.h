// [auth] mode server: the server's own accounts. A user's account rows come from the auth query,
// run on one connection of sluice's own (logged in as [auth] user, outside the pool's cap), and
// are reused for auth.refresh, so that a login storm costs one query per user and refresh. What a
// client's native login proves, SHA1(password), is held in memory while clients of that account
// are logged in: the pool's backend logins for the account need it. Nothing here is ever logged.
#pragma once

#include <boost/system/result.hpp>
#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pool/pool_core.h"
#include "proxy/asio_types.h"
#include "proxy/backend_connector.h"
#include "session/accounts.h"

namespace sluice::proxy {

class account_directory {
 public:
  using account_rows = std::vector<session::account_row>;

  account_directory(asio::any_io_executor executor, backend_login auth_login, std::string query,
                    std::chrono::milliseconds refresh);
  ~account_directory();
  account_directory(const account_directory&) = delete;
  account_directory& operator=(const account_directory&) = delete;

  // The account rows of `user` (none: no such user), or why the server could not be asked. One
  // query at a time goes to the server; each is under the backend's connect_timeout.
  awaitable<boost::system::result<account_rows, std::string>> rows_of(std::string user);
  // The address the server sees sluice's connections come from ("" before the first lookup): the
  // server picks the account row for sluice's backend logins by it.
  const std::string& own_address() const noexcept { return own_address_; }
  void set_refresh(std::chrono::milliseconds refresh) noexcept { refresh_ = refresh; }

  // SHA1(password) of `account`, proved by a client's login, kept while `hold` outnumbers
  // `let_go`. A later login's value replaces an earlier one: the password may have changed.
  void hold(const std::string& account, std::string stage1);
  void let_go(const std::string& account);
  std::optional<std::string> stage1_of(const std::string& account) const;
  std::size_t accounts_held() const noexcept { return held_.size(); }

  // The query for `user`: the auth query with `?` replaced by the name as a hex literal, which no
  // user name can break out of.
  static std::string query_for(const std::string& query, const std::string& user);

 private:
  struct turn;
  awaitable<bool> wait_turn();
  void end_turn();
  awaitable<boost::system::result<account_rows, std::string>> ask_server(const std::string& user);
  void drop_connection();

  struct cached_rows {
    account_rows rows;
    pool::time_point read_at;
  };
  struct held_credentials {
    std::string stage1;
    std::size_t clients = 0;
  };

  asio::any_io_executor executor_;
  backend_login auth_login_;
  std::string query_;
  std::chrono::milliseconds refresh_;
  backend_ptr connection_;
  std::string own_address_;
  bool busy_ = false;
  std::deque<std::shared_ptr<turn>> waiting_;
  std::map<std::string, cached_rows, std::less<>> cache_;
  std::map<std::string, held_credentials, std::less<>> held_;
};

}  // namespace sluice::proxy
