#include "kernel/replication/replica.h"

#include <algorithm>

namespace mosaic::replication {

namespace {
bool has(const std::vector<broker_id>& v, broker_id b) { return std::find(v.begin(), v.end(), b) != v.end(); }
}  // namespace

replica::replica(replica_options opts, replica_log& log) : opts_(opts), log_(log) {}

void replica::set_min_insync(int n) { opts_.min_insync = n; }

void replica::apply(const partition_state& p, const std::map<broker_id, int64_t>& broker_epochs, int64_t now) {
  broker_epochs_ = broker_epochs;
  // What a follower's earlier incarnation fetched says nothing of what the
  // restarted broker has: forget it.
  for (auto& [id, f] : followers_) {
    auto e = broker_epochs_.find(id);
    if (e == broker_epochs_.end() || e->second != f.broker_epoch) {
      f.leo = -1;
      f.leader_leo_at_last_fetch = -1;
    }
  }
  if (have_state_ && p.partition_epoch <= state_.partition_epoch && p.leader_epoch <= state_.leader_epoch) return;
  const partition_state old = state_;
  const bool had = have_state_;
  state_ = p;
  have_state_ = true;
  // The AlterPartition in flight is settled once the metadata moved past
  // the state it was built on (accepted or not).
  if (isr_in_flight_ && p.partition_epoch > isr_in_flight_->partition_epoch) isr_in_flight_.reset();
  isr_to_send_.reset();

  const bool leads = p.leader == opts_.self;
  const bool new_epoch = !had || p.leader_epoch != old.leader_epoch;
  if (leads) {
    if (role_ != replica_role::leader || new_epoch) become_leader(now);
    // Replicas that joined the ISR start from now for the lag check.
    for (broker_id r : p.isr)
      if (r != opts_.self && !has(old.isr, r)) followers_[r].last_caught_up_ms = now;
    maybe_advance_hw();
  } else if (has(p.replicas, opts_.self)) {
    if (role_ != replica_role::follower || new_epoch) become_follower();
  } else {
    if (role_ == replica_role::leader) step_down(replica_error::not_leader_or_follower);
    role_ = replica_role::none;
  }
}

void replica::become_leader(int64_t now) {
  if (role_ == replica_role::leader) step_down(replica_error::not_leader_or_follower);
  role_ = replica_role::leader;
  epoch_start_offset_ = log_.log_end_offset();
  log_.start_epoch(state_.leader_epoch, epoch_start_offset_);
  followers_.clear();
  for (broker_id r : state_.replicas)
    if (r != opts_.self) followers_[r].last_caught_up_ms = now;  // unknown log end: no vote on the HW yet
  isr_in_flight_.reset();
  isr_to_send_.reset();
  fetch_in_flight_ = 0;
  fetch_to_send_.reset();
  // A new leader's high watermark is at most its log end.
  hw_ = std::min(hw_, log_.log_end_offset());
}

void replica::become_follower() {
  if (role_ == replica_role::leader) step_down(replica_error::not_leader_or_follower);
  role_ = replica_role::follower;
  fetch_in_flight_ = 0;
  fetch_to_send_.reset();
  followers_.clear();
  isr_in_flight_.reset();
  isr_to_send_.reset();
}

void replica::step_down(replica_error why) {
  for (const auto& w : waiters_) done_.push_back({w.id, why});
  waiters_.clear();
}

std::vector<broker_id> replica::maximal_isr() const {
  std::vector<broker_id> isr = state_.isr;
  if (isr_in_flight_)
    for (const auto& [r, epoch] : isr_in_flight_->isr)
      if (!has(isr, r)) isr.push_back(r);
  return isr;
}

replica_error replica::can_append_all() const {
  if (role_ != replica_role::leader) return replica_error::not_leader_or_follower;
  if (static_cast<int>(state_.isr.size()) < opts_.min_insync) return replica_error::not_enough_replicas;
  return replica_error::none;
}

void replica::on_appended(int64_t) { maybe_advance_hw(); }

void replica::await(uint64_t id, int64_t end_offset, int64_t deadline) {
  if (role_ != replica_role::leader) {
    done_.push_back({id, replica_error::not_leader_or_follower});
    return;
  }
  waiters_.push_back({id, end_offset, deadline});
  complete_waiters();
}

void replica::maybe_advance_hw() {
  if (role_ != replica_role::leader) return;
  // KIP-966's strict rule: below min ISR the high watermark stays where it is.
  if (static_cast<int>(state_.isr.size()) < opts_.min_insync) return;
  int64_t hw = log_.log_end_offset();
  for (broker_id r : maximal_isr()) {
    if (r == opts_.self) continue;
    auto it = followers_.find(r);
    const int64_t leo = it == followers_.end() ? -1 : it->second.leo;
    hw = std::min(hw, leo);
  }
  if (hw > hw_) {
    hw_ = hw;
    complete_waiters();
  }
}

void replica::complete_waiters() {
  std::erase_if(waiters_, [&](const waiter& w) {
    if (hw_ < w.end_offset) return false;
    done_.push_back({w.id, static_cast<int>(state_.isr.size()) >= opts_.min_insync
                               ? replica_error::none
                               : replica_error::not_enough_replicas_after_append});
    return true;
  });
}

fetch_response replica::on_fetch(const fetch_request& req, int64_t now) {
  fetch_response r;
  r.id = req.id;
  r.leader_epoch = state_.leader_epoch;
  if (role_ != replica_role::leader || !has(state_.replicas, req.replica)) {
    r.error = replica_error::not_leader_or_follower;
    return r;
  }
  if (req.current_leader_epoch < state_.leader_epoch) {
    r.error = replica_error::fenced_leader_epoch;
    return r;
  }
  if (req.current_leader_epoch > state_.leader_epoch) {
    r.error = replica_error::unknown_leader_epoch;
    return r;
  }
  auto be = broker_epochs_.find(req.replica);
  if (be == broker_epochs_.end() || be->second != req.broker_epoch) {
    r.error = replica_error::stale_broker_epoch;
    return r;
  }
  r.high_watermark = hw_;
  r.log_start_offset = log_.log_start_offset();
  const int64_t leo = log_.log_end_offset();
  if (req.fetch_offset < log_.log_start_offset()) {
    r.error = replica_error::offset_out_of_range;
    return r;
  }
  if (req.last_fetched_epoch >= 0) {
    const auto [epoch, end] = log_.end_offset_for_epoch(req.last_fetched_epoch);
    if (epoch != req.last_fetched_epoch || end < req.fetch_offset) {
      r.diverging = std::make_pair(epoch, end);
      return r;
    }
  } else if (req.fetch_offset > leo) {
    r.diverging = std::make_pair(state_.leader_epoch, leo);
    return r;
  }
  // The follower's log matches ours up to its fetch offset.
  follower& f = followers_[req.replica];
  f.broker_epoch = req.broker_epoch;
  f.leo = req.fetch_offset;
  if (req.fetch_offset >= leo)
    f.last_caught_up_ms = now;
  else if (req.fetch_offset >= f.leader_leo_at_last_fetch && f.leader_leo_at_last_fetch >= 0)
    f.last_caught_up_ms = std::max(f.last_caught_up_ms, f.last_fetch_ms);
  f.last_fetch_ms = now;
  f.leader_leo_at_last_fetch = leo;
  if (req.fetch_offset < leo) r.records = log_.read(req.fetch_offset, std::min(req.max_bytes, opts_.fetch_max_bytes));
  maybe_advance_hw();
  maybe_change_isr(now);
  r.high_watermark = hw_;
  return r;
}

void replica::maybe_change_isr(int64_t now) {
  if (role_ != replica_role::leader || isr_in_flight_ || isr_to_send_) return;
  std::vector<broker_id> next = state_.isr;
  // Out: in the ISR, not caught up for too long.
  for (broker_id r : state_.isr) {
    if (r == opts_.self) continue;
    const follower& f = followers_[r];
    if (now - f.last_caught_up_ms > opts_.replica_lag_time_max_ms) std::erase(next, r);
  }
  // In: caught up to the high watermark and into this leader's epoch, with
  // the broker epoch the metadata has.
  if (next == state_.isr)
    for (broker_id r : state_.replicas) {
      if (r == opts_.self || has(next, r)) continue;
      const follower& f = followers_[r];
      auto registered = broker_epochs_.find(r);
      if (f.leo >= 0 && f.leo >= hw_ && f.leo >= epoch_start_offset_ && registered != broker_epochs_.end() &&
          registered->second == f.broker_epoch)
        next.push_back(r);
    }
  if (next == state_.isr) return;
  alter_isr_request req{opts_.self, state_.leader_epoch, state_.partition_epoch, {}};
  for (broker_id r : next) req.isr.emplace_back(r, r == opts_.self ? broker_epoch_ : followers_[r].broker_epoch);
  isr_to_send_ = std::move(req);
  isr_sent_ms_ = now;
}

void replica::on_alter_isr_response(change_error error) {
  if (!isr_in_flight_) return;
  // Accepted: the metadata brings the new ISR (apply clears this). Refused
  // for stale epochs: the metadata brings the newer state. Otherwise the
  // next tick reconsiders.
  if (error != change_error::none && error != change_error::fenced_leader_epoch &&
      error != change_error::invalid_update_version)
    isr_in_flight_.reset();
}

void replica::on_fetch_response(const fetch_response& resp, int64_t now) {
  if (role_ != replica_role::follower || resp.id != fetch_in_flight_) return;  // stale
  fetch_in_flight_ = 0;
  if (resp.leader_epoch != state_.leader_epoch) return;
  if (resp.error == replica_error::offset_out_of_range) {
    log_.reset_to(resp.log_start_offset);
  } else if (resp.error == replica_error::none) {
    if (resp.diverging) {
      const auto [epoch, end] = *resp.diverging;
      int64_t to = end;
      if (epoch >= 0) {
        const auto [mine, my_end] = log_.end_offset_for_epoch(epoch);
        if (mine == epoch) to = std::min(to, my_end);
      }
      // The leader has no epoch this old: nothing of ours from then on is
      // on it.
      if (epoch < 0 || to < 0) to = log_.log_start_offset();
      // At our end too: the epochs we started there (as a leader that
      // wrote nothing in them) go, or every fetch would diverge again.
      if (to <= log_.log_end_offset()) log_.truncate_to(to);
    } else if (!resp.records.empty()) {
      (void)log_.append_replicated(resp.records);
    }
    hw_ = std::max(hw_, std::min(resp.high_watermark, log_.log_end_offset()));
    hw_ = std::min(hw_, log_.log_end_offset());
  }
  send_fetch(now);
}

void replica::send_fetch(int64_t now) {
  if (role_ != replica_role::follower || state_.leader == no_leader) return;
  fetch_request f;
  f.replica = opts_.self;
  f.broker_epoch = broker_epoch_;
  f.current_leader_epoch = state_.leader_epoch;
  f.fetch_offset = log_.log_end_offset();
  f.last_fetched_epoch = log_.last_epoch();
  f.max_bytes = opts_.fetch_max_bytes;
  f.id = next_fetch_id_++;
  fetch_in_flight_ = f.id;
  fetch_sent_ms_ = now;
  fetch_to_send_ = f;
}

void replica::tick(int64_t now) {
  if (role_ == replica_role::leader) {
    // An AlterPartition unanswered is sent again, the same: it stays in the
    // maximal ISR until the metadata settles it (the controller may have
    // taken it and the answer been lost).
    if (isr_in_flight_ && !isr_to_send_ && now - isr_sent_ms_ >= 2 * opts_.fetch_timeout_ms) {
      isr_to_send_ = isr_in_flight_;
      isr_sent_ms_ = now;
    }
    maybe_change_isr(now);
    std::erase_if(waiters_, [&](const waiter& w) {
      if (now < w.deadline) return false;
      done_.push_back({w.id, replica_error::request_timed_out});
      return true;
    });
  } else if (role_ == replica_role::follower) {
    if (fetch_in_flight_ == 0 || now - fetch_sent_ms_ >= opts_.fetch_timeout_ms) send_fetch(now);
  }
}

replica_outbox replica::take() {
  replica_outbox out;
  out.fetch = std::exchange(fetch_to_send_, std::nullopt);
  if (isr_to_send_) {
    isr_in_flight_ = isr_to_send_;
    out.alter_isr = std::exchange(isr_to_send_, std::nullopt);
  }
  out.produced = std::exchange(done_, {});
  return out;
}

}  // namespace mosaic::replication
