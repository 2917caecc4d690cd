// The "sluice.codec" error category.
#include "protocol/codec_errc.h"

#include <string>

namespace sluice::protocol {
namespace {

class codec_category_impl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "sluice.codec"; }

  std::string message(int value) const override {
    switch (static_cast<codec_errc>(value)) {
      case codec_errc::truncated:
        return "truncated packet";
      case codec_errc::malformed:
        return "malformed packet";
      case codec_errc::unsupported:
        return "unsupported protocol message";
      case codec_errc::too_large:
        return "value too large";
    }
    return "unknown codec error";
  }
};

}  // namespace

const boost::system::error_category& codec_category() noexcept {
  static const codec_category_impl category;
  return category;
}

}  // namespace sluice::protocol
