// A node's broker-to-broker event loop: one thread running Asio, a listener
// for the other nodes' frames, one outbound connection per peer, timers,
// and a queue of work posted from other threads. Raft runs on it; so will
// replication.
//
// Frames out: `send` queues a whole frame for a peer, connecting on first
// use; a connection that breaks (seen at once: the peer never writes on it,
// so a read completing means it closed) is made again by the next frame,
// and a failed connect is retried at most every `reconnect_ms`. A peer that
// cannot be reached, or whose queue is over `max_queued_bytes`, loses the
// frame: the protocols above retry (Raft resends on its heartbeat).
// With TLS, each connection first completes a handshake (mutual: both
// ends show certificates); one that fails closes the connection, is
// counted and logged, and is tried again as a failed connect is.
// Frames in: each connection is cut into frames (frame.h); a frame meant
// for another node is dropped, and a malformed stream (a frame over
// `max_frame` or shorter than its header) closes that connection with a
// warning. Nothing a peer sends can stop the loop.
//
// Threading: `send`, `every` and `on_thread` are for the endpoint's thread
// (from a handler, a timer or a posted function); `post`, `set_peer`,
// `port`, `stats` and `stop` may be called from any thread but the
// endpoint's own (`stop` waits for it).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kernel/base/status.h"
#include "kernel/net/tls.h"
#include "kernel/rpc/frame.h"

namespace mosaic::rpc {

// TLS both ways (mutual) when `tls` is set: the keystore's certificate is
// what this node presents to the nodes it connects to and to those that
// connect; a peer's certificate must chain to the truststore, and must name
// the host it is reached at (an outbound connection) or have a subject
// `accept_peer` accepts (an inbound one; unset: any).
struct endpoint_security {
  std::optional<net::tls_settings> tls;
  std::function<bool(const std::string& subject)> accept_peer;
};

struct endpoint_options {
  int32_t node_id = -1;
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port
  size_t max_frame = default_max_frame;
  size_t max_queued_bytes = 64u << 20;  // per peer
  int reconnect_ms = 100;
  // An outbound link not connected and through its TLS handshake in this
  // time is given up (and tried again); an inbound one not through its
  // handshake is closed.
  int connect_timeout_ms = 10000;
  endpoint_security security;
};

struct endpoint_stats {
  uint64_t frames_sent = 0;
  uint64_t frames_received = 0;
  uint64_t frames_dropped = 0;  // unreachable peer or full queue
  uint64_t connects = 0;
  uint64_t bad_streams = 0;       // connections closed for a malformed frame
  uint64_t handler_failures = 0;  // exceptions caught at the thread's top (a bug, logged)
  uint64_t tls_refused = 0;       // TLS handshakes that failed, and peers whose certificate was refused
  uint64_t timeouts = 0;          // links given up at connect_timeout_ms
};

class endpoint {
 public:
  using frame_handler = std::function<void(frame)>;

  // Listens and runs the endpoint's thread; frames reach `on_frame` only
  // after `accept_frames` (until then peers' connections wait in the
  // listening socket's queue), so that the handler may use the endpoint
  // its owner has stored by then.
  static result<std::unique_ptr<endpoint>> start(const endpoint_options& opts, frame_handler on_frame);
  virtual ~endpoint() = default;

  virtual void accept_frames() = 0;

  virtual void stop() = 0;
  virtual uint16_t port() const = 0;
  virtual void set_peer(int32_t id, const std::string& host, uint16_t port) = 0;
  virtual void send(int32_t to, std::vector<uint8_t> frame_bytes) = 0;
  virtual void post(std::function<void()> fn) = 0;
  virtual void every(std::chrono::milliseconds period, std::function<void()> fn) = 0;
  virtual bool on_thread() const = 0;
  virtual endpoint_stats stats() const = 0;
};

}  // namespace mosaic::rpc
