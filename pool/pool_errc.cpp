// The error category behind pool_errc.
#include "pool/pool_errc.h"

namespace sluice::pool {
namespace {

class pool_category_impl : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "sluice.pool"; }
  std::string message(int ev) const override { return to_string(static_cast<pool_errc>(ev)); }
};

}  // namespace

const boost::system::error_category& pool_category() noexcept {
  static const pool_category_impl category;
  return category;
}

const char* to_string(pool_errc e) noexcept {
  switch (e) {
    case pool_errc::queue_full:
      return "queue_full";
    case pool_errc::user_queue_full:
      return "user_queue_full";
    case pool_errc::queue_timeout:
      return "queue_timeout";
    case pool_errc::backend_unavailable:
      return "backend_unavailable";
    case pool_errc::shutting_down:
      return "shutting_down";
  }
  return "unknown";
}

}  // namespace sluice::pool
