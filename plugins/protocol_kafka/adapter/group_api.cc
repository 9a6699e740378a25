// The group family: FindCoordinator, the classic group protocol (JoinGroup,
// SyncGroup, Heartbeat, LeaveGroup), KIP-848's ConsumerGroupHeartbeat and
// ConsumerGroupDescribe, offsets (OffsetCommit, OffsetFetch, OffsetDelete)
// and group administration (ListGroups, DescribeGroups, DeleteGroups),
// translated to the group coordinator API (sdk/include/mosaic/adapter/groups.h).
// Without a coordinator they are answered COORDINATOR_NOT_AVAILABLE.
#include "plugins/protocol_kafka/adapter/connection.h"

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace mosaic::kafka {

namespace {

using adapter::error;

std::vector<uint8_t> copy(const bytes_ref& b) { return {b.data, b.data + b.size}; }

adapter::client_identity identity(const request_context& rc, const adapter::peer& peer) {
  return {rc.client_id, client_host(peer)};
}

// The topics of a "consumer" protocol member's subscription (for
// OffsetDelete's check); nothing if the metadata does not parse.
std::vector<std::string> subscription_topics(const bytes_ref& metadata) {
  try {
    reader r(metadata.span());
    const auto version = r.integer<int16_t>();
    msg::consumer_protocol_subscription sub;
    sub.decode(r, std::min<int16_t>(version, msg::consumer_protocol_subscription_max_version));
    return sub.topics;
  } catch (const decode_error&) {
    return {};
  }
}

using adapter::acl_operation;

// ---- FindCoordinator ----

void find_coordinator(const request_context& rc, const msg::find_coordinator_request& req,
                      adapter::group_coordinator* groups, adapter::broker& broker, const adapter::peer& peer,
                      const connection& conn) {
  msg::find_coordinator_response resp;
  // A group's coordinator is the leader of the __consumer_offsets
  // partition its id hashes to (the coordinator says which).
  auto answer_for = [&](const std::string& key, int8_t key_type, auto& out) {
    out.node_id = -1;
    if (key_type == 0 && !conn.may_on_group(acl_operation::describe, key)) {
      out.error_code = code(error::group_authorization_failed);
      out.error_message = "Finding a group's coordinator needs DESCRIBE on the group";
    } else if (key_type == 2 && !conn.may_on_cluster(acl_operation::cluster_action)) {
      // Share-group state coordinators are for brokers (Kafka: CLUSTER_ACTION).
      out.error_code = code(error::cluster_authorization_failed);
      out.error_message = "Finding a share state coordinator needs CLUSTER_ACTION on the cluster";
    } else if (groups == nullptr) {
      out.error_code = code(error::coordinator_not_available);
      out.error_message = "the group coordinator is not running";
    } else if (key_type == 1) {
      // No transaction coordinator yet. A retriable error would keep
      // init_transactions() asking until its timeout; this one is the error
      // every client (librdkafka included) treats as final at once.
      out.error_code = code(error::transactional_id_authorization_failed);
      out.error_message = "transactions are not available in this version of Mosaic (no transaction coordinator)";
    } else if (key_type != 0) {
      // Share-group state (2) has no coordinator of its own yet.
      out.error_code = code(error::coordinator_not_available);
      out.error_message = "no coordinator for key type " + std::to_string(key_type);
    } else {
      const auto where = groups->locate(key);
      out.node_id = where.node_id;
      if (where.code != error::none) {
        out.error_code = code(where.code);
        out.error_message = where.message;
      } else if (where.node_id == broker.node_id()) {
        out.host = peer.local_host;
        out.port = peer.local_port;
      } else {
        bool found = false;
        for (const auto& b : broker.brokers())
          if (b.node_id == where.node_id)
            if (auto at = b.address_on(peer.listener)) {
              out.host = at->first;
              out.port = at->second;
              found = true;
            }
        if (!found) {
          out.error_code = code(error::coordinator_not_available);
          out.error_message = "the group's coordinator, broker " + std::to_string(where.node_id) +
                              ", is not known or has no listener named " + peer.listener;
        }
      }
    }
    if (out.error_code != 0) {
      out.node_id = -1;
      out.host = "";
      out.port = -1;
    }
  };
  if (rc.version >= 4) {
    for (const auto& key : req.coordinator_keys) {
      auto& c = resp.coordinators.emplace_back();
      c.key = key;
      answer_for(key, req.key_type, c);
    }
  } else {
    answer_for(req.key, req.key_type, resp);
  }
  rc.send(resp);
}

// ---- classic groups ----

void join_group(const request_context& rc, const msg::join_group_request& req, adapter::group_coordinator& groups,
                const adapter::peer& peer, const connection& c) {
  if (refused_group<msg::join_group_response>(c, rc, req.group_id, acl_operation::read)) return;
  adapter::join_request j;
  j.group_id = req.group_id;
  j.member_id = req.member_id;
  j.instance_id = req.group_instance_id;
  j.protocol_type = req.protocol_type;
  for (const auto& p : req.protocols) j.protocols.emplace_back(p.name, copy(p.metadata));
  j.session_timeout_ms = req.session_timeout_ms;
  j.rebalance_timeout_ms = rc.version >= 1 ? req.rebalance_timeout_ms : req.session_timeout_ms;
  j.require_known_member_id = rc.version >= 4;
  j.client = identity(rc, peer);
  if (req.protocol_type == "consumer" && !req.protocols.empty())
    j.subscribed_topics = subscription_topics(req.protocols.front().metadata);
  groups.join_group(std::move(j), [rc](adapter::join_result r) {
    msg::join_group_response resp;
    resp.error_code = code(r.code);
    resp.generation_id = r.generation;
    resp.protocol_type = r.protocol_type.empty() ? std::nullopt : std::optional<std::string>(r.protocol_type);
    resp.protocol_name = r.protocol_name;
    if (rc.version < 7 && !resp.protocol_name) resp.protocol_name = "";  // not nullable before v7
    resp.leader = r.leader;
    resp.skip_assignment = r.skip_assignment;
    resp.member_id = r.member_id;
    for (const auto& m : r.members) {
      auto& out = resp.members.emplace_back();
      out.member_id = m.member_id;
      out.group_instance_id = m.instance_id;
      out.metadata = bytes_ref::of(m.metadata);
    }
    rc.send(resp);
  });
}

void sync_group(const request_context& rc, const msg::sync_group_request& req, adapter::group_coordinator& groups,
                const connection& c) {
  if (refused_group<msg::sync_group_response>(c, rc, req.group_id, acl_operation::read)) return;
  adapter::sync_request s;
  s.group_id = req.group_id;
  s.generation = req.generation_id;
  s.member_id = req.member_id;
  s.instance_id = req.group_instance_id;
  s.protocol_type = req.protocol_type;
  s.protocol_name = req.protocol_name;
  for (const auto& a : req.assignments) s.assignments.emplace_back(a.member_id, copy(a.assignment));
  groups.sync_group(std::move(s), [rc](adapter::sync_result r) {
    msg::sync_group_response resp;
    resp.error_code = code(r.code);
    if (r.code == error::none) {
      resp.protocol_type = r.protocol_type;
      resp.protocol_name = r.protocol_name;
    }
    resp.assignment = bytes_ref::of(r.assignment);
    rc.send(resp);
  });
}

void heartbeat(const request_context& rc, const msg::heartbeat_request& req, adapter::group_coordinator& groups,
               const connection& c) {
  if (refused_group<msg::heartbeat_response>(c, rc, req.group_id, acl_operation::read)) return;
  groups.heartbeat(req.group_id, req.generation_id, {req.member_id, req.group_instance_id}, [rc](error e) {
    msg::heartbeat_response resp;
    resp.error_code = code(e);
    rc.send(resp);
  });
}

void leave_group(const request_context& rc, const msg::leave_group_request& req, adapter::group_coordinator& groups,
                 const connection& c) {
  if (refused_group<msg::leave_group_response>(c, rc, req.group_id, acl_operation::read)) return;
  std::vector<adapter::member_identity> who;
  if (rc.version < 3) {
    who.push_back({req.member_id, std::nullopt});
  } else {
    for (const auto& m : req.members) who.push_back({m.member_id, m.group_instance_id});
  }
  groups.leave_group(req.group_id, who, [rc, who](std::vector<error> errs) {
    msg::leave_group_response resp;
    if (rc.version < 3) {
      resp.error_code = code(errs.empty() ? error::none : errs.front());
    } else {
      for (size_t i = 0; i < who.size(); ++i) {
        auto& m = resp.members.emplace_back();
        m.member_id = who[i].member_id;
        m.group_instance_id = who[i].instance_id;
        m.error_code = code(errs[i]);
      }
    }
    rc.send(resp);
  });
}

// ---- consumer groups (KIP-848) ----

void consumer_group_heartbeat(const request_context& rc, const msg::consumer_group_heartbeat_request& req,
                              adapter::group_coordinator& groups, const adapter::peer& peer, uint64_t hold,
                              const connection& c) {
  if (refused_member<msg::consumer_group_heartbeat_response>(c, rc, req.group_id, req.subscribed_topic_names)) return;
  if (rc.version >= 1 && req.member_id.empty()) {
    msg::consumer_group_heartbeat_response resp;
    resp.error_code = code(error::invalid_request);
    resp.error_message = "MemberId can't be empty";
    return rc.send(resp);
  }
  adapter::consumer_heartbeat_request h;
  h.group_id = req.group_id;
  h.member_id = req.member_id;
  h.member_epoch = req.member_epoch;
  h.instance_id = req.instance_id;
  h.rack = req.rack_id;
  h.rebalance_timeout_ms = req.rebalance_timeout_ms;
  h.subscribed_topic_names = req.subscribed_topic_names;
  h.subscribed_topic_regex = req.subscribed_topic_regex;
  h.server_assignor = req.server_assignor;
  if (req.topic_partitions) {
    h.owned.emplace();
    for (const auto& tp : *req.topic_partitions) h.owned->push_back({tp.topic_id, tp.partitions});
  }
  h.client = identity(rc, peer);
  h.hold = hold;
  groups.consumer_heartbeat(std::move(h), [rc](adapter::consumer_heartbeat_result r) {
    msg::consumer_group_heartbeat_response resp;
    fill_heartbeat(resp, r);
    rc.send(resp);
  });
}

void consumer_group_describe(const request_context& rc, const msg::consumer_group_describe_request& req,
                             adapter::group_coordinator& groups, adapter::broker& broker, const connection& c) {
  // Groups the principal may not describe are answered here.
  std::vector<std::string> allowed, denied;
  for (const auto& id : req.group_ids) (c.may_on_group(acl_operation::describe, id) ? allowed : denied).push_back(id);
  groups.describe_consumer_groups(
      allowed, [rc, &broker, self = c.shared_from_this(), denied,
                ops = req.include_authorized_operations](const std::vector<adapter::consumer_group_description>& ds) {
        msg::consumer_group_describe_response resp;
        for (const auto& d : ds) {
          auto& g = resp.groups.emplace_back();
          fill_group_header(g, d, false);
          if (ops && d.code == error::none) g.authorized_operations = self->group_operations(d.group_id);
          for (const auto& m : d.members) {
            auto& om = g.members.emplace_back();
            fill_group_member(om, m);
            om.instance_id = m.instance_id;
            om.subscribed_topic_regex = m.subscribed_topic_regex;
            fill_assignment(om.assignment, m.assignment, broker);
            fill_assignment(om.target_assignment, m.target_assignment, broker);
            om.member_type = 1;  // a consumer-protocol member
          }
        }
        for (const auto& id : denied) {
          auto& g = resp.groups.emplace_back();
          g.group_id = id;
          g.error_code = code(error::group_authorization_failed);
        }
        rc.send(resp);
      });
}

// ---- offsets ----

void offset_commit(const request_context& rc, const msg::offset_commit_request& req, adapter::group_coordinator& groups,
                   adapter::broker& broker, const connection& conn) {
  const bool group_denied = !conn.may_on_group(acl_operation::read, req.group_id);
  adapter::commit_request c;
  c.group_id = req.group_id;
  c.generation_or_epoch = req.generation_id_or_member_epoch;
  c.member_id = req.member_id;
  c.instance_id = req.group_instance_id;
  c.member_epoch_checks = rc.version >= 9;
  // The response mirrors the request; topics given by an unknown id are
  // answered UNKNOWN_TOPIC_ID without reaching the coordinator.
  auto resp = std::make_shared<msg::offset_commit_response>();
  std::vector<std::pair<size_t, size_t>> slots;  // response (topic, partition) of each offset sent
  for (const auto& t : req.topics) {
    auto& rt = resp->topics.emplace_back();
    rt.name = t.name;
    rt.topic_id = t.topic_id;
    std::string name = t.name;
    bool unknown = false;
    if (rc.version >= 10) {
      auto found = broker.find_topic(adapter::uuid(t.topic_id));
      if (found)
        name = found->name;
      else
        unknown = true;
    }
    const bool topic_denied = !unknown && !group_denied && !conn.may_on_topic(acl_operation::read, name);
    for (const auto& p : t.partitions) {
      auto& rp = rt.partitions.emplace_back();
      rp.partition_index = p.partition_index;
      if (group_denied || unknown || topic_denied) {
        rp.error_code = code(group_denied ? error::group_authorization_failed
                             : unknown    ? error::unknown_topic_id
                                          : error::topic_authorization_failed);
        continue;
      }
      slots.emplace_back(resp->topics.size() - 1, rt.partitions.size() - 1);
      c.offsets.push_back(
          {name, p.partition_index, p.committed_offset, p.committed_leader_epoch, p.committed_metadata});
    }
  }
  if (group_denied || c.offsets.empty()) return rc.send(*resp);
  groups.commit_offsets(std::move(c), [rc, resp, slots](std::vector<error> errs) {
    for (size_t i = 0; i < slots.size() && i < errs.size(); ++i)
      resp->topics[slots[i].first].partitions[slots[i].second].error_code = code(errs[i]);
    rc.send(*resp);
  });
}

// OffsetFetch's groups as the coordinator takes them (v8+ batches groups;
// v9+ names the member; v10+ names topics by id).
std::vector<adapter::offset_fetch_request> offset_fetch_requests(const request_context& rc,
                                                                 const msg::offset_fetch_request& req,
                                                                 adapter::broker& broker) {
  std::vector<adapter::offset_fetch_request> reqs;
  if (rc.version < 8) {
    adapter::offset_fetch_request f;
    f.group_id = req.group_id;
    if (req.topics) {
      f.partitions.emplace();
      for (const auto& t : *req.topics)
        for (int32_t p : t.partition_indexes) f.partitions->emplace_back(t.name, p);
    }
    reqs.push_back(std::move(f));
    return reqs;
  }
  for (const auto& g : req.groups) {
    adapter::offset_fetch_request f;
    f.group_id = g.group_id;
    if (rc.version >= 9) {
      f.member_id = g.member_id;
      f.member_epoch = g.member_epoch;
      if (f.member_id && f.member_id->empty() && f.member_epoch < 0) f.member_id.reset();
    }
    if (g.topics) {
      f.partitions.emplace();
      for (const auto& t : *g.topics) {
        std::string name = t.name;
        if (rc.version >= 10) {
          auto found = broker.find_topic(adapter::uuid(t.topic_id));
          name = found ? found->name : std::string();
        }
        for (int32_t p : t.partition_indexes) f.partitions->emplace_back(name, p);
      }
    }
    reqs.push_back(std::move(f));
  }
  return reqs;
}

// One committed offset into a response partition (any version's layout).
template <class Partition>
void fill_committed(Partition& p, const adapter::committed_offset& o) {
  p.partition_index = o.partition;
  p.committed_offset = o.offset;
  p.committed_leader_epoch = o.leader_epoch;
  p.metadata = o.metadata;
  p.error_code = code(o.code);
}

// The coordinator's answers as OffsetFetch's response (before v8: one
// group at the top level).
msg::offset_fetch_response offset_fetch_response(const request_context& rc,
                                                 const std::vector<adapter::offset_fetch_result>& results,
                                                 const std::vector<std::string>& ids, adapter::broker& broker) {
  msg::offset_fetch_response resp;
  if (rc.version < 8) {
    const auto& r = results.front();
    resp.error_code = code(r.code);
    std::map<std::string, size_t> by_topic;
    for (const auto& o : r.offsets) {
      auto [it, fresh] = by_topic.emplace(o.topic, resp.topics.size());
      if (fresh) resp.topics.emplace_back().name = o.topic;
      fill_committed(resp.topics[it->second].partitions.emplace_back(), o);
    }
    return resp;
  }
  for (size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    auto& g = resp.groups.emplace_back();
    g.group_id = ids[i];
    g.error_code = code(r.code);
    std::map<std::string, size_t> by_topic;
    for (const auto& o : r.offsets) {
      auto [it, fresh] = by_topic.emplace(o.topic, g.topics.size());
      if (fresh) {
        auto& t = g.topics.emplace_back();
        t.name = o.topic;
        if (rc.version >= 10)
          if (auto found = broker.find_topic(o.topic)) t.topic_id = found->id;
      }
      fill_committed(g.topics[it->second].partitions.emplace_back(), o);
    }
  }
  return resp;
}

void offset_fetch(const request_context& rc, const msg::offset_fetch_request& req, adapter::group_coordinator& groups,
                  adapter::broker& broker, const connection& c) {
  auto reqs = offset_fetch_requests(rc, req, broker);
  std::vector<std::string> ids;
  ids.reserve(reqs.size());
  for (const auto& f : reqs) ids.push_back(f.group_id);
  // A group the principal may not describe is answered
  // GROUP_AUTHORIZATION_FAILED without asking the coordinator.
  std::vector<bool> denied, every_topic;
  std::vector<adapter::offset_fetch_request> asked;
  for (auto& f : reqs) {
    denied.push_back(!c.may_on_group(acl_operation::describe, f.group_id));
    every_topic.push_back(!f.partitions.has_value());
    if (!denied.back()) asked.push_back(std::move(f));
  }
  auto answer = [rc, &broker, ids, denied, every_topic,
                 self = c.shared_from_this()](const std::vector<adapter::offset_fetch_result>& got) {
    std::vector<adapter::offset_fetch_result> results;
    size_t k = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (denied[i]) {
        results.emplace_back().code = error::group_authorization_failed;
        continue;
      }
      results.push_back(k < got.size() ? got[k++] : adapter::offset_fetch_result{});
      // Offsets of topics the principal may not describe: refused when
      // asked for by name, left out when all were asked for.
      auto& offsets = results.back().offsets;
      for (auto& o : offsets)
        if (!self->may_on_topic(acl_operation::describe, o.topic)) {
          adapter::committed_offset refused;
          refused.topic = o.topic;
          refused.partition = o.partition;
          refused.code = error::topic_authorization_failed;
          o = std::move(refused);
        }
      if (every_topic[i])
        std::erase_if(offsets, [](const auto& o) { return o.code == error::topic_authorization_failed; });
    }
    rc.send(offset_fetch_response(rc, results, ids, broker));
  };
  if (asked.empty()) return answer({});
  groups.fetch_offsets(std::move(asked), answer);
}

void offset_delete(const request_context& rc, const msg::offset_delete_request& req, adapter::group_coordinator& groups,
                   const connection& c) {
  if (refused_group<msg::offset_delete_response>(c, rc, req.group_id, acl_operation::remove)) return;
  // Offsets of topics the principal may not read stay (and say so).
  std::vector<std::pair<std::string, int32_t>> parts;
  std::set<std::string> denied;
  for (const auto& t : req.topics) {
    if (!c.may_on_topic(acl_operation::read, t.name)) {
      denied.insert(t.name);
      continue;
    }
    for (const auto& p : t.partitions) parts.emplace_back(t.name, p.partition_index);
  }
  groups.delete_offsets(req.group_id, parts, [rc, req, denied](error e, std::vector<error> errs) {
    msg::offset_delete_response resp;
    resp.error_code = code(e);
    size_t i = 0;
    if (e == error::none)
      for (const auto& t : req.topics) {
        auto& rt = resp.topics.emplace_back();
        rt.name = t.name;
        for (const auto& p : t.partitions) {
          auto& rp = rt.partitions.emplace_back();
          rp.partition_index = p.partition_index;
          if (denied.count(t.name)) {
            rp.error_code = code(error::topic_authorization_failed);
            continue;
          }
          rp.error_code = code(i < errs.size() ? errs[i] : error::unknown_server_error);
          ++i;
        }
      }
    rc.send(resp);
  });
}

// ---- administration ----

void list_groups(const request_context& rc, const msg::list_groups_request& req, adapter::group_coordinator& groups,
                 adapter::share_groups* shares, const connection& c) {
  // DESCRIBE on the cluster lists every group; else those the principal
  // may describe.
  const bool every = c.may_on_cluster(acl_operation::describe);
  auto send = [rc, every, self = c.shared_from_this()](std::vector<adapter::group_listing> all) {
    msg::list_groups_response resp;
    for (auto& l : all) {
      if (!every && !self->may_on_group(acl_operation::describe, l.group_id)) continue;
      auto& g = resp.groups.emplace_back();
      g.group_id = std::move(l.group_id);
      g.protocol_type = std::move(l.protocol_type);
      g.group_state = std::move(l.state);
      g.group_type = std::move(l.type);
    }
    rc.send(resp);
  };
  bool want_share = req.types_filter.empty();
  for (auto t : req.types_filter) {
    std::transform(t.begin(), t.end(), t.begin(), ::tolower);
    want_share = want_share || t == "share";
  }
  // Before v4 a client knows nothing of share groups' states or types.
  if (shares == nullptr || !want_share || rc.version < 4)
    return groups.list_groups(req.states_filter, req.types_filter, send);
  groups.list_groups(
      req.states_filter, req.types_filter,
      [shares, states = req.states_filter, send](std::vector<adapter::group_listing> all) mutable {
        shares->list(states, [all = std::move(all), send](std::vector<adapter::group_listing> more) mutable {
          all.insert(all.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
          send(std::move(all));
        });
      });
}

void describe_groups(const request_context& rc, const msg::describe_groups_request& req,
                     adapter::group_coordinator& groups, const connection& c) {
  std::vector<std::string> allowed, denied;
  for (const auto& id : req.groups) (c.may_on_group(acl_operation::describe, id) ? allowed : denied).push_back(id);
  groups.describe_classic_groups(
      allowed, [rc, denied, self = c.shared_from_this(),
                ops = req.include_authorized_operations](const std::vector<adapter::classic_group_description>& ds) {
        msg::describe_groups_response resp;
        for (const auto& id : denied) {
          auto& g = resp.groups.emplace_back();
          g.group_id = id;
          g.error_code = code(error::group_authorization_failed);
          g.group_state = "";
          g.protocol_type = "";
          g.protocol_data = "";
        }
        for (const auto& d : ds) {
          auto& g = resp.groups.emplace_back();
          g.group_id = d.group_id;
          if (ops) g.authorized_operations = self->group_operations(d.group_id);
          g.group_state = d.state;
          g.protocol_type = d.protocol_type;
          g.protocol_data = d.protocol;
          // Before v6 an unknown group is a Dead group without an error.
          if (d.code == error::group_id_not_found && rc.version < 6) {
            g.error_code = 0;
          } else {
            g.error_code = code(d.code);
            if (!d.message.empty()) g.error_message = d.message;
          }
          for (const auto& m : d.members) {
            auto& om = g.members.emplace_back();
            om.member_id = m.member_id;
            om.group_instance_id = m.instance_id;
            om.client_id = m.client.client_id;
            om.client_host = m.client.client_host;
            om.member_metadata = bytes_ref::of(m.metadata);
            om.member_assignment = bytes_ref::of(m.assignment);
          }
        }
        rc.send(resp);
      });
}

void delete_allowed_groups(const request_context& rc, const msg::delete_groups_request& req,
                           adapter::group_coordinator& groups, adapter::share_groups* shares,
                           const std::vector<std::string>& denied);

void delete_groups(const request_context& rc, const msg::delete_groups_request& req, adapter::group_coordinator& groups,
                   adapter::share_groups* shares, const connection& c) {
  std::vector<std::string> denied;
  msg::delete_groups_request allowed;
  for (const auto& id : req.groups_names)
    (c.may_on_group(acl_operation::remove, id) ? allowed.groups_names : denied).push_back(id);
  delete_allowed_groups(rc, allowed, groups, shares, denied);
}

void delete_allowed_groups(const request_context& rc, const msg::delete_groups_request& req,
                           adapter::group_coordinator& groups, adapter::share_groups* shares,
                           const std::vector<std::string>& denied) {
  auto send = [rc, denied](const std::vector<std::string>& names, const std::vector<error>& errs) {
    msg::delete_groups_response resp;
    for (const auto& id : denied) {
      auto& r = resp.results.emplace_back();
      r.group_id = id;
      r.error_code = code(error::group_authorization_failed);
    }
    for (size_t i = 0; i < names.size(); ++i) {
      auto& r = resp.results.emplace_back();
      r.group_id = names[i];
      r.error_code = code(errs[i]);
    }
    rc.send(resp);
  };
  if (shares == nullptr)
    return groups.delete_groups(
        req.groups_names, [send, names = req.groups_names](const std::vector<error>& errs) { send(names, errs); });
  // Share groups first; the ids that are no share group go to the group
  // coordinator.
  shares->remove(req.groups_names, [&groups, send, names = req.groups_names](std::vector<error> errs) {
    std::vector<std::string> rest;
    for (size_t i = 0; i < names.size(); ++i)
      if (errs[i] == error::group_id_not_found) rest.push_back(names[i]);
    if (rest.empty()) return send(names, errs);
    groups.delete_groups(rest, [send, names, errs](const std::vector<error>& more) mutable {
      for (size_t i = 0, k = 0; i < names.size(); ++i)
        if (errs[i] == error::group_id_not_found) errs[i] = more[k++];
      send(names, errs);
    });
  });
}

// Answers a group request when there is no coordinator.
void unavailable(const request_context& rc) {
  auto e = code(error::coordinator_not_available);
  switch (rc.key) {
    case msg::join_group_request_api_key: {
      msg::join_group_response resp;
      resp.error_code = e;
      if (rc.version < 7) resp.protocol_name = "";
      return rc.send(resp);
    }
    case msg::sync_group_request_api_key:
      return send_error<msg::sync_group_response>(rc, error::coordinator_not_available);
    case msg::heartbeat_request_api_key:
      return send_error<msg::heartbeat_response>(rc, error::coordinator_not_available);
    case msg::consumer_group_heartbeat_request_api_key:
      return send_error<msg::consumer_group_heartbeat_response>(rc, error::coordinator_not_available);
    default: return rc.reply->close();
  }
}

// The coordinator, or null after answering COORDINATOR_NOT_AVAILABLE.
adapter::group_coordinator* coordinator(connection& c, const request_context& rc) {
  if (c.groups() == nullptr) unavailable(rc);
  return c.groups();
}

// Rows of the group APIs that take the request and the coordinator.
template <class Request,
          void (*Answer)(const request_context&, const Request&, adapter::group_coordinator&, const connection&)>
void with_coordinator(connection& c, const request_context& rc, reader& r, const frame_ptr&) {
  if (auto* g = coordinator(c, rc)) Answer(rc, decode<Request>(r, rc.version), *g, c);
}

// ... and the broker, for topic names and ids.
template <class Request, void (*Answer)(const request_context&, const Request&, adapter::group_coordinator&,
                                        adapter::broker&, const connection&)>
void with_broker(connection& c, const request_context& rc, reader& r, const frame_ptr&) {
  if (auto* g = coordinator(c, rc)) Answer(rc, decode<Request>(r, rc.version), *g, c.broker(), c);
}

// ... and the share manager (ListGroups and DeleteGroups cover share groups).
template <class Request, void (*Answer)(const request_context&, const Request&, adapter::group_coordinator&,
                                        adapter::share_groups*, const connection&)>
void with_shares(connection& c, const request_context& rc, reader& r, const frame_ptr&) {
  if (auto* g = coordinator(c, rc)) Answer(rc, decode<Request>(r, rc.version), *g, c.shares(), c);
}

}  // namespace

std::vector<api_handler> group_apis() {
  using frame = const frame_ptr&;
  return {
      {msg::find_coordinator_request_api_key, 0, 6, 3,
       [](connection& c, const request_context& rc, reader& r, frame) {
         find_coordinator(rc, decode<msg::find_coordinator_request>(r, rc.version), c.groups(), c.broker(), c.peer(),
                          c);
       }},
      {msg::join_group_request_api_key, 0, 9, 6,
       [](connection& c, const request_context& rc, reader& r, frame) {
         if (auto* g = coordinator(c, rc))
           join_group(rc, decode<msg::join_group_request>(r, rc.version), *g, c.peer(), c);
       }},
      {msg::sync_group_request_api_key, 0, 5, 4, with_coordinator<msg::sync_group_request, sync_group>},
      {msg::heartbeat_request_api_key, 0, 4, 4, with_coordinator<msg::heartbeat_request, heartbeat>},
      {msg::leave_group_request_api_key, 0, 5, 4, with_coordinator<msg::leave_group_request, leave_group>},
      {msg::offset_commit_request_api_key, 2, 10, 8, with_broker<msg::offset_commit_request, offset_commit>},
      {msg::offset_fetch_request_api_key, 1, 10, 6, with_broker<msg::offset_fetch_request, offset_fetch>},
      {msg::offset_delete_request_api_key, 0, 0, 99, with_coordinator<msg::offset_delete_request, offset_delete>},
      {msg::list_groups_request_api_key, 0, 5, 3, with_shares<msg::list_groups_request, list_groups>},
      {msg::describe_groups_request_api_key, 0, 6, 5, with_coordinator<msg::describe_groups_request, describe_groups>},
      {msg::delete_groups_request_api_key, 0, 2, 2, with_shares<msg::delete_groups_request, delete_groups>},
      // Held while it brings the member nothing new (a long poll): the
      // connection releases it when it sends another request.
      {msg::consumer_group_heartbeat_request_api_key, 0, 1, 0,
       [](connection& c, const request_context& rc, reader& r, frame) {
         if (auto* g = coordinator(c, rc))
           consumer_group_heartbeat(rc, decode<msg::consumer_group_heartbeat_request>(r, rc.version), *g, c.peer(),
                                    c.hold_heartbeat(), c);
       }},
      {msg::consumer_group_describe_request_api_key, 0, 1, 0,
       with_broker<msg::consumer_group_describe_request, consumer_group_describe>},
  };
}

}  // namespace mosaic::kafka
