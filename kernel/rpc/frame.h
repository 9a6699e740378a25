// Broker-to-broker framing: every message between Mosaic nodes (Raft
// today, replication next) travels as one frame.
//
//   int32 size      bytes after this field (header + body)
//   int16 kind      which message (each user of rpc numbers its own)
//   int16 version   the body's version; a receiver refuses versions it
//                   does not know rather than guess
//   int32 from      the sending node
//   int32 to        the node it is meant for (a misrouted frame is dropped)
//   body
//
// Big-endian, as Kafka's own framing. A frame larger than the receiver's
// limit, or shorter than the header, is an error that closes the
// connection; nothing in a frame is trusted before it has been checked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "kernel/base/status.h"

namespace mosaic::rpc {

inline constexpr size_t header_bytes = 12;  // kind, version, from, to
inline constexpr size_t default_max_frame = 64u << 20;

struct frame_header {
  int16_t kind = 0;
  int16_t version = 0;
  int32_t from = -1;
  int32_t to = -1;
};

struct frame {
  frame_header header;
  std::vector<uint8_t> body;
};

// Appends the whole frame (size field included) to `out`.
void write_frame(const frame_header& h, std::span<const uint8_t> body, std::vector<uint8_t>& out);
// Parses one whole frame (size field included), as `write_frame` wrote it.
result<frame> read_frame(std::span<const uint8_t> bytes, size_t max_frame = default_max_frame);

// Cuts a byte stream into frames. Feed it what the socket gave; take frames
// until it returns nullopt. An error (oversized or short frame) is final:
// the stream cannot be resynchronised and the connection is closed.
class frame_reader {
 public:
  explicit frame_reader(size_t max_frame = default_max_frame) : max_frame_(max_frame) {}
  void feed(std::span<const uint8_t> bytes);
  result<std::optional<frame>> next();
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  size_t max_frame_;
  std::vector<uint8_t> buf_;
  size_t pos_ = 0;
};

}  // namespace mosaic::rpc
