// A Raft node as a running service: the deterministic `node` driven by an
// `rpc::endpoint` (its thread, its TCP links to the other voters, a tick
// timer), on a `file_storage` folder. Everything that touches the node runs
// on the endpoint's thread; the calls below post their work there.
//
// Group commit: events are handled as they arrive and a flush is posted
// behind them, so every proposal, vote and append that arrived while the
// previous flush was syncing shares the next fdatasync.
//
// Threading: every call may come from any thread but the server's own (the
// waiting ones would wait for themselves); `done` callbacks run on the
// server's thread and must not block.
//
// A disk error halts the node (nothing after a failed sync is sent or
// acknowledged); every waiting call then fails.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kernel/base/status.h"
#include "kernel/raft/node.h"
#include "kernel/rpc/endpoint.h"

namespace mosaic::raft {

struct peer_address {
  node_id id = no_node;
  std::string host;
  uint16_t port = 0;
};

struct server_options {
  options raft;  // id, bootstrap voters, and timeouts in ticks
  std::filesystem::path dir;
  int tick_ms = 50;  // with raft.election_ticks = 20: a 1 s election timeout, as Kafka's default
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port
  std::vector<peer_address> peers;
  rpc::endpoint_security security;  // TLS between the nodes
};

struct peer_state {
  node_id id = no_node;
  bool voter = false;
  index_t match = 0;             // the last entry known to be in its log
  int64_t since_contact_ms = 0;  // since its last answer
};

// What DescribeQuorum reports, as this node sees it.
struct quorum_state {
  node_id id = no_node;
  role current = role::follower;
  node_id leader = no_node;
  term_t term = 0;
  index_t commit = 0;
  index_t applied = 0;
  index_t first_index = 0;
  index_t last_index = 0;
  snapshot_meta snap;
  std::vector<node_id> voters;
  std::vector<peer_state> peers;  // the leader's view of the others; empty elsewhere
  bool halted = false;
};

class server {
 public:
  using done_fn = std::function<void(result<index_t>)>;

  static result<std::unique_ptr<server>> start(server_options opts, state_machine& sm);
  virtual ~server() = default;
  // Stops the node and fails what waits. Not from the server's own thread.
  // With `hand_over` (a controlled shutdown), a leader first transfers
  // leadership to its most caught-up voter and waits (an election timeout
  // at most) until it has, so that the others need not wait out a timeout;
  // without it, the others see what a crash looks like.
  virtual void stop(bool hand_over = true) = 0;
  virtual uint16_t port() const = 0;
  virtual void set_peer(const peer_address& p) = 0;
  // The leader as last seen, and the term (any thread, no waiting).
  virtual node_id leader() const = 0;
  virtual term_t term() const = 0;

  // Appends `data` through the leader: as the leader itself, or forwarded
  // to it by a follower. `done` runs on the server's thread once the entry
  // is applied here (it is committed), or with an error: no leader known
  // (errc::unsupported), replaced by another leader's entry or a snapshot
  // before it committed, or the leader changed or went silent while a
  // forwarded entry was on its way (errc::internal: the outcome is
  // unknown), or the server stopped.
  virtual void replicate(std::vector<uint8_t> data, done_fn done) = 0;
  virtual result<index_t> replicate_wait(std::vector<uint8_t> data, std::chrono::milliseconds timeout) = 0;
  // A linearizable read point (read index): once it returns ok, the state
  // machine has applied everything committed before the call.
  virtual status barrier(std::chrono::milliseconds timeout) = 0;
  virtual quorum_state describe() = 0;
  virtual status transfer_leadership(node_id to) = 0;
  virtual status add_voter(node_id id) = 0;
  virtual status remove_voter(node_id id) = 0;
};

}  // namespace mosaic::raft
