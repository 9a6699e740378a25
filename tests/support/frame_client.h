// A blocking TCP client on 127.0.0.1 that speaks size-prefixed frames, for
// tests of the network layer and the protocol adapters. Every wait is
// bounded.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace mosaic::testing {

class frame_client {
 public:
  explicit frame_client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  }
  ~frame_client() { ::close(fd_); }
  frame_client(const frame_client&) = delete;
  frame_client& operator=(const frame_client&) = delete;

  bool connected() const { return connected_; }
  void send_raw(std::span<const uint8_t> b) { (void)!::write(fd_, b.data(), b.size()); }
  void send(std::span<const uint8_t> payload) {
    const auto n = static_cast<uint32_t>(payload.size());
    std::vector<uint8_t> b = {static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(n >> 16),
                              static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)};
    b.insert(b.end(), payload.begin(), payload.end());
    send_raw(b);
  }
  void send(const std::string& payload) {
    send(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(payload.data()), payload.size()));
  }
  // The next frame's payload, or nullopt if the connection closed or
  // nothing came within the timeout.
  std::optional<std::vector<uint8_t>> receive(int timeout_ms = 5000) {
    uint8_t h[4];
    if (!read_exact(h, 4, timeout_ms)) return std::nullopt;
    std::vector<uint8_t> body((uint32_t{h[0]} << 24) | (uint32_t{h[1]} << 16) | (uint32_t{h[2]} << 8) | h[3]);
    if (!body.empty() && !read_exact(body.data(), body.size(), timeout_ms)) return std::nullopt;
    return body;
  }
  std::optional<std::string> receive_text(int timeout_ms = 5000) {
    auto b = receive(timeout_ms);
    if (!b) return std::nullopt;
    return std::string(b->begin(), b->end());
  }
  // True if the server closed the connection within the timeout.
  bool closed_by_server(int timeout_ms = 3000) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return false;
    char c;
    return ::recv(fd_, &c, 1, 0) <= 0;
  }

 private:
  bool read_exact(uint8_t* p, size_t n, int timeout_ms) {
    while (n > 0) {
      pollfd pf{fd_, POLLIN, 0};
      if (::poll(&pf, 1, timeout_ms) <= 0) return false;
      ssize_t r = ::recv(fd_, p, n, 0);
      if (r <= 0) return false;
      p += r;
      n -= static_cast<size_t>(r);
    }
    return true;
  }
  int fd_;
  bool connected_ = false;
};

}  // namespace mosaic::testing
