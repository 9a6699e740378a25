// mosaic share: consume, describe, alter-config, reset-offsets (share groups, KIP-932).
#include "tools/cli/records.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace mosaic::cli {

// ---- share groups ----

// A member id as the Java and librdkafka share consumers make them: 16
// random bytes, base64url without padding.
std::string new_member_id() {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::random_device rd;
  std::string id;
  for (int i = 0; i < 22; ++i) id += alphabet[rd() % 64];
  return id;
}

struct share_topic {
  mosaic::kafka::uuid id{};
  std::vector<int32_t> partitions;
};

share_topic share_topic_of(connection& c, const std::string& topic) {
  auto md = metadata(c, std::vector<std::string>{topic});
  if (md.topics.empty() || md.topics[0].error_code != 0)
    refused(md.topics.empty() ? int16_t{3} : md.topics[0].error_code, topic, std::nullopt);
  share_topic t;
  t.id = md.topics[0].topic_id;
  for (const auto& p : md.topics[0].partitions) t.partitions.push_back(p.partition_index);
  std::sort(t.partitions.begin(), t.partitions.end());
  return t;
}

// The acknowledgements of one partition, as AcknowledgementBatches: runs
// of consecutive offsets, each with one type or one type per offset.
template <class Batch>
std::vector<Batch> ack_batches(std::map<int64_t, int8_t>& acks) {
  std::vector<Batch> out;
  for (const auto& [offset, type] : acks) {
    if (!out.empty() && out.back().last_offset + 1 == offset) {
      auto& b = out.back();
      b.last_offset = offset;
      b.acknowledge_types.push_back(type);
    } else {
      Batch b;
      b.first_offset = b.last_offset = offset;
      b.acknowledge_types = {type};
      out.push_back(std::move(b));
    }
  }
  for (auto& b : out) {
    const auto& t = b.acknowledge_types;
    if (std::all_of(t.begin(), t.end(), [&](int8_t x) { return x == t[0]; })) b.acknowledge_types.resize(1);
  }
  acks.clear();
  return out;
}

void alter_group_configs(connection& c, const std::string& group, const std::vector<std::string>& sets,
                         const std::vector<std::string>& deletes);

int8_t ack_type_named(const std::string& name) {
  if (name == "accept") return 1;
  if (name == "release") return 2;
  if (name == "reject") return 3;
  usage_error("--ack wants accept, release or reject, got '" + name + "'");
}

int share_consume(connection& c, args a) {
  const std::string topic = a.positional("topic");
  const auto group_opt = a.option("--group", "-g");
  if (!group_opt) usage_error("share consume needs --group GROUP");
  const std::string& group = *group_opt;
  const int8_t default_ack = ack_type_named(a.option("--ack").value_or("accept"));
  const auto reject_if = a.option("--reject-if");
  const auto release_if = a.option("--release-if");
  const auto hold_text = a.option("--hold");
  const auto renew_text = a.option("--renew-every");
  const auto count_text = a.option("--count", "-n");
  const auto idle_text = a.option("--idle-exit");
  const auto reset = a.option("--reset");
  const auto max_records_text = a.option("--max-records");
  const std::string format = a.option("--format", "-f").value_or("%o\\t%d\\t%s\\n");
  a.done();
  const int64_t hold_ms = hold_text ? integer(*hold_text, "--hold") : 0;
  const int64_t renew_ms = renew_text ? integer(*renew_text, "--renew-every") : 0;
  const int64_t count = count_text ? integer(*count_text, "--count") : -1;
  const int64_t idle_ms = idle_text ? integer(*idle_text, "--idle-exit") : -1;
  const auto max_records = static_cast<int32_t>(max_records_text ? integer(*max_records_text, "--max-records") : 100);
  if (reset) alter_group_configs(c, group, {"share.auto.offset.reset=" + *reset}, {});
  const share_topic t = share_topic_of(c, topic);
  const std::string member = new_member_id();
  using clock = std::chrono::steady_clock;

  int32_t member_epoch = 0;
  std::vector<int32_t> assigned;
  clock::time_point next_heartbeat{};
  coordinator_link coordinator{c, group, std::nullopt};
  auto heartbeat = [&](int32_t epoch) {
    msg::share_group_heartbeat_request req;
    req.group_id = group;
    req.member_id = member;
    req.member_epoch = epoch;
    if (epoch == 0) req.subscribed_topic_names = std::vector<std::string>{topic};
    auto resp = call_coordinator<msg::share_group_heartbeat_response>(coordinator, 76, 1, req,
                                                                      [](const auto& r) { return r.error_code; });
    if (epoch < 0) return;
    if (resp.error_code == 25 || resp.error_code == 110) {  // unknown member, fenced: join again
      member_epoch = 0;
      next_heartbeat = clock::now();
      return;
    }
    if (resp.error_code != 0) refused(resp.error_code, topic, resp.error_message);
    member_epoch = resp.member_epoch;
    if (resp.assignment) {
      assigned.clear();
      for (const auto& tp : resp.assignment->topic_partitions)
        if (tp.topic_id == t.id) assigned = tp.partitions;
    }
    next_heartbeat = clock::now() + std::chrono::milliseconds(std::max(100, resp.heartbeat_interval_ms));
  };

  record_reader reader;
  int32_t session_epoch = 0;
  std::map<int32_t, std::map<int64_t, int8_t>> pending;  // partition -> offset -> type
  int64_t printed = 0;
  auto last_record = clock::now();
  // Sends ShareAcknowledge with the acknowledgements in `acks` (emptied);
  // says on stderr which partitions refused them. Returns how many did.
  auto send_acks = [&](int32_t epoch, bool renew, std::map<int32_t, std::map<int64_t, int8_t>>& acks,
                       const char* what) {
    msg::share_acknowledge_request req;
    req.group_id = group;
    req.member_id = member;
    req.share_session_epoch = epoch;
    req.is_renew_ack = renew;
    auto& rt = req.topics.emplace_back();
    rt.topic_id = t.id;
    for (auto& [p, offsets] : acks) {
      if (offsets.empty()) continue;
      auto& rp = rt.partitions.emplace_back();
      rp.partition_index = p;
      rp.acknowledgement_batches = ack_batches<msg::share_acknowledge_request_acknowledgement_batch>(offsets);
    }
    auto resp = c.call<msg::share_acknowledge_response>(79, 2, req);
    int refused = 0;
    for (const auto& r : resp.responses)
      for (const auto& p : r.partitions)
        if (p.error_code != 0) {
          std::fprintf(stderr, "mosaic: %s in partition %d refused: %s\n", what, p.partition_index,
                       (p.error_message ? *p.error_message : error_name(p.error_code)).c_str());
          ++refused;
        }
    return refused;
  };
  auto renew = [&](const std::map<int32_t, std::vector<int64_t>>& held) {
    std::map<int32_t, std::map<int64_t, int8_t>> acks;
    for (const auto& [p, offsets] : held)
      for (int64_t o : offsets) acks[p][o] = 4;  // RENEW
    send_acks(session_epoch, true, acks, "renewing locks");
    session_epoch = session_epoch == INT32_MAX ? 1 : session_epoch + 1;
  };

  while (count < 0 || printed < count) {
    if (member_epoch == 0 || clock::now() >= next_heartbeat) heartbeat(member_epoch);
    if (idle_ms >= 0 && clock::now() - last_record > std::chrono::milliseconds(idle_ms)) break;
    if (assigned.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    msg::share_fetch_request req;
    req.group_id = group;
    req.member_id = member;
    req.share_session_epoch = session_epoch;
    req.max_wait_ms = 500;
    req.min_bytes = 1;
    req.max_bytes = 8 << 20;
    req.max_records = static_cast<int32_t>(count < 0 ? max_records : std::min<int64_t>(max_records, count - printed));
    req.batch_size = req.max_records;
    req.share_acquire_mode = 1;  // record_limit
    auto& ft = req.topics.emplace_back();
    ft.topic_id = t.id;
    for (int32_t p : assigned) {
      auto& fp = ft.partitions.emplace_back();
      fp.partition_index = p;
      fp.acknowledgement_batches = ack_batches<msg::share_fetch_request_acknowledgement_batch>(pending[p]);
    }
    std::vector<uint8_t> raw;
    auto resp = c.call<msg::share_fetch_response>(78, 2, req, &raw);
    if (resp.error_code != 0) refused(resp.error_code, topic, resp.error_message);
    session_epoch = session_epoch == INT32_MAX ? 1 : session_epoch + 1;
    std::map<int32_t, std::vector<int64_t>> held;
    for (const auto& rt : resp.responses)
      for (const auto& rp : rt.partitions) {
        if (rp.acknowledge_error_code != 0)
          std::fprintf(
              stderr, "mosaic: acknowledgements in partition %d refused: %s\n", rp.partition_index,
              (rp.acknowledge_error_message ? *rp.acknowledge_error_message : error_name(rp.acknowledge_error_code))
                  .c_str());
        if (rp.error_code != 0) refused(rp.error_code, topic, rp.error_message);
        reader.read(rp.records.span(), [&](int64_t offset, int64_t ts, const mosaic::log::record_view& rec) {
          int delivery = 0;
          for (const auto& ar : rp.acquired_records)
            if (offset >= ar.first_offset && offset <= ar.last_offset) delivery = ar.delivery_count;
          if (delivery == 0) return;  // not ours: only acquired records may be processed
          print_record(format, topic, rp.partition_index, offset, ts, rec, delivery);
          ++printed;
          const std::string value =
              rec.value ? std::string(reinterpret_cast<const char*>(rec.value->data()), rec.value->size())
                        : std::string();
          int8_t type = default_ack;
          if (reject_if && value.find(*reject_if) != std::string::npos) type = 3;
          if (release_if && value.find(*release_if) != std::string::npos) type = 2;
          pending[rp.partition_index][offset] = type;
          held[rp.partition_index].push_back(offset);
        });
      }
    std::fflush(stdout);
    if (!held.empty()) last_record = clock::now();
    // A slow worker: holds what it got, renewing the locks as it goes.
    if (!held.empty() && hold_ms > 0) {
      const auto until = clock::now() + std::chrono::milliseconds(hold_ms);
      while (clock::now() < until) {
        const auto step = renew_ms > 0 ? std::chrono::milliseconds(renew_ms) : until - clock::now();
        std::this_thread::sleep_for(std::min<clock::duration>(step, until - clock::now()));
        if (renew_ms > 0 && clock::now() < until) renew(held);
      }
    }
  }
  // The last acknowledgements, closing the share session; then leave.
  const int rc = session_epoch != 0 && send_acks(-1, false, pending, "the last acknowledgements") > 0 ? 1 : 0;
  heartbeat(-1);
  return rc;
}

// Mosaic's extra per-partition counts in DescribeShareGroupOffsets (a
// tagged field, which other clients skip): end offset, available,
// acquired, acknowledged, archived.
constexpr uint32_t share_counts_tag = 0x4d53;

int share_describe(connection& boot, args a) {
  const std::string group = a.positional("group");
  a.done();
  coordinator_link link{boot, group, std::nullopt};
  msg::share_group_describe_request dreq;
  dreq.group_ids = {group};
  auto d = call_coordinator<msg::share_group_describe_response>(
      link, 77, 1, dreq, [](const auto& r) { return r.groups.empty() ? int16_t{0} : r.groups[0].error_code; });
  const coordinator_ref co = link.get();
  connection& c = *co.conn;
  if (d.groups.empty()) throw cli_error{1, "no answer for share group '" + group + "'"};
  const auto& g = d.groups[0];
  if (g.error_code == 69) throw cli_error{1, "share group '" + group + "' does not exist"};
  if (g.error_code != 0) refused(g.error_code, "", g.error_message);
  std::printf("GROUP %s  COORDINATOR %d (%s)  STATE %s  EPOCH %d  ASSIGNOR %s  MEMBERS %zu\n", g.group_id.c_str(),
              co.node, co.address.c_str(), g.group_state.c_str(), g.group_epoch, g.assignor_name.c_str(),
              g.members.size());
  for (const auto& m : g.members) {
    std::string parts;
    for (const auto& tp : m.assignment.topic_partitions)
      for (int32_t p : tp.partitions) parts += (parts.empty() ? "" : ",") + tp.topic_name + "-" + std::to_string(p);
    std::printf("MEMBER %s  CLIENT %s  HOST %s  EPOCH %d  ASSIGNED %s\n", m.member_id.c_str(), m.client_id.c_str(),
                m.client_host.c_str(), m.member_epoch, parts.empty() ? "-" : parts.c_str());
  }
  msg::describe_share_group_offsets_request oreq;
  oreq.groups.emplace_back().group_id = group;
  auto o = call_coordinator<msg::describe_share_group_offsets_response>(
      link, 90, 1, oreq, [](const auto& r) { return r.groups.empty() ? int16_t{0} : r.groups[0].error_code; });
  std::printf("%-24s %9s %12s %12s %9s %9s %9s %12s %9s %9s\n", "TOPIC", "PARTITION", "START-OFFSET", "END-OFFSET",
              "IN-FLIGHT", "AVAILABLE", "ACQUIRED", "ACKNOWLEDGED", "ARCHIVED", "LAG");
  for (const auto& og : o.groups)
    for (const auto& ot : og.topics)
      for (const auto& op : ot.partitions) {
        std::array<int64_t, 5> n{-1, -1, -1, -1, -1};
        for (const auto& tag : op.unknown_tags)
          if (tag.tag == share_counts_tag && tag.data.size() == 40)
            for (size_t i = 0; i < 5; ++i) n[i] = mosaic::log::load_be64(tag.data.data() + 8 * i);
        const int64_t in_flight = n[0] >= 0 ? n[0] - op.start_offset : -1;
        int64_t lag = op.lag;
        if (lag < 0 && op.start_offset >= 0) {
          // The broker that answered does not lead the partition (it knows
          // no high watermark): asked of the leader.
          const int64_t end = list_offset(c, ot.topic_name, op.partition_index, -1);
          lag = std::max<int64_t>(0, end - op.start_offset - std::max<int64_t>(0, n[3]) - std::max<int64_t>(0, n[4]));
        }
        std::printf("%-24s %9d %12lld %12lld %9lld %9lld %9lld %12lld %9lld %9lld\n", ot.topic_name.c_str(),
                    op.partition_index, static_cast<long long>(op.start_offset), static_cast<long long>(n[0]),
                    static_cast<long long>(in_flight), static_cast<long long>(n[1]), static_cast<long long>(n[2]),
                    static_cast<long long>(n[3]), static_cast<long long>(n[4]), static_cast<long long>(lag));
      }
  // The share policy each broker runs (a share-partition's leader decides
  // what a released or timed-out record does next): a swap shows here.
  if (const auto policy = slot_summary(boot, "group.share.policy"); !policy.empty())
    std::printf("SHARE POLICY %s\n", policy.c_str());
  return 0;
}

int share_reset_offsets(connection& c, const std::string& group, args& a) {
  const auto topic = a.option("--topic", "-t");
  if (!topic) usage_error("share reset-offsets needs --topic TOPIC");
  const auto only = a.option("--partition", "-p");
  const auto to = a.option("--to");
  if (!to) usage_error("share reset-offsets needs --to earliest|latest|OFFSET");
  a.done();
  const std::vector<int32_t> parts = reset_partitions(c, *topic, only);
  msg::alter_share_group_offsets_request req;
  req.group_id = group;
  auto& rt = req.topics.emplace_back();
  rt.topic_name = *topic;
  for (int32_t p : parts) {
    auto& rp = rt.partitions.emplace_back();
    rp.partition_index = p;
    rp.start_offset = reset_target(c, *topic, p, *to);
  }
  coordinator_link link{c, group, std::nullopt};
  auto resp = call_coordinator<msg::alter_share_group_offsets_response>(link, 91, 0, req,
                                                                        [](const auto& r) { return r.error_code; });
  if (resp.error_code == 68) throw cli_error{1, "share group '" + group + "' has members; stop them first"};
  if (resp.error_code != 0) refused(resp.error_code, *topic, resp.error_message);
  for (const auto& r : resp.responses)
    for (const auto& p : r.partitions) {
      if (p.error_code != 0) refused(p.error_code, *topic, p.error_message);
      std::printf("%s-%d reset\n", r.topic_name.c_str(), p.partition_index);
    }
  return 0;
}

int share_alter_config(connection& c, const std::string& group, args& a) {
  const auto sets = a.options("--set", "-s");
  const auto deletes = a.options("--delete", "-d");
  a.done();
  if (sets.empty() && deletes.empty()) usage_error("share alter-config needs --set KEY=VALUE or --delete KEY");
  alter_group_configs(c, group, sets, deletes);
  std::printf("share group %s: %zu config(s) changed\n", group.c_str(), sets.size() + deletes.size());
  return 0;
}

void alter_group_configs(connection& c, const std::string& group, const std::vector<std::string>& sets,
                         const std::vector<std::string>& deletes) {
  msg::incremental_alter_configs_request req;
  auto& r = req.resources.emplace_back();
  r.resource_type = 32;  // GROUP
  r.resource_name = group;
  for (const auto& kv : sets) {
    auto [k, v] = key_value(kv, "--set");
    auto& cfg = r.configs.emplace_back();
    cfg.name = k;
    cfg.config_operation = 0;
    cfg.value = v;
  }
  for (const auto& k : deletes) {
    auto& cfg = r.configs.emplace_back();
    cfg.name = k;
    cfg.config_operation = 1;
  }
  auto resp = c.call<msg::incremental_alter_configs_response>(44, 1, req);
  if (!resp.responses.empty() && resp.responses[0].error_code != 0)
    refused(resp.responses[0].error_code, "", resp.responses[0].error_message);
}

int share_command(connection& c, const std::string& verb, args a) {
  if (verb == "consume") return share_consume(c, std::move(a));
  if (verb == "alter-config") {
    const std::string group = a.positional("group");
    return share_alter_config(c, group, a);
  }
  if (verb == "describe") return share_describe(c, std::move(a));
  if (verb == "reset-offsets") {
    const std::string group = a.positional("group");
    return share_reset_offsets(c, group, a);
  }
  usage_error("unknown share subcommand '" + verb + "'");
}

}  // namespace mosaic::cli
