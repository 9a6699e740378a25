#include "kernel/raft/types.h"

#include <fmt/format.h>

namespace mosaic::raft {

void write_config(byte_writer& w, const configuration& c) {
  w.i32(static_cast<int32_t>(c.voters.size()));
  for (node_id v : c.voters) w.i32(v);
}

configuration read_config(byte_reader& r) {
  configuration c;
  const size_t n = r.count(4);
  c.voters.reserve(n);
  for (size_t i = 0; i < n; ++i) c.voters.push_back(r.i32());
  return c;
}

void write_meta(byte_writer& w, const snapshot_meta& m) {
  w.i64(m.index);
  w.i64(m.term);
  write_config(w, m.config);
}

snapshot_meta read_meta(byte_reader& r) {
  snapshot_meta m;
  m.index = r.i64();
  m.term = r.i64();
  m.config = read_config(r);
  return m;
}

std::vector<uint8_t> encode_config(const configuration& c) {
  std::vector<uint8_t> out;
  byte_writer w(out);
  write_config(w, c);
  return out;
}

std::optional<configuration> decode_config(std::span<const uint8_t> data) {
  try {
    byte_reader r(data);
    configuration c = read_config(r);
    if (!r.done()) return std::nullopt;
    return c;
  } catch (const truncated_input&) {
    return std::nullopt;
  }
}

term_t message_term(const message_body& body) {
  return std::visit([](const auto& b) { return b.term; }, body);
}

namespace {

struct describer {
  std::string operator()(const vote_request& r) const {
    return fmt::format("{}vote_request(term {}, last {}@{}{})", r.pre_vote ? "pre-" : "", r.term, r.last_index,
                       r.last_term, r.transfer ? ", transfer" : "");
  }
  std::string operator()(const vote_response& r) const {
    return fmt::format("{}vote_response(term {}, {})", r.pre_vote ? "pre-" : "", r.term,
                       r.granted ? "granted" : "refused");
  }
  std::string operator()(const append_request& r) const {
    std::string s = fmt::format("append_request(term {}, prev {}@{}, commit {}, read {}, entries", r.term, r.prev_index,
                                r.prev_term, r.commit, r.read_seq);
    if (r.entries.empty()) return s + " none)";
    return s + fmt::format(" {}..{})", r.entries.front().index, r.entries.back().index);
  }
  std::string operator()(const append_response& r) const {
    return fmt::format("append_response(term {}, {}, index {}, hint {}, read {})", r.term, r.success ? "ok" : "refused",
                       r.index, r.hint, r.read_seq);
  }
  std::string operator()(const snapshot_request& r) const {
    return fmt::format("snapshot_request(term {}, snapshot {}@{}, offset {}, {} bytes{})", r.term, r.meta.index,
                       r.meta.term, r.offset, r.chunk.size(), r.done ? ", done" : "");
  }
  std::string operator()(const snapshot_response& r) const {
    return fmt::format("snapshot_response(term {}, snapshot {}, next {}{})", r.term, r.index, r.next_offset,
                       r.done ? ", done" : "");
  }
  std::string operator()(const timeout_now& r) const { return fmt::format("timeout_now(term {})", r.term); }
};

}  // namespace

std::string describe(const message& m) {
  return fmt::format("{} -> {}: {}", m.from, m.to, std::visit(describer{}, m.body));
}

}  // namespace mosaic::raft
