// A blocking TCP client on 127.0.0.1 that speaks size-prefixed frames, for
// tests of the network layer and the protocol adapters: the project's one
// blocking client (plugins/protocol_kafka/protocol/blocking_client.h),
// which the `mosaic` CLI uses too. Every wait is bounded.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "plugins/protocol_kafka/protocol/blocking_client.h"

namespace mosaic::testing {

class frame_client : public kafka::blocking_client {
 public:
  explicit frame_client(uint16_t port) : blocking_client("127.0.0.1", std::to_string(port)) {}

  std::optional<std::string> receive_text(int timeout_ms = 5000) {
    auto b = receive(timeout_ms);
    if (!b) return std::nullopt;
    return std::string(b->begin(), b->end());
  }
};

}  // namespace mosaic::testing
