#include "kernel/groups/share_manager.h"

#include <algorithm>
#include <chrono>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

#include "kernel/base/bytes.h"
#include "kernel/base/log.h"
#include "kernel/groups/dlq_handlers.h"
#include "kernel/groups/keyed_log.h"
#include "kernel/groups/share_partition.h"
#include "kernel/groups/state.h"
#include "kernel/log/batch_builder.h"
#include "kernel/log/record_batch.h"

namespace mosaic::groups {

namespace {

using adapter::error;
using std::chrono::milliseconds;

constexpr uint8_t value_version = 0;
enum : uint8_t { snapshot_type = 1, update_type = 2, group_type = 3 };
// Dead-letter writes in flight at once; more wait in ARCHIVING.
constexpr size_t max_dead_letter_writes = 256;
// How long a dead letter's write waits for the DLQ topic's in-sync replicas.
constexpr int32_t dead_letter_timeout_ms = 30000;

int64_t mono_ms(clock::time_point t) { return std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count(); }

int64_t wall_ms() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct sp_key {
  std::string group;
  uuid topic{};
  int32_t partition = 0;
  bool operator<(const sp_key& o) const {
    return std::tie(group, topic, partition) < std::tie(o.group, o.topic, o.partition);
  }
};

std::vector<uint8_t> encode_key(uint8_t type, const sp_key& k) {
  std::vector<uint8_t> out;
  byte_writer w(out);
  w.u8(type);
  w.str(k.group);
  if (type != group_type) {
    w.id(k.topic);
    w.i32(k.partition);
  }
  return out;
}

std::vector<uint8_t> encode_state(int64_t start, const std::vector<state_batch>& runs) {
  std::vector<uint8_t> out;
  byte_writer w(out);
  w.u8(value_version);
  w.i64(start);
  w.i32(static_cast<int32_t>(runs.size()));
  for (const auto& r : runs) {
    w.i64(r.first);
    w.i64(r.last);
    w.u8(static_cast<uint8_t>(r.state));
    w.i16(r.delivery_count);
  }
  return out;
}

// Parses ISO-8601 durations of the form PnDTnHnMnS (Kafka's by_duration).
std::optional<int64_t> parse_duration_ms(std::string_view s) {
  if (s.empty() || s[0] != 'P') return std::nullopt;
  int64_t total = 0;
  bool time = false, any = false;
  size_t i = 1;
  while (i < s.size()) {
    if (s[i] == 'T') {
      time = true;
      ++i;
      continue;
    }
    size_t j = i;
    int64_t n = 0;
    while (j < s.size() && s[j] >= '0' && s[j] <= '9' && n < (int64_t{1} << 40)) n = n * 10 + (s[j++] - '0');
    if (j == i || j >= s.size()) return std::nullopt;
    const char unit = s[j];
    if (!time && unit == 'D')
      total += n * 86400000;
    else if (time && unit == 'H')
      total += n * 3600000;
    else if (time && unit == 'M')
      total += n * 60000;
    else if (time && unit == 'S')
      total += n * 1000;
    else
      return std::nullopt;
    any = true;
    i = j + 1;
  }
  if (!any) return std::nullopt;
  return total;
}

// A share group's configs (GROUP resources): their DescribeConfigs type,
// their default (the broker's), and what a value must be.
struct config_field {
  const char* name;
  const char* type;  // int, boolean or string
  std::string (*default_value)(const config::group_settings&);
  // Why `value` is not acceptable (empty: it is).
  std::string (*check)(const config::group_settings&, const std::string& name, const std::string& value);
};

std::string integer_in(const std::string& name, const std::string& value, int64_t lo, int64_t hi) {
  try {
    size_t used = 0;
    const long long v = std::stoll(value, &used);
    if (used == value.size() && v >= lo && v <= hi) return "";
  } catch (...) {
  }
  return name + " must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi) + ", got '" + value +
         "'";
}

std::string boolean(const config::group_settings&, const std::string& name, const std::string& value) {
  return value == "true" || value == "false" ? "" : name + " must be true or false, got '" + value + "'";
}

const config_field config_fields[] = {
    {"errors.deadletterqueue.copy.record.enable", "boolean",
     [](const config::group_settings&) -> std::string { return "false"; }, boolean},
    {"errors.deadletterqueue.topic.name", "string", [](const config::group_settings&) -> std::string { return ""; },
     [](const config::group_settings& c, const std::string&, const std::string& value) -> std::string {
       if (value.empty()) return "";
       if (value.rfind("__", 0) == 0) return "a dead-letter topic name cannot start with '__'";
       if (!c.dlq_topic_prefix.empty() && value.rfind(c.dlq_topic_prefix, 0) != 0)
         return "the dead-letter topic must start with '" + c.dlq_topic_prefix +
                "' (errors.deadletterqueue.topic.name.prefix)";
       return "";
     }},
    {"share.auto.offset.reset", "string", [](const config::group_settings&) -> std::string { return "latest"; },
     [](const config::group_settings&, const std::string&, const std::string& value) -> std::string {
       if (value == "latest" || value == "earliest") return "";
       if (value.rfind("by_duration:", 0) == 0 && parse_duration_ms(std::string_view(value).substr(12))) return "";
       return "share.auto.offset.reset must be latest, earliest or by_duration:<ISO-8601 duration>, got '" + value +
              "'";
     }},
    {"share.delivery.count.limit", "int",
     [](const config::group_settings& c) { return std::to_string(c.share_delivery_count_limit); },
     [](const config::group_settings& c, const std::string& name, const std::string& value) {
       return integer_in(name, value, c.share_min_delivery_count_limit, c.share_max_delivery_count_limit);
     }},
    {"share.heartbeat.interval.ms", "int",
     [](const config::group_settings& c) { return std::to_string(c.share_heartbeat_interval_ms); },
     [](const config::group_settings&, const std::string& name, const std::string& value) {
       return integer_in(name, value, 100, 3600000);
     }},
    {"share.isolation.level", "string", [](const config::group_settings&) -> std::string { return "read_uncommitted"; },
     [](const config::group_settings&, const std::string&, const std::string& value) -> std::string {
       return value == "read_committed" || value == "read_uncommitted"
                  ? ""
                  : "share.isolation.level must be read_committed or read_uncommitted, got '" + value + "'";
     }},
    {"share.partition.max.record.locks", "int",
     [](const config::group_settings& c) { return std::to_string(c.share_partition_max_record_locks); },
     [](const config::group_settings& c, const std::string& name, const std::string& value) {
       return integer_in(name, value, c.share_min_partition_max_record_locks, c.share_max_partition_max_record_locks);
     }},
    {"share.record.lock.duration.ms", "int",
     [](const config::group_settings& c) { return std::to_string(c.share_record_lock_duration_ms); },
     [](const config::group_settings& c, const std::string& name, const std::string& value) {
       return integer_in(name, value, c.share_min_record_lock_duration_ms, c.share_max_record_lock_duration_ms);
     }},
    {"share.renew.acknowledge.enable", "boolean", [](const config::group_settings&) -> std::string { return "true"; },
     boolean},
    {"share.session.timeout.ms", "int",
     [](const config::group_settings& c) { return std::to_string(c.share_session_timeout_ms); },
     [](const config::group_settings&, const std::string& name, const std::string& value) {
       return integer_in(name, value, 1000, 3600000);
     }},
};

const config_field* find_config_field(const std::string& name) {
  for (const auto& f : config_fields)
    if (name == f.name) return &f;
  return nullptr;
}

struct s_member {
  std::string id;
  std::optional<std::string> rack;
  adapter::client_identity client;
  int32_t epoch = 0;
  std::vector<std::string> topics;
  partition_set assigned;
  clock::time_point deadline{};
  uint32_t holder = 0;
};

struct s_group {
  std::string id;
  int32_t epoch = 0;
  int32_t assignment_epoch = 0;
  std::string assignor;
  std::map<std::string, std::string> configs;
  std::map<std::string, s_member> members;
  std::map<std::string, partition_set> target;
  std::map<uuid, int32_t> topics_seen;
};

struct sp_entry {
  share_partition part;
  std::string topic;
  int32_t updates = 0;
};

struct session {
  int32_t epoch = 0;
  std::vector<std::pair<uuid, int32_t>> partitions;
  size_t next = 0;  // where the next fetch starts (fairness across partitions)
  // Set when the member left the group while the session was open: a
  // closing consumer sends its last acknowledgements and its leave at the
  // same moment, so the session (and the records it holds) waits for the
  // final-epoch request until then, acquiring nothing more.
  std::optional<clock::time_point> closing_by;
};

// How long a session outlives its member's leave, waiting for the final
// acknowledgements.
constexpr milliseconds leaving_session_grace{5000};

// A ShareFetch waiting for records (MaxWaitMs).
struct parked {
  uint64_t id = 0;
  adapter::share_fetch_request req;
  adapter::share_fetch_result result;  // acknowledgement outcomes so far
  std::function<void(adapter::share_fetch_result)> done;
  clock::time_point deadline{};
  bool armed = false;  // a broker fetch waits for new data on its behalf
};

}  // namespace

struct share_manager::impl {
  impl(std::shared_ptr<gate> g, log::partition_log* l, const plugin::assignor_set* a, options op)
      : owner(std::move(g)), slog(l, "share-state log"), assignors(a), opts(std::move(op)) {}

  std::shared_ptr<gate> owner;
  keyed_log slog;
  const plugin::assignor_set* assignors;
  options opts;
  kafka_share_policy kafka_policy;
  std::map<std::string, s_group> groups;
  std::map<sp_key, sp_entry> parts;
  std::set<sp_key> dirty;
  std::map<std::pair<std::string, std::string>, session> sessions;  // by group, member
  std::map<std::string, uint32_t> holders;                          // member id -> holder number
  uint32_t next_holder = 1;
  std::list<parked> waiting;
  uint64_t next_parked = 1;
  bool wake = false;  // something may have become acquirable
  size_t dead_letters_in_flight = 0;
  std::vector<std::function<void(bool durable)>> after_flush;
  clock::time_point now;

  const config::group_settings& cfg() const { return opts.settings; }
  adapter::broker& broker() const { return *opts.broker; }
  void later(std::function<void(bool)> f) { after_flush.push_back(std::move(f)); }

  // The policy generation of this round, taken as it begins: a swap never
  // splits a round between two policies.
  std::shared_ptr<const share_policy> policy_ref;
  const share_policy& policy() const { return policy_ref ? *policy_ref : kafka_policy; }
  void begin_round(clock::time_point t) {
    now = t;
    policy_ref = opts.policy ? opts.policy() : nullptr;
  }

  // Claims a group id for a share group; false if the group coordinator's.
  bool claim(const std::string& id) { return opts.kinds == nullptr || opts.kinds->claim(id, group_kinds::kind::share); }

  // The share group `id`, made if it does not exist; null if the id is a
  // consumer or classic group's.
  s_group* get_or_create(const std::string& id) {
    auto it = groups.find(id);
    if (it != groups.end()) return &it->second;
    if (!claim(id)) return nullptr;
    auto& g = groups[id];
    g.id = id;
    return &g;
  }

  uint32_t holder_of(const std::string& member) {
    auto [it, fresh] = holders.emplace(member, next_holder);
    if (fresh) ++next_holder;
    return it->second;
  }

  // ---- group configs ----

  std::string config(const s_group* g, const std::string& name) const {
    if (g) {
      auto it = g->configs.find(name);
      if (it != g->configs.end()) return it->second;
    }
    const auto* f = find_config_field(name);
    return f ? f->default_value(cfg()) : "";
  }

  int64_t int_config(const s_group* g, const std::string& name) const {
    try {
      return std::stoll(config(g, name));
    } catch (...) {
      return std::stoll(find_config_field(name)->default_value(cfg()));
    }
  }

  share_limits limits(const s_group* g) const {
    share_limits l;
    l.delivery_limit = static_cast<int32_t>(int_config(g, "share.delivery.count.limit"));
    l.lock_ms = int_config(g, "share.record.lock.duration.ms");
    l.max_in_flight = static_cast<int32_t>(int_config(g, "share.partition.max.record.locks"));
    l.renew_enabled = config(g, "share.renew.acknowledge.enable") == "true";
    l.dead_letter_topic = !config(g, "errors.deadletterqueue.topic.name").empty();
    return l;
  }

  const s_group* find_group(const std::string& id) const {
    auto it = groups.find(id);
    return it == groups.end() ? nullptr : &it->second;
  }

  // ---- persistence ----

  void put_group(const s_group& g) {
    std::vector<uint8_t> v;
    byte_writer w(v);
    w.u8(value_version);
    w.i32(g.epoch);
    w.i32(static_cast<int32_t>(g.configs.size()));
    for (const auto& [k, val] : g.configs) {
      w.str(k);
      w.str(val);
    }
    slog.put(encode_key(group_type, {g.id, {}, 0}), std::move(v));
  }

  void put_snapshot(const sp_key& k, sp_entry& e) {
    (void)e.part.take_changes();
    slog.put(encode_key(update_type, k), std::nullopt);
    slog.put(encode_key(snapshot_type, k), encode_state(e.part.start_offset(), e.part.snapshot()));
    e.updates = 0;
  }

  void write_changes() {
    for (const auto& k : dirty) {
      auto it = parts.find(k);
      if (it == parts.end() || !it->second.part.has_changes()) continue;
      auto& e = it->second;
      if (++e.updates >= opts.updates_per_snapshot) {
        put_snapshot(k, e);
      } else {
        auto runs = e.part.take_changes();
        slog.put(encode_key(update_type, k), encode_state(e.part.start_offset(), runs));
      }
    }
    dirty.clear();
  }

  // Forgets a share-partition's state, in the log too; returns the next entry.
  std::map<sp_key, sp_entry>::iterator erase_state(std::map<sp_key, sp_entry>::iterator it) {
    slog.put(encode_key(update_type, it->first), std::nullopt);
    slog.put(encode_key(snapshot_type, it->first), std::nullopt);
    dirty.erase(it->first);
    return parts.erase(it);
  }

  void write_all() {
    for (const auto& [id, g] : groups) put_group(g);
    for (auto& [k, e] : parts) put_snapshot(k, e);
  }

  void apply_record(std::span<const uint8_t> key, const std::optional<std::span<const uint8_t>>& value) {
    byte_reader kr(key);
    const uint8_t type = kr.u8();
    sp_key k;
    k.group = kr.str();
    if (type == group_type) {
      if (!value) {
        groups.erase(k.group);
        return;
      }
      byte_reader r(*value);
      if (r.u8() != value_version) throw truncated_input{};
      auto& g = groups[k.group];
      g.id = k.group;
      g.epoch = r.i32();
      g.configs.clear();
      for (size_t n = r.count(8); n > 0; --n) {
        std::string name = r.str();
        g.configs[name] = r.str();
      }
      return;
    }
    if (type != snapshot_type && type != update_type) throw truncated_input{};
    k.topic = kr.id();
    k.partition = kr.i32();
    if (!value) {
      if (type == snapshot_type) parts.erase(k);
      return;
    }
    byte_reader r(*value);
    if (r.u8() != value_version) throw truncated_input{};
    const int64_t start = r.i64();
    std::vector<state_batch> runs;
    for (size_t n = r.count(19); n > 0; --n) {
      state_batch b;
      b.first = r.i64();
      b.last = r.i64();
      const uint8_t st = r.u8();
      if (st > static_cast<uint8_t>(record_state::archived) || b.last < b.first) throw truncated_input{};
      b.state = static_cast<record_state>(st);
      b.delivery_count = r.i16();
      runs.push_back(b);
    }
    if (type == snapshot_type) {
      auto& e = parts[k];
      e.part = share_partition(start);
      e.part.restore(start, runs);
      e.updates = 0;
    } else {
      auto it = parts.find(k);
      if (it == parts.end()) return;  // an update of deleted state
      it->second.part.restore(start, runs);
      ++it->second.updates;
    }
  }

  // ---- share-partitions ----

  // The share-partition of `k`, initialised from share.auto.offset.reset
  // if it has no state yet; null with `code` set if the partition does not
  // exist.
  sp_entry* share_state(const sp_key& k, error& code) {
    auto it = parts.find(k);
    if (it != parts.end()) return &it->second;
    auto t = broker().find_topic(k.topic);
    if (!t) {
      code = error::unknown_topic_id;
      return nullptr;
    }
    if (k.partition < 0 || k.partition >= static_cast<int32_t>(t->partitions.size())) {
      code = error::unknown_topic_or_partition;
      return nullptr;
    }
    const std::string reset = config(find_group(k.group), "share.auto.offset.reset");
    int64_t ts = adapter::latest_timestamp;
    if (reset == "earliest") ts = adapter::earliest_timestamp;
    if (reset.rfind("by_duration:", 0) == 0) ts = wall_ms() - parse_duration_ms(reset.substr(12)).value_or(0);
    auto found = broker().list_offset(t->name, k.partition, ts);
    if (found.code != error::none) {
      code = found.code;
      return nullptr;
    }
    int64_t start = found.offset;
    if (start < 0) start = broker().list_offset(t->name, k.partition, adapter::latest_timestamp).offset;
    auto& e = parts[k];
    e.part = share_partition(std::max<int64_t>(start, 0));
    e.topic = t->name;
    put_snapshot(k, e);
    return &e;
  }

  // Acquires records of one share-partition for `holder` into `out`.
  // Reads a partition from `offset` without waiting (whole batches,
  // copied); nothing if the broker answered nothing.
  std::optional<adapter::fetched_partition> read_now(const std::string& topic, int32_t partition, int64_t offset,
                                                     int32_t max_bytes) {
    adapter::fetch_request fr;
    fr.partitions.push_back({topic, partition, offset, max_bytes, -1});
    fr.max_wait_ms = 0;
    fr.min_bytes = 0;
    std::optional<adapter::fetched_partition> got;
    broker().fetch(std::move(fr), [&](std::vector<adapter::fetched_partition> r) {
      if (!r.empty()) got = std::move(r.front());
    });
    return got;
  }

  // Acquisition is record by record, so MaxRecords holds exactly in both
  // acquire modes (batch_optimized may exceed it in Kafka; here it need
  // not, and workers sharing a partition get even shares).
  void acquire_from(const sp_key& k, sp_entry& e, uint32_t holder, int32_t& budget, size_t& bytes_left, bool& taken_any,
                    adapter::share_fetched_partition& out) {
    const s_group* g = find_group(k.group);
    const auto lim = limits(g);
    const bool committed_only = config(g, "share.isolation.level") == "read_committed";
    const int64_t now_ms = mono_ms(now);
    for (int round = 0; round < 4 && budget > 0 && bytes_left > 0; ++round) {
      const int64_t from = e.part.next_acquirable(now_ms, lim);
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
      const int64_t limit = committed_only ? f.last_stable_offset : f.high_watermark;
      int32_t taken = 0;
      log::for_each_batch(f.records, [&](const log::batch_view& b) {
        if (b.base_offset() >= limit || budget <= 0) return false;
        if (b.last_offset() < from) return true;
        if (taken_any && b.size() > bytes_left) return false;  // waits for the next fetch
        std::vector<state_batch> runs;
        const int32_t n = e.part.acquire(b.base_offset(), std::min(b.last_offset(), limit - 1), b.is_control(), holder,
                                         now_ms, lim, budget, /*whole_batch=*/false, runs);
        if (b.is_control()) dirty.insert(k);
        if (n > 0) {
          taken += n;
          for (const auto& r : runs) out.acquired.push_back({r.first, r.last, r.delivery_count});
          out.records.insert(out.records.end(), b.bytes.begin(), b.bytes.end());
          taken_any = true;
          bytes_left = b.size() >= bytes_left ? 0 : bytes_left - b.size();
        }
        return bytes_left > 0;
      });
      if (taken == 0) return;
    }
  }

  // ---- dead letters (KIP-1191) ----

  // Hands records that entered ARCHIVING to the DLQ handler plugin. Never
  // blocks: a handler that is full, or a write that fails, leaves the
  // record ARCHIVING, and it is offered again a second later.
  void send_dead_letters(const sp_key& k, sp_entry& e, const std::vector<dead_letter>& letters) {
    const s_group* g = find_group(k.group);
    const std::string dlq = config(g, "errors.deadletterqueue.topic.name");
    const bool copy = config(g, "errors.deadletterqueue.copy.record.enable") == "true";
    for (const auto& d : letters) {
      // Never loop a dead-letter topic into itself.
      if (dlq.empty() || dlq == e.topic) {
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
      r.dlq_topic = dlq;
      r.partition = k.partition;
      r.offset = d.offset;
      r.delivery_count = d.delivery_count;
      r.cause = d.cause;
      r.copy_record = copy;
      if (copy) r.has_record = copy_record(e.topic, k.partition, d.offset, r);
      ++dead_letters_in_flight;
      const auto taken = opts.dlq->enqueue(
          r, writer.get(), [this, gate = owner, k, offset = d.offset](bool ok, const std::string& why) {
            gate->post([this, k, offset, ok, why] { dead_letter_written(k, offset, ok, why); });
          });
      if (taken != dlq_handler_slot::outcome::taken) {
        --dead_letters_in_flight;
        retry_dead_letters = true;
      }
    }
  }

  bool retry_dead_letters = false;
  clock::time_point next_dead_letter_retry{};

  void dead_letter_written(const sp_key& k, int64_t offset, bool ok, const std::string& why) {
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

  // Copies the key, value and timestamp of the record at `offset` into `r`;
  // false if its batch is compressed or it cannot be read (headers only).
  bool copy_record(const std::string& topic, int32_t partition, int64_t offset, dead_letter_record& r) {
    auto got = read_now(topic, partition, offset, 1 << 20);
    if (!got || got->code != error::none) return false;
    bool found = false;
    log::for_each_batch(got->records, [&](const log::batch_view& b) {
      if (b.last_offset() < offset) return true;
      if (b.base_offset() > offset || b.codec() != 0) return false;
      log::for_each_record(b, [&](const log::record_view& rec) {
        if (b.base_offset() + rec.offset_delta != offset) return;
        if (rec.key) r.key.emplace(rec.key->begin(), rec.key->end());
        if (rec.value) r.value.emplace(rec.value->begin(), rec.value->end());
        r.timestamp = b.log_append_time() ? b.max_timestamp() : b.base_timestamp() + rec.timestamp_delta;
        found = true;
      });
      return false;
    });
    return found;
  }

  // What handlers write through: the broker's produce path, with acks=all.
  // Called from any thread: touches the broker and the settings only.
  class produce_writer final : public dead_letter_writer {
   public:
    produce_writer(adapter::broker* b, const config::group_settings* s) : broker_(b), settings_(s) {}
    void write(const std::string& topic, int32_t partition, int32_t source_partition,
               std::optional<std::vector<uint8_t>> key, std::optional<std::vector<uint8_t>> value, int64_t timestamp,
               std::vector<header_value> headers, std::function<void(mosaic_status_t, std::string)> done) override {
      auto t = broker_->find_topic(topic);
      if (!t && settings_->dlq_auto_create_topics) {
        adapter::new_topic nt;
        nt.name = topic;
        nt.partitions = 1;
        adapter::topic_info created;
        auto made = broker_->create_topic(nt, false, &created);
        if (made.ok() || made.code == error::topic_already_exists) t = broker_->find_topic(topic);
      }
      if (!t || t->partitions.empty())
        return done(MOSAIC_ERR_INVALID_ARGUMENT, "topic '" + topic +
                                                     "' does not exist (errors.deadletterqueue.auto.create.topics."
                                                     "enable is off)");
      const auto count = static_cast<int32_t>(t->partitions.size());
      const int32_t target = partition >= 0 ? partition % count : source_partition % count;
      std::vector<log::record_header> hs;
      hs.reserve(headers.size());
      for (const auto& h : headers)
        hs.push_back({h.key, h.value ? std::optional<std::string_view>(std::string_view(
                                           reinterpret_cast<const char*>(h.value->data()), h.value->size()))
                                     : std::nullopt});
      auto as_view = [](const std::optional<std::vector<uint8_t>>& b) -> std::optional<std::string_view> {
        if (!b) return std::nullopt;
        return std::string_view(reinterpret_cast<const char*>(b->data()), b->size());
      };
      log::batch_builder builder;
      builder.add(as_view(key), as_view(value), timestamp >= 0 ? timestamp : wall_ms(), hs);
      auto bytes = std::make_shared<std::vector<uint8_t>>(builder.finish());
      broker_->produce(
          topic, target, *bytes, -1, dead_letter_timeout_ms, bytes, [done](const adapter::produce_result& r) {
            if (r.code == error::none) return done(MOSAIC_OK, "");
            done(MOSAIC_ERR_INTERNAL,
                 "the append failed with " + adapter::error_name(r.code) + (r.message.empty() ? "" : ": " + r.message));
          });
    }

   private:
    adapter::broker* broker_;
    const config::group_settings* settings_;
  };
  std::unique_ptr<produce_writer> writer = std::make_unique<produce_writer>(opts.broker, &opts.settings);

  void collect_dead_letters(const sp_key& k, sp_entry& e) {
    auto letters = e.part.take_dead_letters();
    if (!letters.empty()) send_dead_letters(k, e, letters);
  }

  // ---- membership ----

  std::vector<adapter::topic_info> subscribed_topics(const s_group& g) const {
    std::set<std::string> names;
    for (const auto& [id, m] : g.members) names.insert(m.topics.begin(), m.topics.end());
    std::vector<adapter::topic_info> out;
    for (const auto& n : names)
      if (auto t = broker().find_topic(n)) out.push_back(std::move(*t));
    return out;
  }

  // Recomputes the group's target assignment if its members or their
  // topics changed since the last one.
  void update_target(s_group& g, bool force) {
    auto topics = subscribed_topics(g);
    std::map<uuid, int32_t> seen;
    for (const auto& t : topics) seen[t.id] = static_cast<int32_t>(t.partitions.size());
    if (!force && seen == g.topics_seen) return;
    if (seen != g.topics_seen) force = true;
    g.topics_seen = seen;
    sdk::assignor_input in;
    in.group_id = g.id;
    std::map<uuid, size_t> index;
    for (const auto& t : topics) {
      index[t.id] = in.topics.size();
      in.topics.push_back({t.id, t.name, static_cast<int32_t>(t.partitions.size())});
    }
    std::map<std::string, size_t> by_name;
    for (size_t i = 0; i < in.topics.size(); ++i) by_name[in.topics[i].name] = i;
    for (const auto& [id, m] : g.members) {
      sdk::assignor_input::member im;
      im.id = id;
      im.rack = m.rack;
      for (const auto& n : m.topics)
        if (auto f = by_name.find(n); f != by_name.end()) im.topics.push_back(f->second);
      std::sort(im.topics.begin(), im.topics.end());
      im.topics.erase(std::unique(im.topics.begin(), im.topics.end()), im.topics.end());
      if (auto t = g.target.find(id); t != g.target.end())
        for (const auto& [tid, ps] : t->second)
          if (auto f = index.find(tid); f != index.end()) im.current[f->second].assign(ps.begin(), ps.end());
      in.members.push_back(std::move(im));
    }
    const std::string name = cfg().share_assignors.front();
    auto out = assignors->run(name, in, nullptr, /*shared=*/true);
    if (!out || !out->ok()) {
      log::error("share group {}: assignor '{}' failed, keeping the previous assignment: {}", g.id, name,
                 out ? out->message : out.error().message());
      return;
    }
    g.assignor = name;
    std::map<std::string, partition_set> target;
    for (size_t i = 0; i < in.members.size(); ++i) {
      auto& set = target[in.members[i].id];
      for (const auto& [ti, ps] : out->members[i]) {
        auto& dst = set[in.topics[ti].id];
        dst.insert(ps.begin(), ps.end());
        // A partition becomes assignable once its share state exists.
        for (int32_t p : ps) {
          error code = error::none;
          (void)share_state({g.id, in.topics[ti].id, p}, code);
        }
      }
    }
    if (target != g.target || force) {
      g.target = std::move(target);
      ++g.epoch;
      g.assignment_epoch = g.epoch;
      put_group(g);
    }
  }

  // `leaving`: the member said so (a leave heartbeat); its open session
  // stays a moment for the final acknowledgements. Otherwise (expired,
  // removed) what it holds is released now.
  void remove_member(s_group& g, const std::string& member, bool leaving = false) {
    auto it = g.members.find(member);
    if (it == g.members.end()) return;
    auto sit = sessions.find({g.id, member});
    if (leaving && sit != sessions.end()) {
      sit->second.closing_by = now + leaving_session_grace;
    } else {
      release_member(g.id, it->second.holder);
      if (sit != sessions.end()) sessions.erase(sit);
    }
    g.members.erase(it);
    g.target.erase(member);
    update_target(g, true);
  }

  // Gives up every record `holder` holds in the group's share-partitions.
  void release_member(const std::string& group, uint32_t holder) {
    const auto lim = limits(find_group(group));
    const auto& pol = policy();
    for (auto it = parts.lower_bound({group, {}, INT32_MIN}); it != parts.end() && it->first.group == group; ++it) {
      if (it->second.part.release_holder(holder, mono_ms(now), lim, pol) > 0) {
        dirty.insert(it->first);
        collect_dead_letters(it->first, it->second);
        wake = true;
      }
    }
  }

  adapter::share_heartbeat_result heartbeat(const adapter::share_heartbeat_request& req) {
    adapter::share_heartbeat_result r;
    r.member_id = req.member_id;
    if (req.group_id.empty()) {
      r.code = error::invalid_group_id;
      r.message = "the group id is empty";
      return r;
    }
    if (req.member_id.empty()) {
      r.code = error::invalid_request;
      r.message = "MemberId can't be empty";
      return r;
    }
    auto git = groups.find(req.group_id);
    if (req.member_epoch == -1) {
      if (git != groups.end()) remove_member(git->second, req.member_id, /*leaving=*/true);
      r.member_epoch = -1;
      return r;
    }
    if (req.member_epoch == 0) {
      if (!req.subscribed_topic_names || req.subscribed_topic_names->empty()) {
        r.code = error::invalid_request;
        r.message = "SubscribedTopicNames must be set and not empty when joining";
        return r;
      }
      if (git == groups.end()) {
        if (!get_or_create(req.group_id)) {
          r.code = error::group_id_not_found;
          r.message = "group " + req.group_id + " is not a share group";
          return r;
        }
        git = groups.find(req.group_id);
      }
      auto& g = git->second;
      if (!g.members.count(req.member_id) && static_cast<int64_t>(g.members.size()) >= cfg().share_max_size) {
        r.code = error::group_max_size_reached;
        r.message = "the share group has " + std::to_string(g.members.size()) + " members (group.share.max.size)";
        return r;
      }
      auto& m = g.members[req.member_id];
      m.id = req.member_id;
      m.holder = holder_of(req.member_id);
      m.epoch = 0;
    } else if (git == groups.end() || !git->second.members.count(req.member_id)) {
      r.code = error::unknown_member_id;
      r.message = "member " + req.member_id + " is not in share group " + req.group_id;
      return r;
    }
    auto& g = git->second;
    auto& m = g.members[req.member_id];
    if (req.member_epoch > 0 && req.member_epoch != m.epoch) {
      r.code = error::fenced_member_epoch;
      r.message =
          "member epoch " + std::to_string(req.member_epoch) + " is not the member's " + std::to_string(m.epoch);
      return r;
    }
    m.rack = req.rack;
    m.client = req.client;
    m.deadline = now + milliseconds(int_config(&g, "share.session.timeout.ms"));
    bool changed = req.member_epoch == 0;
    if (req.subscribed_topic_names && *req.subscribed_topic_names != m.topics) {
      m.topics = *req.subscribed_topic_names;
      changed = true;
    }
    update_target(g, changed);
    const auto& target = g.target[m.id];
    if (m.epoch != g.epoch || req.member_epoch == 0) {
      const bool differs = target != m.assigned || req.member_epoch == 0;
      m.assigned = target;
      m.epoch = g.epoch;
      if (differs) r.assignment = to_list(m.assigned);
    }
    r.member_epoch = m.epoch;
    r.heartbeat_interval_ms = static_cast<int32_t>(int_config(&g, "share.heartbeat.interval.ms"));
    return r;
  }

  // ---- acknowledgements and fetches ----

  // Applies one partition's acknowledgements; the outcome is the partition's
  // acknowledgement error.
  std::pair<error, std::string> apply_acks(const std::string& group, uint32_t holder,
                                           const adapter::share_partition_acks& a) {
    if (a.batches.empty()) return {error::none, ""};
    // A topic deleted meanwhile: its records are gone, whatever state
    // lingers until forget_deleted_topics().
    if (!broker().find_topic(a.topic_id)) return {error::unknown_topic_id, "the topic no longer exists"};
    sp_key k{group, a.topic_id, a.partition};
    auto it = parts.find(k);
    if (it == parts.end()) return {adapter::invalid_record_state, "the share-partition has no records in flight"};
    std::vector<ack_batch> batches;
    batches.reserve(a.batches.size());
    for (const auto& b : a.batches) batches.push_back({b.first_offset, b.last_offset, b.types});
    std::string why;
    const auto lim = limits(find_group(group));
    if (!it->second.part.acknowledge(holder, batches, mono_ms(now), lim, policy(), why))
      return {adapter::invalid_record_state, why};
    dirty.insert(k);
    collect_dead_letters(k, it->second);
    wake = true;
    return {error::none, ""};
  }

  // Checks and advances the member's share session for a request with
  // `epoch`; fills `code`/`message` on failure. Returns the session, or
  // null (closed or failed).
  session* use_session(const std::string& group, const std::string& member, int32_t epoch, error& code,
                       std::string& message) {
    const auto key = std::make_pair(group, member);
    auto it = sessions.find(key);
    if (epoch == 0) {
      if (it == sessions.end() && static_cast<int64_t>(sessions.size()) >= cfg().share_max_share_sessions) {
        code = adapter::share_session_limit_reached;
        message = "this broker has " + std::to_string(sessions.size()) + " share sessions open";
        return nullptr;
      }
      auto& s = sessions[key];
      s = session{};
      return &s;
    }
    if (it == sessions.end()) {
      code = adapter::share_session_not_found;
      message = "no share session for member " + member;
      return nullptr;
    }
    if (epoch == -1) return &it->second;
    const int32_t expected = it->second.epoch == INT32_MAX ? 1 : it->second.epoch + 1;
    if (epoch != expected) {
      code = adapter::invalid_share_session_epoch;
      message = "share session epoch " + std::to_string(epoch) + ", expected " + std::to_string(expected);
      return nullptr;
    }
    it->second.epoch = epoch;
    return &it->second;
  }

  void close_session(const std::string& group, const std::string& member) {
    auto it = sessions.find({group, member});
    if (it == sessions.end()) return;
    sessions.erase(it);
    release_member(group, holder_of(member));
  }

  void start_fetch(adapter::share_fetch_request req, std::function<void(adapter::share_fetch_result)> done) {
    adapter::share_fetch_result res;
    const s_group* g0 = find_group(req.group_id);
    res.lock_timeout_ms = static_cast<int32_t>(int_config(g0, "share.record.lock.duration.ms"));
    session* s = use_session(req.group_id, req.member_id, req.session_epoch, res.code, res.message);
    if (!s) return later_answer(std::move(res), std::move(done));
    const uint32_t holder = holder_of(req.member_id);
    // Session membership: the request's partitions join, forgotten ones leave.
    for (const auto& f : req.forgotten)
      for (int32_t p : f.partitions) std::erase(s->partitions, std::make_pair(f.topic_id, p));
    for (const auto& p : req.partitions) {
      const auto tp = std::make_pair(p.topic_id, p.partition);
      if (std::find(s->partitions.begin(), s->partitions.end(), tp) == s->partitions.end()) s->partitions.push_back(tp);
    }
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
      return later_answer(std::move(res), std::move(done));
    }
    parked f;
    f.id = next_parked++;
    f.req = std::move(req);
    f.result = std::move(res);
    f.done = std::move(done);
    f.deadline = now + milliseconds(std::max(0, f.req.max_wait_ms));
    if (fill(f) || f.req.renew || f.req.max_wait_ms <= 0 || f.result.code != error::none) {
      return later_answer(std::move(f.result), std::move(f.done));
    }
    waiting.push_back(std::move(f));
    arm(waiting.back());
  }

  adapter::share_fetched_partition& slot_for(adapter::share_fetch_result& res, const uuid& topic, int32_t partition) {
    for (auto& p : res.partitions)
      if (p.topic_id == topic && p.partition == partition) return p;
    auto& p = res.partitions.emplace_back();
    p.topic_id = topic;
    p.partition = partition;
    return p;
  }

  // Acquires records for a fetch across its session's partitions. True if
  // any were acquired (or the fetch failed): then it is answered.
  bool fill(parked& f) {
    auto sit = sessions.find({f.req.group_id, f.req.member_id});
    if (sit == sessions.end()) {
      f.result.code = adapter::share_session_not_found;
      return true;
    }
    if (f.req.renew) return true;           // a renewal fetches nothing (KIP-1222)
    if (f.req.max_bytes <= 0) return true;  // acknowledgements only
    auto& s = sit->second;
    if (s.closing_by) return true;  // the member left: nothing more is acquired
    const uint32_t holder = holder_of(f.req.member_id);
    int32_t budget = f.req.max_records > 0 ? f.req.max_records : 500;
    size_t bytes_left = static_cast<size_t>(f.req.max_bytes);
    bool any = false;
    bool taken_any = false;  // KIP-74: only the response's first batch may exceed max_bytes
    const size_t n = s.partitions.size();
    for (size_t i = 0; i < n && budget > 0 && bytes_left > 0; ++i) {
      const auto& [topic, partition] = s.partitions[(s.next + i) % n];
      sp_key k{f.req.group_id, topic, partition};
      error code = error::none;
      sp_entry* e = share_state(k, code);
      auto& out = slot_for(f.result, topic, partition);
      if (!e) {
        out.code = code;
        any = true;
        continue;
      }
      const size_t before = out.acquired.size();
      acquire_from(k, *e, holder, budget, bytes_left, taken_any, out);
      any = any || out.acquired.size() > before || out.code != error::none;
    }
    if (n > 0) s.next = (s.next + 1) % n;
    return any;
  }

  // Asks the broker to tell us when a parked fetch's partitions get new
  // records (a long-polling broker fetch from each share-partition's end).
  // Only partitions that wait for new records: one whose in-flight bound is
  // reached, or that reads committed records only (the broker's fetch
  // counts up to the high watermark), would wake it at once and for
  // nothing; those are retried on the timer tick instead.
  void arm(parked& f) {
    if (f.armed) return;
    auto sit = sessions.find({f.req.group_id, f.req.member_id});
    if (sit == sessions.end()) return;
    const s_group* g = find_group(f.req.group_id);
    if (config(g, "share.isolation.level") == "read_committed") return;
    const auto lim = limits(g);
    adapter::fetch_request fr;
    for (const auto& [topic, partition] : sit->second.partitions) {
      auto it = parts.find({f.req.group_id, topic, partition});
      if (it == parts.end() || it->second.topic.empty()) continue;
      const auto& sp = it->second.part;
      if (sp.next_acquirable(mono_ms(now), lim) != sp.end_offset()) continue;
      fr.partitions.push_back({it->second.topic, partition, sp.end_offset(), 1, -1});
    }
    if (fr.partitions.empty()) return;
    const auto left = std::chrono::duration_cast<milliseconds>(f.deadline - now).count();
    if (left <= 0) return;
    fr.max_wait_ms = static_cast<int32_t>(left);
    fr.min_bytes = 1;
    f.armed = true;
    broker().fetch(std::move(fr), [this, gate = owner, id = f.id](const std::vector<adapter::fetched_partition>&) {
      gate->post([this, id] {
        for (auto& w : waiting)
          if (w.id == id) w.armed = false;
        wake = true;
      });
    });
  }

  void later_answer(adapter::share_fetch_result res, std::function<void(adapter::share_fetch_result)> done) {
    later([res = std::move(res), done = std::move(done)](bool durable) mutable {
      if (!durable)
        for (auto& p : res.partitions)
          if (p.ack_code == error::none) p.ack_code = error::kafka_storage_error;
      done(std::move(res));
    });
  }

  // Retries parked fetches (something may be acquirable) and answers
  // those whose wait is over.
  void retry_parked(bool all) {
    for (auto it = waiting.begin(); it != waiting.end();) {
      const bool due = it->deadline <= now;
      if ((all && fill(*it)) || due) {
        later_answer(std::move(it->result), std::move(it->done));
        it = waiting.erase(it);
        continue;
      }
      arm(*it);
      ++it;
    }
  }

  adapter::share_ack_result acknowledge(const adapter::share_ack_request& req) {
    adapter::share_ack_result res;
    res.lock_timeout_ms = static_cast<int32_t>(int_config(find_group(req.group_id), "share.record.lock.duration.ms"));
    if (req.session_epoch == 0) {
      res.code = adapter::invalid_share_session_epoch;
      res.message = "ShareAcknowledge cannot open a share session (epoch 0)";
      return res;
    }
    if (!use_session(req.group_id, req.member_id, req.session_epoch, res.code, res.message)) return res;
    const uint32_t holder = holder_of(req.member_id);
    for (const auto& p : req.partitions) {
      auto [code, why] = apply_acks(req.group_id, holder, p);
      res.partitions.push_back({p.topic_id, p.partition, code, why});
    }
    if (req.session_epoch == -1) close_session(req.group_id, req.member_id);
    return res;
  }

  // ---- timers ----

  // Forgets the share state of topics that were deleted (their ids are
  // never reused), now and then: a deleted topic's share-partitions would
  // otherwise stay in the log until their group is deleted.
  void forget_deleted_topics() {
    std::map<uuid, bool> exists;
    for (auto it = parts.begin(); it != parts.end();) {
      auto [e, fresh] = exists.emplace(it->first.topic, false);
      if (fresh) e->second = broker().find_topic(it->first.topic).has_value();
      if (e->second || it->second.part.count().acquired > 0) {
        ++it;
        continue;
      }
      it = erase_state(it);
    }
  }
  int ticks = 0;

  void expire() {
    if (++ticks % 500 == 0) forget_deleted_topics();  // every 10 s at the default tick
    const int64_t now_ms = mono_ms(now);
    if (!waiting.empty()) wake = true;  // parked fetches that no broker fetch watches are retried here
    for (auto& [k, e] : parts) {
      if (e.part.next_deadline() > now_ms) continue;
      const auto lim = limits(find_group(k.group));
      if (e.part.expire(now_ms, lim, policy()) > 0) {
        dirty.insert(k);
        collect_dead_letters(k, e);
      }
      wake = true;  // a lock ended or a redelivery delay passed
    }
    for (auto& [id, g] : groups) {
      std::vector<std::string> gone;
      for (const auto& [mid, m] : g.members)
        if (m.deadline <= now) gone.push_back(mid);
      for (const auto& mid : gone) {
        log::info("share group {}: member {} sent no heartbeat in time; removed", id, mid);
        remove_member(g, mid);
      }
    }
    std::vector<std::pair<std::string, std::string>> unclosed;  // their member left; no final request came
    for (const auto& [key, s] : sessions)
      if (s.closing_by && *s.closing_by <= now) unclosed.push_back(key);
    for (const auto& [group, member] : unclosed) close_session(group, member);
    if (retry_dead_letters && dead_letters_in_flight == 0 && now >= next_dead_letter_retry) {
      retry_dead_letters = false;
      next_dead_letter_retry = now + std::chrono::seconds(1);
      for (auto& [k, e] : parts) {
        auto pending = e.part.archiving(limits(find_group(k.group)));
        if (!pending.empty()) send_dead_letters(k, e, pending);
      }
    }
  }

  // ---- inspection and admin ----

  std::string group_state(const s_group& g) const { return g.members.empty() ? "Empty" : "Stable"; }

  adapter::share_partition_offsets describe_partition(const sp_key& k, const sp_entry& e) {
    adapter::share_partition_offsets o;
    o.topic = e.topic;
    o.partition = k.partition;
    o.start_offset = e.part.start_offset();
    o.end_offset = e.part.end_offset();
    const auto c = e.part.count();
    o.in_flight = c.in_flight;
    o.available = c.available;
    o.acquired = c.acquired;
    o.acknowledged = c.acknowledged;
    o.archived = c.archived;
    if (!e.topic.empty()) {
      auto hw = broker().list_offset(e.topic, k.partition, adapter::latest_timestamp);
      if (hw.code == error::none)
        o.lag = std::max<int64_t>(0, hw.offset - o.start_offset - c.acknowledged - c.archived);
    }
    return o;
  }

  adapter::share_offsets_result describe_offsets(const adapter::share_offsets_request& req) {
    adapter::share_offsets_result r;
    r.group_id = req.group_id;
    if (!groups.count(req.group_id)) {
      r.code = error::group_id_not_found;
      r.message = "no share group " + req.group_id;
      return r;
    }
    if (!req.topics) {
      forget_deleted_topics();  // a deleted topic is not reported
      for (auto it = parts.lower_bound({req.group_id, {}, INT32_MIN});
           it != parts.end() && it->first.group == req.group_id; ++it)
        r.partitions.push_back(describe_partition(it->first, it->second));
      return r;
    }
    for (const auto& [name, ps] : *req.topics) {
      auto t = broker().find_topic(name);
      for (int32_t p : ps) {
        if (!t) {
          adapter::share_partition_offsets o;
          o.topic = name;
          o.partition = p;
          o.code = error::unknown_topic_or_partition;
          r.partitions.push_back(std::move(o));
          continue;
        }
        sp_key k{req.group_id, t->id, p};
        auto it = parts.find(k);
        if (it == parts.end()) {
          adapter::share_partition_offsets o;  // not initialised: start offset -1
          o.topic = name;
          o.partition = p;
          r.partitions.push_back(std::move(o));
          continue;
        }
        r.partitions.push_back(describe_partition(k, it->second));
      }
    }
    return r;
  }
};

// ---- the thread ----------------------------------------------------------

share_manager::share_manager(log::partition_log* log, const plugin::assignor_set* assignors, options opts)
    : impl_(std::make_unique<impl>(gate_, log, assignors, std::move(opts))) {
  gate_->target = this;
}

result<std::unique_ptr<share_manager>> share_manager::start(log::partition_log* log,
                                                            const plugin::assignor_set* assignors, options opts) {
  if (opts.settings.share_assignors.empty())
    return status(errc::config, "group.share.assignors: needs at least one assignor");
  for (const auto& name : opts.settings.share_assignors)
    if (!assignors->has(name))
      return status(errc::config,
                    "group.share.assignors names '" + name + "', but no loaded assignor plugin has that name");
  std::unique_ptr<share_manager> m(new share_manager(log, assignors, std::move(opts)));
  auto& s = *m->impl_;
  auto n = s.slog.load([&](std::span<const uint8_t> key, const std::optional<std::span<const uint8_t>>& value) {
    s.apply_record(key, value);
  });
  if (!n) return status(n.error().code(), "reading the share-state log: " + n.error().message());
  for (const auto& [id, g] : s.groups) s.claim(id);
  for (auto& [k, e] : s.parts)  // names, for reading the log (a deleted topic's stay empty, and are forgotten)
    if (auto t = s.broker().find_topic(k.topic)) e.topic = t->name;
  size_t archiving = 0;
  for (auto& [k, e] : s.parts) archiving += e.part.archiving(s.limits(s.find_group(k.group))).size();
  if (archiving > 0) s.retry_dead_letters = true;  // resume dead-letter writes cut short
  log::info("share groups: {} group(s), {} share-partition(s) ({} records read)", s.groups.size(), s.parts.size(), *n);
  impl* state = m->impl_.get();
  m->loop_.start(state->opts.tick_ms,
                 {[state](clock::time_point now) { state->begin_round(now); }, [state] { state->expire(); },
                  [state] {
                    state->retry_parked(std::exchange(state->wake, false));
                    state->write_changes();
                    commit_round(
                        state->slog, state->after_flush, [state] { state->write_all(); },
                        "share groups: the share-state log");
                  }});
  return m;
}

share_manager::~share_manager() { stop(); }

void share_manager::stop() {
  {
    std::lock_guard g(gate_->mu);
    gate_->target = nullptr;
  }
  loop_.stop();
}

// ---- the calls: each posts its work to the manager's thread --------------

void share_manager::heartbeat(adapter::share_heartbeat_request req,
                              std::function<void(adapter::share_heartbeat_result)> done) {
  post([this, req = std::move(req), done = std::move(done)]() mutable {
    auto r = impl_->heartbeat(req);
    impl_->later([r = std::move(r), done = std::move(done)](bool) mutable { done(std::move(r)); });
  });
}

void share_manager::describe(std::vector<std::string> group_ids,
                             std::function<void(std::vector<adapter::share_group_description>)> done) {
  post([this, ids = std::move(group_ids), done = std::move(done)] {
    std::vector<adapter::share_group_description> out;
    for (const auto& id : ids) {
      auto& d = out.emplace_back();
      d.group_id = id;
      const auto* g = impl_->find_group(id);
      if (!g) {
        d.code = error::group_id_not_found;
        d.message = "no share group " + id;
        d.state = "Dead";
        continue;
      }
      d.state = impl_->group_state(*g);
      d.epoch = g->epoch;
      d.assignment_epoch = g->assignment_epoch;
      d.assignor = g->assignor.empty() ? impl_->cfg().share_assignors.front() : g->assignor;
      for (const auto& [mid, m] : g->members) {
        auto& dm = d.members.emplace_back();
        dm.member_id = mid;
        dm.rack = m.rack;
        dm.member_epoch = m.epoch;
        dm.client = m.client;
        dm.subscribed_topic_names = m.topics;
        dm.assignment = to_list(m.assigned);
      }
    }
    done(std::move(out));
  });
}

void share_manager::fetch(adapter::share_fetch_request req, std::function<void(adapter::share_fetch_result)> done) {
  post([this, req = std::move(req), done = std::move(done)]() mutable {
    impl_->start_fetch(std::move(req), std::move(done));
  });
}

void share_manager::acknowledge(adapter::share_ack_request req, std::function<void(adapter::share_ack_result)> done) {
  post([this, req = std::move(req), done = std::move(done)]() mutable {
    auto r = impl_->acknowledge(req);
    impl_->later([r = std::move(r), done = std::move(done)](bool durable) mutable {
      if (!durable)
        for (auto& p : r.partitions)
          if (p.code == error::none) p.code = error::kafka_storage_error;
      done(std::move(r));
    });
  });
}

void share_manager::describe_offsets(std::vector<adapter::share_offsets_request> reqs,
                                     std::function<void(std::vector<adapter::share_offsets_result>)> done) {
  post([this, reqs = std::move(reqs), done = std::move(done)] {
    std::vector<adapter::share_offsets_result> out;
    for (const auto& r : reqs) out.push_back(impl_->describe_offsets(r));
    done(std::move(out));
  });
}

void share_manager::alter_offsets(std::string group_id, std::vector<adapter::share_partition_offsets> offsets,
                                  std::function<void(adapter::share_offsets_result)> done) {
  post([this, group_id = std::move(group_id), offsets = std::move(offsets), done = std::move(done)]() mutable {
    adapter::share_offsets_result r;
    r.group_id = group_id;
    auto& s = *impl_;
    auto git = s.groups.find(group_id);
    if (git != s.groups.end() && !git->second.members.empty()) {
      r.code = error::non_empty_group;
      r.message = "share group " + group_id + " has members; offsets can be altered only while it is empty";
      return done(std::move(r));
    }
    if (git == s.groups.end()) {
      s_group* made = s.get_or_create(group_id);
      if (made == nullptr) {
        r.code = error::group_id_not_found;
        r.message = "group " + group_id + " is not a share group";
        return done(std::move(r));
      }
      s.put_group(*made);
    }
    for (auto& o : offsets) {
      auto t = s.broker().find_topic(o.topic);
      if (!t || o.partition < 0 || o.partition >= static_cast<int32_t>(t->partitions.size())) {
        o.code = error::unknown_topic_or_partition;
        r.partitions.push_back(o);
        continue;
      }
      sp_key k{group_id, t->id, o.partition};
      error code = error::none;
      sp_entry* e = s.share_state(k, code);
      if (!e) {
        o.code = code;
        r.partitions.push_back(o);
        continue;
      }
      // A new start throws away every in-flight state: the share-partition
      // restarts there.
      e->part = share_partition(std::max<int64_t>(0, o.start_offset));
      s.put_snapshot(k, *e);
      r.partitions.push_back(o);
    }
    s.later([r = std::move(r), done = std::move(done)](bool durable) mutable {
      if (!durable) r.code = error::kafka_storage_error;
      done(std::move(r));
    });
  });
}

void share_manager::delete_offsets(
    std::string group_id, std::vector<std::string> topics,
    std::function<void(adapter::error, std::vector<std::pair<std::string, adapter::error>>)> done) {
  post([this, group_id = std::move(group_id), topics = std::move(topics), done = std::move(done)]() mutable {
    auto& s = *impl_;
    auto git = s.groups.find(group_id);
    if (git == s.groups.end()) return done(error::group_id_not_found, {});
    if (!git->second.members.empty()) return done(error::non_empty_group, {});
    std::vector<std::pair<std::string, error>> out;
    for (const auto& name : topics) {
      auto t = s.broker().find_topic(name);
      if (!t) {
        out.emplace_back(name, error::unknown_topic_or_partition);
        continue;
      }
      for (auto it = s.parts.lower_bound({group_id, t->id, INT32_MIN});
           it != s.parts.end() && it->first.group == group_id && it->first.topic == t->id;)
        it = s.erase_state(it);
      out.emplace_back(name, error::none);
    }
    s.later([out = std::move(out), done = std::move(done)](bool durable) mutable {
      done(durable ? error::none : error::kafka_storage_error, std::move(out));
    });
  });
}

void share_manager::describe_group_configs(
    std::string group_id, std::vector<std::string> names,
    std::function<void(adapter::outcome, std::vector<adapter::config_value>)> done) {
  post([this, group_id = std::move(group_id), names = std::move(names), done = std::move(done)] {
    auto& s = *impl_;
    const s_group* g = s.find_group(group_id);
    std::vector<adapter::config_value> out;
    auto describe = [&](const config_field& f) {
      adapter::config_value v;
      v.name = f.name;
      v.value = s.config(g, f.name);
      v.source = g && g->configs.count(f.name) ? adapter::config_source::group : adapter::config_source::default_value;
      v.type = f.type;
      out.push_back(std::move(v));
    };
    if (names.empty())
      for (const auto& f : config_fields) describe(f);
    for (const auto& n : names)
      if (const auto* f = find_config_field(n)) describe(*f);
    done({}, std::move(out));
  });
}

void share_manager::alter_group_configs(std::string group_id, std::vector<adapter::config_change> changes,
                                        bool validate_only, std::function<void(adapter::outcome)> done) {
  post([this, group_id = std::move(group_id), changes = std::move(changes), validate_only,
        done = std::move(done)]() mutable {
    auto& s = *impl_;
    if (group_id.empty()) return done(adapter::outcome::fail(error::invalid_group_id, "the group id is empty"));
    for (const auto& c : changes) {
      if (c.op == adapter::alter_op::append || c.op == adapter::alter_op::subtract)
        return done(adapter::outcome::fail(error::invalid_config, c.name + " is not a list"));
      const auto* f = find_config_field(c.name);
      if (f == nullptr)
        return done(adapter::outcome::fail(error::invalid_config, "unknown share group config '" + c.name + "'"));
      if (c.op == adapter::alter_op::set)
        if (auto why = f->check(s.cfg(), c.name, c.value.value_or("")); !why.empty())
          return done(adapter::outcome::fail(error::invalid_config, why));
    }
    if (validate_only) return done({});
    s_group* g = s.get_or_create(group_id);
    if (g == nullptr)
      return done(adapter::outcome::fail(error::group_id_not_found, "group " + group_id + " is not a share group"));
    for (const auto& c : changes) {
      if (c.op == adapter::alter_op::set)
        g->configs[c.name] = c.value.value_or("");
      else
        g->configs.erase(c.name);
    }
    s.put_group(*g);
    s.later([done = std::move(done)](bool durable) {
      done(durable ? adapter::outcome{} : adapter::outcome::fail(error::kafka_storage_error, "the write failed"));
    });
  });
}

void share_manager::list(std::vector<std::string> states,
                         std::function<void(std::vector<adapter::group_listing>)> done) {
  post([this, states = std::move(states), done = std::move(done)] {
    std::vector<adapter::group_listing> all;
    for (const auto& [id, g] : impl_->groups) all.push_back({id, "share", impl_->group_state(g), "share"});
    done(filter_listings(std::move(all), states, {}));
  });
}

void share_manager::remove(std::vector<std::string> group_ids, std::function<void(std::vector<adapter::error>)> done) {
  post([this, ids = std::move(group_ids), done = std::move(done)]() mutable {
    auto& s = *impl_;
    std::vector<error> out;
    for (const auto& id : ids) {
      auto git = s.groups.find(id);
      if (git == s.groups.end()) {
        out.push_back(error::group_id_not_found);
        continue;
      }
      if (!git->second.members.empty()) {
        out.push_back(error::non_empty_group);
        continue;
      }
      for (auto it = s.parts.lower_bound({id, {}, INT32_MIN}); it != s.parts.end() && it->first.group == id;)
        it = s.erase_state(it);
      s.slog.put(encode_key(group_type, {id, {}, 0}), std::nullopt);
      s.groups.erase(git);
      if (s.opts.kinds) s.opts.kinds->release(id, group_kinds::kind::share);
      out.push_back(error::none);
    }
    s.later([out = std::move(out), done = std::move(done)](bool durable) mutable {
      if (!durable)
        for (auto& e : out)
          if (e == error::none) e = error::kafka_storage_error;
      done(std::move(out));
    });
  });
}

}  // namespace mosaic::groups
