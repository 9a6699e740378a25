#include "kernel/groups/group_log.h"

#include <functional>
#include <string_view>

#include "kernel/base/bytes.h"

namespace mosaic::groups {

namespace {

// share_type: a share group's record, written and read by the share
// manager (share_group_store.h); the coordinator passes over it.
enum : uint8_t { offset_type = 1, classic_type = 2, consumer_type = 3, share_type = 4 };
constexpr uint8_t value_version = 0;
// A consumer group's record: 1 added the topics its target was made for.
constexpr uint8_t consumer_value_version = 1;

std::vector<uint8_t> group_key(uint8_t type, const std::string& group) {
  std::vector<uint8_t> k;
  byte_writer w(k);
  w.u8(type);
  w.str(group);
  return k;
}

void write_set(byte_writer& w, const partition_set& s) {
  w.i32(static_cast<int32_t>(s.size()));
  for (const auto& [id, parts] : s) {
    w.id(id);
    w.i32(static_cast<int32_t>(parts.size()));
    for (int32_t p : parts) w.i32(p);
  }
}

partition_set read_set(byte_reader& r) {
  partition_set s;
  for (size_t n = r.count(20); n > 0; --n) {
    auto& parts = s[r.id()];
    for (size_t k = r.count(4); k > 0; --k) parts.insert(r.i32());
  }
  return s;
}

void write_strings(byte_writer& w, const std::vector<std::string>& v) {
  w.i32(static_cast<int32_t>(v.size()));
  for (const auto& s : v) w.str(s);
}

std::vector<std::string> read_strings(byte_reader& r) {
  std::vector<std::string> v;
  for (size_t n = r.count(4); n > 0; --n) v.push_back(r.str());
  return v;
}

std::vector<uint8_t> encode(const classic_group& g) {
  std::vector<uint8_t> v;
  byte_writer w(v);
  w.u8(value_version);
  w.u8(static_cast<uint8_t>(g.state));
  w.i32(g.generation);
  w.str(g.protocol_type);
  w.opt_str(g.protocol);
  w.str(g.leader);
  w.i32(static_cast<int32_t>(g.members.size()));
  for (const auto& [id, m] : g.members) {
    w.str(m.id);
    w.opt_str(m.instance_id);
    w.str(m.client.client_id);
    w.str(m.client.client_host);
    w.i32(m.session_timeout_ms);
    w.i32(m.rebalance_timeout_ms);
    w.str(m.protocol_type);
    w.i32(static_cast<int32_t>(m.protocols.size()));
    for (const auto& [name, bytes] : m.protocols) {
      w.str(name);
      w.bytes(bytes);
    }
    write_strings(w, m.subscribed_topics);
    w.bytes(m.assignment);
  }
  return v;
}

classic_group decode_classic(const std::string& id, byte_reader& r) {
  classic_group g;
  g.id = id;
  if (r.u8() != value_version) throw truncated_input{};
  const uint8_t state = r.u8();
  if (state > static_cast<uint8_t>(classic_state::dead)) throw truncated_input{};
  g.state = static_cast<classic_state>(state);
  g.generation = r.i32();
  g.protocol_type = r.str();
  g.protocol = r.opt_str();
  g.leader = r.str();
  for (size_t n = r.count(8); n > 0; --n) {
    classic_member m;
    m.id = r.str();
    m.instance_id = r.opt_str();
    m.client.client_id = r.str();
    m.client.client_host = r.str();
    m.session_timeout_ms = r.i32();
    m.rebalance_timeout_ms = r.i32();
    m.protocol_type = r.str();
    for (size_t k = r.count(8); k > 0; --k) {
      std::string name = r.str();
      m.protocols.emplace_back(std::move(name), r.bytes());
    }
    m.subscribed_topics = read_strings(r);
    m.assignment = r.bytes();
    g.members.emplace(m.id, std::move(m));
  }
  return g;
}

std::vector<uint8_t> encode(const consumer_group& g) {
  std::vector<uint8_t> v;
  byte_writer w(v);
  w.u8(consumer_value_version);
  w.i32(g.epoch);
  w.i32(g.assignment_epoch);
  w.str(g.assignor);
  w.i32(static_cast<int32_t>(g.members.size()));
  for (const auto& [id, m] : g.members) {
    w.str(m.id);
    w.opt_str(m.instance_id);
    w.opt_str(m.rack);
    w.str(m.client.client_id);
    w.str(m.client.client_host);
    w.i32(m.epoch);
    w.i32(m.previous_epoch);
    w.i32(m.rebalance_timeout_ms);
    write_strings(w, m.topic_names);
    w.opt_str(m.topic_regex);
    w.opt_str(m.assignor);
    w.u8(static_cast<uint8_t>(m.state));
    write_set(w, m.assigned);
    write_set(w, m.revoking);
    w.u8(m.left_static ? 1 : 0);
    w.i32(static_cast<int32_t>(m.assigned_at.size()));
    for (const auto& [tp, epoch] : m.assigned_at) {
      w.id(tp.first);
      w.i32(tp.second);
      w.i32(epoch);
    }
  }
  w.i32(static_cast<int32_t>(g.target.size()));
  for (const auto& [member, parts] : g.target) {
    w.str(member);
    write_set(w, parts);
  }
  // The subscribed topics' partition counts the target was made for (as
  // Kafka keeps the subscription metadata's hash): a coordinator that loads
  // the group does not take them for a change and rebalance it.
  w.i32(static_cast<int32_t>(g.topics_seen.size()));
  for (const auto& [topic, count] : g.topics_seen) {
    w.id(topic);
    w.i32(count);
  }
  return v;
}

consumer_group decode_consumer(const std::string& id, byte_reader& r) {
  consumer_group g;
  g.id = id;
  const uint8_t version = r.u8();
  if (version > consumer_value_version) throw truncated_input{};
  g.epoch = r.i32();
  g.assignment_epoch = r.i32();
  g.assignor = r.str();
  for (size_t n = r.count(8); n > 0; --n) {
    consumer_member m;
    m.id = r.str();
    m.instance_id = r.opt_str();
    m.rack = r.opt_str();
    m.client.client_id = r.str();
    m.client.client_host = r.str();
    m.epoch = r.i32();
    m.previous_epoch = r.i32();
    m.rebalance_timeout_ms = r.i32();
    m.topic_names = read_strings(r);
    m.topic_regex = r.opt_str();
    m.assignor = r.opt_str();
    const uint8_t state = r.u8();
    if (state > static_cast<uint8_t>(member_state::unreleased_partitions)) throw truncated_input{};
    m.state = static_cast<member_state>(state);
    m.assigned = read_set(r);
    m.revoking = read_set(r);
    m.left_static = r.u8() != 0;
    for (size_t k = r.count(24); k > 0; --k) {
      const uuid topic = r.id();
      const int32_t p = r.i32();
      m.assigned_at[{topic, p}] = r.i32();
    }
    g.members.emplace(m.id, std::move(m));
  }
  for (size_t n = r.count(8); n > 0; --n) {
    std::string member = r.str();
    g.target[member] = read_set(r);
  }
  if (version >= 1)
    for (size_t n = r.count(20); n > 0; --n) {
      const uuid topic = r.id();
      g.topics_seen[topic] = r.i32();
    }
  return g;
}

void apply(loaded_state& out, std::span<const uint8_t> key, const std::optional<std::span<const uint8_t>>& value) {
  byte_reader k(key);
  const uint8_t type = k.u8();
  const std::string group = k.str();
  if (type == offset_type) {
    offset_key ok;
    ok.first = k.str();
    ok.second = k.i32();
    if (!value) {
      auto it = out.offsets.find(group);
      if (it != out.offsets.end()) {
        it->second.erase(ok);
        if (it->second.empty()) out.offsets.erase(it);
      }
      return;
    }
    byte_reader r(*value);
    if (r.u8() != value_version) throw truncated_input{};
    committed c;
    c.offset = r.i64();
    c.leader_epoch = r.i32();
    c.metadata = r.opt_str();
    c.commit_time_ms = r.i64();
    out.offsets[group][ok] = std::move(c);
    return;
  }
  if (type == classic_type) {
    if (!value) {
      out.classic.erase(group);
      return;
    }
    byte_reader r(*value);
    out.consumer.erase(group);  // a group id is one kind at a time
    out.classic[group] = decode_classic(group, r);
    return;
  }
  if (type == consumer_type) {
    if (!value) {
      out.consumer.erase(group);
      return;
    }
    byte_reader r(*value);
    out.classic.erase(group);
    out.consumer[group] = decode_consumer(group, r);
    return;
  }
  if (type == share_type) return;  // the share manager's
  throw truncated_input{};
}

}  // namespace

status group_log::load(const keyed_log::scanner& scan, loaded_state& out) {
  auto n = log_.read(scan, [&](std::span<const uint8_t> key, const std::optional<std::span<const uint8_t>>& value) {
    apply(out, key, value);
  });
  if (!n) return n.error();
  out.records = *n;
  return {};
}

namespace {
std::vector<uint8_t> offset_record_key(const std::string& group, const offset_key& key) {
  std::vector<uint8_t> out;
  byte_writer k(out);
  k.u8(offset_type);
  k.str(group);
  k.str(key.first);
  k.i32(key.second);
  return out;
}
}  // namespace

void group_log::put_offset(const std::string& group, const offset_key& key, const committed& c) {
  std::vector<uint8_t> value;
  byte_writer v(value);
  v.u8(value_version);
  v.i64(c.offset);
  v.i32(c.leader_epoch);
  v.opt_str(c.metadata);
  v.i64(c.commit_time_ms);
  log_.put(offset_record_key(group, key), std::move(value));
}

void group_log::delete_offset(const std::string& group, const offset_key& key) {
  log_.put(offset_record_key(group, key), std::nullopt);
}

void group_log::put_value(uint8_t type, const std::string& group, std::vector<uint8_t> value, bool force) {
  const size_t hash =
      std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(value.data()), value.size())) ^ type;
  auto [it, fresh] = last_written_.emplace(group, hash);
  if (!fresh && it->second == hash && !force) return;
  it->second = hash;
  log_.put(group_key(type, group), std::move(value));
}

void group_log::put_group(const classic_group& g, bool force) { put_value(classic_type, g.id, encode(g), force); }

void group_log::put_group(const consumer_group& g, bool force) { put_value(consumer_type, g.id, encode(g), force); }

void group_log::delete_group(const std::string& group) {
  last_written_.erase(group);
  log_.put(group_key(classic_type, group), std::nullopt);
  log_.put(group_key(consumer_type, group), std::nullopt);
}

std::vector<uint8_t> share_group_key(const std::string& group) { return group_key(share_type, group); }

std::vector<uint8_t> encode_share_group(const stored_share_group& g) {
  std::vector<uint8_t> out;
  byte_writer w(out);
  w.u8(value_version);
  w.i32(g.epoch);
  w.i32(static_cast<int32_t>(g.topics.size()));
  for (const auto& t : g.topics) w.id(t);
  return out;
}

bool read_share_group(std::span<const uint8_t> key, const std::optional<std::span<const uint8_t>>& value,
                      std::string& group, std::optional<stored_share_group>& g) {
  byte_reader k(key);
  if (k.u8() != share_type) return false;
  group = k.str();
  g.reset();
  if (!value) return true;
  byte_reader r(*value);
  if (r.u8() != value_version) throw truncated_input{};
  g.emplace();
  g->epoch = r.i32();
  for (size_t n = r.count(16); n > 0; --n) g->topics.insert(r.id());
  return true;
}

}  // namespace mosaic::groups
