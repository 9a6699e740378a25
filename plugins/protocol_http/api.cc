#include "plugins/protocol_http/api.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <optional>
#include <utility>

#include <nlohmann/json.hpp>

#include "mosaic/sdk/murmur2.h"
#include "plugins/protocol_http/base64.h"
#include "plugins/protocol_http/queues.h"

namespace mosaic::http {

using json = nlohmann::json;
using adapter::error;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

namespace {

std::optional<int64_t> number(const std::string& s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t at = 0;
  while (at < path.size()) {
    if (path[at] == '/') {
      ++at;
      continue;
    }
    const auto end = path.find('/', at);
    parts.push_back(path.substr(at, end == std::string::npos ? std::string::npos : end - at));
    if (end == std::string::npos) break;
    at = end;
  }
  return parts;
}

reply method_not_allowed(const std::string& allow) {
  auto r = error_reply(405, "method_not_allowed", "this resource allows " + allow);
  r.headers.emplace_back("Allow", allow);
  return r;
}

// A JSON body, or the reply that refuses it.
std::optional<json> json_body(const call& c, reply& refusal) {
  if (c.req.content_type != "application/json") {
    refusal = error_reply(415, "unsupported_media_type",
                          "the body must be application/json (it is '" + c.req.content_type + "')");
    return std::nullopt;
  }
  json j = json::parse(c.req.body, nullptr, false);
  if (j.is_discarded()) {
    refusal = error_reply(400, "invalid_json", "the body is not JSON");
    return std::nullopt;
  }
  if (!j.is_object()) {
    refusal = error_reply(400, "invalid_json", "the body must be a JSON object");
    return std::nullopt;
  }
  return j;
}

// A key or value as the request's format says it is written; nullopt and
// `why` when it does not fit the format.
std::optional<std::optional<std::string>> encode_field(const json& v, const std::string& format, std::string& why) {
  if (v.is_null()) return std::optional<std::string>();
  if (format == "json") return std::optional<std::string>(v.dump());
  if (!v.is_string()) {
    why = "with format '" + format + "' keys and values are strings (or null)";
    return std::nullopt;
  }
  if (format == "string") return std::optional<std::string>(v.get<std::string>());
  auto bytes = base64_decode(v.get<std::string>());
  if (!bytes) {
    why = "not base64: '" + v.get<std::string>().substr(0, 40) + "'";
    return std::nullopt;
  }
  return std::optional<std::string>(std::move(*bytes));
}

json decode_field(const std::optional<std::string>& v, const std::string& format) {
  if (!v) return nullptr;
  if (format == "base64") return base64_encode(*v);
  if (format == "json") {
    json j = json::parse(*v, nullptr, false);
    if (!j.is_discarded()) return j;
  }
  return *v;
}

}  // namespace

bool valid_format(const std::string& f) { return f == "string" || f == "json" || f == "base64"; }

json record_json(const adapter::plain_record& r, const std::string& format) {
  json headers = json::array();
  for (const auto& [k, v] : r.headers) headers.push_back({{"key", k}, {"value", decode_field(v, format)}});
  return {{"offset", r.offset},
          {"timestamp", r.timestamp},
          {"key", decode_field(r.key, format)},
          {"value", decode_field(r.value, format)},
          {"headers", headers}};
}

reply not_coordinator(int32_t node, const std::string& group) {
  return error_reply(421, "not_coordinator",
                     "broker " + std::to_string(node) + " coordinates group " + group + "; ask it");
}

std::string code_of(error e) {
  std::string name = adapter::error_name(e);
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

int status_of(error e) {
  switch (e) {
    case error::none: return 200;
    case error::unknown_topic_or_partition:
    case error::unknown_topic_id:
    case error::group_id_not_found: return 404;
    case error::topic_already_exists: return 409;
    case error::not_leader_or_follower:
    case error::not_coordinator: return 421;
    case error::topic_authorization_failed:
    case error::group_authorization_failed:
    case error::cluster_authorization_failed: return 403;
    case error::message_too_large:
    case error::record_list_too_large: return 413;
    case error::invalid_record:
    case error::corrupt_message:
    case error::invalid_topic_exception:
    case error::invalid_partitions:
    case error::invalid_replication_factor:
    case error::invalid_config:
    case error::invalid_request:
    case error::policy_violation:
    case error::offset_out_of_range: return 422;
    case error::request_timed_out: return 504;
    case error::not_enough_replicas:
    case error::not_enough_replicas_after_append:
    case error::leader_not_available:
    case error::coordinator_not_available:
    case error::coordinator_load_in_progress:
    case error::kafka_storage_error: return 503;
    default: return adapter::retriable(e) ? 503 : 500;
  }
}

reply kafka_error(error e, const std::string& message) {
  return error_reply(status_of(e), code_of(e), message.empty() ? adapter::error_name(e) : message);
}

api::api(const adapter::adapter_context& ctx, options o)
    : ctx_(ctx), opts_(o), queues_(std::make_unique<queues>(ctx, o)) {}
api::~api() = default;

bool api::allowed(const call& c, adapter::acl_operation op, adapter::acl_resource type, const std::string& name) const {
  return !ctx_.security.authz || ctx_.security.authz->allowed(c.who, c.host, op, type, name);
}

void api::serve(const std::shared_ptr<call>& c, done_fn done) {
  const auto& m = c->req.method;
  const bool get = m == "GET" || m == "HEAD", post = m == "POST";
  const auto p = split_path(c->req.path);
  try {
    if (p.size() == 1 && p[0] == "openapi.json") {
      if (!get) return done(method_not_allowed("GET, HEAD"));
      return done(json_reply(200, openapi_json()));
    }
    if (p.empty() || p[0] == "console") {
      if (!get) return done(method_not_allowed("GET, HEAD"));
      if (p.empty() || (p.size() == 1 && c->req.path.back() != '/')) {
        reply moved;
        moved.status = 302;
        moved.headers.emplace_back("Location", "/console/");
        return done(moved);
      }
      return done(console_file(p.size() == 2 ? p[1] : ""));
    }
    if (p[0] != "v1") return done(error_reply(404, "not_found", "no resource at " + c->req.path));
    if (p.size() == 2 && p[1] == "plugins") {
      if (!get) return done(method_not_allowed("GET, HEAD"));
      return plugins(c, done);
    }
    if (p.size() == 2 && p[1] == "cluster") {
      if (!get) return done(method_not_allowed("GET, HEAD"));
      return cluster(c, done);
    }
    if (p.size() == 2 && p[1] == "topics") {
      if (get) return list_topics(c, done);
      if (post) return create_topic(c, done);
      return done(method_not_allowed("GET, HEAD, POST"));
    }
    if (p.size() == 3 && p[1] == "topics") {
      if (!get) return done(method_not_allowed("GET, HEAD"));
      return describe_topic(c, p[2], done);
    }
    if (p.size() == 4 && p[1] == "topics" && p[3] == "records") {
      if (!post) return done(method_not_allowed("POST"));
      return produce(c, p[2], std::move(done));
    }
    if (p.size() == 6 && p[1] == "topics" && p[3] == "partitions" && p[5] == "records") {
      if (!get) return done(method_not_allowed("GET, HEAD"));
      return fetch(c, p[2], p[4], std::move(done));
    }
    if (p.size() == 2 && p[1] == "groups") {
      if (!get) return done(method_not_allowed("GET, HEAD"));
      return list_groups(c, std::move(done));
    }
    if (p.size() == 3 && p[1] == "groups") {
      if (!get) return done(method_not_allowed("GET, HEAD"));
      return describe_group(c, p[2], std::move(done));
    }
    if (p.size() == 4 && p[1] == "queues" && (p[3] == "receive" || p[3] == "acknowledge")) {
      if (!post) return done(method_not_allowed("POST"));
      reply refusal;
      auto body = json_body(*c, refusal);
      if (!body) return done(refusal);
      if (!allowed(*c, adapter::acl_operation::read, adapter::acl_resource::group, p[2]))
        return done(error_reply(403, "group_authorization_failed", "not allowed to READ group " + p[2]));
      auto may_read = [this, c](const std::string& topic) {
        return allowed(*c, adapter::acl_operation::read, adapter::acl_resource::topic, topic);
      };
      if (p[3] == "receive") return queues_->receive(p[2], *body, may_read, std::move(done));
      return queues_->acknowledge(p[2], *body, std::move(done));
    }
    return done(error_reply(404, "not_found", "no resource at " + c->req.path));
  } catch (const std::exception& e) {
    // A body of the right shape with a value of the wrong type.
    return done(error_reply(400, "invalid_request", e.what()));
  }
}

void api::cluster(const std::shared_ptr<call>& c, const done_fn& done) {
  if (!allowed(*c, adapter::acl_operation::describe, adapter::acl_resource::cluster, adapter::cluster_resource_name))
    return done(error_reply(403, "cluster_authorization_failed", "not allowed to DESCRIBE the cluster"));
  json brokers = json::array();
  for (const auto& b : ctx_.service->brokers()) {
    json listeners = json::array();
    for (const auto& l : b.listeners) listeners.push_back({{"name", l.name}, {"host", l.host}, {"port", l.port}});
    brokers.push_back({{"id", b.node_id},
                       {"host", b.host},
                       {"port", b.port},
                       {"rack", b.rack ? json(*b.rack) : json(nullptr)},
                       {"fenced", b.fenced},
                       {"listeners", listeners}});
  }
  const auto q = ctx_.service->describe_quorum();
  json voters = json::array();
  for (const auto& v : q.voters)
    voters.push_back({{"id", v.id}, {"log_end_offset", v.log_end_offset}, {"last_fetch_ms", v.last_fetch_ms}});
  json body = {{"cluster_id", ctx_.service->cluster_id()},
               {"node_id", ctx_.service->node_id()},
               {"controller_id", ctx_.service->controller_id()},
               {"brokers", brokers},
               {"quorum",
                {{"leader_id", q.leader_id},
                 {"leader_epoch", q.leader_epoch},
                 {"high_watermark", q.high_watermark},
                 {"voters", voters}}}};
  done(json_reply(200, dump(body)));
}

void api::plugins(const std::shared_ptr<call>& c, const done_fn& done) {
  if (!allowed(*c, adapter::acl_operation::describe, adapter::acl_resource::cluster, adapter::cluster_resource_name))
    return done(error_reply(403, "cluster_authorization_failed", "not allowed to DESCRIBE the cluster"));
  json slots = json::array();
  if (ctx_.plugins)
    for (const auto& p : ctx_.plugins())
      slots.push_back({{"slot", p.slot},
                       {"plugin", p.plugin},
                       {"generation", p.generation},
                       {"calls", p.calls},
                       {"errors", p.errors}});
  done(json_reply(200, dump({{"node_id", ctx_.service->node_id()}, {"slots", slots}})));
}

void api::list_topics(const std::shared_ptr<call>& c, const done_fn& done) {
  const auto& q = c->req.query;
  const std::string prefix = q.count("prefix") ? q.at("prefix") : "";
  const std::string after = q.count("after") ? q.at("after") : "";
  int64_t limit = 1000;
  if (q.count("limit")) {
    auto n = number(q.at("limit"));
    if (!n || *n < 1 || *n > 10000)
      return done(error_reply(400, "invalid_parameter", "limit must be a number from 1 to 10000"));
    limit = *n;
  }
  const bool internal = q.count("internal") && q.at("internal") == "true";
  const std::string filter = q.count("filter") ? q.at("filter") : "";
  auto all = ctx_.service->topics();
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  json topics = json::array();
  std::string next;
  for (const auto& t : all) {
    if (!after.empty() && t.name <= after) continue;
    if (t.name.rfind(prefix, 0) != 0) continue;
    if (!filter.empty() && t.name.find(filter) == std::string::npos) continue;
    if (t.internal && !internal) continue;
    if (!allowed(*c, adapter::acl_operation::describe, adapter::acl_resource::topic, t.name)) continue;
    if (static_cast<int64_t>(topics.size()) == limit) {
      next = topics.back()["name"].get<std::string>();
      break;
    }
    topics.push_back({{"name", t.name},
                      {"id", base64_encode(std::string(t.id.begin(), t.id.end()), true)},
                      {"partitions", t.partitions.size()},
                      {"internal", t.internal}});
  }
  done(json_reply(200, dump({{"topics", topics}, {"next", next.empty() ? json(nullptr) : json(next)}})));
}

void api::create_topic(const std::shared_ptr<call>& c, const done_fn& done) {
  reply refusal;
  auto body = json_body(*c, refusal);
  if (!body) return done(refusal);
  if (!body->contains("name") || !(*body)["name"].is_string())
    return done(error_reply(400, "invalid_request", "a topic needs a \"name\""));
  adapter::new_topic t;
  t.name = (*body)["name"].get<std::string>();
  if (!allowed(*c, adapter::acl_operation::create, adapter::acl_resource::topic, t.name) &&
      !allowed(*c, adapter::acl_operation::create, adapter::acl_resource::cluster, adapter::cluster_resource_name))
    return done(error_reply(403, "topic_authorization_failed", "not allowed to CREATE topic " + t.name));
  t.partitions = body->value("partitions", -1);
  t.replication_factor = static_cast<int16_t>(body->value("replication_factor", -1));
  if (body->contains("configs")) {
    const auto& configs = (*body)["configs"];
    if (!configs.is_object()) return done(error_reply(400, "invalid_request", "\"configs\" is an object of strings"));
    for (const auto& [k, v] : configs.items())
      t.configs.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
  }
  adapter::topic_info created;
  auto o = ctx_.service->create_topic(t, false, &created);
  if (!o.ok()) return done(kafka_error(o.code, o.message));
  done(json_reply(201, dump({{"name", created.name},
                             {"id", base64_encode(std::string(created.id.begin(), created.id.end()), true)},
                             {"partitions", created.partitions.size()}})));
}

void api::describe_topic(const std::shared_ptr<call>& c, const std::string& topic, const done_fn& done) {
  if (!allowed(*c, adapter::acl_operation::describe, adapter::acl_resource::topic, topic))
    return done(error_reply(403, "topic_authorization_failed", "not allowed to DESCRIBE topic " + topic));
  auto t = ctx_.service->find_topic(topic);
  if (!t) return done(error_reply(404, "unknown_topic_or_partition", "no topic " + topic));
  json parts = json::array();
  const int32_t self = ctx_.service->node_id();
  for (const auto& p : t->partitions) {
    json one = {{"partition", p.partition}, {"leader", p.leader}, {"leader_epoch", p.leader_epoch},
                {"replicas", p.replicas},   {"isr", p.isr},       {"earliest_offset", nullptr},
                {"latest_offset", nullptr}};
    if (p.leader == self) {
      auto e = ctx_.service->list_offset(topic, p.partition, adapter::earliest_timestamp);
      auto l = ctx_.service->list_offset(topic, p.partition, adapter::latest_timestamp);
      if (e.code == error::none) one["earliest_offset"] = e.offset;
      if (l.code == error::none) one["latest_offset"] = l.offset;
    }
    parts.push_back(one);
  }
  done(json_reply(200, dump({{"name", t->name},
                             {"id", base64_encode(std::string(t->id.begin(), t->id.end()), true)},
                             {"internal", t->internal},
                             {"partitions", parts}})));
}

void api::produce(const std::shared_ptr<call>& c, const std::string& topic, done_fn done) {
  if (!allowed(*c, adapter::acl_operation::write, adapter::acl_resource::topic, topic))
    return done(error_reply(403, "topic_authorization_failed", "not allowed to WRITE topic " + topic));
  auto t = ctx_.service->find_topic(topic);
  if (!t) return done(error_reply(404, "unknown_topic_or_partition", "no topic " + topic));
  const auto& q = c->req.query;
  int16_t acks = -1;
  if (q.count("acks")) {
    const auto& a = q.at("acks");
    if (a == "all" || a == "-1")
      acks = -1;
    else if (a == "1")
      acks = 1;
    else
      return done(error_reply(400, "invalid_parameter", "acks is all or 1"));
  }
  const auto n_partitions = static_cast<int32_t>(t->partitions.size());
  std::optional<int32_t> fixed;
  if (q.count("partition")) {
    auto n = number(q.at("partition"));
    if (!n || *n < 0 || *n >= n_partitions)
      return done(
          error_reply(404, "unknown_topic_or_partition", "topic " + topic + " has no partition " + q.at("partition")));
    fixed = static_cast<int32_t>(*n);
  }

  // The records and the partition each goes to, in the request's order.
  std::vector<adapter::plain_record> records;
  std::vector<int32_t> partition_of;
  const int32_t sticky = static_cast<int32_t>(round_robin_.fetch_add(1) % static_cast<uint64_t>(n_partitions));
  auto place = [&](const std::optional<std::string>& key, std::optional<int32_t> wanted) {
    if (wanted) return *wanted;
    if (fixed) return *fixed;
    if (key) return sdk::key_partition(*key, n_partitions);
    return sticky;
  };
  if (c->req.content_type == "application/octet-stream") {
    // The body is one record's value.
    adapter::plain_record r;
    if (q.count("key")) r.key = q.at("key");
    r.value = c->req.body;
    partition_of.push_back(place(r.key, std::nullopt));
    records.push_back(std::move(r));
  } else {
    reply refusal;
    auto body = json_body(*c, refusal);
    if (!body) return done(refusal);
    const std::string format = body->value("format", std::string("string"));
    if (!valid_format(format))
      return done(error_reply(400, "invalid_request", "format is string, json or base64 (not '" + format + "')"));
    if (!body->contains("records") || !(*body)["records"].is_array() || (*body)["records"].empty())
      return done(error_reply(400, "invalid_request", "the body needs \"records\": a non-empty array"));
    for (const auto& item : (*body)["records"]) {
      const size_t i = records.size();
      if (!item.is_object())
        return done(error_reply(400, "invalid_request", "record " + std::to_string(i) + " is not an object"));
      adapter::plain_record r;
      std::string why;
      for (const char* field : {"key", "value"}) {
        if (!item.contains(field)) continue;
        auto v = encode_field(item[field], format, why);
        if (!v)
          return done(error_reply(400, "invalid_record", "record " + std::to_string(i) + " " + field + ": " + why));
        (std::string_view(field) == "key" ? r.key : r.value) = *v;
      }
      if (item.contains("headers")) {
        const auto& h = item["headers"];
        auto add = [&](const std::string& k, const json& v) {
          auto encoded = encode_field(v, format == "json" ? "string" : format, why);
          if (!encoded) return false;
          r.headers.emplace_back(k, *encoded);
          return true;
        };
        bool ok = true;
        if (h.is_object()) {
          for (const auto& [k, v] : h.items()) ok = ok && add(k, v);
        } else if (h.is_array()) {
          for (const auto& one : h)
            ok = ok && one.is_object() && one.contains("key") && one["key"].is_string() &&
                 add(one["key"].get<std::string>(), one.value("value", json(nullptr)));
        } else {
          ok = false;
        }
        if (!ok)
          return done(error_reply(400, "invalid_record",
                                  "record " + std::to_string(i) +
                                      " headers: an object of strings, or [{\"key\", \"value\"}]" +
                                      (why.empty() ? "" : ": " + why)));
      }
      std::optional<int32_t> wanted;
      if (item.contains("partition")) {
        if (!item["partition"].is_number_integer() || item["partition"].get<int64_t>() < 0 ||
            item["partition"].get<int64_t>() >= n_partitions)
          return done(error_reply(
              404, "unknown_topic_or_partition",
              "record " + std::to_string(i) + ": topic " + topic + " has no partition " + item["partition"].dump()));
        wanted = item["partition"].get<int32_t>();
      }
      partition_of.push_back(place(r.key, wanted));
      records.push_back(std::move(r));
    }
  }

  // One batch per partition, produced together; the reply once all answered.
  std::map<int32_t, std::vector<size_t>> by_partition;
  for (size_t i = 0; i < records.size(); ++i) by_partition[partition_of[i]].push_back(i);
  struct gather {
    std::mutex mu;
    size_t left = 0;
    std::vector<json> offsets;
    std::optional<adapter::produce_result> failed;
    done_fn done;
  };
  auto g = std::make_shared<gather>();
  g->left = by_partition.size();
  g->offsets.resize(records.size());
  g->done = std::move(done);
  const std::string principal = c->who.str();
  for (auto& [partition, indexes] : by_partition) {
    std::vector<adapter::plain_record> batch;
    batch.reserve(indexes.size());
    for (size_t i : indexes) batch.push_back(std::move(records[i]));
    auto bytes = std::make_shared<std::vector<uint8_t>>(ctx_.service->encode_records(batch));
    const int32_t part = partition;
    ctx_.service->produce(
        topic, partition, std::span<uint8_t>(*bytes), acks, opts_.produce_timeout_ms, bytes,
        adapter::produce_origin{principal, "http"}, [g, part, idx = indexes](const adapter::produce_result& r) {
          std::unique_lock lock(g->mu);
          if (r.code != error::none) {
            if (!g->failed) g->failed = r;
          } else {
            for (size_t k = 0; k < idx.size(); ++k)
              g->offsets[idx[k]] = {{"partition", part}, {"offset", r.base_offset + static_cast<int64_t>(k)}};
          }
          if (--g->left != 0) return;
          lock.unlock();
          if (g->failed) {
            auto e = kafka_error(g->failed->code, g->failed->message);
            if (g->failed->code == error::not_leader_or_follower || g->failed->code == error::invalid_record) {
              // What was stored: the partitions that took theirs.
              auto body = json::parse(e.body);
              body["offsets"] = g->offsets;
              e.body = dump(body);
            }
            return g->done(std::move(e));
          }
          g->done(json_reply(200, dump({{"offsets", g->offsets}})));
        });
  }
}

void api::fetch(const std::shared_ptr<call>& c, const std::string& topic, const std::string& partition_text,
                done_fn done) {
  if (!allowed(*c, adapter::acl_operation::read, adapter::acl_resource::topic, topic))
    return done(error_reply(403, "topic_authorization_failed", "not allowed to READ topic " + topic));
  auto t = ctx_.service->find_topic(topic);
  if (!t) return done(error_reply(404, "unknown_topic_or_partition", "no topic " + topic));
  auto p = number(partition_text);
  if (!p || *p < 0 || *p >= static_cast<int64_t>(t->partitions.size()))
    return done(
        error_reply(404, "unknown_topic_or_partition", "topic " + topic + " has no partition " + partition_text));
  const auto partition = static_cast<int32_t>(*p);
  const auto& q = c->req.query;
  auto param = [&](const char* name, int64_t fallback, int64_t lo, int64_t hi, int64_t& out) {
    out = fallback;
    if (!q.count(name)) return true;
    auto n = number(q.at(name));
    if (!n || *n < lo || *n > hi) return false;
    out = *n;
    return true;
  };
  int64_t max_records = 0, max_bytes = 0, wait_ms = 0;
  if (!param("max_records", 100, 1, opts_.max_records, max_records))
    return done(error_reply(400, "invalid_parameter", "max_records is from 1 to " + std::to_string(opts_.max_records)));
  if (!param("max_bytes", 1 << 20, 1, static_cast<int64_t>(opts_.max_body_bytes) * 8, max_bytes))
    return done(error_reply(400, "invalid_parameter", "max_bytes is a positive number"));
  if (!param("wait_ms", 0, 0, opts_.max_wait_ms, wait_ms))
    return done(error_reply(400, "invalid_parameter", "wait_ms is from 0 to " + std::to_string(opts_.max_wait_ms)));
  const std::string format = q.count("format") ? q.at("format") : "string";
  if (!valid_format(format)) return done(error_reply(400, "invalid_parameter", "format is string, json or base64"));

  int64_t offset = 0;
  if (q.count("offset") && q.count("timestamp"))
    return done(error_reply(400, "invalid_parameter", "give offset or timestamp, not both"));
  if (q.count("timestamp")) {
    auto ts = number(q.at("timestamp"));
    if (!ts || *ts < 0) return done(error_reply(400, "invalid_parameter", "timestamp is milliseconds since the epoch"));
    auto found = ctx_.service->list_offset(topic, partition, *ts);
    if (found.code != error::none) return done(kafka_error(found.code, ""));
    if (found.offset < 0) {
      // Nothing at or after that time: the end of the partition.
      auto end = ctx_.service->list_offset(topic, partition, adapter::latest_timestamp);
      if (end.code != error::none) return done(kafka_error(end.code, ""));
      offset = end.offset;
    } else {
      offset = found.offset;
    }
  } else {
    const std::string at = q.count("offset") ? q.at("offset") : "earliest";
    if (at == "earliest" || at == "latest") {
      auto o = ctx_.service->list_offset(topic, partition,
                                         at == "earliest" ? adapter::earliest_timestamp : adapter::latest_timestamp);
      if (o.code != error::none) return done(kafka_error(o.code, ""));
      offset = o.offset;
    } else {
      auto n = number(at);
      if (!n || *n < 0) return done(error_reply(400, "invalid_parameter", "offset is earliest, latest or a number"));
      offset = *n;
    }
  }

  adapter::fetch_request fr;
  fr.partitions.push_back({topic, partition, offset, static_cast<int32_t>(max_bytes), -1});
  fr.max_wait_ms = static_cast<int32_t>(wait_ms);
  fr.min_bytes = wait_ms > 0 ? 1 : 0;
  fr.max_bytes = static_cast<int32_t>(max_bytes);
  auto service = ctx_.service;
  ctx_.service->fetch(std::move(fr), [service, offset, max_records, format,
                                      done = std::move(done)](std::vector<adapter::fetched_partition> got) {
    if (got.empty()) return done(error_reply(500, "unknown_server_error", "the fetch answered nothing"));
    auto& f = got.front();
    if (f.code != error::none) return done(kafka_error(f.code, ""));
    std::vector<adapter::plain_record> records;
    auto o = service->decode_records(f.records, records);
    if (!o.ok() && records.empty()) return done(kafka_error(o.code, o.message));
    json out = json::array();
    int64_t next = offset;
    for (const auto& r : records) {
      if (r.offset < offset) continue;
      if (static_cast<int64_t>(out.size()) == max_records) break;
      out.push_back(record_json(r, format));
      next = r.offset + 1;
    }
    done(json_reply(200, dump({{"records", out},
                               {"next_offset", next},
                               {"high_watermark", f.high_watermark},
                               {"log_start_offset", f.log_start_offset}})));
  });
}

void api::list_groups(const std::shared_ptr<call>& c, done_fn done) {
  const auto& who = c;
  auto shares = ctx_.shares;
  // The callbacks may come after this object is gone (a broker stopping):
  // they hold what they need, not `this`.
  auto authz = ctx_.security.authz;
  ctx_.groups->list_groups(
      {}, {}, [authz, who, shares, done = std::move(done)](std::vector<adapter::group_listing> all) {
        auto answer = [authz, who, done](std::vector<adapter::group_listing> groups_and_shares) {
          std::sort(groups_and_shares.begin(), groups_and_shares.end(),
                    [](const auto& a, const auto& b) { return a.group_id < b.group_id; });
          json groups = json::array();
          for (const auto& g : groups_and_shares) {
            if (authz && !authz->allowed(who->who, who->host, adapter::acl_operation::describe,
                                         adapter::acl_resource::group, g.group_id))
              continue;
            groups.push_back({{"group_id", g.group_id}, {"type", g.type}, {"state", g.state}});
          }
          done(json_reply(200, dump({{"groups", groups}})));
        };
        if (shares == nullptr) return answer(std::move(all));
        shares->list({}, [all = std::move(all), answer](std::vector<adapter::group_listing> share_groups) mutable {
          for (auto& g : share_groups) {
            g.type = "share";
            all.push_back(std::move(g));
          }
          answer(std::move(all));
        });
      });
}

namespace {

// A group's description as it is put together: offsets, then the age of
// the record at each committed offset, then the members.
struct group_view {
  std::string group;
  std::string type = "consumer";
  std::string state;
  json partitions = json::array();
  json members = json::array();
  int64_t lag = 0;
  int64_t lag_ms = 0;
  done_fn done;
  void answer() const {
    done(json_reply(200, dump({{"group_id", group},
                               {"type", type},
                               {"state", state},
                               {"lag", lag},
                               {"lag_ms", lag_ms},
                               {"members", members},
                               {"partitions", partitions}})));
  }
};

json assignment_json(adapter::broker& service, const std::vector<adapter::topic_partitions>& assigned) {
  json out = json::array();
  for (const auto& tp : assigned) {
    auto t = service.find_topic(tp.topic_id);
    out.push_back({{"topic", t ? t->name : std::string("?")}, {"partitions", tp.partitions}});
  }
  return out;
}

}  // namespace

void api::describe_group(const std::shared_ptr<call>& c, const std::string& group, done_fn done) {
  if (!allowed(*c, adapter::acl_operation::describe, adapter::acl_resource::group, group))
    return done(error_reply(403, "group_authorization_failed", "not allowed to DESCRIBE group " + group));
  auto loc = ctx_.groups->locate(group);
  if (loc.code != error::none) return done(kafka_error(loc.code, loc.message));
  if (loc.node_id != ctx_.service->node_id()) return done(not_coordinator(loc.node_id, group));
  auto v = std::make_shared<group_view>();
  v->group = group;
  v->done = std::move(done);
  auto* service = ctx_.service;
  auto* groups = ctx_.groups;
  auto* shares = ctx_.shares;
  // 3. Members: a KIP-848 group's, else a classic group's, else a share
  // group's (with its share-partitions' progress).
  auto member_json = [service](const auto& m) {
    return json{{"member_id", m.member_id},
                {"client_id", m.client.client_id},
                {"client_host", m.client.client_host},
                {"member_epoch", m.member_epoch},
                {"assignment", assignment_json(*service, m.assignment)}};
  };
  auto share_group = [shares, v, member_json] {
    if (shares == nullptr) return v->answer();
    shares->describe({v->group}, [shares, v, member_json](std::vector<adapter::share_group_description> sd) {
      if (sd.empty() || sd.front().code != error::none || sd.front().state == "Dead") return v->answer();
      v->type = "share";
      v->state = sd.front().state;
      for (const auto& m : sd.front().members) v->members.push_back(member_json(m));
      adapter::share_offsets_request sr;
      sr.group_id = v->group;
      shares->describe_offsets({sr}, [v](std::vector<adapter::share_offsets_result> so) {
        v->partitions = json::array();
        v->lag = 0;
        if (!so.empty() && so.front().code == error::none)
          for (const auto& p : so.front().partitions) {
            if (p.code != error::none) continue;
            v->partitions.push_back({{"topic", p.topic},
                                     {"partition", p.partition},
                                     {"start_offset", p.start_offset},
                                     {"lag", p.lag},
                                     {"in_flight", p.in_flight},
                                     {"acquired", p.acquired},
                                     {"available", p.available},
                                     {"redelivered", p.redelivered},
                                     {"rejected", p.rejected},
                                     {"dead_lettered", p.dead_lettered}});
            v->lag += std::max<int64_t>(0, p.lag);
          }
        v->answer();
      });
    });
  };
  auto members = [groups, v, member_json, share_group] {
    groups->describe_consumer_groups({v->group}, [groups, v, member_json,
                                                  share_group](std::vector<adapter::consumer_group_description> d) {
      if (!d.empty() && d.front().code == error::none && d.front().state != "Dead") {
        v->state = d.front().state;
        for (const auto& m : d.front().members) v->members.push_back(member_json(m));
        return v->answer();
      }
      groups->describe_classic_groups({v->group}, [v, share_group](std::vector<adapter::classic_group_description> cd) {
        if (!cd.empty() && cd.front().code == error::none && cd.front().state != "Dead" &&
            (!cd.front().members.empty() || !v->partitions.empty())) {
          v->state = cd.front().state;
          for (const auto& m : cd.front().members)
            v->members.push_back(
                {{"member_id", m.member_id}, {"client_id", m.client.client_id}, {"client_host", m.client.client_host}});
          return v->answer();
        }
        share_group();
      });
    });
  };
  // 2. The age of the record at each committed offset that lags: its
  // timestamp, read with a fetch of one batch.
  auto ages = [service, v, members](std::vector<std::pair<std::string, int32_t>> lagging,
                                    std::vector<int64_t> offsets) {
    if (lagging.empty()) return members();
    adapter::fetch_request fr;
    for (size_t i = 0; i < lagging.size(); ++i)
      fr.partitions.push_back({lagging[i].first, lagging[i].second, offsets[i], 1, -1});
    fr.max_wait_ms = 0;
    fr.min_bytes = 0;
    fr.max_bytes = 1;
    service->fetch(std::move(fr), [service, v, members, offsets](std::vector<adapter::fetched_partition> got) {
      const int64_t now =
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
              .count();
      size_t k = 0;
      for (auto& p : v->partitions) {
        if (p["lag"].is_null() || p["lag"].get<int64_t>() == 0) continue;
        if (k >= got.size()) break;
        std::vector<adapter::plain_record> records;
        (void)service->decode_records(got[k].records, records);
        for (const auto& r : records)
          if (r.offset >= offsets[k]) {
            p["lag_ms"] = std::max<int64_t>(0, now - r.timestamp);
            v->lag_ms = std::max(v->lag_ms, p["lag_ms"].get<int64_t>());
            break;
          }
        ++k;
      }
      members();
    });
  };
  // 1. Committed offsets and the partitions' ends.
  adapter::offset_fetch_request req;
  req.group_id = group;
  groups->fetch_offsets({req}, [service, v, ages](std::vector<adapter::offset_fetch_result> got) {
    if (got.empty() || got.front().code != error::none)
      return v->done(kafka_error(got.empty() ? error::unknown_server_error : got.front().code, ""));
    std::vector<std::pair<std::string, int32_t>> lagging;
    std::vector<int64_t> offsets;
    for (const auto& o : got.front().offsets) {
      if (o.code != error::none || o.offset < 0) continue;
      json one = {{"topic", o.topic},      {"partition", o.partition}, {"committed_offset", o.offset},
                  {"end_offset", nullptr}, {"lag", nullptr},           {"lag_ms", 0}};
      auto end = service->list_offset(o.topic, o.partition, adapter::latest_timestamp);
      if (end.code == error::none) {
        const int64_t lag = std::max<int64_t>(0, end.offset - o.offset);
        one["end_offset"] = end.offset;
        one["lag"] = lag;
        v->lag += lag;
        if (lag > 0) {
          lagging.emplace_back(o.topic, o.partition);
          offsets.push_back(o.offset);
        }
      }
      v->partitions.push_back(one);
    }
    ages(std::move(lagging), std::move(offsets));
  });
}

}  // namespace mosaic::http
