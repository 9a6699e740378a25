#include "kernel/base/status.h"

namespace mosaic {

const char* errc_name(errc code) noexcept {
  switch (code) {
    case errc::ok: return "ok";
    case errc::invalid_argument: return "invalid argument";
    case errc::not_found: return "not found";
    case errc::already_exists: return "already exists";
    case errc::corrupt: return "corrupt";
    case errc::limit: return "limit exceeded";
    case errc::unsupported: return "unsupported";
    case errc::config: return "bad config";
    case errc::io: return "i/o error";
    case errc::internal: return "internal error";
  }
  return "unknown";
}

}  // namespace mosaic
