// The server's accounts for [auth] mode server: the auth query, its cache, held credentials.
#include "proxy/account_directory.h"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <variant>

namespace sluice::proxy {
namespace {

using namespace asio::experimental::awaitable_operators;

// Names looked up (found or not) are remembered for auth.refresh; past this many, the expired
// ones are forgotten first, then all, so that a flood of invented names cannot grow the cache.
constexpr std::size_t max_cached_users = 10'000;

std::string text_or_empty(const std::optional<std::string>& value) {
  return value.value_or("");
}

}  // namespace

// A lookup waiting for the one that holds the connection.
struct account_directory::turn {
  explicit turn(const asio::any_io_executor& executor) : wake(executor) {}
  asio::steady_timer wake;
  bool granted = false;
};

account_directory::account_directory(asio::any_io_executor executor, backend_login auth_login,
                                     std::string query, std::chrono::milliseconds refresh)
    : executor_(std::move(executor)),
      auth_login_(std::move(auth_login)),
      query_(std::move(query)),
      refresh_(refresh) {}

account_directory::~account_directory() {
  drop_connection();
}

std::string account_directory::query_for(const std::string& query, const std::string& user) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string literal = "CONVERT(X'";
  for (unsigned char c : user) {
    literal += digits[c >> 4];
    literal += digits[c & 15];
  }
  literal += "' USING utf8mb4)";
  std::string sql = query;
  const auto mark = sql.find('?');
  if (mark != std::string::npos) sql.replace(mark, 1, literal);
  return sql;
}

awaitable<bool> account_directory::wait_turn() {
  if (!busy_) {
    busy_ = true;
    co_return true;
  }
  auto mine = std::make_shared<turn>(executor_);
  mine->wake.expires_at(asio::steady_timer::time_point::max());
  waiting_.push_back(mine);
  co_await mine->wake.async_wait(use_nothrow);
  if (mine->granted) co_return true;
  // Cancelled (the login it served ended) before its turn came.
  std::erase(waiting_, mine);
  co_return false;
}

void account_directory::end_turn() {
  if (waiting_.empty()) {
    busy_ = false;
    return;
  }
  auto next = waiting_.front();
  waiting_.pop_front();
  next->granted = true;
  next->wake.cancel();
}

void account_directory::drop_connection() {
  if (connection_) close_backend(*connection_);
  connection_.reset();
}

awaitable<boost::system::result<account_directory::account_rows, std::string>>
account_directory::rows_of(std::string user) {
  const auto now = pool::clock::now();
  if (const auto it = cache_.find(user); it != cache_.end() && now - it->second.read_at < refresh_)
    co_return it->second.rows;
  if (!co_await wait_turn()) co_return std::string("the login ended");
  // Ends the turn however this coroutine ends.
  struct turn_guard {
    account_directory* directory;
    ~turn_guard() { directory->end_turn(); }
  } guard{this};
  // Another lookup may have read this user while we waited.
  if (const auto it = cache_.find(user);
      it != cache_.end() && pool::clock::now() - it->second.read_at < refresh_)
    co_return it->second.rows;
  auto rows = co_await ask_server(user);
  if (!rows) co_return rows;
  if (cache_.size() >= max_cached_users) {
    const auto fresh_since = pool::clock::now() - refresh_;
    std::erase_if(cache_, [&](const auto& entry) { return entry.second.read_at < fresh_since; });
    if (cache_.size() >= max_cached_users) cache_.clear();
  }
  cache_[user] = cached_rows{*rows, pool::clock::now()};
  co_return rows;
}

awaitable<boost::system::result<account_directory::account_rows, std::string>>
account_directory::ask_server(const std::string& user) {
  const std::string sql = query_for(query_, user);
  // A kept connection may have been closed by the server meanwhile (wait_timeout): one retry on
  // a new one.
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool reused = connection_ != nullptr;
    if (!connection_) {
      auto opened = co_await open_backend(auth_login_, 0, 0);
      if (!opened)
        co_return "cannot log in as auth.user '" + auth_login_.user + "': " + opened.error();
      connection_ = std::move(opened->connection);
      error_code ec;
      const auto local = connection_->stream.socket().local_endpoint(ec);
      if (!ec) own_address_ = local.address().to_string();
    }
    asio::steady_timer deadline(executor_, auth_login_.connect_timeout);
    auto outcome = co_await (query_rows(*connection_, sql) || deadline.async_wait(use_nothrow));
    if (outcome.index() == 1) {
      drop_connection();
      co_return std::string("the auth query did not answer within connect_timeout");
    }
    auto result = std::get<0>(std::move(outcome));
    if (!result) {
      const bool connection_failed =
          !connection_->stream.is_open() || result.error() == "the connection failed";
      drop_connection();
      if (connection_failed && reused) continue;
      co_return "the auth query failed: " + result.error();
    }
    account_rows rows;
    for (const auto& row : *result) {
      if (row.size() < 3) co_return std::string("the auth query must return host, plugin, hash");
      rows.push_back({text_or_empty(row[0]), text_or_empty(row[1]), text_or_empty(row[2])});
    }
    co_return rows;
  }
  co_return std::string("the auth query failed: the connection failed");
}

void account_directory::hold(const std::string& account, std::string stage1) {
  auto& entry = held_[account];
  entry.stage1 = std::move(stage1);
  ++entry.clients;
}

void account_directory::let_go(const std::string& account) {
  const auto it = held_.find(account);
  if (it == held_.end()) return;
  if (--it->second.clients == 0) held_.erase(it);
}

std::optional<std::string> account_directory::stage1_of(const std::string& account) const {
  const auto it = held_.find(account);
  if (it == held_.end()) return std::nullopt;
  return it->second.stage1;
}

}  // namespace sluice::proxy
