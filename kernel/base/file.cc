#include "kernel/base/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace mosaic {

status replace_file(const std::filesystem::path& path, std::span<const uint8_t> bytes, bool sync) {
  const auto tmp = std::filesystem::path(path.string() + ".tmp");
  auto fail = [&](const char* what) {
    return status(errc::io, std::string(what) + " " + tmp.string() + ": " + std::strerror(errno));
  };
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail("cannot create");
  const uint8_t* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      auto s = fail("cannot write");
      ::close(fd);
      return s;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (sync && ::fdatasync(fd) != 0) {
    auto s = fail("cannot sync");
    ::close(fd);
    return s;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("cannot rename");
  if (sync) {
    // The rename itself is durable only once the folder is synced.
    const auto parent = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    int dfd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
  }
  return {};
}

status replace_file(const std::filesystem::path& path, std::string_view text, bool sync) {
  return replace_file(path, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()), sync);
}

}  // namespace mosaic
