#include "kernel/base/file.h"

#include <fcntl.h>
#include <sys/stat.h>
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

result<std::vector<uint8_t>> read_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return status(errno == ENOENT ? errc::not_found : errc::io,
                  "cannot open " + path.string() + ": " + std::strerror(errno));
  struct stat st {};
  std::vector<uint8_t> out(::fstat(fd, &st) == 0 && st.st_size > 0 ? static_cast<size_t>(st.st_size) : 4096);
  size_t got = 0;
  for (;;) {
    if (got == out.size()) out.resize(out.size() * 2);  // it grew since the fstat
    const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      return status(errc::io, "cannot read " + path.string() + ": " + std::strerror(e));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  out.resize(got);
  return out;
}

status sync_dir(const std::filesystem::path& dir) {
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return status(errc::io, "cannot open " + dir.string() + ": " + std::strerror(errno));
  const int rc = ::fsync(dfd);
  ::close(dfd);
  if (rc != 0) return status(errc::io, "cannot sync " + dir.string() + ": " + std::strerror(errno));
  return {};
}

file_writer::file_writer(const std::filesystem::path& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) error_ = status(errc::io, "cannot create " + path.string() + ": " + std::strerror(errno));
}

file_writer::~file_writer() {
  if (fd_ >= 0) ::close(fd_);
}

status file_writer::write(std::span<const uint8_t> bytes) {
  if (!error_.ok()) return error_;
  const uint8_t* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error_ = status(errc::io, "cannot write " + path_.string() + ": " + std::strerror(errno));
      return error_;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  written_ += bytes.size();
  return {};
}

status file_writer::finish() {
  if (!error_.ok()) return error_;
  if (::fdatasync(fd_) != 0) error_ = status(errc::io, "cannot sync " + path_.string() + ": " + std::strerror(errno));
  ::close(fd_);
  fd_ = -1;
  return error_;
}

status replace_file(const std::filesystem::path& path, std::string_view text, bool sync) {
  return replace_file(path, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()), sync);
}

}  // namespace mosaic
