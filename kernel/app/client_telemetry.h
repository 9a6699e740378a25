// The metrics clients push (KIP-714), kept for /metrics: the latest points
// of each client instance, bounded in clients (telemetry.max.clients; the
// one that pushed longest ago goes first), in points per client (what one
// push carries, at most 1,000) and in time (a client silent for three push
// intervals is dropped; one that says it is terminating at once).
//
// Threading: push() from the network threads, write() from a scrape; one
// mutex, held to copy or replace a client's points.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "kernel/base/metrics.h"
#include "kernel/config/broker_config.h"
#include "mosaic/adapter/telemetry.h"

namespace mosaic::app {

class client_telemetry final : public adapter::client_telemetry {
 public:
  explicit client_telemetry(const config::server_settings& s);

  adapter::telemetry_subscription subscription() const override { return sub_; }
  void push(adapter::telemetry_push p) override;

  // The mosaic_client_telemetry family and the clients' count.
  void write(metrics::exposition& e);
  size_t clients();

 private:
  using clock = std::chrono::steady_clock;
  struct client {
    std::string client_id;
    std::string principal;
    std::vector<adapter::telemetry_point> points;
    clock::time_point last_push;
  };
  void expire_locked(clock::time_point now);

  adapter::telemetry_subscription sub_;
  size_t max_clients_;
  std::mutex mu_;
  std::map<std::string, client> clients_;  // by client instance id, as text
  uint64_t pushes_ = 0;
};

}  // namespace mosaic::app
