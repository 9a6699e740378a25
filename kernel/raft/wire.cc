#include "kernel/raft/wire.h"

#include <fmt/format.h>

#include "kernel/base/bytes.h"

namespace mosaic::raft {

namespace {

constexpr int16_t version = 0;

struct body_writer {
  byte_writer& w;
  int16_t operator()(const vote_request& m) const {
    w.i64(m.term);
    w.i64(m.last_index);
    w.i64(m.last_term);
    w.u8(static_cast<uint8_t>((m.pre_vote ? 1 : 0) | (m.transfer ? 2 : 0)));
    return static_cast<int16_t>(wire_kind::vote_request);
  }
  int16_t operator()(const vote_response& m) const {
    w.i64(m.term);
    w.u8(static_cast<uint8_t>((m.granted ? 1 : 0) | (m.pre_vote ? 2 : 0)));
    return static_cast<int16_t>(wire_kind::vote_response);
  }
  int16_t operator()(const append_request& m) const {
    w.i64(m.term);
    w.i64(m.prev_index);
    w.i64(m.prev_term);
    w.i64(m.commit);
    w.i64(static_cast<int64_t>(m.read_seq));
    w.i32(static_cast<int32_t>(m.entries.size()));
    for (const entry& e : m.entries) {
      w.i64(e.term);
      w.i64(e.index);
      w.u8(static_cast<uint8_t>(e.type));
      w.bytes(e.data);
    }
    return static_cast<int16_t>(wire_kind::append_request);
  }
  int16_t operator()(const append_response& m) const {
    w.i64(m.term);
    w.u8(m.success ? 1 : 0);
    w.i64(m.index);
    w.i64(m.hint);
    w.i64(static_cast<int64_t>(m.read_seq));
    return static_cast<int16_t>(wire_kind::append_response);
  }
  int16_t operator()(const snapshot_request& m) const {
    w.i64(m.term);
    write_meta(w, m.meta);
    w.i64(static_cast<int64_t>(m.offset));
    w.u8(m.done ? 1 : 0);
    w.bytes(m.chunk);
    return static_cast<int16_t>(wire_kind::snapshot_request);
  }
  int16_t operator()(const snapshot_response& m) const {
    w.i64(m.term);
    w.i64(m.index);
    w.i64(static_cast<int64_t>(m.next_offset));
    w.u8(m.done ? 1 : 0);
    return static_cast<int16_t>(wire_kind::snapshot_response);
  }
  int16_t operator()(const timeout_now& m) const {
    w.i64(m.term);
    return static_cast<int16_t>(wire_kind::timeout_now);
  }
};

bool flag(uint8_t bits, uint8_t mask, uint8_t known) {
  if (bits & ~known) throw truncated_input{};  // unknown flag bits: not ours
  return (bits & mask) != 0;
}

message_body read_body(wire_kind kind, byte_reader& r) {
  switch (kind) {
    case wire_kind::vote_request: {
      vote_request m;
      m.term = r.i64();
      m.last_index = r.i64();
      m.last_term = r.i64();
      uint8_t f = r.u8();
      m.pre_vote = flag(f, 1, 3);
      m.transfer = flag(f, 2, 3);
      return m;
    }
    case wire_kind::vote_response: {
      vote_response m;
      m.term = r.i64();
      uint8_t f = r.u8();
      m.granted = flag(f, 1, 3);
      m.pre_vote = flag(f, 2, 3);
      return m;
    }
    case wire_kind::append_request: {
      append_request m;
      m.term = r.i64();
      m.prev_index = r.i64();
      m.prev_term = r.i64();
      m.commit = r.i64();
      m.read_seq = static_cast<uint64_t>(r.i64());
      size_t n = r.count(21);
      m.entries.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        entry e;
        e.term = r.i64();
        e.index = r.i64();
        uint8_t t = r.u8();
        if (t > static_cast<uint8_t>(entry_type::noop)) throw truncated_input{};
        e.type = static_cast<entry_type>(t);
        e.data = r.bytes();
        m.entries.push_back(std::move(e));
      }
      return m;
    }
    case wire_kind::append_response: {
      append_response m;
      m.term = r.i64();
      m.success = flag(r.u8(), 1, 1);
      m.index = r.i64();
      m.hint = r.i64();
      m.read_seq = static_cast<uint64_t>(r.i64());
      return m;
    }
    case wire_kind::snapshot_request: {
      snapshot_request m;
      m.term = r.i64();
      m.meta = read_meta(r);
      m.offset = static_cast<uint64_t>(r.i64());
      m.done = flag(r.u8(), 1, 1);
      m.chunk = r.bytes();
      return m;
    }
    case wire_kind::snapshot_response: {
      snapshot_response m;
      m.term = r.i64();
      m.index = r.i64();
      m.next_offset = static_cast<uint64_t>(r.i64());
      m.done = flag(r.u8(), 1, 1);
      return m;
    }
    case wire_kind::timeout_now: {
      timeout_now m;
      m.term = r.i64();
      return m;
    }
  }
  throw truncated_input{};
}

// Entries must be consecutive after prev_index, and terms and indexes not
// negative: a body that parses but cannot be true is refused too.
bool plausible(const message_body& body) {
  if (message_term(body) < 0) return false;
  if (const auto* a = std::get_if<append_request>(&body)) {
    if (a->prev_index < 0 || a->prev_term < 0 || a->commit < 0) return false;
    index_t expect = a->prev_index + 1;
    for (const entry& e : a->entries) {
      if (e.index != expect++ || e.term < 0 || e.term > a->term) return false;
      if (e.type == entry_type::config && !decode_config(e.data)) return false;
    }
  }
  if (const auto* s = std::get_if<snapshot_request>(&body)) {
    if (s->meta.index < 0 || s->meta.term < 0 || s->meta.term > s->term) return false;
  }
  return true;
}

}  // namespace

void encode(const message& m, std::vector<uint8_t>& out) {
  std::vector<uint8_t> body;
  byte_writer w(body);
  const int16_t kind = std::visit(body_writer{w}, m.body);
  rpc::write_frame(rpc::frame_header{kind, version, m.from, m.to}, body, out);
}

std::vector<uint8_t> encode(const message& m) {
  std::vector<uint8_t> out;
  encode(m, out);
  return out;
}

result<message> decode(const rpc::frame& f) {
  const auto kind = static_cast<wire_kind>(f.header.kind);
  if (f.header.kind < static_cast<int16_t>(wire_kind::vote_request) ||
      f.header.kind > static_cast<int16_t>(wire_kind::timeout_now))
    return status(errc::unsupported, fmt::format("unknown raft message kind {}", f.header.kind));
  if (f.header.version != version)
    return status(errc::unsupported, fmt::format("raft message kind {} at version {} (known: {})", f.header.kind,
                                                 f.header.version, version));
  try {
    byte_reader r(f.body);
    message m{f.header.from, f.header.to, read_body(kind, r)};
    if (!r.done()) return status(errc::corrupt, fmt::format("raft message kind {} has trailing bytes", f.header.kind));
    if (!plausible(m.body))
      return status(errc::corrupt, fmt::format("raft message kind {} has impossible fields", f.header.kind));
    return m;
  } catch (const truncated_input&) {
    return status(errc::corrupt, fmt::format("raft message kind {} is malformed", f.header.kind));
  }
}

result<message> decode(std::span<const uint8_t> bytes) {
  auto f = rpc::read_frame(bytes);
  if (!f) return f.error();
  return decode(*f);
}

}  // namespace mosaic::raft
