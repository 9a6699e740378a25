#include "kernel/groups/share_state_log.h"

#include <optional>

#include "kernel/base/bytes.h"

namespace mosaic::groups {

namespace {

constexpr uint8_t value_version = 0;
// A snapshot with the leader epoch and state epoch it was written at after the runs.
constexpr uint8_t state_version = 1;
enum : uint8_t { snapshot_type = 1, update_type = 2, group_type = 3 };

std::vector<uint8_t> partition_key(uint8_t type, const sp_key& k) {
  std::vector<uint8_t> out;
  byte_writer w(out);
  w.u8(type);
  w.str(k.group);
  w.id(k.topic);
  w.i32(k.partition);
  return out;
}

std::vector<uint8_t> group_key(const std::string& group) {
  std::vector<uint8_t> out;
  byte_writer w(out);
  w.u8(group_type);
  w.str(group);
  return out;
}

std::vector<uint8_t> encode_state(int64_t start, const std::vector<state_batch>& runs,
                                  std::optional<std::pair<int32_t, int32_t>> epochs) {
  std::vector<uint8_t> out;
  byte_writer w(out);
  w.u8(epochs ? state_version : value_version);
  w.i64(start);
  write_runs(w, runs);
  if (epochs) {
    w.i32(epochs->first);
    w.i32(epochs->second);
  }
  return out;
}

}  // namespace

void write_runs(byte_writer& w, const std::vector<state_batch>& runs) {
  w.i32(static_cast<int32_t>(runs.size()));
  for (const auto& r : runs) {
    w.i64(r.first);
    w.i64(r.last);
    w.u8(static_cast<uint8_t>(r.state));
    w.i16(r.delivery_count);
  }
}

std::vector<state_batch> read_runs(byte_reader& r) {
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
  return runs;
}

namespace {

void apply(const share_state_log::visitor& v, std::span<const uint8_t> key,
           const std::optional<std::span<const uint8_t>>& value) {
  byte_reader kr(key);
  const uint8_t type = kr.u8();
  sp_key k;
  k.group = kr.str();
  if (type == group_type) {
    if (!value) return v.group_deleted(k.group);
    byte_reader r(*value);
    const uint8_t version = r.u8();
    if (version != value_version && version != state_version) throw truncated_input{};
    const int32_t epoch = r.i32();
    share_overrides configs;
    for (size_t n = r.count(8); n > 0; --n) {
      std::string name = r.str();
      configs[name] = r.str();
    }
    std::set<uuid> topics;
    if (version == state_version)
      for (size_t n = r.count(16); n > 0; --n) topics.insert(r.id());
    return v.group(k.group, epoch, std::move(configs), std::move(topics));
  }
  if (type != snapshot_type && type != update_type) throw truncated_input{};
  k.topic = kr.id();
  k.partition = kr.i32();
  if (!value) {
    if (type == snapshot_type) v.partition_deleted(k);
    return;
  }
  byte_reader r(*value);
  const uint8_t version = r.u8();
  if (version != value_version && version != state_version) throw truncated_input{};
  const int64_t start = r.i64();
  auto runs = read_runs(r);
  const int32_t leader_epoch = version == state_version ? r.i32() : -1;
  const int32_t state_epoch = version == state_version ? r.i32() : -1;
  if (type == snapshot_type)
    v.snapshot(k, start, std::move(runs), leader_epoch, state_epoch);
  else
    v.update(k, start, std::move(runs));
}

}  // namespace

result<size_t> share_state_log::load(const visitor& v) {
  return log_.load([&](std::span<const uint8_t> key, const std::optional<std::span<const uint8_t>>& value) {
    apply(v, key, value);
  });
}

result<size_t> share_state_log::read(const keyed_log::scanner& scan, const visitor& v) const {
  return log_.read(scan, [&](std::span<const uint8_t> key, const std::optional<std::span<const uint8_t>>& value) {
    apply(v, key, value);
  });
}

void share_state_log::put_group(const std::string& group, int32_t epoch, const share_overrides& configs,
                                const std::set<uuid>& topics) {
  std::vector<uint8_t> v;
  byte_writer w(v);
  w.u8(state_version);
  w.i32(epoch);
  w.i32(static_cast<int32_t>(configs.size()));
  for (const auto& [k, val] : configs) {
    w.str(k);
    w.str(val);
  }
  w.i32(static_cast<int32_t>(topics.size()));
  for (const auto& t : topics) w.id(t);
  log_.put(group_key(group), std::move(v));
}

void share_state_log::delete_group(const std::string& group) { log_.put(group_key(group), std::nullopt); }

void share_state_log::put_snapshot(const sp_key& k, int64_t start, const std::vector<state_batch>& runs) {
  log_.put(partition_key(update_type, k), std::nullopt);
  log_.put(partition_key(snapshot_type, k), encode_state(start, runs, std::nullopt));
}

void share_state_log::put_state(const sp_key& k, int64_t start, const std::vector<state_batch>& runs,
                                int32_t leader_epoch, int32_t state_epoch) {
  log_.put(partition_key(update_type, k), std::nullopt);
  log_.put(partition_key(snapshot_type, k), encode_state(start, runs, std::pair{leader_epoch, state_epoch}));
}

void share_state_log::put_update(const sp_key& k, int64_t start, const std::vector<state_batch>& runs) {
  log_.put(partition_key(update_type, k), encode_state(start, runs, std::nullopt));
}

void share_state_log::delete_partition(const sp_key& k) {
  log_.put(partition_key(update_type, k), std::nullopt);
  log_.put(partition_key(snapshot_type, k), std::nullopt);
}

}  // namespace mosaic::groups
