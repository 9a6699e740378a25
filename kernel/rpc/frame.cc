#include "kernel/rpc/frame.h"

#include <fmt/format.h>

#include <cstring>

namespace mosaic::rpc {

namespace {

void put(std::vector<uint8_t>& out, uint64_t v, int width) {
  for (int s = (width - 1) * 8; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s));
}

uint64_t get(const uint8_t* p, int width) {
  uint64_t v = 0;
  for (int i = 0; i < width; ++i) v = (v << 8) | p[i];
  return v;
}

frame_header parse_header(const uint8_t* p) {
  return frame_header{static_cast<int16_t>(get(p, 2)), static_cast<int16_t>(get(p + 2, 2)),
                      static_cast<int32_t>(get(p + 4, 4)), static_cast<int32_t>(get(p + 8, 4))};
}

}  // namespace

void write_frame(const frame_header& h, std::span<const uint8_t> body, std::vector<uint8_t>& out) {
  out.reserve(out.size() + 4 + header_bytes + body.size());
  put(out, header_bytes + body.size(), 4);
  put(out, static_cast<uint16_t>(h.kind), 2);
  put(out, static_cast<uint16_t>(h.version), 2);
  put(out, static_cast<uint32_t>(h.from), 4);
  put(out, static_cast<uint32_t>(h.to), 4);
  out.insert(out.end(), body.begin(), body.end());
}

result<frame> read_frame(std::span<const uint8_t> bytes, size_t max_frame) {
  frame_reader r(max_frame);
  r.feed(bytes);
  auto f = r.next();
  if (!f) return f.error();
  if (!*f) return status(errc::corrupt, fmt::format("a frame of {} bytes is incomplete", bytes.size()));
  if (r.buffered() != 0) return status(errc::corrupt, fmt::format("{} bytes follow the frame", r.buffered()));
  return std::move(**f);
}

void frame_reader::feed(std::span<const uint8_t> bytes) {
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  buf_.insert(buf_.end(), bytes.begin(), bytes.end());
}

result<std::optional<frame>> frame_reader::next() {
  const size_t have = buf_.size() - pos_;
  if (have < 4) return std::optional<frame>{};
  const auto size = static_cast<int32_t>(get(buf_.data() + pos_, 4));
  if (size < static_cast<int32_t>(header_bytes))
    return status(errc::corrupt, fmt::format("a frame of {} bytes is shorter than its header", size));
  if (static_cast<size_t>(size) > max_frame_)
    return status(errc::limit, fmt::format("a frame of {} bytes is over the limit of {}", size, max_frame_));
  if (have < 4 + static_cast<size_t>(size)) return std::optional<frame>{};
  const uint8_t* p = buf_.data() + pos_ + 4;
  frame f{parse_header(p), std::vector<uint8_t>(p + header_bytes, p + size)};
  pos_ += 4 + static_cast<size_t>(size);
  // Keep the buffer from growing without bound under a steady stream.
  if (pos_ > (1u << 20) && pos_ * 2 > buf_.size()) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ = 0;
  }
  return std::optional<frame>{std::move(f)};
}

}  // namespace mosaic::rpc
