#include "kernel/metadata/image.h"

#include <algorithm>
#include <set>

#include "kernel/base/numbers.h"

namespace mosaic::metadata {

void image::touch(topic_state& t) {
  if (t.changed != 0) by_change_.erase(t.changed);
  t.changed = version_;
  by_change_[version_] = t.name;
}

void image::continue_from(const image& previous) {
  version_ = previous.version_ + 1;
  forgotten_ = version_;
  brokers_changed_ = broker_configs_changed_ = acls_changed_ = version_;
}

image_changes image::changes_since(uint64_t since) const {
  image_changes c;
  c.since = since;
  c.version = version_;
  if (since == 0 || since < forgotten_) {
    c.everything = c.brokers = c.broker_configs = true;
    for (const auto& [name, t] : topics_) c.topics.push_back(name);
    return c;
  }
  c.brokers = brokers_changed_ > since;
  c.broker_configs = broker_configs_changed_ > since;
  for (auto it = by_change_.upper_bound(since); it != by_change_.end(); ++it) c.topics.push_back(it->second);
  for (auto it = removed_.upper_bound(since); it != removed_.end(); ++it) c.removed.push_back(it->second);
  return c;
}

void image::apply(const record& rec) {
  ++version_;
  std::visit(
      [&](const auto& r) {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, cluster_record>) {
          cluster_id_ = r.cluster_id;
        } else if constexpr (std::is_same_v<T, topic_record>) {
          auto& t = topics_[r.name];
          t.name = r.name;
          t.id = r.id;
          names_[r.id] = r.name;
          t.created = version_;
          touch(t);
        } else if constexpr (std::is_same_v<T, partition_record>) {
          auto n = names_.find(r.topic_id);
          if (n == names_.end()) return;
          auto& t = topics_[n->second];
          const auto p = static_cast<size_t>(r.partition);
          if (t.partitions.size() <= p) {
            t.partitions.resize(p + 1);
            t.partition_changed.resize(p + 1);
          }
          t.partitions[p] = r;
          t.partition_changed[p] = version_;
          touch(t);
        } else if constexpr (std::is_same_v<T, config_record>) {
          std::map<std::string, std::string>* configs = nullptr;
          ++config_changes_;
          if (r.resource_type == 4) {
            configs = &broker_configs_[r.resource_name];
            broker_configs_changed_ = version_;
          } else if (r.resource_type == 32) {
            configs = &group_configs_[r.resource_name];
          } else {
            auto t = topics_.find(r.resource_name);
            if (t == topics_.end()) return;
            configs = &t->second.configs;
            t->second.configured = version_;
            touch(t->second);
          }
          if (r.value)
            (*configs)[r.name] = *r.value;
          else
            configs->erase(r.name);
          if (r.resource_type == 32 && configs->empty()) group_configs_.erase(r.resource_name);
          if (r.resource_type == 2 && r.name == "min.insync.replicas")
            topics_[r.resource_name].min_insync_replicas = r.value ? parse_int64(*r.value) : std::nullopt;
        } else if constexpr (std::is_same_v<T, producer_ids_record>) {
          next_producer_id_block_ = std::max(next_producer_id_block_, r.next_block_start);
        } else if constexpr (std::is_same_v<T, broker_record>) {
          brokers_[r.id] = r;
          brokers_changed_ = version_;
        } else if constexpr (std::is_same_v<T, partition_change_record>) {
          auto n = names_.find(r.state.topic_id);
          if (n == names_.end()) return;
          auto& t = topics_[n->second];
          const auto p = static_cast<size_t>(r.state.partition);
          if (p < t.partitions.size()) {
            t.partitions[p] = r.state;
            t.partition_changed[p] = version_;
            touch(t);
          }
        } else if constexpr (std::is_same_v<T, broker_fence_record>) {
          auto b = brokers_.find(r.id);
          if (b != brokers_.end() && b->second.epoch == r.epoch) {
            b->second.fenced = r.fenced;
            b->second.shutting_down = r.fenced && r.shutdown;
            brokers_changed_ = version_;
          }
        } else if constexpr (std::is_same_v<T, scram_credential_record>) {
          scram_[r.name][r.mechanism] = r;
        } else if constexpr (std::is_same_v<T, remove_scram_credential_record>) {
          auto u = scram_.find(r.name);
          if (u == scram_.end()) return;
          u->second.erase(r.mechanism);
          if (u->second.empty()) scram_.erase(u);
        } else if constexpr (std::is_same_v<T, acl_record>) {
          acls_[r.id] = r;
          acls_changed_ = version_;
        } else if constexpr (std::is_same_v<T, remove_acl_record>) {
          if (acls_.erase(r.id) > 0) acls_changed_ = version_;
        } else if constexpr (std::is_same_v<T, plugin_swap_record>) {
          auto& slot = swaps_[r.slot];
          swaps_changed_ = version_;
          slot.last_generation = std::max(slot.last_generation, r.generation);
          if (r.action == "stack") {  // a snapshot's: in effect, not a new event
            slot.stack.push_back(r);
            return;
          }
          if (r.action.rfind("history:", 0) == 0) {  // a snapshot's: what was done
            slot.history.push_back(r);
            slot.history.back().action.erase(0, 8);
            return;
          }
          slot.history.push_back(r);
          if (slot.history.size() > plugin_slot_swaps::history_kept) slot.history.erase(slot.history.begin());
          if (r.action == "swap") {
            slot.stack.push_back(r);
          } else if (r.action == "promote") {
            if (!slot.stack.empty()) slot.stack.back().brokers.clear();
          } else if (r.action == "rollback") {
            if (!slot.stack.empty()) slot.stack.pop_back();
          }
        } else if constexpr (std::is_same_v<T, client_quota_record>) {
          if (r.value) {
            quotas_[r.entity][r.key] = *r.value;
          } else if (auto q = quotas_.find(r.entity); q != quotas_.end()) {
            q->second.erase(r.key);
            if (q->second.empty()) quotas_.erase(q);
          }
        } else {
          auto n = names_.find(r.topic_id);
          if (n == names_.end()) return;
          auto t = topics_.find(n->second);
          if (t != topics_.end()) by_change_.erase(t->second.changed);
          removed_[version_] = n->second;
          while (removed_.size() > removals_kept) {
            forgotten_ = removed_.begin()->first;  // a reader from before it missed it
            removed_.erase(removed_.begin());
          }
          topics_.erase(n->second);
          names_.erase(n);
        }
      },
      rec);
}

status image::check(const std::vector<record>& entry) const {
  std::set<uuid> new_topics;
  std::set<std::string> new_names;
  auto topic_exists = [&](const uuid& id) { return names_.count(id) || new_topics.count(id); };
  for (const auto& rec : entry) {
    status refused = std::visit(
        [&](const auto& r) -> status {
          using T = std::decay_t<decltype(r)>;
          if constexpr (std::is_same_v<T, cluster_record>) {
            if (!cluster_id_.empty() && cluster_id_ != r.cluster_id)
              return status(errc::already_exists, "the cluster already has id " + cluster_id_);
          } else if constexpr (std::is_same_v<T, topic_record>) {
            if (topics_.count(r.name) || new_names.count(r.name) || topic_exists(r.id))
              return status(errc::already_exists, "topic '" + r.name + "' already exists");
            new_topics.insert(r.id);
            new_names.insert(r.name);
          } else if constexpr (std::is_same_v<T, partition_record>) {
            if (!topic_exists(r.topic_id)) return status(errc::not_found, "the topic is gone");
            auto n = names_.find(r.topic_id);
            if (n != names_.end()) {
              const auto& parts = topics_.at(n->second).partitions;
              if (r.partition < static_cast<int32_t>(parts.size()))
                return status(errc::already_exists,
                              "partition " + std::to_string(r.partition) + " of '" + n->second + "' already exists");
            }
          } else if constexpr (std::is_same_v<T, config_record>) {
            if (r.resource_type == 2 && !topics_.count(r.resource_name) && !new_names.count(r.resource_name))
              return status(errc::not_found, "topic '" + r.resource_name + "' is gone");
          } else if constexpr (std::is_same_v<T, remove_topic_record>) {
            if (!names_.count(r.topic_id)) return status(errc::not_found, "the topic is gone");
          } else if constexpr (std::is_same_v<T, broker_record>) {
            // A registration is a new incarnation: its epoch must pass the
            // last one's (version 0 records, from before, all have 0).
            auto b = brokers_.find(r.id);
            if (b != brokers_.end() && r.epoch > 0 && r.epoch <= b->second.epoch)
              return status(errc::already_exists, "broker " + std::to_string(r.id) + " is registered at epoch " +
                                                      std::to_string(b->second.epoch));
          } else if constexpr (std::is_same_v<T, partition_change_record>) {
            // Decided on the current state, or refused: a controller that
            // decided on an older image lost the race.
            const topic_state* t = find(r.state.topic_id);
            if (t == nullptr || r.state.partition < 0 ||
                r.state.partition >= static_cast<int32_t>(t->partitions.size()))
              return status(errc::not_found, "the partition is gone");
            const auto& now = t->partitions[static_cast<size_t>(r.state.partition)];
            if (r.state.partition_epoch != now.partition_epoch + 1)
              return status(errc::already_exists, "partition " + std::to_string(r.state.partition) + " of '" + t->name +
                                                      "' is at partition epoch " + std::to_string(now.partition_epoch) +
                                                      ", the change was for " +
                                                      std::to_string(r.state.partition_epoch - 1));
          } else if constexpr (std::is_same_v<T, broker_fence_record>) {
            auto b = brokers_.find(r.id);
            if (b == brokers_.end() || b->second.epoch != r.epoch)
              return status(errc::not_found, "broker " + std::to_string(r.id) + " has no registration at epoch " +
                                                 std::to_string(r.epoch));
          } else if constexpr (std::is_same_v<T, producer_ids_record>) {
            if (r.next_block_start <= next_producer_id_block_)
              return status(errc::already_exists, "that producer id block was handed out");
          } else if constexpr (std::is_same_v<T, plugin_swap_record>) {
            // Decided on the slot as the asking broker saw it: another swap
            // committed since refuses this one (the operator asks again).
            auto it = swaps_.find(r.slot);
            static const plugin_slot_swaps none;
            const auto& slot = it == swaps_.end() ? none : it->second;
            const std::string raced = "slot " + r.slot + " changed since (another swap came first)";
            if (r.action == "swap" && r.generation != slot.last_generation + 1)
              return status(errc::already_exists, raced);
            if (r.action == "promote" && (slot.stack.empty() || slot.stack.back().generation != r.generation ||
                                          slot.stack.back().brokers.empty()))
              return status(errc::already_exists, raced);
            if (r.action == "rollback") {
              if (slot.stack.empty()) return status(errc::not_found, "slot " + r.slot + " has no swap to roll back");
              const int64_t below = slot.stack.size() > 1 ? slot.stack[slot.stack.size() - 2].generation : 0;
              if (r.generation != below) return status(errc::already_exists, raced);
            }
          }
          return {};
        },
        rec);
    if (!refused) return refused;
  }
  return {};
}

std::vector<record> image::to_records() const {
  std::vector<record> out;
  if (!cluster_id_.empty()) out.emplace_back(cluster_record{cluster_id_});
  for (const auto& [id, b] : brokers_) out.emplace_back(b);
  if (next_producer_id_block_ > 0) out.emplace_back(producer_ids_record{next_producer_id_block_});
  for (const auto& [name, configs] : broker_configs_)
    for (const auto& [k, v] : configs) out.emplace_back(config_record{4, name, k, v});
  for (const auto& [name, configs] : group_configs_)
    for (const auto& [k, v] : configs) out.emplace_back(config_record{32, name, k, v});
  for (const auto& [user, by_mechanism] : scram_)
    for (const auto& [m, c] : by_mechanism) out.emplace_back(c);
  for (const auto& [id, a] : acls_) out.emplace_back(a);
  for (const auto& [entity, values] : quotas_)
    for (const auto& [k, v] : values) out.emplace_back(client_quota_record{entity, k, v});
  for (const auto& [name, slot] : swaps_) {
    for (auto h : slot.history) {
      h.action = "history:" + h.action;
      out.emplace_back(std::move(h));
    }
    for (auto s : slot.stack) {
      s.action = "stack";
      out.emplace_back(std::move(s));
    }
  }
  for (const auto& [name, t] : topics_) {
    out.emplace_back(topic_record{t.name, t.id});
    for (const auto& p : t.partitions) out.emplace_back(p);
    for (const auto& [k, v] : t.configs) out.emplace_back(config_record{2, t.name, k, v});
  }
  return out;
}

void image::encode_records(std::vector<uint8_t>& out) const {
  // The order of to_records, which a restore relies on.
  if (!cluster_id_.empty()) encode_one(out, cluster_record{cluster_id_});
  for (const auto& [id, b] : brokers_) encode_one(out, record(b));
  if (next_producer_id_block_ > 0) encode_one(out, producer_ids_record{next_producer_id_block_});
  for (const auto& [name, configs] : broker_configs_)
    for (const auto& [k, v] : configs) encode_one(out, config_record{4, name, k, v});
  for (const auto& [name, configs] : group_configs_)
    for (const auto& [k, v] : configs) encode_one(out, config_record{32, name, k, v});
  for (const auto& [user, by_mechanism] : scram_)
    for (const auto& [m, c] : by_mechanism) encode_one(out, record(c));
  for (const auto& [id, a] : acls_) encode_one(out, record(a));
  for (const auto& [entity, values] : quotas_)
    for (const auto& [k, v] : values) encode_one(out, record(client_quota_record{entity, k, v}));
  for (const auto& [name, slot] : swaps_) {
    for (auto h : slot.history) {
      h.action = "history:" + h.action;
      encode_one(out, record(std::move(h)));
    }
    for (auto s : slot.stack) {
      s.action = "stack";
      encode_one(out, record(std::move(s)));
    }
  }
  for (const auto& [name, t] : topics_) {
    encode_one(out, topic_record{t.name, t.id});
    for (const auto& p : t.partitions) encode_one(out, p);
    for (const auto& [k, v] : t.configs) encode_one(out, config_record{2, t.name, k, v});
  }
}

const topic_state* image::find(const std::string& name) const {
  auto t = topics_.find(name);
  return t == topics_.end() ? nullptr : &t->second;
}

const topic_state* image::find(const uuid& id) const {
  auto n = names_.find(id);
  return n == names_.end() ? nullptr : find(n->second);
}

}  // namespace mosaic::metadata
