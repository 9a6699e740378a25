// The operator's endpoints, on listeners whose adapter is `metrics`: plain
// HTTP/1.1 (Boost.Beast) serving
//   GET /metrics  the Prometheus text exposition (version 0.0.4)
//   GET /health   200 while the process serves HTTP at all (alive)
//   GET /ready    200 once the node serves (metadata caught up, listeners
//                 open), 503 with the reason before that and while stopping
// HEAD is served as GET without the body. Anything else gets a JSON error
// (`{"error": {"code": "...", "message": "..."}}`): 404 for another path,
// 405 for another method (with Allow), 413 for a request body over 64 KiB,
// 431 for headers over 16 KiB, 400 for what does not parse (then the
// connection closes). Keep-alive is honoured; a connection idle for 30 s,
// or one of more than 128 at once, is closed.
//
// These endpoints are the kernel's own (an operator's view of the node, not
// a client protocol), so they start before the metadata quorum and answer
// on controller-only nodes too.
//
// Threading: one thread of its own; the route callbacks run on it, one
// request at a time, and may block briefly (a scrape waits for them).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kernel/base/status.h"

namespace mosaic::app {

struct ops_routes {
  std::function<std::string()> metrics;                 // the exposition text
  std::function<std::pair<bool, std::string>()> ready;  // serving?, and if not why
};

struct ops_listener {
  std::string name;
  std::string host;
  uint16_t port = 0;  // 0: any free port
};

class ops_http {
 public:
  static result<std::unique_ptr<ops_http>> start(const std::vector<ops_listener>& listeners, ops_routes routes);
  ~ops_http();
  ops_http(const ops_http&) = delete;
  ops_http& operator=(const ops_http&) = delete;

  uint16_t bound_port(const std::string& listener) const;
  // Closes the listeners and every connection, joins the thread.
  void stop();

  struct impl;

 private:
  explicit ops_http(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

}  // namespace mosaic::app
