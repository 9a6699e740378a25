// The share manager's delivery side: share-partitions made on first use,
// acquisition for ShareFetch (parked while there is nothing to acquire),
// acknowledgements, and records handed to the dead-letter handler.
#include <algorithm>

#include "kernel/base/log.h"
#include "kernel/groups/share_manager_impl.h"
#include "kernel/log/record_batch.h"

namespace mosaic::groups {

using adapter::error;
using std::chrono::milliseconds;

sp_entry* share_manager::impl::share_state(const sp_key& k, error& code) {
  auto it = parts.find(k);
  if (it != parts.end()) return &it->second;
  auto t = io().find_topic(k.topic);
  if (!t) {
    code = error::unknown_topic_id;
    return nullptr;
  }
  if (k.partition < 0 || k.partition >= static_cast<int32_t>(t->partitions.size())) {
    code = error::unknown_topic_or_partition;
    return nullptr;
  }
  // The share-partition leader is the partition's leader (KIP-932).
  auto epoch = leads(t->name, k.partition);
  if (!epoch) {
    code = error::not_leader_or_follower;
    return nullptr;
  }
  if (!first_start.count(k))
    if (auto start = reset_start(k, t->name)) first_start[k] = *start;
  if (!reading.count(k)) start_read(k, t->name, *epoch);
  it = parts.find(k);  // a state this broker coordinates may be answered at once
  return it == parts.end() ? nullptr : &it->second;
}

std::optional<adapter::fetched_partition> share_manager::impl::read_now(const std::string& topic, int32_t partition,
                                                                        int64_t offset, int32_t max_bytes) {
  adapter::fetch_request fr;
  fr.partitions.push_back({topic, partition, offset, max_bytes, -1});
  fr.max_wait_ms = 0;
  fr.min_bytes = 0;
  std::optional<adapter::fetched_partition> got;
  io().read(std::move(fr), [&](std::vector<adapter::fetched_partition> r) {
    if (!r.empty()) got = std::move(r.front());
  });
  return got;
}

void share_manager::impl::acquire_from(const sp_key& k, sp_entry& e, uint32_t holder, int32_t& budget,
                                       size_t& bytes_left, bool& taken_any, adapter::share_fetched_partition& out) {
  const auto& c = conf(k.group);
  const int64_t now_ms = mono_ms(now());
  for (int round = 0; round < 4 && budget > 0 && bytes_left > 0; ++round) {
    const int64_t from = e.part.next_acquirable(now_ms, c.limits);
    if (from < 0) return;
    auto got = read_now(e.topic, k.partition, from, static_cast<int32_t>(std::min<size_t>(bytes_left, 8 << 20)));
    if (!got) return;
    auto& f = *got;
    if (f.code == error::offset_out_of_range && f.log_start_offset > e.part.start_offset()) {
      e.part.reset_start(f.log_start_offset);
      dirty.insert(k);
      continue;
    }
    if (f.code != error::none) {
      out.code = f.code;
      return;
    }
    if (f.log_start_offset > e.part.start_offset()) {
      e.part.reset_start(f.log_start_offset);
      dirty.insert(k);
    }
    const int64_t limit = c.read_committed ? f.last_stable_offset : f.high_watermark;
    if (take_batches(k, e, f, from, limit, holder, budget, bytes_left, taken_any, out) == 0) return;
  }
}

int32_t share_manager::impl::take_batches(const sp_key& k, sp_entry& e, const adapter::fetched_partition& f,
                                          int64_t from, int64_t limit, uint32_t holder, int32_t& budget,
                                          size_t& bytes_left, bool& taken_any, adapter::share_fetched_partition& out) {
  const auto& lim = conf(k.group).limits;
  const int64_t now_ms = mono_ms(now());
  int32_t taken = 0;
  log::for_each_batch(f.records, [&](const log::batch_view& b) {
    if (b.base_offset() >= limit || budget <= 0) return false;
    if (b.last_offset() < from) return true;
    if (taken_any && b.size() > bytes_left) return false;  // waits for the next fetch
    std::vector<state_batch> runs;
    const int32_t n = e.part.acquire(b.base_offset(), std::min(b.last_offset(), limit - 1), b.is_control(), holder,
                                     now_ms, lim, budget, /*whole_batch=*/false, runs);
    if (b.is_control() || n > 0) dirty.insert(k);  // acquisitions are persisted too
    if (n > 0) {
      taken += n;
      for (const auto& r : runs) out.acquired.push_back({r.first, r.last, r.delivery_count});
      out.records.insert(out.records.end(), b.bytes.begin(), b.bytes.end());
      taken_any = true;
      bytes_left = b.size() >= bytes_left ? 0 : bytes_left - b.size();
    }
    return bytes_left > 0;
  });
  return taken;
}

void share_manager::impl::send_dead_letters(const sp_key& k, sp_entry& e, const std::vector<dead_letter>& letters) {
  const auto& c = conf(k.group);
  for (const auto& d : letters) {
    // Never loop a dead-letter topic into itself.
    if (c.dlq_topic.empty() || c.dlq_topic == e.topic) {
      e.part.archived(d.offset);
      dirty.insert(k);
      continue;
    }
    if (dead_letters_in_flight >= max_dead_letter_writes || !opts.dlq) {
      if (!opts.dlq)
        log::warn("share group {}: no DLQ handler is loaded; {}-{} offset {} stays ARCHIVING", k.group, e.topic,
                  k.partition, d.offset);
      retry_dead_letters = true;
      continue;
    }
    dead_letter_record r;
    r.group = k.group;
    r.topic = e.topic;
    r.dlq_topic = c.dlq_topic;
    r.partition = k.partition;
    r.offset = d.offset;
    r.delivery_count = d.delivery_count;
    r.cause = d.cause;
    r.copy_record = c.dlq_copy_record;
    if (r.copy_record)
      if (auto got = read_now(e.topic, k.partition, d.offset, 1 << 20)) r.has_record = copy_record(*got, d.offset, r);
    ++dead_letters_in_flight;
    const auto taken =
        opts.dlq->enqueue(r, &writer, [this, gate = owner, k, offset = d.offset](bool ok, const std::string& why) {
          gate->post([this, k, offset, ok, why] { dead_letter_written(k, offset, ok, why); });
        });
    if (taken != dlq_handler_slot::outcome::taken) {
      --dead_letters_in_flight;
      retry_dead_letters = true;
    }
  }
}

void share_manager::impl::dead_letter_written(const sp_key& k, int64_t offset, bool ok, const std::string& why) {
  --dead_letters_in_flight;
  auto it = parts.find(k);
  if (it == parts.end()) return;
  if (!ok) {
    log::warn(
        "share group {}: writing {}-{} offset {} to the dead-letter topic failed ({}); it stays ARCHIVING "
        "and is offered again",
        k.group, it->second.topic, k.partition, offset, why);
    retry_dead_letters = true;
    return;
  }
  it->second.part.archived(offset);
  dirty.insert(k);
  wake = true;
}

void share_manager::impl::collect_dead_letters(const sp_key& k, sp_entry& e) {
  auto letters = e.part.take_dead_letters();
  if (!letters.empty()) send_dead_letters(k, e, letters);
}

std::pair<error, std::string> share_manager::impl::apply_acks(const std::string& group, uint32_t holder,
                                                              const adapter::share_partition_acks& a) {
  if (a.batches.empty()) return {error::none, ""};
  // A topic deleted meanwhile: its records are gone, whatever state
  // lingers until forget_deleted_topics().
  if (!io().find_topic(a.topic_id)) return {error::unknown_topic_id, "the topic no longer exists"};
  sp_key k{group, a.topic_id, a.partition};
  auto it = parts.find(k);
  if (it == parts.end()) {
    error code = error::none;
    if (share_state(k, code) == nullptr && code != error::none)
      return {code, "this broker does not lead the partition"};
    return {adapter::invalid_record_state, "the share-partition has no records in flight here"};
  }
  std::vector<ack_batch> batches;
  batches.reserve(a.batches.size());
  for (const auto& b : a.batches) batches.push_back({b.first_offset, b.last_offset, b.types});
  std::string why;
  if (!it->second.part.acknowledge(holder, batches, mono_ms(now()), conf(group).limits, policy(), why))
    return {adapter::invalid_record_state, why};
  dirty.insert(k);
  collect_dead_letters(k, it->second);
  wake = true;
  return {error::none, ""};
}

void share_manager::impl::close_session(const std::string& group, const std::string& member) {
  if (sessions.close(group, member)) release_member(group, holder_of(member));
}

void share_manager::impl::start_fetch(adapter::share_fetch_request req,
                                      std::function<void(adapter::share_fetch_result)> done) {
  adapter::share_fetch_result res;
  res.lock_timeout_ms = static_cast<int32_t>(conf(req.group_id).limits.lock_ms);
  share_session* s = sessions.use(req.group_id, req.member_id, req.session_epoch, cfg().share_max_share_sessions,
                                  res.code, res.message);
  if (!s) return later_answer(req.group_id, req.member_id, std::move(res), std::move(done));
  const uint32_t holder = holder_of(req.member_id);
  std::vector<std::pair<uuid, int32_t>> named, forgotten;
  for (const auto& f : req.forgotten)
    for (int32_t p : f.partitions) forgotten.emplace_back(f.topic_id, p);
  for (const auto& p : req.partitions) named.emplace_back(p.topic_id, p.partition);
  s->update(named, forgotten);
  // Acknowledgements first, each answered in its partition.
  for (const auto& p : req.partitions) {
    auto& out = res.partitions.emplace_back();
    out.topic_id = p.topic_id;
    out.partition = p.partition;
    auto [code, why] = apply_acks(req.group_id, holder, p);
    out.ack_code = code;
    out.ack_message = why;
  }
  if (req.session_epoch == -1) {
    close_session(req.group_id, req.member_id);
    return later_answer(req.group_id, req.member_id, std::move(res), std::move(done));
  }
  parked_fetch f;
  f.id = next_parked++;
  f.req = std::move(req);
  f.result = std::move(res);
  f.done = std::move(done);
  f.deadline = now() + milliseconds(std::max(0, f.req.max_wait_ms));
  // A fetch carrying acknowledgements is answered in this round, records
  // or not: their outcome is this round's writes' (a parked fetch would
  // be answered with a later round's).
  const bool acked = std::any_of(f.req.partitions.begin(), f.req.partitions.end(),
                                 [](const adapter::share_partition_acks& p) { return !p.batches.empty(); });
  const bool answered = fill(f) || f.req.renew || acked || f.result.code != error::none;
  if (!answered && f.req.max_wait_ms <= 0 && f.state_pending) {
    f.until_ready = true;
    f.deadline = now() + state_wait;
  } else if (answered || f.req.max_wait_ms <= 0) {
    return later_answer(f.req.group_id, f.req.member_id, std::move(f.result), std::move(f.done));
  }
  waiting.push_back(std::move(f));
  arm(waiting.back());
}

adapter::share_fetched_partition& share_manager::impl::slot_for(adapter::share_fetch_result& res, const uuid& topic,
                                                                int32_t partition) {
  for (auto& p : res.partitions)
    if (p.topic_id == topic && p.partition == partition) return p;
  auto& p = res.partitions.emplace_back();
  p.topic_id = topic;
  p.partition = partition;
  return p;
}

bool share_manager::impl::fill(parked_fetch& f) {
  share_session* s = sessions.find(f.req.group_id, f.req.member_id);
  if (s == nullptr) {
    f.result.code = adapter::share_session_not_found;
    return true;
  }
  if (f.req.renew) return true;           // a renewal fetches nothing (KIP-1222)
  if (f.req.max_bytes <= 0) return true;  // acknowledgements only
  if (s->closing_by) return true;         // the member left: nothing more is acquired
  const uint32_t holder = holder_of(f.req.member_id);
  int32_t budget = f.req.max_records > 0 ? f.req.max_records : 500;
  size_t bytes_left = static_cast<size_t>(f.req.max_bytes);
  bool any = false;
  f.state_pending = false;
  bool taken_any = false;  // KIP-74: only the response's first batch may exceed max_bytes
  const size_t n = s->partitions.size();
  for (size_t i = 0; i < n && budget > 0 && bytes_left > 0; ++i) {
    const auto& [topic, partition] = s->partitions[(s->next + i) % n];
    sp_key k{f.req.group_id, topic, partition};
    error code = error::none;
    sp_entry* e = share_state(k, code);
    auto& out = slot_for(f.result, topic, partition);
    if (e && e->unsynced()) {  // its state cannot be written now: nothing is handed out from it
      f.state_pending = true;
      continue;
    }
    if (!e) {
      if (code == error::none) {  // its state is being read
        f.state_pending = true;
        continue;
      }
      out.code = code;
      any = true;
      continue;
    }
    const size_t before = out.acquired.size();
    acquire_from(k, *e, holder, budget, bytes_left, taken_any, out);
    any = any || out.acquired.size() > before || out.code != error::none;
  }
  if (n > 0) s->next = (s->next + 1) % n;
  return any;
}

void share_manager::impl::arm(parked_fetch& f) {
  if (f.armed) return;
  share_session* s = sessions.find(f.req.group_id, f.req.member_id);
  if (s == nullptr) return;
  const auto& c = conf(f.req.group_id);
  if (c.read_committed) return;
  adapter::fetch_request fr;
  for (const auto& [topic, partition] : s->partitions) {
    auto it = parts.find({f.req.group_id, topic, partition});
    if (it == parts.end() || it->second.topic.empty()) continue;
    const auto& sp = it->second.part;
    if (sp.next_acquirable(mono_ms(now()), c.limits) != sp.end_offset()) continue;
    fr.partitions.push_back({it->second.topic, partition, sp.end_offset(), 1, -1});
  }
  if (fr.partitions.empty()) return;
  const auto left = std::chrono::duration_cast<milliseconds>(f.deadline - now()).count();
  if (left <= 0) return;
  fr.max_wait_ms = static_cast<int32_t>(left);
  fr.min_bytes = 1;
  f.armed = true;
  io().read(std::move(fr), [this, gate = owner, id = f.id](const std::vector<adapter::fetched_partition>&) {
    gate->post([this, id] {
      for (auto& w : waiting)
        if (w.id == id) w.armed = false;
      wake = true;
    });
  });
}

void share_manager::impl::later_answer(const std::string& group, const std::string& member,
                                       adapter::share_fetch_result res,
                                       std::function<void(adapter::share_fetch_result)> done) {
  later_round([this, group, holder = holder_of(member), res = std::move(res),
               done = std::move(done)](const round_barrier& b) mutable {
    for (auto& p : res.partitions) {
      const sp_key k{group, p.topic_id, p.partition};
      if (p.ack_code == error::none && !b.durable(k)) p.ack_code = error::kafka_storage_error;
      if (b.failed.count(k) != 0 && !p.acquired.empty()) withhold(k, holder, p);
    }
    done(std::move(res));
  });
}

void share_manager::impl::withhold(const sp_key& k, uint32_t holder, adapter::share_fetched_partition& p) {
  std::vector<state_batch> runs;
  runs.reserve(p.acquired.size());
  int64_t records = 0;
  for (const auto& a : p.acquired) {
    runs.push_back({a.first_offset, a.last_offset, record_state::acquired, a.delivery_count});
    records += a.last_offset - a.first_offset + 1;
  }
  auto it = parts.find(k);
  const int32_t n = it == parts.end() ? 0 : it->second.part.unacquire(holder, runs);
  if (n > 0) {
    dirty.insert(k);
    wake = true;
  }
  log::debug(
      "share groups: {} record(s) of {} not handed out: their acquisition could not be persisted ({} taken back)",
      records, share_coordinator_key(k), n);
  p.acquired.clear();
  p.records.clear();
}

void share_manager::impl::retry_parked(bool all) {
  for (auto it = waiting.begin(); it != waiting.end();) {
    const bool ready = all && fill(*it);
    const bool due = it->deadline <= now() || (it->until_ready && !it->state_pending);
    if (ready || due) {
      later_answer(it->req.group_id, it->req.member_id, std::move(it->result), std::move(it->done));
      it = waiting.erase(it);
      continue;
    }
    arm(*it);
    ++it;
  }
}

adapter::share_ack_result share_manager::impl::acknowledge(const adapter::share_ack_request& req) {
  adapter::share_ack_result res;
  res.lock_timeout_ms = static_cast<int32_t>(conf(req.group_id).limits.lock_ms);
  if (req.session_epoch == 0) {
    res.code = adapter::invalid_share_session_epoch;
    res.message = "ShareAcknowledge cannot open a share session (epoch 0)";
    return res;
  }
  if (!sessions.use(req.group_id, req.member_id, req.session_epoch, cfg().share_max_share_sessions, res.code,
                    res.message))
    return res;
  const uint32_t holder = holder_of(req.member_id);
  for (const auto& p : req.partitions) {
    auto [code, why] = apply_acks(req.group_id, holder, p);
    res.partitions.push_back({p.topic_id, p.partition, code, why});
  }
  if (req.session_epoch == -1) close_session(req.group_id, req.member_id);
  return res;
}

}  // namespace mosaic::groups
