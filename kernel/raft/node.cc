#include "kernel/raft/node.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace mosaic::raft {

const char* role_name(role r) {
  switch (r) {
    case role::follower: return "follower";
    case role::pre_candidate: return "pre-candidate";
    case role::candidate: return "candidate";
    case role::leader: return "leader";
  }
  return "?";
}

node::node(options opts, storage& store, state_machine& sm)
    : opts_(std::move(opts)), store_(store), sm_(sm), rng_(opts_.seed * 0x9e3779b97f4a7c15ULL + opts_.id) {
  opts_.election_ticks = std::max(opts_.election_ticks, 2);
  opts_.heartbeat_ticks = std::clamp(opts_.heartbeat_ticks, 1, opts_.election_ticks - 1);
  opts_.max_inflight = std::max(opts_.max_inflight, 1);
  opts_.snapshot_chunk_bytes = std::max<size_t>(opts_.snapshot_chunk_bytes, 1);

  persistent_state st = store_.load();
  hard_ = st.hard;
  if (st.snap) {
    snap_ = std::move(*st.snap);
  } else if (!opts_.bootstrap.voters.empty()) {
    // A new cluster: every founding voter starts from the same empty
    // snapshot holding the first configuration, so their logs agree from
    // index 0.
    auto voters = opts_.bootstrap.voters;
    std::sort(voters.begin(), voters.end());
    voters.erase(std::unique(voters.begin(), voters.end()), voters.end());
    snap_.meta.config.voters = std::move(voters);
    snap_.data = opts_.bootstrap_state;
    store_.save_snapshot(snap_, 0);
    store_.sync();
  }
  const index_t si = snap_.meta.index;
  if (si > 0 || !snap_.data.empty()) sm_.restore(snap_.meta, snap_.data);

  // Keep the stored entries that continue the snapshot: a crash between
  // writing a snapshot and cutting the log may leave entries that do not.
  auto& es = st.entries;
  bool fits = !es.empty() && es.front().index <= si + 1 && es.back().index >= si;
  if (fits) {
    for (const auto& e : es)
      if (e.index == si && e.term != snap_.meta.term) fits = false;
  }
  log_first_ = fits ? es.front().index : si + 1;
  if (fits) log_ = std::move(es);
  commit_ = applied_ = si;
  synced_ = last_index();
  recompute_config();
  reset_timeout();
}

// --- log ---------------------------------------------------------------------

term_t node::term_at(index_t i) const {
  if (i == snap_.meta.index) return snap_.meta.term;
  if (i >= log_first_ && i <= last_index()) return log_[static_cast<size_t>(i - log_first_)].term;
  return -1;
}

const entry* node::entry_at(index_t i) const {
  if (i < log_first_ || i > last_index()) return nullptr;
  return &log_[static_cast<size_t>(i - log_first_)];
}

bool node::log_up_to_date(index_t last, term_t last_term) const {
  term_t mine = term_at(last_index());
  return last_term > mine || (last_term == mine && last >= last_index());
}

configuration node::config_as_of(index_t i, index_t* from) const {
  for (index_t k = std::min(i, last_index()); k > snap_.meta.index && k >= log_first_; --k) {
    const entry& e = log_[static_cast<size_t>(k - log_first_)];
    if (e.type != entry_type::config) continue;
    // Config entries are made here or checked by the wire decoder.
    configuration c = decode_config(e.data).value_or(configuration{});
    if (from) *from = k;
    return c;
  }
  if (from) *from = snap_.meta.index;
  return snap_.meta.config;
}

void node::recompute_config() { config_ = config_as_of(last_index(), &config_index_); }

void node::truncate_from(index_t i) {
  if (i > last_index()) return;
  log_.resize(static_cast<size_t>(i - log_first_));
  synced_ = std::min(synced_, i - 1);
  if (config_index_ >= i) recompute_config();
}

void node::append_local(std::vector<entry> entries) {
  if (entries.empty()) return;
  bool config_changed = false;
  for (auto& e : entries) {
    e.term = hard_.term;
    e.index = last_index() + 1;
    config_changed |= e.type == entry_type::config;
    log_.push_back(e);
  }
  store_.append(entries.front().index, entries);
  dirty_ = true;
  if (config_changed) {
    recompute_config();
    after_config_change();
  }
}

void node::persist_hard_state() {
  store_.save_hard_state(hard_);
  dirty_ = true;
}

void node::send(node_id to, message_body body) { outbox_.push_back(message{opts_.id, to, std::move(body)}); }

// --- roles -------------------------------------------------------------------

void node::reset_timeout() {
  elapsed_ = 0;
  timeout_ = opts_.election_ticks + static_cast<int>(rng_() % static_cast<uint64_t>(opts_.election_ticks));
}

void node::fail_reads() {
  for (const auto& r : reads_) failed_reads_.push_back(r.id);
  reads_.clear();
}

void node::become_follower(term_t term, node_id leader) {
  if (term > hard_.term) {
    hard_.term = term;
    hard_.voted_for = no_node;
    persist_hard_state();
  }
  if (role_ == role::leader) fail_reads();
  role_ = role::follower;
  leader_ = leader;
  peers_.clear();
  observers_.clear();
  transferee_ = no_node;
  joining_.reset();
  votes_.clear();
  reset_timeout();
}

void node::become_pre_candidate() {
  role_ = role::pre_candidate;
  leader_ = no_node;
  votes_.clear();
  reset_timeout();
}

void node::become_candidate() {
  hard_.term += 1;
  hard_.voted_for = opts_.id;
  persist_hard_state();
  role_ = role::candidate;
  leader_ = no_node;
  votes_.clear();
  reset_timeout();
}

void node::become_leader() {
  role_ = role::leader;
  leader_ = opts_.id;
  term_committed_ = false;
  transferee_ = no_node;
  joining_.reset();
  heartbeat_elapsed_ = 0;
  quorum_elapsed_ = 0;
  peers_.clear();
  observers_.clear();
  reset_peers();
  append_local({entry{0, 0, entry_type::noop, {}}});
  broadcast(false);
}

void node::reset_peers() {
  // One peer per voter but this node, and the voter being caught up.
  for (auto it = peers_.begin(); it != peers_.end();) {
    bool keep = config_.contains(it->first) || (joining_ && joining_->id == it->first) || observers_.count(it->first);
    it = keep ? std::next(it) : peers_.erase(it);
  }
  for (node_id v : config_.voters) {
    if (v == opts_.id) continue;
    auto [it, added] = peers_.try_emplace(v);
    if (added) {
      it->second.next = last_index() + 1;
      it->second.active = true;
    }
    it->second.voter = true;
  }
}

void node::campaign(bool pre, bool transfer) {
  if (pre) {
    become_pre_candidate();
  } else {
    become_candidate();
  }
  votes_[opts_.id] = true;
  if (votes_.size() >= config_.quorum() && config_.contains(opts_.id)) {
    // A quorum of one.
    if (pre) return campaign(false, false);
    return become_leader();
  }
  const term_t t = pre ? hard_.term + 1 : hard_.term;
  for (node_id v : config_.voters) {
    if (v == opts_.id) continue;
    send(v, vote_request{t, last_index(), term_at(last_index()), pre, transfer});
  }
}

// --- events ------------------------------------------------------------------

void node::tick() {
  ++elapsed_;
  if (role_ == role::leader) return tick_leader();
  // A lone voter has nobody to wait for: it leads from its first tick.
  const bool alone = config_.voters.size() == 1 && can_vote();
  if ((elapsed_ >= timeout_ || alone) && can_vote()) campaign(opts_.pre_vote, false);
}

void node::tick_leader() {
  ++heartbeat_elapsed_;
  ++quorum_elapsed_;
  for (auto& [id, p] : peers_) {
    ++p.ticks_since_ack;
    ++p.ticks_since_send;
    ++p.ticks_since_progress;
  }
  if (transferee_ != no_node && ++transfer_elapsed_ >= opts_.election_ticks) transferee_ = no_node;
  if (joining_ && ++joining_->ticks >= 4 * opts_.election_ticks) {
    // The new voter did not catch up in time; the change is dropped.
    peers_.erase(joining_->id);
    joining_.reset();
  }
  if (opts_.check_quorum && quorum_elapsed_ >= opts_.election_ticks) {
    quorum_elapsed_ = 0;
    size_t active = config_.contains(opts_.id) ? 1 : 0;
    for (auto& [id, p] : peers_) {
      if (p.voter && p.active) ++active;
      p.active = false;
    }
    if (active < config_.quorum()) return become_follower(hard_.term, no_node);
  }
  if (heartbeat_elapsed_ >= opts_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    // A pipeline whose acknowledgements stopped (appends lost on the way)
    // falls back to probing from the last known match.
    const int stall = std::max(2, opts_.election_ticks / 2);
    for (auto& [id, p] : peers_) {
      if (p.state == peer::mode::replicate && p.next > p.match + 1 && p.ticks_since_progress >= stall) {
        p.state = peer::mode::probe;
        p.next = p.match + 1;
        p.inflight = 0;
      }
    }
    broadcast(true);
  }
}

void node::step(const message& m) {
  if (m.to != opts_.id) return;
  const term_t t = message_term(m.body);
  const auto* vreq = std::get_if<vote_request>(&m.body);
  const auto* vresp = std::get_if<vote_response>(&m.body);
  const bool from_leader = std::holds_alternative<append_request>(m.body) ||
                           std::holds_alternative<snapshot_request>(m.body) ||
                           std::holds_alternative<timeout_now>(m.body);

  if (t > hard_.term) {
    if (vreq) {
      // Leader stickiness: while this node hears a leader, elections other
      // than a transfer are ignored (a removed or partitioned node cannot
      // disrupt the cluster). The lease is shorter than the shortest
      // election timeout: the first follower to time out after a leader
      // dies finds the others already out of it, instead of being ignored
      // until its next timeout.
      const int lease = std::max(opts_.heartbeat_ticks + 1, opts_.election_ticks * 3 / 4);
      const bool in_lease = opts_.check_quorum && leader_ != no_node && (role_ == role::leader || elapsed_ < lease);
      if (in_lease && !vreq->transfer) return;
      if (!vreq->pre_vote) become_follower(t, no_node);
    } else if (vresp && vresp->pre_vote && vresp->granted) {
      // A granted pre-vote carries the term asked for; nobody moved to it.
    } else {
      become_follower(t, from_leader ? m.from : no_node);
    }
  } else if (t < hard_.term) {
    // Stale. Tell a stale leader or candidate the term, so it steps down.
    if (auto* a = std::get_if<append_request>(&m.body)) {
      send(m.from, append_response{hard_.term, false, a->prev_index, 0, a->read_seq});
    } else if (auto* s = std::get_if<snapshot_request>(&m.body)) {
      send(m.from, snapshot_response{hard_.term, s->meta.index, 0, false});
    } else if (vreq) {
      send(m.from, vote_response{hard_.term, false, vreq->pre_vote});
    }
    return;
  }

  std::visit(
      [&](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, vote_request>) on_vote_request(m.from, b);
        if constexpr (std::is_same_v<T, vote_response>) on_vote_response(m.from, b);
        if constexpr (std::is_same_v<T, append_request>) on_append_request(m.from, b);
        if constexpr (std::is_same_v<T, append_response>) on_append_response(m.from, b);
        if constexpr (std::is_same_v<T, snapshot_request>) on_snapshot_request(m.from, b);
        if constexpr (std::is_same_v<T, snapshot_response>) on_snapshot_response(m.from, b);
        if constexpr (std::is_same_v<T, timeout_now>) on_timeout_now(m.from, b);
      },
      m.body);
}

void node::on_vote_request(node_id from, const vote_request& r) {
  const bool up_to_date = log_up_to_date(r.last_index, r.last_term);
  if (r.pre_vote) {
    const bool grant = r.term > hard_.term && up_to_date;
    send(from, vote_response{grant ? r.term : hard_.term, grant, true});
    return;
  }
  // r.term == hard_.term here.
  const bool free = hard_.voted_for == no_node || hard_.voted_for == from;
  const bool grant = free && up_to_date && (leader_ == no_node || leader_ == from) && role_ != role::leader;
  if (grant) {
    hard_.voted_for = from;
    persist_hard_state();
    elapsed_ = 0;
  }
  send(from, vote_response{hard_.term, grant, false});
}

void node::on_vote_response(node_id from, const vote_response& r) {
  if (r.pre_vote) {
    if (role_ != role::pre_candidate) return;
    if (r.granted && r.term != hard_.term + 1) return;
  } else if (role_ != role::candidate) {
    return;
  }
  if (!config_.contains(from)) return;
  votes_.emplace(from, r.granted);
  size_t yes = 0;
  size_t no = 0;
  for (const auto& [id, granted] : votes_) (granted ? yes : no) += 1;
  if (yes >= config_.quorum()) {
    if (r.pre_vote) return campaign(false, false);
    return become_leader();
  }
  if (no > config_.voters.size() - config_.quorum()) become_follower(hard_.term, no_node);
}

void node::on_timeout_now(node_id from, const timeout_now&) {
  if (!can_vote() || from != leader_) return;
  campaign(false, true);
}

void node::on_append_request(node_id from, const append_request& r) {
  if (role_ != role::follower || leader_ != from) become_follower(hard_.term, from);
  elapsed_ = 0;

  // Entries up to the commit index are known to match the leader's log.
  index_t prev = r.prev_index;
  term_t prev_term = r.prev_term;
  size_t skip = 0;
  if (prev < commit_) {
    skip = static_cast<size_t>(std::min<index_t>(commit_ - prev, static_cast<index_t>(r.entries.size())));
    prev = commit_;
    prev_term = term_at(commit_);
  }
  if (term_at(prev) != prev_term || prev > last_index()) {
    index_t hint = last_index() + 1;
    if (prev <= last_index()) {
      // Skip the whole conflicting term in one round trip.
      const term_t conflict = term_at(prev);
      hint = prev;
      while (hint - 1 > commit_ && term_at(hint - 1) == conflict) --hint;
    }
    send(from, append_response{hard_.term, false, r.prev_index, hint, r.read_seq});
    return;
  }

  const index_t request_end = r.prev_index + static_cast<index_t>(r.entries.size());
  // The first entry that is not already in the log with the same term.
  size_t i = skip;
  while (i < r.entries.size() && term_at(r.entries[i].index) == r.entries[i].term) ++i;
  if (i < r.entries.size()) {
    const index_t from_index = r.entries[i].index;
    truncate_from(from_index);
    bool config = false;
    for (size_t k = i; k < r.entries.size(); ++k) {
      log_.push_back(r.entries[k]);
      config |= r.entries[k].type == entry_type::config;
    }
    store_.append(from_index, std::span<const entry>(r.entries).subspan(i));
    dirty_ = true;
    if (config) recompute_config();
  }
  const index_t matched = std::max(request_end, commit_);
  commit_ = std::max(commit_, std::min(r.commit, matched));
  send(from, append_response{hard_.term, true, matched, 0, r.read_seq});
}

void node::on_snapshot_request(node_id from, const snapshot_request& r) {
  if (role_ != role::follower || leader_ != from) become_follower(hard_.term, from);
  elapsed_ = 0;
  const index_t si = r.meta.index;
  if (si <= commit_) {
    send(from, snapshot_response{hard_.term, si, 0, true});
    return;
  }
  if (r.offset == 0) incoming_ = snapshot{r.meta, {}};
  if (!incoming_ || incoming_->meta != r.meta || r.offset != incoming_->data.size()) {
    // Out of order or another snapshot: say where to start again.
    uint64_t have = incoming_ && incoming_->meta == r.meta ? incoming_->data.size() : 0;
    send(from, snapshot_response{hard_.term, si, have, false});
    return;
  }
  incoming_->data.insert(incoming_->data.end(), r.chunk.begin(), r.chunk.end());
  const uint64_t have = incoming_->data.size();
  if (!r.done) {
    send(from, snapshot_response{hard_.term, si, have, false});
    return;
  }
  snapshot s = std::move(*incoming_);
  incoming_.reset();
  install_snapshot(std::move(s));
  send(from, snapshot_response{hard_.term, si, have, true});
}

void node::install_snapshot(snapshot snap) {
  const index_t si = snap.meta.index;
  if (term_at(si) == snap.meta.term && si <= last_index()) {
    // The log holds the snapshot's last entry: what follows it is kept.
    log_.erase(log_.begin(), log_.begin() + (si + 1 - log_first_));
    log_first_ = si + 1;
    store_.save_snapshot(snap, si);
  } else {
    log_.clear();
    log_first_ = si + 1;
    synced_ = std::min(synced_, si);
    store_.save_snapshot(snap, std::numeric_limits<index_t>::max());
  }
  dirty_ = true;
  sm_.restore(snap.meta, snap.data);
  snap_ = std::move(snap);
  commit_ = std::max(commit_, si);
  applied_ = si;
  recompute_config();
}

// --- leader ------------------------------------------------------------------

void node::broadcast(bool heartbeat) {
  for (auto& [id, p] : peers_) replicate_to(id, p, heartbeat);
}

void node::replicate_to(node_id id, peer& p, bool heartbeat) {
  if (p.state == peer::mode::snapshot) {
    if (heartbeat && p.ticks_since_send >= 2 * opts_.heartbeat_ticks) send_snapshot_chunk(id, p);
    return;
  }
  if (term_at(p.next - 1) < 0) {
    // What it needs is behind the snapshot.
    p.state = peer::mode::snapshot;
    p.snap_index = snap_.meta.index;
    p.snap_offset = 0;
    p.inflight = 0;
    send_snapshot_chunk(id, p);
    return;
  }
  if (heartbeat && p.state == peer::mode::replicate && term_at(p.match) >= 0) {
    // Anchored at what is known to match, so it holds however the pipeline
    // is reordered.
    send(id, append_request{hard_.term, p.match, term_at(p.match), commit_, read_seq_, {}});
    p.ticks_since_send = 0;
    return;
  }
  if (!heartbeat) {
    if (p.state == peer::mode::probe && p.inflight > 0) return;
    if (p.state == peer::mode::replicate && p.inflight >= opts_.max_inflight) return;
  }
  append_request req{hard_.term, p.next - 1, term_at(p.next - 1), commit_, read_seq_, {}};
  size_t bytes = 0;
  for (index_t i = p.next; i <= last_index(); ++i) {
    const entry& e = log_[static_cast<size_t>(i - log_first_)];
    if (!req.entries.empty() && bytes + e.data.size() > opts_.max_append_bytes) break;
    bytes += e.data.size() + 32;
    req.entries.push_back(e);
  }
  if (!heartbeat && req.entries.empty() && p.state == peer::mode::replicate) return;
  if (p.state == peer::mode::replicate && !req.entries.empty()) {
    p.next = req.entries.back().index + 1;
    ++p.inflight;
  } else if (p.state == peer::mode::probe) {
    p.inflight = 1;
  }
  p.ticks_since_send = 0;
  send(id, std::move(req));
}

void node::send_snapshot_chunk(node_id id, peer& p) {
  if (p.snap_index != snap_.meta.index) {
    // A newer snapshot was taken meanwhile: send that one from the start.
    p.snap_index = snap_.meta.index;
    p.snap_offset = 0;
  }
  const uint64_t size = snap_.data.size();
  const uint64_t off = std::min(p.snap_offset, size);
  const uint64_t n = std::min<uint64_t>(opts_.snapshot_chunk_bytes, size - off);
  snapshot_request req{hard_.term, snap_.meta, off, off + n == size, {}};
  req.chunk.assign(snap_.data.begin() + static_cast<std::ptrdiff_t>(off),
                   snap_.data.begin() + static_cast<std::ptrdiff_t>(off + n));
  p.ticks_since_send = 0;
  send(id, std::move(req));
}

node::peer* node::heard_from(node_id from) {
  if (role_ != role::leader) return nullptr;
  auto it = peers_.find(from);
  if (it == peers_.end()) return nullptr;
  it->second.active = true;
  it->second.ticks_since_ack = 0;
  return &it->second;
}

void node::on_append_response(node_id from, const append_response& r) {
  peer* known = heard_from(from);
  if (!known) return;
  peer& p = *known;
  if (r.read_seq > p.read_ack) {
    p.read_ack = r.read_seq;
    confirm_reads();
  }
  if (r.success) {
    if (r.index > p.match) {
      p.match = r.index;
      p.ticks_since_progress = 0;
    }
    p.next = std::max(p.next, p.match + 1);
    if (p.state == peer::mode::probe) {
      p.state = peer::mode::replicate;
      p.inflight = 0;
      p.ticks_since_progress = 0;
    } else if (p.state == peer::mode::replicate) {
      p.inflight = std::max(0, p.inflight - 1);
      if (p.next <= p.match) p.next = p.match + 1;
    }
    if (p.state != peer::mode::snapshot) {
      maybe_commit();
      if (role_ != role::leader) return;
      if (transferee_ == from && p.match == last_index()) send(from, timeout_now{hard_.term});
      if (joining_ && joining_->id == from && p.match >= commit_) {
        // Caught up: now it can vote without stalling commits.
        configuration c = config_;
        c.voters.insert(std::lower_bound(c.voters.begin(), c.voters.end(), from), from);
        joining_.reset();
        append_local({entry{0, 0, entry_type::config, encode_config(c)}});
        broadcast(false);
        return;
      }
      replicate_to(from, p, false);
    }
    return;
  }
  // A refusal.
  if (r.index < p.match) return;  // stale: it matched further since
  if (p.state == peer::mode::snapshot) return;
  if (p.state == peer::mode::probe && r.index != p.next - 1) return;  // not the probe in flight
  p.state = peer::mode::probe;
  p.next = std::max(p.match + 1, std::min(r.hint, r.index));
  if (p.next < 1) p.next = 1;
  p.inflight = 0;
  replicate_to(from, p, false);
}

void node::on_snapshot_response(node_id from, const snapshot_response& r) {
  peer* known = heard_from(from);
  if (!known) return;
  peer& p = *known;
  if (r.done) {
    if (r.index > p.match) p.match = r.index;
    p.next = std::max(p.next, p.match + 1);
    if (p.state == peer::mode::snapshot) {
      p.state = peer::mode::probe;
      p.inflight = 0;
      p.next = p.match + 1;
    }
    maybe_commit();
    if (role_ == role::leader) replicate_to(from, p, false);
    return;
  }
  if (p.state != peer::mode::snapshot || r.index != p.snap_index) return;
  p.snap_offset = r.next_offset;
  send_snapshot_chunk(from, p);
}

void node::maybe_commit() {
  std::vector<index_t> matches;
  matches.reserve(config_.voters.size());
  for (node_id v : config_.voters) {
    if (v == opts_.id) {
      matches.push_back(synced_);
    } else {
      auto it = peers_.find(v);
      matches.push_back(it == peers_.end() ? 0 : it->second.match);
    }
  }
  if (matches.empty()) return;
  std::sort(matches.begin(), matches.end(), std::greater<>());
  const index_t n = matches[config_.quorum() - 1];
  if (n > commit_ && term_at(n) == hard_.term) {
    commit_ = n;
    if (!term_committed_) {
      term_committed_ = true;
      for (auto& r : reads_)
        if (r.index < 0) r.index = commit_;
    }
    confirm_reads();
    // Tell the followers now rather than at the next heartbeat.
    for (auto& [id, p] : peers_)
      if (p.state == peer::mode::replicate && p.inflight < opts_.max_inflight && p.match >= commit_ - 1)
        send(id, append_request{hard_.term, p.match, term_at(p.match), commit_, read_seq_, {}});
  }
  // A leader removed from the voters leads until that change commits.
  if (!config_.contains(opts_.id) && commit_ >= config_index_) become_follower(hard_.term, no_node);
}

void node::confirm_reads() {
  while (!reads_.empty() && reads_.front().index >= 0) {
    const auto& r = reads_.front();
    size_t acks = config_.contains(opts_.id) ? 1 : 0;
    for (const auto& [id, p] : peers_)
      if (p.voter && p.read_ack >= r.seq) ++acks;
    if (acks < config_.quorum()) return;
    ready_reads_.push_back(read_ready{r.id, r.index});
    reads_.erase(reads_.begin());
  }
}

void node::after_config_change() {
  if (role_ != role::leader) return;
  reset_peers();
}

// --- requests ----------------------------------------------------------------

result<index_t> node::propose(std::vector<uint8_t> data, entry_type type) {
  if (role_ != role::leader) return status(errc::unsupported, "not the leader");
  if (transferee_ != no_node) return status(errc::unsupported, "leadership is being transferred");
  append_local({entry{0, 0, type, std::move(data)}});
  broadcast(false);
  return last_index();
}

status node::read_index(uint64_t id) {
  if (role_ != role::leader) return status(errc::unsupported, "not the leader");
  reads_.push_back(pending_read{id, term_committed_ ? commit_ : -1, ++read_seq_});
  confirm_reads();
  // One heartbeat round at the next flush confirms every read asked since.
  read_round_ = read_round_ || !reads_.empty();
  return {};
}

status node::transfer_leadership(node_id to) {
  if (role_ != role::leader) return status(errc::unsupported, "not the leader");
  if (to == opts_.id) return {};
  auto it = peers_.find(to);
  if (it == peers_.end() || !it->second.voter) return status(errc::not_found, "not a voter");
  transferee_ = to;
  transfer_elapsed_ = 0;
  if (it->second.match == last_index()) {
    send(to, timeout_now{hard_.term});
  } else {
    replicate_to(to, it->second, false);
  }
  return {};
}

std::optional<node_id> node::pending_voter() const {
  if (joining_) return joining_->id;
  return std::nullopt;
}

status node::add_voter(node_id id) {
  if (role_ != role::leader) return status(errc::unsupported, "not the leader");
  if (config_.contains(id)) return status(errc::already_exists, "already a voter");
  if (joining_ || config_index_ > commit_ || !term_committed_)
    return status(errc::unsupported, "another membership change is in progress");
  joining_ = catch_up{id, 0};
  start_replicating(id);
  return {};
}

status node::add_observer(node_id id) {
  if (role_ != role::leader) return status(errc::unsupported, "not the leader");
  if (id == opts_.id || config_.contains(id)) return status(errc::already_exists, "a voter");
  if (!observers_.insert(id).second) return {};
  start_replicating(id);
  return {};
}

void node::start_replicating(node_id id) {
  auto& p = peers_[id];
  p = peer{};
  p.next = last_index() + 1;
  p.active = true;
  replicate_to(id, p, false);
}

status node::remove_voter(node_id id) {
  if (role_ != role::leader) return status(errc::unsupported, "not the leader");
  if (!config_.contains(id)) return status(errc::not_found, "not a voter");
  if (config_.voters.size() == 1) return status(errc::invalid_argument, "the last voter cannot be removed");
  if (joining_ || config_index_ > commit_ || !term_committed_)
    return status(errc::unsupported, "another membership change is in progress");
  configuration c = config_;
  c.voters.erase(std::find(c.voters.begin(), c.voters.end(), id));
  append_local({entry{0, 0, entry_type::config, encode_config(c)}});
  broadcast(false);
  return {};
}

// --- flush -------------------------------------------------------------------

std::vector<message> node::flush() {
  if (dirty_) {
    store_.sync();
    dirty_ = false;
  }
  synced_ = last_index();
  if (role_ == role::leader) {
    maybe_commit();
    if (read_round_ && role_ == role::leader) broadcast(true);
  }
  read_round_ = false;
  apply_committed();
  maybe_snapshot();
  return std::exchange(outbox_, {});
}

void node::apply_committed() {
  while (applied_ < commit_ && applied_ < synced_) {
    const entry* e = entry_at(applied_ + 1);
    if (!e) break;
    sm_.apply(*e);
    applied_bytes_ += e->data.size();
    ++applied_;
  }
}

void node::maybe_snapshot() {
  const bool by_count = opts_.snapshot_entries > 0 && applied_ - snap_.meta.index >= opts_.snapshot_entries;
  const uint64_t bytes_due =
      opts_.snapshot_bytes_scale ? std::max<uint64_t>(opts_.snapshot_bytes, snap_.data.size()) : opts_.snapshot_bytes;
  const bool by_bytes = opts_.snapshot_bytes > 0 && applied_bytes_ >= bytes_due;
  if ((!by_count && !by_bytes) || applied_ == snap_.meta.index) return;
  applied_bytes_ = 0;
  snapshot s;
  s.meta.index = applied_;
  s.meta.term = term_at(applied_);
  s.meta.config = config_as_of(applied_, nullptr);
  s.data = sm_.take_snapshot();
  const index_t through = trailing_from();
  store_.save_snapshot(s, through);
  dirty_ = true;
  if (through >= log_first_) {
    log_.erase(log_.begin(), log_.begin() + (through + 1 - log_first_));
    log_first_ = through + 1;
  }
  snap_ = std::move(s);
}

index_t node::trailing_from() const {
  index_t through = std::max(log_first_ - 1, applied_ - opts_.snapshot_trailing);
  if (opts_.snapshot_trailing_bytes == 0) return through;
  // Fewer entries when they are large: from the newest back while they fit.
  index_t keep_from = applied_ + 1;
  uint64_t kept = 0;
  while (keep_from - 1 > through) {
    const entry* e = entry_at(keep_from - 1);
    if (e == nullptr || kept + e->data.size() > opts_.snapshot_trailing_bytes) break;
    kept += e->data.size();
    --keep_from;
  }
  index_t by_bytes = keep_from - 1;
  // But not what a voter still needs (within the count above), nor the
  // entry it has last, whose term anchors the next append: a voter busy
  // applying a large entry answers late, and would be sent the whole
  // snapshot instead of the entries it lacks.
  if (role_ == role::leader)
    for (const auto& [id, p] : peers_)
      if (p.voter && p.match - 1 < by_bytes) by_bytes = p.match - 1;
  return std::max(through, by_bytes);
}

std::vector<read_ready> node::take_reads() { return std::exchange(ready_reads_, {}); }
std::vector<uint64_t> node::take_failed_reads() { return std::exchange(failed_reads_, {}); }

std::vector<peer_progress> node::progress() const {
  std::vector<peer_progress> out;
  for (const auto& [id, p] : peers_) out.push_back(peer_progress{id, p.voter, p.match, p.next, p.ticks_since_ack});
  return out;
}

}  // namespace mosaic::raft
