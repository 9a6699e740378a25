#include "plugins/protocol_http/queues.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <utility>

#include <nlohmann/json.hpp>

#include "plugins/protocol_http/base64.h"

namespace mosaic::http {

using json = nlohmann::json;
using adapter::error;

namespace {

using clock = std::chrono::steady_clock;

constexpr int32_t slice_ms = 250;                        // the longest one share fetch of a long poll waits
constexpr auto unused_after = std::chrono::seconds(60);  // a member nobody asked for this long leaves
constexpr size_t receipt_bytes = 1 + 16 + 4 + 8 + 2;     // version, topic id, partition, offset, delivery count
constexpr size_t mac_bytes = 16;

// A share session's epoch after a request it took (it wraps to 1, as 0
// would open a new session).
int32_t next_epoch(int32_t epoch) { return epoch == INT32_MAX ? 1 : epoch + 1; }

void put_be(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (i * 8)) & 0xff));
}
uint64_t get_be(const std::string& in, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(in[at + static_cast<size_t>(i)]);
  return v;
}

// What RENEW, ACCEPT, RELEASE and REJECT are in the share-partition's
// numbering (Kafka's AcknowledgeType, with RENEW as KIP-1222 adds it).
std::optional<uint8_t> ack_type_of(const std::string& s) {
  if (s == "accept") return 1;
  if (s == "release") return 2;
  if (s == "reject") return 3;
  if (s == "renew") return 4;
  return std::nullopt;
}

}  // namespace

struct queues::member {
  std::string group;
  std::string id;
  int32_t epoch = 0;          // member epoch (0: not joined yet)
  int32_t session_epoch = 0;  // the next share request's (0 opens a session)
  int32_t heartbeat_ms = 5000;
  clock::time_point next_heartbeat{};
  clock::time_point last_used = clock::now();
  std::set<std::string> topics;                            // subscribed
  std::vector<adapter::topic_partitions> assignment;       // assigned
  std::set<std::pair<adapter::uuid, int32_t>> in_session;  // partitions the share session holds
  int32_t lock_ms = 0;
  // One operation on the session at a time.
  bool busy = false;
  std::deque<std::function<void(std::function<void()>)>> waiting;
  bool left = false;
};

struct receive_call {
  std::string topic;
  adapter::uuid topic_id{};
  int32_t max_records = 10;
  std::string format = "string";
  clock::time_point deadline;
  done_fn done;
};

queues::queues(const adapter::adapter_context& ctx, options o) : ctx_(ctx), opts_(o) {
  key_.resize(32);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key_.data()), static_cast<int>(key_.size())) != 1)
    throw std::runtime_error("no random bytes for the receipt key");
  if (ctx_.shares != nullptr) thread_ = std::thread([this] { background(); });
}

queues::~queues() {
  std::vector<std::shared_ptr<member>> all;
  {
    std::lock_guard g(mu_);
    stopping_ = true;
    for (auto& [_, m] : members_) all.push_back(m);
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  later_.stop();
  // Leave each group.
  for (auto& m : all) {
    std::unique_lock g(mu_);
    if (m->epoch <= 0) continue;
    adapter::share_heartbeat_request req;
    req.group_id = m->group;
    req.member_id = m->id;
    req.member_epoch = -1;
    g.unlock();
    ctx_.shares->heartbeat(std::move(req), [](const adapter::share_heartbeat_result&) {});
  }
  // The broker's callbacks under way reach into this object: wait for the
  // last to return (a long poll's slice is 250 ms at most).
  std::unique_lock g(mu_);
  cv_.wait_for(g, std::chrono::seconds(10), [&] { return calls_ == 0; });
}

std::string queues::sign(const std::string& group, const receipt& r) const {
  std::string body(1, '\1');
  body.append(reinterpret_cast<const char*>(r.topic_id.data()), r.topic_id.size());
  put_be(body, static_cast<uint32_t>(r.partition), 4);
  put_be(body, static_cast<uint64_t>(r.offset), 8);
  put_be(body, static_cast<uint16_t>(r.delivery_count), 2);
  // The MAC covers the group and the member too, which the handle does not
  // carry in the clear: a handle is good for one group's one member.
  const std::string covered = body + group + '\0' + r.member_id;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), reinterpret_cast<const unsigned char*>(covered.data()),
       covered.size(), mac, &n);
  body.append(reinterpret_cast<const char*>(mac), mac_bytes);
  return base64_encode(body, true);
}

std::optional<queues::receipt> queues::open(const std::string& group, const std::string& handle) const {
  auto bytes = base64_decode(handle);
  if (!bytes || bytes->size() != receipt_bytes + mac_bytes || (*bytes)[0] != '\1') return std::nullopt;
  receipt r;
  std::memcpy(r.topic_id.data(), bytes->data() + 1, 16);
  r.partition = static_cast<int32_t>(get_be(*bytes, 17, 4));
  r.offset = static_cast<int64_t>(get_be(*bytes, 21, 8));
  r.delivery_count = static_cast<int16_t>(get_be(*bytes, 29, 2));
  {
    // The member whose lock it names: the group's member now (a handle of
    // an earlier member fails the MAC and is refused like a forged one).
    std::lock_guard g(mu_);
    auto it = members_.find(group);
    if (it == members_.end()) return std::nullopt;
    r.member_id = it->second->id;
  }
  const std::string expected = sign(group, r);
  if (expected.size() != handle.size() || CRYPTO_memcmp(expected.data(), handle.data(), handle.size()) !=
                                              0)  // NOLINT(readability-suspicious-call-argument)
    return std::nullopt;
  return r;
}

std::shared_ptr<queues::member> queues::member_for(const std::string& group) {
  std::lock_guard g(mu_);
  auto& m = members_[group];
  if (!m || m->left) {
    m = std::make_shared<member>();
    m->group = group;
    unsigned char raw[16];
    RAND_bytes(raw, sizeof raw);
    m->id = base64_encode(std::string(reinterpret_cast<const char*>(raw), sizeof raw), true);
  }
  m->last_used = clock::now();
  return m;
}

void queues::began() {
  std::lock_guard g(mu_);
  ++calls_;
}

queues::ended::~ended() {
  std::lock_guard g(q_->mu_);
  if (--q_->calls_ == 0) q_->cv_.notify_all();
}

void queues::run(const std::shared_ptr<member>& m, std::function<void(std::function<void()>)> op) {
  std::unique_lock g(mu_);
  if (stopping_) return;  // the adapter is going: its connections are closed
  if (m->busy) {
    m->waiting.push_back(std::move(op));
    return;
  }
  m->busy = true;
  g.unlock();
  // Each operation ends by handing the session to the next one waiting.
  auto next = std::make_shared<std::function<void()>>();
  *next = [this, m, next] {
    std::unique_lock lock(mu_);
    if (m->waiting.empty()) {
      m->busy = false;
      cv_.notify_all();
      return;
    }
    auto following = std::move(m->waiting.front());
    m->waiting.pop_front();
    lock.unlock();
    following(*next);
  };
  op(*next);
}

void queues::heartbeat(const std::shared_ptr<member>& m, std::function<void()> then) {
  // As a Kafka client finds its coordinator first: that also has the
  // broker load the group's partition of __consumer_offsets when needed.
  if (auto loc = ctx_.groups->locate(m->group); loc.code != error::none || loc.node_id != ctx_.service->node_id())
    return then();
  adapter::share_heartbeat_request req;
  std::vector<std::string> topics;
  {
    std::lock_guard g(mu_);
    req.group_id = m->group;
    req.member_id = m->id;
    req.member_epoch = m->epoch;
    topics.assign(m->topics.begin(), m->topics.end());
  }
  req.subscribed_topic_names = topics;
  req.client = {"mosaic-http", ""};
  began();
  ctx_.shares->heartbeat(std::move(req), [this, m, then = std::move(then)](adapter::share_heartbeat_result r) {
    const ended guard(this);
    if (ctx_.log && r.code != error::none)
      ctx_.log(adapter::log_level::debug, "http queue member of group " + m->group +
                                              ": heartbeat: " + adapter::error_name(r.code) + " " + r.message);
    {
      std::lock_guard g(mu_);
      if (r.code == error::none) {
        m->epoch = r.member_epoch;
        if (r.heartbeat_interval_ms > 0) m->heartbeat_ms = r.heartbeat_interval_ms;
        if (r.assignment) m->assignment = *r.assignment;
      } else if (r.code == error::unknown_member_id || r.code == error::fenced_member_epoch) {
        // Joined anew next time, with a fresh session.
        m->epoch = 0;
        m->session_epoch = 0;
        m->in_session.clear();
        m->assignment.clear();
      }
      m->next_heartbeat = clock::now() + std::chrono::milliseconds(m->heartbeat_ms);
    }
    then();
  });
}

void queues::receive(const std::string& group, const json& body,
                     const std::function<bool(const std::string&)>& may_read_topic, done_fn done) {
  if (ctx_.shares == nullptr) return done(error_reply(503, "unavailable", "share groups are not served here"));
  if (!body.contains("topic") || !body["topic"].is_string())
    return done(error_reply(400, "invalid_request", "receive needs a \"topic\""));
  auto rc = std::make_shared<receive_call>();
  rc->topic = body["topic"].get<std::string>();
  rc->max_records = body.value("max_records", 10);
  const int32_t wait_ms = body.value("wait_ms", 0);
  rc->format = body.value("format", std::string("string"));
  if (rc->max_records < 1 || rc->max_records > opts_.max_records)
    return done(error_reply(400, "invalid_request", "max_records is from 1 to " + std::to_string(opts_.max_records)));
  if (wait_ms < 0 || wait_ms > opts_.max_wait_ms)
    return done(error_reply(400, "invalid_request", "wait_ms is from 0 to " + std::to_string(opts_.max_wait_ms)));
  if (!valid_format(rc->format)) return done(error_reply(400, "invalid_request", "format is string, json or base64"));
  if (!may_read_topic(rc->topic))
    return done(error_reply(403, "topic_authorization_failed", "not allowed to READ topic " + rc->topic));
  auto t = ctx_.service->find_topic(rc->topic);
  if (!t) return done(error_reply(404, "unknown_topic_or_partition", "no topic " + rc->topic));
  rc->topic_id = t->id;
  if (auto loc = ctx_.groups->locate(group); loc.code == error::none && loc.node_id != ctx_.service->node_id())
    return done(not_coordinator(loc.node_id, group));
  rc->deadline = clock::now() + std::chrono::milliseconds(wait_ms);
  rc->done = std::move(done);
  auto m = member_for(group);
  bool subscribe = false;
  {
    std::lock_guard g(mu_);
    subscribe = m->topics.insert(rc->topic).second || m->epoch == 0;
  }
  run(m, [this, m, rc, subscribe](const std::function<void()>& finished) {
    auto go = [this, m, rc, finished] {
      finished();
      fetch_slice(m, rc);
    };
    if (subscribe) return heartbeat(m, go);
    go();
  });
}

void queues::fetch_slice(const std::shared_ptr<member>& m, const std::shared_ptr<receive_call>& rc) {
  run(m, [this, m, rc](const std::function<void()>& finished) {
    adapter::share_fetch_request req;
    bool assigned = false;
    {
      std::lock_guard g(mu_);
      m->last_used = clock::now();
      req.group_id = m->group;
      req.member_id = m->id;
      req.session_epoch = m->session_epoch;
      for (const auto& tp : m->assignment) {
        if (tp.topic_id != rc->topic_id) continue;
        for (int32_t p : tp.partitions) {
          assigned = true;
          if (m->in_session.insert({tp.topic_id, p}).second) req.partitions.push_back({tp.topic_id, p, {}});
        }
      }
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(rc->deadline - clock::now()).count();
    if (!assigned) {
      // Not assigned yet (the group is settling): ask again, and poll on.
      return heartbeat(m, [this, m, rc, finished, left] {
        finished();
        if (left <= 0) return rc->done(json_reply(200, R"({"records":[],"lock_ms":0})"));
        later_.post_after(std::chrono::milliseconds(std::min<int64_t>(left, 50)),
                          [this, m, rc] { fetch_slice(m, rc); });
      });
    }
    req.max_wait_ms = static_cast<int32_t>(std::clamp<int64_t>(left, 0, slice_ms));
    req.min_bytes = 1;
    req.max_records = rc->max_records;
    req.max_bytes = 8 << 20;
    began();
    ctx_.shares->fetch(std::move(req), [this, m, rc, finished](adapter::share_fetch_result r) {
      const ended guard(this);
      if (r.code == error::share_session_not_found || r.code == error::invalid_share_session_epoch) {
        {
          std::lock_guard g(mu_);
          m->session_epoch = 0;
          m->in_session.clear();
        }
        finished();
        if (clock::now() < rc->deadline) return fetch_slice(m, rc);
        return rc->done(kafka_error(r.code, r.message));
      }
      if (r.code != error::none) {
        finished();
        return rc->done(kafka_error(r.code, r.message));
      }
      json records = json::array();
      std::string member_id;
      {
        std::lock_guard g(mu_);
        m->session_epoch = next_epoch(m->session_epoch);
        m->lock_ms = r.lock_timeout_ms;
        member_id = m->id;
      }
      for (const auto& p : r.partitions) {
        if (p.acquired.empty()) continue;
        std::vector<adapter::plain_record> decoded;
        (void)ctx_.service->decode_records(p.records, decoded);
        for (const auto& rec : decoded)
          for (const auto& range : p.acquired) {
            if (rec.offset < range.first_offset || rec.offset > range.last_offset) continue;
            receipt handle{member_id, p.topic_id, p.partition, rec.offset, range.delivery_count};
            json one = record_json(rec, rc->format);
            one["receipt"] = sign(m->group, handle);
            one["topic"] = rc->topic;
            one["partition"] = p.partition;
            one["delivery_count"] = range.delivery_count;
            records.push_back(std::move(one));
            break;
          }
      }
      finished();
      if (records.empty() && clock::now() < rc->deadline) return fetch_slice(m, rc);
      rc->done(json_reply(200, dump({{"records", records}, {"lock_ms", r.lock_timeout_ms}})));
    });
  });
}

void queues::acknowledge(const std::string& group, const json& body, done_fn done) {
  if (ctx_.shares == nullptr) return done(error_reply(503, "unavailable", "share groups are not served here"));
  if (!body.contains("acks") || !body["acks"].is_array() || body["acks"].empty())
    return done(error_reply(400, "invalid_request", "the body needs \"acks\": [{\"receipt\", \"type\"}]"));
  struct one {
    std::string handle;
    receipt r;
    uint8_t type = 1;
  };
  auto acks = std::make_shared<std::vector<one>>();
  for (const auto& a : body["acks"]) {
    if (!a.is_object() || !a.contains("receipt") || !a["receipt"].is_string())
      return done(error_reply(400, "invalid_request", "each ack is {\"receipt\", \"type\"}"));
    const std::string handle = a["receipt"].get<std::string>();
    auto type = ack_type_of(a.value("type", std::string("accept")));
    if (!type) return done(error_reply(400, "invalid_request", "type is accept, release, reject or renew"));
    auto r = open(group, handle);
    // Nothing is acknowledged when one handle is bad.
    if (!r)
      return done(error_reply(400, "invalid_receipt",
                              "receipt '" + handle.substr(0, 24) + "...' is not one this broker handed out for group " +
                                  group + " (or its member has left since)"));
    acks->push_back({handle, *r, *type});
  }
  std::shared_ptr<member> m;
  {
    std::lock_guard g(mu_);
    auto it = members_.find(group);
    if (it != members_.end() && it->second->id == acks->front().r.member_id) m = it->second;
    if (m) m->last_used = clock::now();
  }
  if (!m) return done(error_reply(410, "receipt_expired", "the member that held these locks has left group " + group));
  auto results = std::make_shared<json>(json::array());
  auto answered = std::make_shared<std::map<std::string, json>>();
  // Renewals and the rest go in two requests (a renewing request renews
  // all it carries).
  auto send = [this, m, acks](bool renew, std::function<void(adapter::share_ack_result)> then) {
    run(m, [this, m, acks, renew, then = std::move(then)](const std::function<void()>& finished) {
      adapter::share_ack_request req;
      {
        std::lock_guard g(mu_);
        req.group_id = m->group;
        req.member_id = m->id;
        req.session_epoch = m->session_epoch;
      }
      req.renew = renew;
      for (const auto& a : *acks) {
        if ((a.type == 4) != renew) continue;
        auto it = std::find_if(req.partitions.begin(), req.partitions.end(), [&](const auto& p) {
          return p.topic_id == a.r.topic_id && p.partition == a.r.partition;
        });
        if (it == req.partitions.end()) {
          req.partitions.push_back({a.r.topic_id, a.r.partition, {}});
          it = std::prev(req.partitions.end());
        }
        it->batches.push_back({a.r.offset, a.r.offset, {a.type}});
      }
      if (req.partitions.empty()) {
        finished();
        return then({});
      }
      for (auto& p : req.partitions)
        std::sort(p.batches.begin(), p.batches.end(),
                  [](const auto& x, const auto& y) { return x.first_offset < y.first_offset; });
      began();
      ctx_.shares->acknowledge(std::move(req), [this, m, finished, then](adapter::share_ack_result r) {
        const ended guard(this);
        if (r.code == error::none) {
          std::lock_guard g(mu_);
          m->session_epoch = next_epoch(m->session_epoch);
        }
        finished();
        then(std::move(r));
      });
    });
  };
  auto collect = [acks, answered](bool renew, const adapter::share_ack_result& r) {
    for (const auto& a : *acks) {
      if ((a.type == 4) != renew) continue;
      error code = r.code;
      std::string message = r.message;
      for (const auto& p : r.partitions)
        if (p.topic_id == a.r.topic_id && p.partition == a.r.partition && p.code != error::none) {
          code = p.code;
          message = p.message;
        }
      (*answered)[a.handle] =
          code == error::none
              ? json{{"receipt", a.handle}, {"acknowledged", true}}
              : json{{"receipt", a.handle},
                     {"acknowledged", false},
                     {"error",
                      {{"code", code_of(code)}, {"message", message.empty() ? adapter::error_name(code) : message}}}};
    }
  };
  send(false, [send, collect, acks, answered, done = std::move(done)](const adapter::share_ack_result& first) mutable {
    collect(false, first);
    send(true, [collect, acks, answered, done = std::move(done)](const adapter::share_ack_result& second) {
      collect(true, second);
      json out = json::array();
      for (const auto& a : *acks) out.push_back((*answered)[a.handle]);
      done(json_reply(200, json({{"results", out}}).dump()));
    });
  });
}

void queues::background() {
  std::unique_lock g(mu_);
  while (!stopping_) {
    cv_.wait_for(g, std::chrono::milliseconds(200));
    if (stopping_) break;
    const auto now = clock::now();
    std::vector<std::shared_ptr<member>> due, leaving;
    for (auto it = members_.begin(); it != members_.end();) {
      auto& m = it->second;
      if (!m->busy && now - m->last_used > unused_after) {
        m->left = true;
        if (m->epoch > 0) leaving.push_back(m);
        it = members_.erase(it);
        continue;
      }
      if (m->epoch > 0 && now >= m->next_heartbeat) {
        m->next_heartbeat = now + std::chrono::milliseconds(m->heartbeat_ms);
        due.push_back(m);
      }
      ++it;
    }
    g.unlock();
    for (auto& m : leaving) {
      adapter::share_heartbeat_request req;
      req.group_id = m->group;
      req.member_id = m->id;
      req.member_epoch = -1;
      ctx_.shares->heartbeat(std::move(req), [](const adapter::share_heartbeat_result&) {});
    }
    for (auto& m : due) heartbeat(m, [] {});
    g.lock();
  }
}

}  // namespace mosaic::http
