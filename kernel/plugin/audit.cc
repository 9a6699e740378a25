#include "kernel/plugin/audit.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace mosaic::plugin {

namespace {

void append_json_string(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

}  // namespace

audit_log::~audit_log() {
  if (fd_ >= 0) ::close(fd_);
}

status audit_log::open(const std::filesystem::path& file, int32_t node_id) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0)
    return status(errc::io, "cannot open the plugin audit log '" + file.string() + "': " + std::strerror(errno));
  std::lock_guard g(mu_);
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  node_ = node_id;
  file_ = file;
  return {};
}

void audit_log::record(const audit_event& e) {
  std::string line = "{\"time\":";
  append_json_string(line, utc_now());
  line += ",\"node\":" + std::to_string(node_);
  auto field = [&](const char* name, const std::string& value) {
    if (value.empty()) return;
    line += ",\"";
    line += name;
    line += "\":";
    append_json_string(line, value);
  };
  field("action", e.action);
  field("cause", e.cause);
  field("slot", e.slot);
  field("plugin", e.plugin);
  field("library", e.library);
  field("sha256", e.sha256);
  if (e.generation != 0) line += ",\"generation\":" + std::to_string(e.generation);
  field("config", e.config);
  field("reason", e.reason);
  field("principal", e.principal);
  if (e.cluster_generation >= 0) line += ",\"cluster_generation\":" + std::to_string(e.cluster_generation);
  if (e.offset >= 0) line += ",\"offset\":" + std::to_string(e.offset);
  line += "}\n";
  std::lock_guard g(mu_);
  if (fd_ < 0) return;
  // One write per line (O_APPEND): lines from threads never interleave.
  const ssize_t n = ::write(fd_, line.data(), line.size());
  (void)n;
}

}  // namespace mosaic::plugin
