// A blocking client over one TCP connection that speaks Kafka's framing:
// size-prefixed frames, every wait bounded. The one such client of the
// project: the `mosaic` CLI's connection and the tests' frame_client are
// both this (each encodes its requests with the generated message code).
// Not for the broker's own paths, which are asynchronous.
//
// TLS: `blocking_tls.h` puts OpenSSL under a connected client
// (start_tls); this header does not need it.
//
// Threading: one thread at a time.
#pragma once

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace mosaic::kafka {

class blocking_client {
 public:
  // Connects to `host`:`port` (a name, or an address of either family);
  // connected() says whether it worked and error() why not.
  blocking_client(const std::string& host, const std::string& port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr) {
      error_ = "cannot resolve " + host;
      return;
    }
    for (auto* a = res; a != nullptr && fd_ < 0; a = a->ai_next) {
      int fd = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
      if (fd >= 0 && ::connect(fd, a->ai_addr, a->ai_addrlen) == 0)
        fd_ = fd;
      else if (fd >= 0)
        ::close(fd);
    }
    if (fd_ < 0) error_ = std::strerror(errno);
    ::freeaddrinfo(res);
  }
  ~blocking_client() {
    transport_.reset();
    if (fd_ >= 0) ::close(fd_);
  }
  blocking_client(const blocking_client&) = delete;
  blocking_client& operator=(const blocking_client&) = delete;

  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  // What carries the bytes once the connection is encrypted: send and
  // receive as ::send and ::recv do (a count, or <= 0 when it broke), and
  // whether bytes already decrypted wait to be read.
  class transport {
   public:
    virtual ~transport() = default;
    virtual ssize_t send(const uint8_t* p, size_t n) = 0;
    virtual ssize_t recv(uint8_t* p, size_t n) = 0;
    virtual bool pending() const = 0;
  };
  void use_transport(std::unique_ptr<transport> t) { transport_ = std::move(t); }
  // Records why something failed (for code that drives the socket itself).
  void set_error(std::string why) { error_ = std::move(why); }
  // Why the last thing that failed did.
  const std::string& error() const { return error_; }

  // Writes `b` as it is (tests send malformed frames); false if the
  // connection broke.
  bool send_raw(std::span<const uint8_t> b) {
    for (size_t at = 0; at < b.size();) {
      const ssize_t n = transport_ ? transport_->send(b.data() + at, b.size() - at)
                                   : ::send(fd_, b.data() + at, b.size() - at, MSG_NOSIGNAL);
      if (n <= 0) {
        error_ = "the connection closed";
        return false;
      }
      at += static_cast<size_t>(n);
    }
    return true;
  }
  // One frame: `payload` after its size, four bytes big-endian.
  bool send(std::span<const uint8_t> payload) {
    const auto n = static_cast<uint32_t>(payload.size());
    std::vector<uint8_t> b = {static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(n >> 16),
                              static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)};
    b.insert(b.end(), payload.begin(), payload.end());
    return send_raw(b);
  }
  bool send(const std::string& payload) {
    return send(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(payload.data()), payload.size()));
  }
  // The next frame's payload, or nullopt (error() says whether the
  // connection closed or nothing came within the timeout).
  std::optional<std::vector<uint8_t>> receive(int timeout_ms = 5000) {
    uint8_t h[4];
    if (!read_exact(h, 4, timeout_ms)) return std::nullopt;
    std::vector<uint8_t> body((uint32_t{h[0]} << 24) | (uint32_t{h[1]} << 16) | (uint32_t{h[2]} << 8) | h[3]);
    if (!body.empty() && !read_exact(body.data(), body.size(), timeout_ms)) return std::nullopt;
    return body;
  }
  // True if the other side closed the connection within the timeout.
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
      if (!(transport_ && transport_->pending()) && ::poll(&pf, 1, timeout_ms) <= 0) {
        error_ = "no answer in " + std::to_string(timeout_ms / 1000) + " s";
        return false;
      }
      const ssize_t r = transport_ ? transport_->recv(p, n) : ::recv(fd_, p, n, 0);
      if (r <= 0) {
        error_ = "the connection closed";
        return false;
      }
      p += r;
      n -= static_cast<size_t>(r);
    }
    return true;
  }

  int fd_ = -1;
  std::string error_;
  std::unique_ptr<transport> transport_;  // reset before the socket closes
};

}  // namespace mosaic::kafka
