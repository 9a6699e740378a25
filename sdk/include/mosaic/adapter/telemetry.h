// Client telemetry (KIP-714), as protocol adapters hand it to the broker (the
// unstable C++ tier, like broker.h): what clients are asked to push, and the
// metrics a client pushed, decoded. The kernel keeps them for /metrics
// (kernel/app/client_telemetry.h).
//
// Threading: every call may come from any thread, and returns at once.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mosaic::adapter {

struct telemetry_subscription {
  int32_t id = 0;                    // changes whenever the rest does
  std::vector<std::string> metrics;  // name prefixes; {""}: every metric; empty: none
  int32_t push_interval_ms = 300000;
  int32_t max_bytes = 1 << 20;
};

// One data point of a pushed metric: the latest value of a gauge or a sum.
struct telemetry_point {
  std::string name;        // "org.apache.kafka.producer.node.request.latency.avg"
  bool monotonic = false;  // a monotonic sum (a counter)
  double value = 0;
  std::vector<std::pair<std::string, std::string>> attributes;  // the point's, e.g. {"node.id", "1"}
};

struct telemetry_push {
  std::array<uint8_t, 16> client_instance_id{};
  std::string client_id;                                      // the request header's
  std::string principal;                                      // "User:alice"
  std::vector<std::pair<std::string, std::string>> resource;  // the pushed resource's attributes
  std::vector<telemetry_point> points;
  bool terminating = false;  // the client is closing: forget it
};

class client_telemetry {
 public:
  virtual ~client_telemetry() = default;
  virtual telemetry_subscription subscription() const = 0;
  // Replaces what the client pushed before.
  virtual void push(telemetry_push p) = 0;
};

}  // namespace mosaic::adapter
