// Raft messages as rpc frames (kernel/rpc/frame.h): one frame kind per
// message type, each at version 0. A frame of an unknown kind or version,
// or whose body does not parse exactly, is refused with a status naming
// what was wrong; the caller drops it (Raft survives lost messages).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kernel/base/status.h"
#include "kernel/raft/types.h"
#include "kernel/rpc/frame.h"

namespace mosaic::raft {

enum class wire_kind : int16_t {
  vote_request = 1,
  vote_response = 2,
  append_request = 3,
  append_response = 4,
  snapshot_request = 5,
  snapshot_response = 6,
  timeout_now = 7,
};

// Appends `m` as one whole frame to `out`.
void encode(const message& m, std::vector<uint8_t>& out);
std::vector<uint8_t> encode(const message& m);
// A frame's header and body back into a message.
result<message> decode(const rpc::frame& f);
// A whole frame, size field included.
result<message> decode(std::span<const uint8_t> bytes);

}  // namespace mosaic::raft
