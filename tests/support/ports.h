// Loopback ports for tests that must name their ports before the processes
// that bind them start (a quorum's voters list each other's).
//
// A port found free by binding port 0 comes from the kernel's ephemeral
// range, and so may be taken again, between the test releasing it and its
// broker binding it, by any outgoing connection or port-0 listener on the
// machine (CI saw "Address already in use" this way). So the ports come from
// below that range, where neither lands, and each one is claimed with an
// flock on a file under /tmp/mosaic-test-ports held until the test process
// exits, so two tests running at once never pick the same one. A port is
// also checked by binding it, for anything else listening there.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace mosaic::testing {

namespace ports_detail {

// The first port of the ephemeral range (32768 unless configured).
inline int ephemeral_low() {
  int lo = 32768;
  int hi = 60999;
  if (FILE* f = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) {
    if (std::fscanf(f, "%d %d", &lo, &hi) != 2) lo = 32768;
    std::fclose(f);
  }
  return lo;
}

inline bool bindable(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// Claims `port` for this process (the lock's descriptor stays open, on
// purpose, until the process exits).
inline bool claim(uint16_t port) {
  static const std::string dir = [] {
    const std::string d = "/tmp/mosaic-test-ports";
    ::mkdir(d.c_str(), 01777);
    ::chmod(d.c_str(), 01777);
    return d;
  }();
  const std::string path = dir + "/" + std::to_string(port);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) return false;
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return false;
  }
  if (!bindable(port)) {
    ::close(fd);
    return false;
  }
  return true;
}

}  // namespace ports_detail

inline std::vector<uint16_t> free_ports(int n) {
  const int hi = ports_detail::ephemeral_low() - 1;
  const int lo = hi > 12000 ? hi - 10000 : 1024;
  const int span = hi - lo + 1;
  std::mt19937 rng{std::random_device{}()};
  int at = std::uniform_int_distribution<int>(0, span - 1)(rng);
  std::vector<uint16_t> out;
  for (int tried = 0; tried < span && static_cast<int>(out.size()) < n; ++tried, at = (at + 1) % span) {
    const auto port = static_cast<uint16_t>(lo + at);
    if (ports_detail::claim(port)) out.push_back(port);
  }
  if (static_cast<int>(out.size()) < n) throw std::runtime_error("free_ports: no free loopback port left");
  return out;
}

}  // namespace mosaic::testing
