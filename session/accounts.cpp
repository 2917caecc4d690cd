// Host matching for account rows.
#include "session/accounts.h"

#include <arpa/inet.h>

#include <cstdint>

namespace sluice::session {
namespace {

// SQL LIKE-style matching with '%' (any run) and '_' (one character), case-insensitive for ASCII.
bool like(std::string_view pattern, std::string_view text) {
  std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '_' || lower(pattern[p]) == lower(text[t]))) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '%') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '%') ++p;
  return p == pattern.size();
}

// 'a.b.c.d/m.m.m.m': an IPv4 network and mask.
bool netmask_matches(std::string_view pattern, std::string_view address) {
  const auto slash = pattern.find('/');
  const std::string network(pattern.substr(0, slash));
  const std::string mask(pattern.substr(slash + 1));
  const std::string client(address);
  in_addr n{}, m{}, a{};
  if (inet_pton(AF_INET, network.c_str(), &n) != 1 || inet_pton(AF_INET, mask.c_str(), &m) != 1 ||
      inet_pton(AF_INET, client.c_str(), &a) != 1)
    return false;
  return (a.s_addr & m.s_addr) == (n.s_addr & m.s_addr);
}

bool has_wildcard(std::string_view host) {
  return host.find_first_of("%_") != std::string_view::npos;
}

// Higher is more specific: an exact address, a netmask or localhost (2), a pattern (1), '%' (0).
int specificity(std::string_view host) {
  if (host.empty() || host == "%") return 0;
  return has_wildcard(host) ? 1 : 2;
}

}  // namespace

bool host_matches(std::string_view pattern, std::string_view address) {
  if (pattern.empty() || pattern == "%") return true;
  if (pattern == "localhost") return address == "127.0.0.1" || address == "::1";
  if (pattern.find('/') != std::string_view::npos) return netmask_matches(pattern, address);
  return like(pattern, address);
}

account_match match_account(const std::vector<account_row>& rows, std::string_view address) {
  account_match match;
  int best = -1;
  for (const account_row& row : rows) {
    if (!host_matches(row.host, address)) continue;
    const int rank = specificity(row.host);
    if (rank > best) {
      best = rank;
      match.row = &row;
      match.ambiguous = false;
    } else if (rank == best && (row.hash != match.row->hash || row.plugin != match.row->plugin)) {
      match.ambiguous = true;
    }
  }
  if (match.ambiguous) match.row = nullptr;
  return match;
}

}  // namespace sluice::session
