#include "kernel/app/cluster_swaps.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include <fmt/ranges.h>

#include "kernel/app/node.h"
#include "kernel/base/log.h"
#include "kernel/base/numbers.h"
#include "mosaic/abi/authenticator.h"
#include "mosaic/abi/codec.h"
#include "mosaic/abi/record_interceptor.h"
#include "mosaic/abi/share_policy.h"
#include "mosaic/sdk/assignor_host.h"

namespace mosaic::app {

using adapter::error;
using adapter::plugin_change;

namespace {

std::vector<sdk::raw_value> raw_config(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::vector<sdk::raw_value> out;
  for (const auto& [k, v] : pairs) {
    sdk::raw_value r;
    r.name = k;
    r.where = "the swap's config";
    if (v.size() >= 2 && v.front() == '[' && v.back() == ']') {
      r.type = sdk::raw_value::kind::list;
      std::string item;
      const std::string inner = v.substr(1, v.size() - 2);
      size_t at = 0;
      while (at <= inner.size()) {
        const size_t comma = std::min(inner.find(',', at), inner.size());
        item = inner.substr(at, comma - at);
        item.erase(0, item.find_first_not_of(' '));
        item.erase(item.find_last_not_of(' ') + 1);
        if (!item.empty()) r.items.push_back(item);
        at = comma + 1;
      }
    } else {
      r.scalar = v;
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::string config_text(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::string out;
  for (const auto& [k, v] : pairs) out += (out.empty() ? "" : ", ") + k + "=" + v;
  return out;
}

// ---- smoke calls: one real call of the category, on made-up input --------

status smoke_share_policy(const plugin::instance& inst) {
  const auto& vt = *static_cast<const mosaic_share_policy_vtable_v1*>(inst.vtable());
  for (int32_t cause = MOSAIC_SHARE_CAUSE_RELEASE; cause <= MOSAIC_SHARE_CAUSE_RENEW; ++cause)
    for (int32_t count = 1; count <= 6; ++count) {
      mosaic_share_event_v1 ev{sizeof ev, cause, count, 5, count - 1, 30000, count % 2};
      mosaic_share_decision_v1 out{sizeof out, -1, 0};
      char buf[256] = {};
      mosaic_error_v1 err{buf, sizeof buf};
      const auto s = vt.decide(inst.handle(), &ev, &out, &err);
      if (s != MOSAIC_OK)
        return status(errc::invalid_argument, fmt::format("decide (cause {}, delivery {} of 5) failed: {}", cause,
                                                          count, std::string(buf, strnlen(buf, sizeof buf))));
      if (out.decision < MOSAIC_SHARE_REDELIVER || out.decision > MOSAIC_SHARE_REFUSE || out.delay_ms < 0)
        return status(errc::invalid_argument, fmt::format("decide (cause {}, delivery {} of 5) answered decision {} "
                                                          "with delay {} ms, which is not a decision",
                                                          cause, count, out.decision, out.delay_ms));
    }
  return {};
}

status smoke_assignor(const plugin::instance& inst) {
  const auto& vt = *static_cast<const mosaic_assignor_vtable_v1*>(inst.vtable());
  sdk::assignor_input in;
  in.group_id = "mosaic-swap-smoke";
  in.topics.push_back({{1}, "smoke-a", 4});
  in.topics.push_back({{2}, "smoke-b", 3});
  for (const char* id : {"m1", "m2", "m3"}) {
    sdk::assignor_input::member m;
    m.id = id;
    m.topics = {0, 1};
    in.members.push_back(std::move(m));
  }
  auto out = sdk::call_assignor(vt, inst.handle(), in);
  if (!out.ok()) return status(errc::invalid_argument, "assign (3 members, 2 topics) failed: " + out.message);
  return {};
}

status smoke_codec(const std::shared_ptr<plugin::instance>& inst) {
  plugin::codec_set set;
  if (auto g = set.install(inst); !g) return g.error();
  const int32_t id = static_cast<const mosaic_codec_vtable_v1*>(inst->vtable())->codec_id;
  std::vector<uint8_t> sample(64 * 1024);
  for (size_t i = 0; i < sample.size(); ++i) sample[i] = static_cast<uint8_t>("mosaic swap smoke "[i % 18] ^ (i / 977));
  plugin::byte_buffer packed, unpacked(sample.size());
  if (auto s = set.compress(id, sample, packed); !s) return status(s.code(), "compress: " + s.message());
  if (auto s = set.decompress(id, packed.bytes(), unpacked); !s) return status(s.code(), "decompress: " + s.message());
  if (unpacked.size() != sample.size() || !std::equal(sample.begin(), sample.end(), unpacked.bytes().begin()))
    return status(errc::invalid_argument, "64 KiB compressed and decompressed did not come back the same");
  return {};
}

status smoke_interceptor(const plugin::instance& inst) {
  const auto& vt = *static_cast<const mosaic_record_interceptor_vtable_v1*>(inst.vtable());
  static const std::string topic = "mosaic-swap-smoke", principal = "User:ANONYMOUS", key = "k",
                           value = R"({"smoke":true})";
  auto bytes = [](const std::string& s) {
    return mosaic_bytes_v1{reinterpret_cast<const uint8_t*>(s.data()), s.size()};
  };
  mosaic_record_view_v1 rec{sizeof rec, 0, wall_ms(), bytes(key), bytes(value), nullptr, 0};
  const mosaic_record_view_v1* records[] = {&rec};
  mosaic_produced_batch_v1 batch{};
  batch.struct_size = sizeof batch;
  batch.topic = bytes(topic);
  batch.principal = bytes(principal);
  batch.client_id = bytes(std::string());
  batch.producer_id = -1;
  batch.base_sequence = -1;
  batch.base_timestamp = batch.max_timestamp = rec.timestamp;
  batch.record_count = 1;
  batch.records = (vt.flags & MOSAIC_INTERCEPTOR_READS_RECORDS) != 0 ? records : nullptr;
  char reason[512] = {};
  mosaic_intercept_result_v1 result{};
  result.struct_size = sizeof result;
  result.verdict = MOSAIC_INTERCEPT_ACCEPT;
  result.record_index = -1;
  result.reason = {reason, sizeof reason};
  result.add_header = [](void*, mosaic_bytes_v1, mosaic_bytes_v1, int32_t) -> mosaic_status_t { return MOSAIC_OK; };
  char buf[256] = {};
  mosaic_error_v1 err{buf, sizeof buf};
  const auto s = vt.intercept(inst.handle(), &batch, &result, &err);
  if (s != MOSAIC_OK)
    return status(errc::invalid_argument,
                  "intercept (one JSON record) failed: " + std::string(buf, strnlen(buf, sizeof buf)));
  if (result.verdict != MOSAIC_INTERCEPT_ACCEPT && result.verdict != MOSAIC_INTERCEPT_REJECT)
    return status(errc::invalid_argument, "intercept answered verdict " + std::to_string(result.verdict));
  return {};
}

status smoke_authenticator(const plugin::instance& inst) {
  const auto& vt = *static_cast<const mosaic_authenticator_vtable_v1*>(inst.vtable());
  const size_t n = vt.mechanism_count(inst.handle());
  if (n == 0) return status(errc::invalid_argument, "it serves no SASL mechanism");
  for (size_t i = 0; i < n; ++i) {
    const char* m = vt.mechanism(inst.handle(), i);
    if (m == nullptr || *m == '\0')
      return status(errc::invalid_argument, "mechanism " + std::to_string(i) + " has no name");
  }
  return {};
}

bool write_all(int fd, const std::string& s) {
  size_t at = 0;
  while (at < s.size()) {
    const ssize_t n = ::write(fd, s.data() + at, s.size() - at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    at += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

result<swap_slot> parse_swap_slot(const std::string& slot) {
  swap_slot s;
  auto after = [&](const char* prefix) { return slot.substr(std::string_view(prefix).size()); };
  if (slot == "group.share.policy") {
    s.category = MOSAIC_CATEGORY_SHARE_POLICY;
  } else if (slot == "group.share.dlq.handler") {
    s.category = MOSAIC_CATEGORY_DLQ_HANDLER;
  } else if (slot.rfind("authenticator.", 0) == 0 && slot.size() > 14) {
    s.category = MOSAIC_CATEGORY_AUTHENTICATOR;
    s.name = after("authenticator.");
  } else if (slot == "group.consumer.assignor") {
    s.category = MOSAIC_CATEGORY_ASSIGNOR;
    s.default_assignor = true;
  } else if (slot.rfind("assignor.", 0) == 0 && slot.size() > 9) {
    s.category = MOSAIC_CATEGORY_ASSIGNOR;
    s.name = after("assignor.");
  } else if (slot.rfind("codec.", 0) == 0) {
    s.category = MOSAIC_CATEGORY_CODEC;
    for (int32_t id = 1; id <= 4; ++id)
      if (slot == plugin::codec_slot_name(id)) s.codec_id = id;
    if (s.codec_id == 0)
      return status(errc::invalid_argument, "slot '" + slot +
                                                "': the codec slots are codec.gzip, codec.snappy, "
                                                "codec.lz4 and codec.zstd");
  } else if (slot.rfind("interceptor.", 0) == 0 && slot.size() > 12 &&
             slot.find_first_not_of("0123456789", 12) == std::string::npos && slot.size() < 17) {
    s.category = MOSAIC_CATEGORY_RECORD_INTERCEPTOR;
    s.index = std::stoul(after("interceptor."));
  } else {
    return status(errc::invalid_argument,
                  "'" + slot +
                      "' is not a slot a swap can change (group.share.policy, group.share.dlq.handler, "
                      "group.consumer.assignor, assignor.<name>, codec.<gzip|snappy|lz4|zstd>, "
                      "interceptor.<index>, authenticator.<plugin id>)");
  }
  return s;
}

cluster_swaps::cluster_swaps(node& n, metadata::metadata_store* store) : n_(n), store_(store) {}

cluster_swaps::~cluster_swaps() { stop(); }

void cluster_swaps::set_yaml(const config::broker_config& cfg) {
  std::lock_guard g(mu_);
  yaml_ = cfg;
}

void cluster_swaps::start() {
  apply_all();  // before the broker serves: a restart comes back as the cluster left it
  store_->on_applied(this, [this](int64_t) {
    std::lock_guard g(mu_);
    dirty_ = true;
    cv_.notify_one();
  });
  worker_ = std::thread([this] { run(); });
}

void cluster_swaps::stop() {
  if (store_ != nullptr) store_->on_applied(this, nullptr);
  {
    std::lock_guard g(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

bool cluster_swaps::owns(const std::string& slot) const {
  std::lock_guard g(mu_);
  auto it = applied_.find(slot);
  return it != applied_.end() && it->second.generation != 0;
}

void cluster_swaps::reapply(const std::string& slot_prefix) {
  std::lock_guard g(mu_);
  for (auto& [slot, a] : applied_)
    if (slot.rfind(slot_prefix, 0) == 0 && a.generation != 0) a.generation = -1;  // not what runs any more
  dirty_ = true;
  cv_.notify_one();
}

void cluster_swaps::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || dirty_; });
    if (stopping_) return;
    dirty_ = false;
    lock.unlock();
    apply_all();
    lock.lock();
  }
}

void cluster_swaps::apply_all() {
  // What the image says for this broker, slot by slot.
  std::vector<std::pair<std::string, std::optional<metadata::plugin_swap_record>>> wanted;
  int64_t offset = 0;
  {
    std::lock_guard g(mu_);
    store_->read([&](const metadata::image& img) {
      for (const auto& [slot, swaps] : img.plugin_swaps()) {
        const auto* r = swaps.effective(n_.cfg_.node_id);
        const int64_t gen = r ? r->generation : 0;
        auto it = applied_.find(slot);
        const int64_t running = it == applied_.end() ? 0 : it->second.generation;
        const bool canary = r != nullptr && !r->brokers.empty();
        if (gen == running) {
          // A canary promoted: the same generation, now meant for every broker.
          if (it != applied_.end()) it->second.canary = canary;
          continue;
        }
        wanted.emplace_back(slot, r ? std::optional(*r) : std::nullopt);
      }
    });
    offset = store_->applied_offset();
  }
  for (const auto& [slot, r] : wanted) {
    std::lock_guard plugins(n_.plugin_mu_);
    auto s = apply(slot, r ? &*r : nullptr, offset);
    std::lock_guard g(mu_);
    auto& a = applied_[slot];
    if (s.ok()) {
      a.generation = r ? r->generation : 0;
      a.canary = r && !r->brokers.empty();
      a.problem.clear();
    } else {
      a.problem =
          "generation " + std::to_string(r ? r->generation : 0) + " could not be put in service here: " + s.message();
      if (a.generation < 0) a.generation = 0;  // a reapply that failed: the YAML's runs
    }
  }
}

result<config::plugin_entry> cluster_swaps::yaml_entry(const std::string& slot, const swap_slot& s) const {
  std::lock_guard g(mu_);
  config::plugin_entry e;
  e.where = "slot " + slot + " (generation 0, the YAML's)";
  auto configured = [&](const std::string& id) {
    e.name = id;
    for (const auto& c : yaml_.plugins)
      if (c.name == id) {
        e.library = c.library;
        e.config = c.config;
      }
  };
  switch (s.category) {
    case MOSAIC_CATEGORY_SHARE_POLICY: configured(yaml_.groups.share_policy); return e;
    case MOSAIC_CATEGORY_DLQ_HANDLER: configured(yaml_.groups.dlq_handler); return e;
    case MOSAIC_CATEGORY_AUTHENTICATOR:
      for (const auto& c : yaml_.plugins)
        if (c.name == s.name) {
          configured(s.name);
          return e;
        }
      break;
    case MOSAIC_CATEGORY_RECORD_INTERCEPTOR:
      if (s.index >= yaml_.interceptors.size()) break;
      e = yaml_.interceptors[s.index].plugin;
      return e;
    case MOSAIC_CATEGORY_ASSIGNOR:
    case MOSAIC_CATEGORY_CODEC:
      // The plugins.load entry that serves the slot, else the built-in one.
      for (const auto& c : yaml_.plugins) {
        const auto* f = n_.host_.find(c.name);
        if (f == nullptr || f->factory->category != s.category) continue;
        const bool match =
            s.category == MOSAIC_CATEGORY_ASSIGNOR
                ? s.name == static_cast<const mosaic_assignor_vtable_v1*>(f->factory->vtable)->assignor_name
                : s.codec_id == static_cast<const mosaic_codec_vtable_v1*>(f->factory->vtable)->codec_id;
        if (match) {
          e.name = c.name;
          e.library = c.library;
          e.config = c.config;
          return e;
        }
      }
      e.name = s.category == MOSAIC_CATEGORY_ASSIGNOR ? "mosaic.assignor." + s.name
                                                      : "mosaic." + plugin::codec_slot_name(s.codec_id);
      return e;
    default: break;
  }
  return status(errc::not_found, "slot " + slot + " has nothing in this broker's YAML");
}

result<std::shared_ptr<plugin::instance>> cluster_swaps::make(const std::string& slot, const swap_slot& s,
                                                              const config::plugin_entry& e) {
  auto& host = n_.host_;
  if (auto st = host.ensure(e.name, e.library, true); !st.ok())
    return status(errc::invalid_argument, "'" + e.name + "' cannot be loaded: " + st.message());
  const auto* f = host.find(e.name);
  if (f->factory->category != s.category)
    return status(errc::invalid_argument, "'" + e.name + "' is a " + plugin::category_name(f->factory->category) +
                                              " plugin; slot " + slot + " takes a " +
                                              plugin::category_name(s.category));
  if (s.category == MOSAIC_CATEGORY_ASSIGNOR && !s.default_assignor) {
    const std::string name = static_cast<const mosaic_assignor_vtable_v1*>(f->factory->vtable)->assignor_name;
    if (name != s.name)
      return status(errc::invalid_argument, "'" + e.name + "' is assignor '" + name + "', not '" + s.name +
                                                "' (an assignor serves the slot of its name)");
  }
  if (s.category == MOSAIC_CATEGORY_AUTHENTICATOR && e.name != s.name)
    return status(errc::invalid_argument, "slot " + slot + " takes " + s.name +
                                              " (another library or config of it), not " + e.name +
                                              ": SASL mechanisms stay with the plugin that serves them");
  if (s.category == MOSAIC_CATEGORY_CODEC &&
      static_cast<const mosaic_codec_vtable_v1*>(f->factory->vtable)->codec_id != s.codec_id)
    return status(errc::invalid_argument,
                  "'" + e.name + "' is codec " +
                      std::to_string(static_cast<const mosaic_codec_vtable_v1*>(f->factory->vtable)->codec_id) +
                      ", not " + slot);
  auto inst = host.create(e.name, e.config, e.where);
  if (!inst) return status(errc::config, inst.error().message());
  return inst;
}

status cluster_swaps::make_and_smoke(const std::string& slot, const swap_slot& s, const config::plugin_entry& e,
                                     std::string& sha256) {
  auto inst = make(slot, s, e);
  if (!inst) return inst.error();
  sha256 = (*inst)->lib().sha256();
  status smoked;
  switch (s.category) {
    case MOSAIC_CATEGORY_SHARE_POLICY: smoked = smoke_share_policy(**inst); break;
    case MOSAIC_CATEGORY_ASSIGNOR: smoked = smoke_assignor(**inst); break;
    case MOSAIC_CATEGORY_CODEC: smoked = smoke_codec(*inst); break;
    case MOSAIC_CATEGORY_RECORD_INTERCEPTOR: smoked = smoke_interceptor(**inst); break;
    case MOSAIC_CATEGORY_AUTHENTICATOR: smoked = smoke_authenticator(**inst); break;
    default: break;  // a DLQ handler's call writes letters: made, not called
  }
  if (!smoked.ok()) return status(errc::invalid_argument, "the smoke call failed: " + smoked.message());
  return {};
}

result<std::string> cluster_swaps::validate(const std::string& slot, const swap_slot& s,
                                            const config::plugin_entry& e) {
  int64_t timeout_ms = 0;
  {
    std::lock_guard g(mu_);
    timeout_ms = yaml_.hot_swap.smoke_timeout_ms;
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return status(errc::io, std::string("pipe: ") + std::strerror(errno));
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return status(errc::io, std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // The child: the library loaded, checked, made and called here only.
    ::close(fds[0]);
    log::set_level(log::level::off);  // the parent says what happened, once
    n_.host_.set_refusal_hook({});    // and audits the refusal
    std::string sha;
    const auto st = make_and_smoke(slot, s, e, sha);
    (void)write_all(
        fds[1], st.ok() ? "ok\n" + sha
                        : "no\n" + std::string(st.code() == errc::config ? "config" : "refused") + "\n" + st.message());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string answer;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  bool timed_out = false;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    answer.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  if (timed_out) ::kill(pid, SIGKILL);
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (timed_out)
    return status(errc::invalid_argument, "the validation and smoke call did not finish in " +
                                              std::to_string(timeout_ms) + " ms (plugins.hot_swap.smoke_timeout_ms)");
  if (WIFSIGNALED(wstatus))
    return status(errc::invalid_argument, "the plugin crashed in its validation or smoke call (signal " +
                                              std::to_string(WTERMSIG(wstatus)) + ", " + strsignal(WTERMSIG(wstatus)) +
                                              "); nothing was changed");
  if (answer.rfind("ok\n", 0) == 0) return answer.substr(3);
  if (answer.rfind("no\nconfig\n", 0) == 0) return status(errc::config, answer.substr(10));
  if (answer.rfind("no\nrefused\n", 0) == 0) return status(errc::invalid_argument, answer.substr(11));
  return status(errc::invalid_argument, "the validation ended without an answer (exit status " +
                                            std::to_string(WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1) + ")");
}

status cluster_swaps::apply(const std::string& slot, const metadata::plugin_swap_record* r, int64_t offset) {
  auto s = parse_swap_slot(slot);
  if (!s) return s.error();
  config::plugin_entry e;
  if (r == nullptr && s->default_assignor) {
    // Back to the first of group.consumer.assignors.
    n_.assignors_.set_default("");
    plugin::audit_event a;
    a.action = "rollback";
    a.cause = "cluster";
    a.slot = slot;
    a.cluster_generation = 0;
    a.offset = offset;
    n_.audit_.record(a);
    log::info("plugin swap: the default assignor is group.consumer.assignors' first again");
    return {};
  }
  if (r != nullptr) {
    e.name = r->plugin;
    if (!r->library.empty()) e.library = r->library;
    e.config = raw_config(r->config);
    e.where = "slot " + slot + " generation " + std::to_string(r->generation);
  } else {
    auto y = yaml_entry(slot, *s);
    if (!y) return y.error();
    e = std::move(*y);
  }
  plugin::audit_event a;
  a.cause = "cluster";
  a.slot = slot;
  a.plugin = e.name;
  a.cluster_generation = r ? r->generation : 0;
  a.offset = offset;
  if (r) a.principal = r->principal;
  auto refuse = [&](const status& why) {
    a.action = "refuse";
    a.reason = why.message();
    n_.audit_.record(a);
    log::error(
        "plugin swap: slot {} generation {} ({}) is not put in service on this broker: {}; it keeps what it "
        "ran",
        slot, a.cluster_generation, e.name, why.message());
    return why;
  };
  auto inst = make(slot, *s, e);
  if (!inst) return refuse(inst.error());
  const std::string& digest = (*inst)->lib().sha256();
  if (r != nullptr && !r->sha256.empty() && digest != r->sha256)
    return refuse(status(errc::config, "the library " + (*inst)->lib().origin() + " has SHA-256 " + digest +
                                           ", not the " + r->sha256 + " the swap was checked with"));
  result<uint64_t> gen = status(errc::internal, "no slot");
  switch (s->category) {
    case MOSAIC_CATEGORY_SHARE_POLICY: gen = n_.share_policy_.install(*inst); break;
    case MOSAIC_CATEGORY_DLQ_HANDLER: gen = n_.dlq_handler_.install(*inst); break;
    case MOSAIC_CATEGORY_ASSIGNOR: gen = n_.assignors_.install(*inst); break;
    case MOSAIC_CATEGORY_CODEC: gen = n_.codecs_.install(*inst); break;
    case MOSAIC_CATEGORY_RECORD_INTERCEPTOR: gen = n_.interceptors_.swap(s->index, *inst); break;
    case MOSAIC_CATEGORY_AUTHENTICATOR: gen = n_.authenticators_.install(*inst); break;
    default: break;
  }
  if (!gen) return refuse(gen.error());
  if (s->default_assignor)
    n_.assignors_.set_default(static_cast<const mosaic_assignor_vtable_v1*>((*inst)->vtable())->assignor_name);
  // A canary is watched for its latency too: plugin calls are timed from
  // now on this broker (as a metrics listener has them timed).
  if (r != nullptr && !r->brokers.empty()) plugin::call_meter::set_timing(true);
  a.action = r == nullptr || r->action == "rollback" ? "rollback" : "swap";
  a.library = (*inst)->lib().origin();
  a.sha256 = digest;
  a.generation = *gen;
  a.config = (*inst)->config().describe();
  n_.audit_.record(a);
  log::info("plugin swap: slot {} runs {} ({}) as the cluster's generation {}{} (generation {} here){}{}", slot, e.name,
            a.library, a.cluster_generation, r && !r->brokers.empty() ? ", a canary" : "", *gen,
            a.principal.empty() ? "" : ", asked by ", a.principal);
  return {};
}

namespace {

// The upper bound, in µs, of the latency bucket the 99th percentile of the
// calls falls in; -1 for none.
int64_t p99_upper_us(const metrics::histogram_snapshot& h) {
  if (h.count == 0) return -1;
  const auto wanted = static_cast<uint64_t>(0.99 * static_cast<double>(h.count));
  uint64_t seen = 0;
  for (size_t b = 0; b < metrics::duration_buckets.size(); ++b) {
    seen += h.counts[b];
    if (seen >= wanted && seen > 0) return static_cast<int64_t>(metrics::duration_buckets[b] * 1e6);
  }
  return static_cast<int64_t>(metrics::duration_buckets.back() * 1e6) + 1;  // above the last bound
}

}  // namespace

std::vector<adapter::plugin_slot_state> cluster_swaps::slots() {
  std::vector<adapter::plugin_slot_state> out;
  const plugin::meter_visitor collect = [&](const std::string& slot, const plugin::instance& i, uint64_t g,
                                            const plugin::call_meter& m) {
    adapter::plugin_slot_state st;
    st.slot = slot;
    st.plugin = i.factory().name;
    st.library = i.lib().origin();
    st.sha256 = i.lib().sha256();
    st.local_generation = g;
    st.calls = m.calls();
    st.errors = m.errors();
    st.p99_us = p99_upper_us(m.latency());
    st.config = i.config().describe();
    out.push_back(std::move(st));
  };
  n_.share_policy_.visit(collect);
  n_.dlq_handler_.visit(collect);
  n_.assignors_.visit(collect);
  n_.codecs_.visit(collect);
  n_.interceptors_.visit(collect);
  n_.authenticators_.visit(collect);
  // The default assignor, as its own slot: the assignor it names.
  std::string d = n_.assignors_.default_name();
  if (d.empty() && !n_.cfg_.groups.consumer_assignors.empty()) d = n_.cfg_.groups.consumer_assignors.front();
  for (size_t k = 0, n = out.size(); k < n; ++k)
    if (out[k].slot == "assignor." + d) {
      auto row = out[k];
      row.slot = "group.consumer.assignor";
      out.push_back(std::move(row));
    }
  std::lock_guard g(mu_);
  for (auto& st : out)
    if (auto it = applied_.find(st.slot); it != applied_.end()) {
      st.cluster_generation = std::max<int64_t>(0, it->second.generation);
      st.canary = it->second.canary;
      st.problem = it->second.problem;
    }
  return out;
}

std::vector<adapter::plugin_swap_event> cluster_swaps::history(const std::string& slot) {
  std::vector<adapter::plugin_swap_event> out;
  store_->read([&](const metadata::image& img) {
    for (const auto& [name, swaps] : img.plugin_swaps()) {
      if (!slot.empty() && name != slot) continue;
      for (const auto& h : swaps.history)
        out.push_back({h.slot, h.action, h.generation, h.plugin, h.library, h.sha256, config_text(h.config),
                       h.principal, h.reason, h.brokers, h.time_ms});
    }
  });
  std::stable_sort(out.begin(), out.end(), [](const auto& x, const auto& y) { return x.time_ms < y.time_ms; });
  return out;
}

adapter::plugin_change_result cluster_swaps::change(const plugin_change& c) {
  adapter::plugin_change_result res;
  const char* verb = c.what == plugin_change::kind::swap      ? "swap"
                     : c.what == plugin_change::kind::promote ? "promote"
                                                              : "rollback";
  auto refuse = [&](error code, const std::string& message) {
    plugin::audit_event a;
    a.action = "refuse";
    a.cause = "cluster";
    a.slot = c.slot;
    a.plugin = c.plugin;
    a.principal = c.principal;
    a.reason = std::string(verb) + " refused: " + message;
    n_.audit_.record(a);
    log::warn("plugin {} of slot {} asked by {} refused: {}", verb, c.slot, c.principal, message);
    res.result = adapter::outcome::fail(code, message);
    return res;
  };
  bool enabled = false;
  {
    std::lock_guard g(mu_);
    enabled = yaml_.hot_swap.enabled;
  }
  if (!enabled)
    return refuse(error::policy_violation, "plugin swaps are off on broker " + std::to_string(n_.cfg_.node_id) +
                                               " (plugins.hot_swap.enabled: false)");
  auto slot = parse_swap_slot(c.slot);
  if (!slot) return refuse(error::invalid_request, slot.error().message());
  for (int32_t b : c.brokers) {
    const bool known = store_->read([&](const metadata::image& img) { return img.brokers().count(b) > 0; });
    if (!known) return refuse(error::invalid_request, "broker " + std::to_string(b) + " is not in the cluster");
  }

  metadata::plugin_swap_record r;
  r.slot = c.slot;
  r.principal = c.principal;
  r.time_ms = wall_ms();
  r.reason = c.reason;
  if (c.what == plugin_change::kind::swap) {
    if (c.plugin.empty()) return refuse(error::invalid_request, "a swap names the plugin to put in the slot");
    config::plugin_entry e;
    e.name = c.plugin;
    e.library = c.library;
    e.config = raw_config(c.config);
    e.where = "slot " + c.slot;
    auto sha = validate(c.slot, *slot, e);
    if (!sha)
      return refuse(sha.error().code() == errc::config ? error::invalid_config : error::policy_violation,
                    sha.error().message());
    r.action = "swap";
    r.plugin = c.plugin;
    r.library = c.library.value_or("");
    r.sha256 = *sha;
    r.config = c.config;
    r.brokers = c.brokers;
    r.generation = store_->read([&](const metadata::image& img) {
      auto it = img.plugin_swaps().find(c.slot);
      return (it == img.plugin_swaps().end() ? 0 : it->second.last_generation) + 1;
    });
  } else {
    std::string why;
    const bool found = store_->read([&](const metadata::image& img) {
      auto it = img.plugin_swaps().find(c.slot);
      if (it == img.plugin_swaps().end() || it->second.stack.empty()) {
        why = "slot " + c.slot + " runs every broker's own YAML: there is no swap to " + verb;
        return false;
      }
      const auto& stack = it->second.stack;
      const auto& top = stack.back();
      if (c.expected_generation >= 0 && top.generation != c.expected_generation) {
        why = "slot " + c.slot + " is at generation " + std::to_string(top.generation) + ", not " +
              std::to_string(c.expected_generation) + " (it changed since)";
        return false;
      }
      if (c.what == plugin_change::kind::promote) {
        if (top.brokers.empty()) {
          why = "generation " + std::to_string(top.generation) + " of slot " + c.slot +
                " already runs on every broker (it is not a canary)";
          return false;
        }
        const std::string keep_principal = r.principal, keep_reason = r.reason;
        const int64_t keep_time = r.time_ms;
        r = top;
        r.principal = keep_principal;
        r.reason = keep_reason;
        r.time_ms = keep_time;
        r.action = "promote";
        r.brokers.clear();
      } else {
        r.action = "rollback";
        if (stack.size() > 1) {
          const auto& below = stack[stack.size() - 2];
          r.generation = below.generation;
          r.plugin = below.plugin;
          r.library = below.library;
          r.sha256 = below.sha256;
          r.config = below.config;
        } else {
          r.generation = 0;  // every broker's own YAML
        }
      }
      return true;
    });
    if (!found) return refuse(error::invalid_request, why);
  }
  res.generation = r.generation;
  if (c.validate_only) return res;
  auto committed = store_->propose({r});
  if (!committed) {
    const auto code = committed.error().code();
    return refuse(code == errc::io ? error::request_timed_out : error::invalid_request, committed.error().message());
  }
  log::info("plugin {}: slot {} generation {}{} committed at metadata offset {}, asked by {}", verb, c.slot,
            r.generation, r.brokers.empty() ? "" : fmt::format(" (a canary on broker {})", fmt::join(r.brokers, ",")),
            *committed, c.principal);
  return res;
}

}  // namespace mosaic::app
