#include "kernel/groups/share_partition.h"

#include <algorithm>
#include <climits>
#include <utility>

namespace mosaic::groups {

namespace {

bool terminal(record_state s) { return s == record_state::acknowledged || s == record_state::archived; }

// Appends one offset's persisted state to `out`, extending the last run
// when it continues it.
void add_run(std::vector<state_batch>& out, int64_t offset, record_state st, int16_t count) {
  if (!out.empty() && out.back().last + 1 == offset && out.back().state == st && out.back().delivery_count == count)
    out.back().last = offset;
  else
    out.push_back({offset, offset, st, count});
}

}  // namespace

int64_t share_partition::next_acquirable(int64_t now_ms, const share_limits& lim) const {
  for (size_t i = 0; i < window_.size(); ++i) {
    const auto& s = window_[i];
    if (s.state == record_state::available && s.deadline_ms <= now_ms) return start_ + static_cast<int64_t>(i);
  }
  if (static_cast<int64_t>(window_.size()) < lim.max_in_flight) return end_offset();
  return -1;
}

int32_t share_partition::acquire(int64_t base, int64_t last, bool control, uint32_t holder, int64_t now_ms,
                                 const share_limits& lim, int32_t& budget, bool whole_batch,
                                 std::vector<state_batch>& out) {
  if (last < start_) return 0;
  // Offsets between the end and this batch have no record (holes), unless
  // the in-flight bound cut the batch before this one short: then they
  // are records still to be delivered, and nothing more is taken now.
  if (base > end_offset()) {
    if (static_cast<int64_t>(window_.size()) >= lim.max_in_flight) return 0;
    skip_to(base);
  }
  if (control) {
    // Never handed out; archived as soon as they are in flight.
    for (int64_t o = std::max(base, start_); o <= last; ++o) {
      if (o >= end_offset()) {
        if (static_cast<int64_t>(window_.size()) >= lim.max_in_flight) break;
        window_.push_back({});
      }
      auto& s = at_offset(o);
      if (s.state == record_state::available) to_terminal(o, s, record_state::archived);
    }
    advance();
    return 0;
  }
  int32_t taken = 0;
  for (int64_t o = std::max(base, start_); o <= last; ++o) {
    if (budget <= 0 && !(whole_batch && taken > 0)) break;
    if (o >= end_offset()) {
      if (static_cast<int64_t>(window_.size()) >= lim.max_in_flight) break;
      window_.push_back({});
    }
    auto& s = at_offset(o);
    if (s.state != record_state::available || s.deadline_ms > now_ms) continue;
    s.state = record_state::acquired;
    if (s.delivery_count > 0) ++totals_.redelivered;
    s.delivery_count = static_cast<int16_t>(std::min<int32_t>(s.delivery_count + 1, INT16_MAX));
    s.renewals = 0;
    s.holder = holder;
    s.deadline_ms = now_ms + lim.lock_ms;
    deadline_hint_ = std::min(deadline_hint_, s.deadline_ms);
    changed(o);
    ++taken;
    --budget;
    if (!out.empty() && out.back().last + 1 == o && out.back().delivery_count == s.delivery_count)
      out.back().last = o;
    else
      out.push_back({o, o, record_state::acquired, s.delivery_count});
  }
  if (budget < 0) budget = 0;
  return taken;
}

int32_t share_partition::unacquire(uint32_t holder, std::span<const state_batch> runs) {
  int32_t n = 0;
  for (const auto& r : runs) {
    for (int64_t o = std::max(r.first, start_); o <= r.last && o < end_offset(); ++o) {
      auto& s = at_offset(o);
      if (s.state != record_state::acquired || s.holder != holder || s.delivery_count != r.delivery_count) continue;
      if (s.delivery_count > 1) --totals_.redelivered;  // the acquisition that counted it is undone
      s.state = record_state::available;
      s.delivery_count = static_cast<int16_t>(std::max(0, s.delivery_count - 1));
      s.renewals = 0;
      s.holder = 0;
      s.deadline_ms = 0;
      changed(o);
      ++n;
    }
  }
  return n;
}

void share_partition::skip_to(int64_t offset) {
  if (offset <= start_) return;
  while (end_offset() < offset) {
    window_.push_back({});
    const int64_t o = end_offset() - 1;
    to_terminal(o, window_.back(), record_state::archived);
  }
  advance();
}

bool share_partition::acknowledge(uint32_t holder, std::span<const ack_batch> batches, int64_t now_ms,
                                  const share_limits& lim, const share_policy& policy, std::string& why) {
  // Check everything first: all or nothing.
  for (const auto& b : batches) {
    if (b.first > b.last || b.types.empty() ||
        (b.types.size() != 1 && static_cast<int64_t>(b.types.size()) != b.last - b.first + 1)) {
      why = "acknowledgement batch " + std::to_string(b.first) + "-" + std::to_string(b.last) +
            " has a malformed list of types";
      return false;
    }
    for (int64_t o = b.first; o <= b.last; ++o) {
      const auto type = b.types.size() == 1 ? b.types[0] : b.types[static_cast<size_t>(o - b.first)];
      if (type > static_cast<uint8_t>(ack_type::renew)) {
        why = "acknowledge type " + std::to_string(type) + " is not defined";
        return false;
      }
      if (o < start_ || o >= end_offset()) {
        why = "offset " + std::to_string(o) + " is not in flight (" + std::to_string(start_) + "-" +
              std::to_string(end_offset() - 1) + ")";
        return false;
      }
      const auto& s = window_[static_cast<size_t>(o - start_)];
      const bool held = s.state == record_state::acquired && s.holder == holder;
      if (!held && !(type == static_cast<uint8_t>(ack_type::gap) && s.state == record_state::archived)) {
        why = "offset " + std::to_string(o) + " is not acquired by this member";
        return false;
      }
      if (type == static_cast<uint8_t>(ack_type::renew)) {
        if (!lim.renew_enabled) {
          why = "renewing acquisition locks is disabled (share.renew.acknowledge.enable)";
          return false;
        }
        share_event e{share_cause::renew, s.delivery_count, lim.delivery_limit, s.renewals, lim.lock_ms, false};
        if (enforce(e, policy.decide(e)).what != share_decision::kind::renew) {
          why = "the share policy refused to renew the lock of offset " + std::to_string(o);
          return false;
        }
      }
    }
  }
  for (const auto& b : batches) {
    for (int64_t o = b.first; o <= b.last; ++o) {
      const auto type =
          static_cast<ack_type>(b.types.size() == 1 ? b.types[0] : b.types[static_cast<size_t>(o - b.first)]);
      auto& s = at_offset(o);
      if (s.state != record_state::acquired) continue;  // a gap over an archived hole
      switch (type) {
        case ack_type::accept: to_terminal(o, s, record_state::acknowledged); break;
        case ack_type::gap: to_terminal(o, s, record_state::archived); break;
        case ack_type::release: give_up(o, s, share_cause::release, now_ms, lim, policy); break;
        case ack_type::reject:
          ++totals_.rejected;
          give_up(o, s, share_cause::reject, now_ms, lim, policy);
          break;
        case ack_type::renew:
          s.deadline_ms = now_ms + lim.lock_ms;  // later than before: the hint stays a lower bound
          ++s.renewals;
          break;
      }
    }
  }
  advance();
  return true;
}

void share_partition::give_up(int64_t offset, slot& s, share_cause cause, int64_t now_ms, const share_limits& lim,
                              const share_policy& policy) {
  share_event e{cause, s.delivery_count, lim.delivery_limit, s.renewals, lim.lock_ms, lim.dead_letter_topic};
  const auto d = enforce(e, policy.decide(e));
  s.holder = 0;
  s.renewals = 0;
  switch (d.what) {
    case share_decision::kind::redeliver:
      s.state = record_state::available;
      s.deadline_ms = d.delay_ms > 0 ? now_ms + d.delay_ms : 0;
      if (s.deadline_ms > 0) deadline_hint_ = std::min(deadline_hint_, s.deadline_ms);
      changed(offset);
      break;
    case share_decision::kind::dead_letter:
      s.state = record_state::archiving;
      s.deadline_ms = 0;
      dead_letters_.push_back({offset, s.delivery_count, cause});
      ++totals_.dead_lettered;
      changed(offset);
      break;
    default: to_terminal(offset, s, record_state::archived); break;
  }
}

void share_partition::to_terminal(int64_t offset, slot& s, record_state st) {
  s.state = st;
  s.holder = 0;
  s.deadline_ms = 0;
  changed(offset);
}

void share_partition::changed(int64_t offset) { changed_.push_back(offset); }

void share_partition::advance() {
  while (!window_.empty() && terminal(window_.front().state)) {
    window_.pop_front();
    ++start_;
    start_moved_ = true;
  }
}

int32_t share_partition::expire(int64_t now_ms, const share_limits& lim, const share_policy& policy) {
  if (now_ms < deadline_hint_) return 0;  // nothing can be due yet
  int32_t n = 0;
  int64_t next = INT64_MAX;
  for (size_t i = 0; i < window_.size(); ++i) {
    auto& s = window_[i];
    if (s.state == record_state::acquired && s.deadline_ms <= now_ms) {
      give_up(start_ + static_cast<int64_t>(i), s, share_cause::lock_timeout, now_ms, lim, policy);
      ++n;
    }
    if (s.state == record_state::available && s.deadline_ms > 0 && s.deadline_ms <= now_ms) s.deadline_ms = 0;
    if ((s.state == record_state::acquired || s.state == record_state::available) && s.deadline_ms > 0)
      next = std::min(next, s.deadline_ms);
  }
  deadline_hint_ = next;
  if (n > 0) advance();
  return n;
}

int32_t share_partition::release_holder(uint32_t holder, int64_t now_ms, const share_limits& lim,
                                        const share_policy& policy) {
  int32_t n = 0;
  for (size_t i = 0; i < window_.size(); ++i) {
    auto& s = window_[i];
    if (s.state == record_state::acquired && s.holder == holder) {
      give_up(start_ + static_cast<int64_t>(i), s, share_cause::release, now_ms, lim, policy);
      ++n;
    }
  }
  if (n > 0) advance();
  return n;
}

std::vector<dead_letter> share_partition::archiving(const share_limits& lim) const {
  std::vector<dead_letter> out;
  for (size_t i = 0; i < window_.size(); ++i) {
    const auto& s = window_[i];
    // The cause is not persisted: inferred from the count, as Kafka does.
    if (s.state == record_state::archiving)
      out.push_back({start_ + static_cast<int64_t>(i), s.delivery_count,
                     s.delivery_count >= lim.delivery_limit ? share_cause::lock_timeout : share_cause::reject});
  }
  return out;
}

void share_partition::archived(int64_t offset) {
  if (offset < start_ || offset >= end_offset()) return;
  auto& s = at_offset(offset);
  if (s.state != record_state::archiving) return;
  to_terminal(offset, s, record_state::archived);
  advance();
}

std::vector<state_batch> share_partition::snapshot() const {
  std::vector<state_batch> out;
  for (size_t i = 0; i < window_.size(); ++i)
    add_run(out, start_ + static_cast<int64_t>(i), window_[i].state, window_[i].delivery_count);
  // Trailing never-delivered records say nothing the start does not.
  while (!out.empty() && out.back().state == record_state::available && out.back().delivery_count == 0) out.pop_back();
  return out;
}

std::vector<state_batch> share_partition::take_changes() {
  std::sort(changed_.begin(), changed_.end());
  changed_.erase(std::unique(changed_.begin(), changed_.end()), changed_.end());
  std::vector<state_batch> out;
  for (int64_t o : changed_) {
    if (o < start_ || o >= end_offset()) continue;  // below the start: the start says it
    const auto& s = at_offset(o);
    add_run(out, o, s.state, s.delivery_count);
  }
  changed_.clear();
  start_moved_ = false;
  return out;
}

void share_partition::restore(int64_t start_offset, std::span<const state_batch> runs, int64_t now_ms,
                              int64_t lock_ms) {
  if (start_offset > start_) reset_start(start_offset);
  for (const auto& r : runs) {
    for (int64_t o = std::max(r.first, start_); o <= r.last; ++o) {
      while (end_offset() <= o) window_.push_back({});
      auto& s = at_offset(o);
      s.state = r.state;
      s.delivery_count = r.delivery_count;
      s.holder = 0;
      s.deadline_ms = 0;
      if (r.state != record_state::acquired) continue;
      if (lock_ms <= 0) {
        s.state = record_state::available;
        continue;
      }
      // Held by a consumer of the previous leader: locked by no one here
      // until its lock would have ended.
      s.deadline_ms = now_ms + lock_ms;
      deadline_hint_ = std::min(deadline_hint_, s.deadline_ms);
    }
  }
  // Trailing available records with no delivery are the same as not in flight.
  while (!window_.empty() && window_.back().state == record_state::available && window_.back().delivery_count == 0)
    window_.pop_back();
  advance();
  changed_.clear();
  start_moved_ = false;
}

void share_partition::reset_start(int64_t offset) {
  while (!window_.empty() && start_ < offset) {
    window_.pop_front();
    ++start_;
  }
  if (start_ < offset) start_ = offset;
  start_moved_ = true;
  advance();
}

share_partition::counts share_partition::count() const noexcept {
  counts c;
  c.in_flight = static_cast<int64_t>(window_.size());
  for (const auto& s : window_) {
    switch (s.state) {
      case record_state::available: ++c.available; break;
      case record_state::acquired: ++c.acquired; break;
      case record_state::acknowledged: ++c.acknowledged; break;
      default: ++c.archived; break;
    }
  }
  return c;
}

state_batch share_partition::at(int64_t offset) const {
  if (offset < start_) return {offset, offset, record_state::acknowledged, 0};
  if (offset >= end_offset()) return {offset, offset, record_state::available, 0};
  const auto& s = window_[static_cast<size_t>(offset - start_)];
  return {offset, offset, s.state, s.delivery_count};
}

}  // namespace mosaic::groups
