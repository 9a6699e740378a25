// The network layer: TCP listeners and connections on Boost.Asio, run by a
// few network threads. It reads size-prefixed frames, refuses one over
// socket.request.max.bytes (or with a negative size) by closing that
// connection and nothing else, hands frames to the listener's protocol
// adapter, and writes responses back in request order while later requests
// are already being served (pipelining). It stops reading from a connection
// whose client has too many requests in flight or does not read its
// responses (backpressure), and closes connections idle for too long.
//
// Asio stays inside server.cc.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kernel/base/metrics.h"
#include "kernel/base/status.h"
#include "kernel/net/tls.h"
#include "mosaic/adapter/adapter.h"

namespace mosaic::net {

struct listener_spec {
  std::string name;
  std::string host;
  uint16_t port = 0;  // 0: any free port (see bound_port)
  std::shared_ptr<adapter::protocol_adapter> adapter;
  std::optional<tls_settings> tls;  // none: plaintext
};

struct server_options {
  int network_threads = 2;                      // num.network.threads
  size_t max_request_bytes = 100 << 20;         // socket.request.max.bytes
  size_t max_connections = 10000;               // max.connections
  size_t max_inflight_per_connection = 16;      // requests read but not yet answered
  size_t max_queued_response_bytes = 64 << 20;  // per connection, before reading pauses
  // Request frames read and not yet answered, every connection together
  // (queued.max.request.bytes): a connection whose next frame would pass it
  // waits before reading the frame's body. A frame is always admitted when
  // nothing else is held, so one larger than the bound still gets through.
  size_t max_queued_request_bytes = 100 << 20;
  int64_t idle_timeout_ms = 600000;  // connections.max.idle.ms
  // Time each request an adapter names (responder::describe) into the
  // per-API histograms of metrics(); off, only bytes and connections are
  // counted (mosaicd turns it on when a metrics listener is configured).
  bool time_requests = true;
};

struct server_stats {
  uint64_t accepted = 0;
  uint64_t refused = 0;  // over max.connections
  uint64_t oversized_frames = 0;
  uint64_t idle_closed = 0;
  uint64_t open = 0;
  uint64_t write_failed = 0;          // closed: the peer went away while a response was going out
  uint64_t handler_failed = 0;        // exceptions caught at a network thread's top (a bug, logged)
  uint64_t queued_request_bytes = 0;  // request bytes read and not yet answered, now
  uint64_t request_waits = 0;         // times a connection waited for queued.max.request.bytes
  uint64_t tls_failed = 0;            // TLS handshakes that failed or timed out, and certificates refused
  uint64_t tls_reloads = 0;           // certificate reloads that took effect
};

// One listener's traffic, for /metrics.
struct listener_metrics {
  std::string listener;
  std::shared_ptr<adapter::protocol_adapter> adapter;  // names the request kinds
  uint64_t bytes_received = 0;                         // frames with their size prefix
  uint64_t bytes_sent = 0;
  uint64_t connections_accepted = 0;
  uint64_t connections_open = 0;
  struct request {
    int16_t kind = 0;
    int16_t version = 0;
    metrics::histogram_snapshot latency;  // frame read to answer given
  };
  std::vector<request> requests;  // the kinds and versions seen, by kind then version
};

class server {
 public:
  static result<std::unique_ptr<server>> start(std::vector<listener_spec> listeners, server_options options);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // The port a listener got (useful with port 0).
  uint16_t bound_port(const std::string& listener) const;
  server_stats stats() const;
  std::vector<listener_metrics> metrics() const;
  // Reads every TLS listener's files again now (SIGHUP). A listener whose
  // new files do not load keeps serving with its old ones (the error says
  // which); connections already open keep their session.
  status reload_tls();
  // Times a listener's certificate was reloaded (files changed, SIGHUP).
  uint64_t tls_reloads() const;
  // Stops accepting, closes every connection, joins the network threads.
  void stop();

  struct impl;

 private:
  explicit server(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

}  // namespace mosaic::net
