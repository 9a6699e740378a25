// The vocabulary of Mosaic's Raft: node ids, terms, log indexes, entries,
// the voter configuration, snapshots and the messages nodes exchange.
//
// These are plain values. `kernel/raft/wire.h` turns messages into bytes for
// `kernel/rpc`; the simulation in `tests/sim` passes them through the same
// encoding so that every simulated message also exercises the codec.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "kernel/base/bytes.h"

namespace mosaic::raft {

using node_id = int32_t;
using term_t = int64_t;
using index_t = int64_t;

inline constexpr node_id no_node = -1;

enum class entry_type : uint8_t {
  command = 0,  // for the state machine
  config = 1,   // a new voter set (data: an encoded configuration)
  noop = 2,     // a new leader's first entry, to commit its term
};

struct entry {
  term_t term = 0;
  index_t index = 0;
  entry_type type = entry_type::command;
  std::vector<uint8_t> data;
  bool operator==(const entry&) const = default;
};

// The voters. Changes go one voter at a time (KIP-853, the Raft thesis'
// single-server changes), so any two consecutive configurations share a
// majority.
struct configuration {
  std::vector<node_id> voters;  // sorted, unique

  bool contains(node_id id) const { return std::binary_search(voters.begin(), voters.end(), id); }
  size_t quorum() const { return voters.size() / 2 + 1; }
  bool operator==(const configuration&) const = default;
};

struct hard_state {
  term_t term = 0;
  node_id voted_for = no_node;
  bool operator==(const hard_state&) const = default;
};

struct snapshot_meta {
  index_t index = 0;  // the last entry the snapshot covers
  term_t term = 0;    // that entry's term
  configuration config;
  bool operator==(const snapshot_meta&) const = default;
};

struct snapshot {
  snapshot_meta meta;
  std::vector<uint8_t> data;  // the state machine's bytes, opaque to Raft
};

// --- messages -------------------------------------------------------------

// RequestVote. A pre-vote asks "would you vote for me at `term`?" without
// anyone changing term; `transfer` marks an election started by a
// leadership transfer, which voters honour even while they hear a leader.
struct vote_request {
  term_t term = 0;
  index_t last_index = 0;
  term_t last_term = 0;
  bool pre_vote = false;
  bool transfer = false;
  bool operator==(const vote_request&) const = default;
};

struct vote_response {
  term_t term = 0;  // the voter's term, or the pre-vote's term when granted
  bool granted = false;
  bool pre_vote = false;
  bool operator==(const vote_response&) const = default;
};

// AppendEntries; with no entries it is a heartbeat. `read_seq` numbers the
// leader's read-index rounds: a response echoing it confirms leadership as
// of that round.
struct append_request {
  term_t term = 0;
  index_t prev_index = 0;
  term_t prev_term = 0;
  index_t commit = 0;
  uint64_t read_seq = 0;
  std::vector<entry> entries;
  bool operator==(const append_request&) const = default;
};

struct append_response {
  term_t term = 0;
  bool success = false;
  // success: the last index known to match the leader's log.
  // refusal: the request's prev_index, so the leader can tell stale ones.
  index_t index = 0;
  // refusal: where the leader should try next (the follower's log end + 1,
  // or the first index of the conflicting term).
  index_t hint = 0;
  uint64_t read_seq = 0;
  bool operator==(const append_response&) const = default;
};

// InstallSnapshot, one chunk at a time.
struct snapshot_request {
  term_t term = 0;
  snapshot_meta meta;
  uint64_t offset = 0;
  bool done = false;
  std::vector<uint8_t> chunk;
  bool operator==(const snapshot_request&) const = default;
};

struct snapshot_response {
  term_t term = 0;
  index_t index = 0;         // the snapshot's index this answers
  uint64_t next_offset = 0;  // bytes held so far: where the next chunk starts
  bool done = false;         // installed (or already covered)
  bool operator==(const snapshot_response&) const = default;
};

// Leadership transfer: "start an election now".
struct timeout_now {
  term_t term = 0;
  bool operator==(const timeout_now&) const = default;
};

using message_body = std::variant<vote_request, vote_response, append_request, append_response, snapshot_request,
                                  snapshot_response, timeout_now>;

struct message {
  node_id from = no_node;
  node_id to = no_node;
  message_body body;
  bool operator==(const message&) const = default;
};

// One encoding of a configuration and a snapshot's metadata, for config
// entries, the wire and the snapshot file: an i32 count of voters, then
// each voter's i32 id (the metadata: i64 index, i64 term, then that).
// The readers throw truncated_input on bytes that do not parse.
void write_config(byte_writer& w, const configuration& c);
configuration read_config(byte_reader& r);
void write_meta(byte_writer& w, const snapshot_meta& m);
snapshot_meta read_meta(byte_reader& r);
// A config entry's data; nullopt if it is not exactly one configuration.
std::vector<uint8_t> encode_config(const configuration& c);
std::optional<configuration> decode_config(std::span<const uint8_t> data);

term_t message_term(const message_body& body);
std::string describe(const message& m);  // for logs and failing simulations

}  // namespace mosaic::raft
