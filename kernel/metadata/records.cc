#include "kernel/metadata/records.h"

#include <bit>
#include <random>

#include "kernel/base/bytes.h"

namespace mosaic::metadata {

namespace {

enum : uint8_t {
  cluster_type = 1,
  topic_type = 2,
  partition_type = 3,
  config_type = 4,
  remove_topic_type = 5,
  producer_ids_type = 6,
  broker_type = 7,
  partition_change_type = 8,
  broker_fence_type = 9,
  scram_credential_type = 10,
  remove_scram_credential_type = 11,
  acl_type = 12,
  remove_acl_type = 13,
  client_quota_type = 14,
  plugin_swap_type = 15,
};
// Versions written now; partition and broker records of version 0 are
// still read (data dirs from before replication).
constexpr uint8_t record_version = 0;
constexpr uint8_t partition_version = 2;
constexpr uint8_t broker_version = 3;
constexpr uint8_t fence_version = 1;

void ids(byte_writer& o, const std::vector<int32_t>& v) {
  o.i32(static_cast<int32_t>(v.size()));
  for (int32_t n : v) o.i32(n);
}
std::vector<int32_t> ids(byte_reader& i) {
  const int32_t n = i.i32();
  if (n < 0 || n > 1 << 16) throw truncated_input{};
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (auto& id : v) id = i.i32();
  return v;
}

void encode_partition(byte_writer& o, const partition_record& r) {
  o.id(r.topic_id), o.i32(r.partition), o.i32(r.leader), o.i32(r.leader_epoch);
  ids(o, r.replicas), ids(o, r.isr), ids(o, r.elr), ids(o, r.last_known_elr);
  o.i32(r.partition_epoch);
  ids(o, r.adding), ids(o, r.removing);
}
partition_record decode_partition(byte_reader& i, uint8_t version) {
  partition_record p;
  p.topic_id = i.id();
  p.partition = i.i32();
  p.leader = i.i32();
  p.leader_epoch = i.i32();
  p.replicas = ids(i);
  if (version == 0) {
    p.isr = p.replicas;
    return p;
  }
  p.isr = ids(i);
  p.elr = ids(i);
  p.last_known_elr = ids(i);
  p.partition_epoch = i.i32();
  if (version >= 2) {
    p.adding = ids(i);
    p.removing = ids(i);
  }
  return p;
}

using out = byte_writer;
using in = byte_reader;
using truncated = truncated_input;

}  // namespace

void encode_one(std::vector<uint8_t>& bytes, const partition_record& r) {
  out o(bytes);
  o.u8(partition_type), o.u8(partition_version), encode_partition(o, r);
}

std::vector<uint8_t> encode(const std::vector<record>& records) {
  std::vector<uint8_t> bytes;
  for (const auto& rec : records) encode_one(bytes, rec);
  return bytes;
}

void encode_one(std::vector<uint8_t>& bytes, const record& rec) {
  out o(bytes);
  {
    std::visit(
        [&](const auto& r) {
          using T = std::decay_t<decltype(r)>;
          if constexpr (std::is_same_v<T, cluster_record>) {
            o.u8(cluster_type), o.u8(record_version), o.str(r.cluster_id);
          } else if constexpr (std::is_same_v<T, topic_record>) {
            o.u8(topic_type), o.u8(record_version), o.str(r.name), o.id(r.id);
          } else if constexpr (std::is_same_v<T, partition_record>) {
            o.u8(partition_type), o.u8(partition_version), encode_partition(o, r);
          } else if constexpr (std::is_same_v<T, partition_change_record>) {
            o.u8(partition_change_type), o.u8(partition_version), encode_partition(o, r.state);
          } else if constexpr (std::is_same_v<T, broker_fence_record>) {
            o.u8(broker_fence_type), o.u8(fence_version), o.i32(r.id), o.i64(r.epoch), o.u8(r.fenced ? 1 : 0);
            o.u8(r.shutdown ? 1 : 0);
          } else if constexpr (std::is_same_v<T, config_record>) {
            o.u8(config_type), o.u8(record_version), o.u8(static_cast<uint8_t>(r.resource_type));
            o.str(r.resource_name), o.str(r.name), o.opt_str(r.value);
          } else if constexpr (std::is_same_v<T, producer_ids_record>) {
            o.u8(producer_ids_type), o.u8(record_version);
            o.i32(static_cast<int32_t>(r.next_block_start >> 32)), o.i32(static_cast<int32_t>(r.next_block_start));
          } else if constexpr (std::is_same_v<T, broker_record>) {
            o.u8(broker_type), o.u8(broker_version), o.i32(r.id), o.str(r.host), o.i32(r.port);
            o.i64(r.epoch), o.id(r.incarnation), o.opt_str(r.rack), o.u8(r.fenced ? 1 : 0);
            o.i32(r.replication_port), o.u8(r.shutting_down ? 1 : 0);
            o.i32(static_cast<int32_t>(r.listeners.size()));
            for (const auto& l : r.listeners) o.str(l.name), o.str(l.host), o.i32(l.port);
          } else if constexpr (std::is_same_v<T, scram_credential_record>) {
            o.u8(scram_credential_type), o.u8(record_version), o.str(r.name), o.u8(static_cast<uint8_t>(r.mechanism));
            o.bytes(r.salt), o.bytes(r.stored_key), o.bytes(r.server_key), o.i32(r.iterations);
          } else if constexpr (std::is_same_v<T, remove_scram_credential_record>) {
            o.u8(remove_scram_credential_type), o.u8(record_version), o.str(r.name);
            o.u8(static_cast<uint8_t>(r.mechanism));
          } else if constexpr (std::is_same_v<T, acl_record>) {
            o.u8(acl_type), o.u8(record_version), o.id(r.id), o.u8(static_cast<uint8_t>(r.resource_type));
            o.str(r.resource_name), o.u8(static_cast<uint8_t>(r.pattern_type)), o.str(r.principal), o.str(r.host);
            o.u8(static_cast<uint8_t>(r.operation)), o.u8(static_cast<uint8_t>(r.permission));
          } else if constexpr (std::is_same_v<T, remove_acl_record>) {
            o.u8(remove_acl_type), o.u8(record_version), o.id(r.id);
          } else if constexpr (std::is_same_v<T, plugin_swap_record>) {
            o.u8(plugin_swap_type), o.u8(record_version), o.str(r.slot), o.str(r.action), o.i64(r.generation);
            o.str(r.plugin), o.str(r.library), o.str(r.sha256), o.i32(static_cast<int32_t>(r.config.size()));
            for (const auto& [k, v] : r.config) o.str(k), o.str(v);
            ids(o, r.brokers), o.str(r.principal), o.i64(r.time_ms), o.str(r.reason);
          } else if constexpr (std::is_same_v<T, client_quota_record>) {
            o.u8(client_quota_type), o.u8(record_version), o.i32(static_cast<int32_t>(r.entity.size()));
            for (const auto& [type, name] : r.entity) o.str(type), o.opt_str(name);
            o.str(r.key), o.u8(r.value ? 1 : 0);
            if (r.value) o.i64(std::bit_cast<int64_t>(*r.value));
          } else {
            static_assert(std::is_same_v<T, remove_topic_record>);
            o.u8(remove_topic_type), o.u8(record_version), o.id(r.topic_id);
          }
        },
        rec);
  }
}

status decode_each(std::span<const uint8_t> bytes, const std::function<void(record&&)>& fn) {
  in i(bytes);
  try {
    while (!i.done()) {
      const uint8_t type = i.u8();
      const uint8_t version = i.u8();
      const uint8_t newest = type == partition_type || type == partition_change_type ? partition_version
                             : type == broker_type                                   ? broker_version
                             : type == broker_fence_type                             ? fence_version
                                                                                     : record_version;
      if (version > newest)
        return status(errc::corrupt, "metadata record of type " + std::to_string(type) + " has version " +
                                         std::to_string(version) + ", this build reads up to " +
                                         std::to_string(newest));
      switch (type) {
        case cluster_type: fn(cluster_record{i.str()}); break;
        case topic_type: {
          topic_record t;
          t.name = i.str();
          t.id = i.id();
          fn(std::move(t));
          break;
        }
        case partition_type: fn(decode_partition(i, version)); break;
        case partition_change_type: fn(partition_change_record{decode_partition(i, version)}); break;
        case broker_fence_type: {
          broker_fence_record f;
          f.id = i.i32();
          f.epoch = i.i64();
          f.fenced = i.u8() != 0;
          if (version >= 1) f.shutdown = i.u8() != 0;
          fn(f);
          break;
        }
        case config_type: {
          config_record c;
          c.resource_type = static_cast<int8_t>(i.u8());
          c.resource_name = i.str();
          c.name = i.str();
          c.value = i.opt_str();
          fn(std::move(c));
          break;
        }
        case producer_ids_type: {
          const auto hi = static_cast<uint32_t>(i.i32());
          const auto lo = static_cast<uint32_t>(i.i32());
          fn(producer_ids_record{static_cast<int64_t>((uint64_t{hi} << 32) | lo)});
          break;
        }
        case remove_topic_type: fn(remove_topic_record{i.id()}); break;
        case scram_credential_type: {
          scram_credential_record c;
          c.name = i.str();
          c.mechanism = static_cast<int8_t>(i.u8());
          c.salt = i.bytes();
          c.stored_key = i.bytes();
          c.server_key = i.bytes();
          c.iterations = i.i32();
          fn(std::move(c));
          break;
        }
        case remove_scram_credential_type: {
          remove_scram_credential_record c;
          c.name = i.str();
          c.mechanism = static_cast<int8_t>(i.u8());
          fn(std::move(c));
          break;
        }
        case acl_type: {
          acl_record a;
          a.id = i.id();
          a.resource_type = static_cast<int8_t>(i.u8());
          a.resource_name = i.str();
          a.pattern_type = static_cast<int8_t>(i.u8());
          a.principal = i.str();
          a.host = i.str();
          a.operation = static_cast<int8_t>(i.u8());
          a.permission = static_cast<int8_t>(i.u8());
          fn(std::move(a));
          break;
        }
        case remove_acl_type: fn(remove_acl_record{i.id()}); break;
        case client_quota_type: {
          client_quota_record q;
          const int32_t n = i.i32();
          if (n < 0 || n > 8) throw truncated_input{};
          for (int32_t k = 0; k < n; ++k) {
            std::string entity_type = i.str();
            q.entity.emplace_back(std::move(entity_type), i.opt_str());
          }
          q.key = i.str();
          if (i.u8() != 0) q.value = std::bit_cast<double>(i.i64());
          fn(std::move(q));
          break;
        }
        case plugin_swap_type: {
          plugin_swap_record p;
          p.slot = i.str();
          p.action = i.str();
          p.generation = i.i64();
          p.plugin = i.str();
          p.library = i.str();
          p.sha256 = i.str();
          const int32_t n = i.i32();
          if (n < 0 || n > 4096)
            return status(errc::corrupt, "a plugin swap record with " + std::to_string(n) + " keys");
          for (int32_t k = 0; k < n; ++k) {
            std::string key = i.str();
            p.config.emplace_back(std::move(key), i.str());
          }
          p.brokers = ids(i);
          p.principal = i.str();
          p.time_ms = i.i64();
          p.reason = i.str();
          fn(std::move(p));
          break;
        }
        case broker_type: {
          broker_record b;
          b.id = i.i32();
          b.host = i.str();
          b.port = i.i32();
          if (version >= 1) {
            b.epoch = i.i64();
            b.incarnation = i.id();
            b.rack = i.opt_str();
            b.fenced = i.u8() != 0;
          }
          if (version >= 2) {
            b.replication_port = i.i32();
            b.shutting_down = i.u8() != 0;
          }
          if (version >= 3) {
            const int32_t n = i.i32();
            if (n < 0 || n > 1024)
              return status(errc::corrupt, "a broker record with " + std::to_string(n) + " listeners");
            for (int32_t k = 0; k < n; ++k) {
              auto& l = b.listeners.emplace_back();
              l.name = i.str();
              l.host = i.str();
              l.port = i.i32();
            }
          }
          fn(std::move(b));
          break;
        }
        default: return status(errc::corrupt, "unknown metadata record type " + std::to_string(type));
      }
    }
  } catch (const truncated&) {
    return status(errc::corrupt, "a metadata record is truncated");
  }
  return {};
}

result<std::vector<record>> decode(std::span<const uint8_t> bytes) {
  std::vector<record> records;
  if (auto s = decode_each(bytes, [&](record&& r) { records.push_back(std::move(r)); }); !s) return s;
  return records;
}

uuid random_uuid() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  uuid u;
  for (;;) {
    for (size_t k = 0; k < 16; k += 8) {
      uint64_t v = rng();
      for (size_t j = 0; j < 8; ++j) u[k + j] = static_cast<uint8_t>(v >> (8 * j));
    }
    u[6] = static_cast<uint8_t>((u[6] & 0x0F) | 0x40);
    u[8] = static_cast<uint8_t>((u[8] & 0x3F) | 0x80);
    // Kafka avoids ids whose text starts with '-' (they read as options).
    if ((u[0] >> 2) != 62) return u;
  }
}

std::string to_base64(const uuid& id) { return base64url(id); }

}  // namespace mosaic::metadata
