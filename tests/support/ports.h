// Loopback ports that were free a moment ago, for tests that must name
// their ports before the processes that bind them start (a quorum's voters
// list each other's). Each is bound to find it and released at once, so
// another process could take it in between: tests that can use port 0 do.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

namespace mosaic::testing {

inline std::vector<uint16_t> free_ports(int n) {
  std::vector<uint16_t> out;
  std::vector<int> fds;
  for (int i = 0; i < n; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    out.push_back(ntohs(a.sin_port));
    fds.push_back(fd);
  }
  for (int fd : fds) ::close(fd);
  return out;
}

}  // namespace mosaic::testing
