// Which of a MySQL user's account rows a client is, by its address, as the server would pick it
// (without name resolution: sluice never looks up a host name). Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sluice::session {

// One row of mysql.user for a user name, as the auth query returns it.
struct account_row {
  std::string host;  // 'host' pattern: an address, '192.168.%', '%', 'a.b.c.d/m.m.m.m', 'localhost'
  std::string plugin;  // e.g. mysql_native_password ("" for the server's default, native)
  std::string hash;    // authentication_string: "*HEX" for mysql_native_password
};

struct account_match {
  const account_row* row = nullptr;  // the row the server would use for this client
  bool ambiguous = false;            // several rows match equally well and differ: refused
};

// Whether `address` (an IP address as text) matches a host pattern: '%' and '_' wildcards, a
// netmask form, and 'localhost' for the loopback addresses.
bool host_matches(std::string_view pattern, std::string_view address);

// The server's choice: the most specific matching host wins (an exact address or netmask before
// a pattern with wildcards, '%' last); two equally specific matches with different credentials
// are ambiguous.
account_match match_account(const std::vector<account_row>& rows, std::string_view address);

}  // namespace sluice::session
