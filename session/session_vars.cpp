// Reading the server's session-state tracker reports into a client's variables.
#include "session/session_vars.h"

#include <algorithm>
#include <cctype>

#include "protocol/session_tracker.h"

namespace sluice::session {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

// Derived from the default schema: never replayed on their own.
bool follows_schema(std::string_view name) {
  return name == "character_set_database" || name == "collation_database";
}

// A plain system variable name (letters, digits, '_', '$'): anything else cannot be written back
// into a SET safely (a lying server could smuggle a second statement in), so it is not replayed.
bool identifier(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$';
  });
}

// One-shot or sluice's own: a client change cannot be carried to another backend.
bool unreplayable(std::string_view name) {
  return !identifier(name) || name == "insert_id" || name == "rand_seed1" || name == "rand_seed2" ||
         name == "pseudo_thread_id" || name == "identity" || name == "gtid_seq_no" ||
         name.starts_with("session_track_");
}

}  // namespace

charset_vars charset_vars::from_collation_id(std::uint16_t id) {
  charset_vars c;
  for (auto& v : c.values) v = "#" + std::to_string(id);
  return c;
}

tracked_changes apply_session_state(const std::vector<std::string>& blobs, session_vars& vars) {
  tracked_changes result;
  for (const auto& blob : blobs) {
    auto changes = protocol::decode_session_state(blob);
    if (!changes) {
      result.pin = pin_reason::session_state;
      continue;
    }
    for (const auto& change : *changes) {
      switch (change.type) {
        case protocol::session_track::schema:
          vars.schema = std::string(change.value);
          result.reported_anything = true;
          break;
        case protocol::session_track::state_change:
          result.state_changed = true;
          break;
        case protocol::session_track::transaction_characteristics:
          result.transaction_characteristics = std::string(change.value);
          break;
        case protocol::session_track::system_variables: {
          result.reported_anything = true;
          const std::string name = lower(change.name);
          if (name == "autocommit") {
            vars.autocommit = lower(change.value) == "on" || change.value == "1";
            break;
          }
          bool known = false;
          for (int i = 0; i < 4; ++i) {
            if (name == charset_vars::names[i]) {
              vars.charset.values[i] = std::string(change.value);
              known = true;
            }
          }
          if (known || follows_schema(name)) break;
          if (name == "last_insert_id") {
            std::uint64_t id = 0;
            for (char c : change.value) {
              if (c < '0' || c > '9') break;
              id = id * 10 + static_cast<std::uint64_t>(c - '0');
            }
            vars.last_insert_id = id;
            result.last_insert_id_reported = true;
            break;
          }
          if (unreplayable(name)) {
            if (result.pin == pin_reason::none) result.pin = pin_reason::session_variable;
            break;
          }
          vars.system[name] = std::string(change.value);
          break;
        }
        default:
          break;
      }
    }
  }
  return result;
}

}  // namespace sluice::session
