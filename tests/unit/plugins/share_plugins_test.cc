// The share group plugins on their own, loaded from their shared builds
// through the SDK's fake host, as a third party would test theirs: the
// simple share assignor, the two share policies, and the dlq_topic handler
// with a writer that records what it is asked to write.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "mosaic/abi/dlq_handler.h"
#include "mosaic/abi/share_policy.h"
#include "mosaic/sdk/assignor_host.h"
#include "mosaic/testing/fake_host.h"

namespace {

using mosaic::testing::fake_host;
using mosaic::testing::plugin_library;

std::string lib(const std::string& name) { return std::string(MOSAIC_PLUGIN_DIR) + "/libmosaic_" + name + ".so"; }

class share_plugins : public ::testing::Test {
 protected:
  template <class Vtable>
  const Vtable& load(const std::string& library, const std::string& factory,
                     const std::map<std::string, std::string>& config = {}) {
    libs_.push_back(std::make_unique<plugin_library>(lib(library)));
    insts_.push_back(host_.create(libs_.back()->factory(factory), config));
    return insts_.back()->vtable<Vtable>();
  }
  void* handle() const { return insts_.back()->handle(); }

  fake_host host_;
  std::vector<std::unique_ptr<plugin_library>> libs_;
  std::vector<std::unique_ptr<mosaic::testing::fake_instance>> insts_;
};

// ---- the simple share assignor ----

mosaic::sdk::assignor_input group(size_t members, int32_t partitions) {
  mosaic::sdk::assignor_input in;
  in.group_id = "g";
  in.topics.push_back({{1}, "t", partitions});
  for (size_t m = 0; m < members; ++m) in.members.push_back({"m" + std::to_string(10 + m), {}, {}, {0}, {}});
  return in;
}

// Partitions per member, and members per partition.
struct shape {
  std::vector<size_t> per_member;
  std::map<int32_t, size_t> per_partition;
};

shape shape_of(const mosaic::sdk::assignor_outcome& out) {
  shape s;
  for (const auto& m : out.members) {
    size_t n = 0;
    for (const auto& [t, ps] : m)
      for (int32_t p : ps) ++n, ++s.per_partition[p];
    s.per_member.push_back(n);
  }
  return s;
}

TEST_F(share_plugins, simple_assignor_spreads_partitions_and_shares_them_when_members_outnumber_them) {
  const auto& vt = load<mosaic_assignor_vtable_v1>("assignor_simple", "mosaic.assignor.simple");
  EXPECT_STREQ(vt.assignor_name, "simple");
  for (auto [members, partitions] :
       std::vector<std::pair<size_t, int32_t>>{{1, 1}, {3, 1}, {3, 2}, {2, 7}, {10, 4}, {4, 100}}) {
    auto out = mosaic::sdk::call_assignor(vt, handle(), group(members, partitions), /*shared=*/true);
    ASSERT_TRUE(out.ok()) << out.message;
    const auto s = shape_of(out);
    // Every partition is read, and every member reads something.
    EXPECT_EQ(s.per_partition.size(), static_cast<size_t>(partitions)) << members << "x" << partitions;
    for (size_t n : s.per_member) EXPECT_GE(n, 1u) << members << "x" << partitions;
    if (static_cast<size_t>(partitions) >= members) {
      for (const auto& [p, n] : s.per_partition) EXPECT_EQ(n, 1u) << "exclusive while partitions suffice";
      const auto [lo, hi] = std::minmax_element(s.per_member.begin(), s.per_member.end());
      EXPECT_LE(*hi - *lo, 1u) << members << "x" << partitions;
    } else {
      for (size_t n : s.per_member) EXPECT_EQ(n, 1u) << "one partition each";
      size_t lo = SIZE_MAX, hi = 0;
      for (const auto& [p, n] : s.per_partition) lo = std::min(lo, n), hi = std::max(hi, n);
      EXPECT_LE(hi - lo, 1u) << "members per partition balanced";
    }
  }
}

TEST_F(share_plugins, simple_assignor_is_sticky_and_deterministic) {
  const auto& vt = load<mosaic_assignor_vtable_v1>("assignor_simple", "mosaic.assignor.simple");
  auto in = group(3, 9);
  auto first = mosaic::sdk::call_assignor(vt, handle(), in, true);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(mosaic::sdk::call_assignor(vt, handle(), in, true).members, first.members);
  // A fourth member joins: the others keep all but what they give it.
  for (size_t m = 0; m < 3; ++m) in.members[m].current = first.members[m];
  in.members.push_back({"m99", {}, {}, {0}, {}});
  auto second = mosaic::sdk::call_assignor(vt, handle(), in, true);
  ASSERT_TRUE(second.ok());
  for (size_t m = 0; m < 3; ++m) {
    std::vector<int32_t> kept;
    const auto& before = first.members[m].at(0);
    const auto& after = second.members[m].at(0);
    std::set_intersection(before.begin(), before.end(), after.begin(), after.end(), std::back_inserter(kept));
    EXPECT_EQ(kept.size(), after.size()) << "member " << m << " got nothing it did not have";
    EXPECT_GE(kept.size(), 2u);
  }
}

// ---- share policies ----

mosaic_share_decision_v1 decide(const mosaic_share_policy_vtable_v1& vt, void* h, int32_t cause, int32_t count,
                                int32_t renewals = 0, bool dlq = true, int32_t limit = 5) {
  mosaic_share_event_v1 e{sizeof(e), cause, count, limit, renewals, 30000, dlq ? 1 : 0};
  mosaic_share_decision_v1 d{sizeof(d), -1, -1};
  char msg[128] = {0};
  mosaic_error_v1 err{msg, sizeof(msg)};
  EXPECT_EQ(vt.decide(h, &e, &d, &err), MOSAIC_OK) << msg;
  return d;
}

TEST_F(share_plugins, default_policy_answers_as_kafka) {
  const auto& vt = load<mosaic_share_policy_vtable_v1>("share_policy_default", "mosaic.share_policy.default");
  void* h = handle();
  EXPECT_EQ(decide(vt, h, MOSAIC_SHARE_CAUSE_RELEASE, 1).decision, MOSAIC_SHARE_REDELIVER);
  EXPECT_EQ(decide(vt, h, MOSAIC_SHARE_CAUSE_RELEASE, 1).delay_ms, 0);
  EXPECT_EQ(decide(vt, h, MOSAIC_SHARE_CAUSE_LOCK_TIMEOUT, 4).decision, MOSAIC_SHARE_REDELIVER);
  EXPECT_EQ(decide(vt, h, MOSAIC_SHARE_CAUSE_LOCK_TIMEOUT, 5).decision, MOSAIC_SHARE_DEAD_LETTER) << "at the limit";
  EXPECT_EQ(decide(vt, h, MOSAIC_SHARE_CAUSE_REJECT, 1).decision, MOSAIC_SHARE_DEAD_LETTER);
  EXPECT_EQ(decide(vt, h, MOSAIC_SHARE_CAUSE_RENEW, 1, 1000).decision, MOSAIC_SHARE_RENEW) << "renewals are unbounded";
}

TEST_F(share_plugins, backoff_policy_doubles_its_delay_and_caps_renewals) {
  const auto& vt = load<mosaic_share_policy_vtable_v1>(
      "share_policy_backoff", "mosaic.share_policy.backoff",
      {{"backoff.initial.ms", "100"}, {"backoff.max.ms", "500"}, {"renew.max", "3"}});
  void* h = handle();
  std::vector<int64_t> delays;
  for (int32_t count = 1; count <= 5; ++count)
    delays.push_back(decide(vt, h, MOSAIC_SHARE_CAUSE_RELEASE, count, 0, true, 10).delay_ms);
  EXPECT_EQ(delays, (std::vector<int64_t>{100, 200, 400, 500, 500}));
  EXPECT_EQ(decide(vt, h, MOSAIC_SHARE_CAUSE_RENEW, 1, 2).decision, MOSAIC_SHARE_RENEW);
  EXPECT_EQ(decide(vt, h, MOSAIC_SHARE_CAUSE_RENEW, 1, 3).decision, MOSAIC_SHARE_REFUSE);
  EXPECT_EQ(decide(vt, h, MOSAIC_SHARE_CAUSE_RELEASE, 10, 0, true, 10).decision, MOSAIC_SHARE_DEAD_LETTER);
  // The same answers from several threads at once.
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i)
        if (decide(vt, h, MOSAIC_SHARE_CAUSE_LOCK_TIMEOUT, 3, 0, true, 10).delay_ms != 400) ++wrong;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST_F(share_plugins, backoff_policy_refuses_a_bad_config) {
  plugin_library l(lib("share_policy_backoff"));
  EXPECT_THROW(host_.create(l.factory("mosaic.share_policy.backoff"), {{"backoff.initial.ms", "-5"}}), std::exception);
  EXPECT_THROW(host_.create(l.factory("mosaic.share_policy.backoff"), {{"no.such.key", "1"}}), std::exception);
}

// ---- the dlq_topic handler ----

// A writer that keeps what it is asked to write; `complete` answers them.
struct recording_writer {
  struct write {
    std::string topic;
    int32_t partition;
    std::optional<std::string> key, value;
    std::map<std::string, std::string> headers;
    mosaic_dlq_done_v1 done;
    void* done_ctx;
  };
  std::vector<write> writes;
  mosaic_dlq_writer_v1 table{sizeof(mosaic_dlq_writer_v1), this, &on_write};

  static std::optional<std::string> text(mosaic_bytes_v1 b) {
    if (b.data == nullptr) return std::nullopt;
    return std::string(reinterpret_cast<const char*>(b.data), b.size);
  }
  static void on_write(void* ctx, const char* topic, int32_t partition, mosaic_bytes_v1 key, mosaic_bytes_v1 value,
                       int64_t, const mosaic_record_header_v1* headers, size_t n, mosaic_dlq_done_v1 done,
                       void* done_ctx) {
    auto* self = static_cast<recording_writer*>(ctx);
    write w{topic, partition, text(key), text(value), {}, done, done_ctx};
    for (size_t i = 0; i < n; ++i) w.headers[headers[i].key] = text(headers[i].value).value_or("");
    self->writes.push_back(std::move(w));
  }
  void complete(size_t i, mosaic_status_t s) { writes[i].done(writes[i].done_ctx, s, ""); }
};

struct outcome {
  int calls = 0;
  mosaic_status_t status = -1;
  static void done(void* ctx, mosaic_status_t s, const char*) {
    auto* o = static_cast<outcome*>(ctx);
    ++o->calls;
    o->status = s;
  }
};

mosaic_dead_letter_v1 letter(int64_t offset, int32_t cause, const char* dlq = "dlq.orders") {
  static const uint8_t value[] = {'v', '1'};
  return {sizeof(mosaic_dead_letter_v1),
          "g",
          "orders",
          2,
          offset,
          3,
          cause,
          dlq,
          1,
          1,
          {nullptr, 0},
          {value, 2},
          1700000000000};
}

TEST_F(share_plugins, dlq_topic_writes_a_record_with_kip_1191_headers) {
  const auto& vt = load<mosaic_dlq_handler_vtable_v1>("dlq_topic", "mosaic.dlq.topic");
  recording_writer w;
  outcome o;
  auto l = letter(42, MOSAIC_SHARE_CAUSE_REJECT);
  char msg[128] = {0};
  mosaic_error_v1 err{msg, sizeof(msg)};
  ASSERT_EQ(vt.enqueue(handle(), &l, &w.table, &outcome::done, &o, &err), MOSAIC_OK) << msg;
  ASSERT_EQ(w.writes.size(), 1u);
  const auto& r = w.writes[0];
  EXPECT_EQ(r.topic, "dlq.orders");
  EXPECT_EQ(r.partition, -1) << "the broker picks: the letter's own partition modulo the topic's";
  EXPECT_EQ(r.key, std::nullopt);
  EXPECT_EQ(r.value, "v1") << "copy.record: the value is copied";
  EXPECT_EQ(r.headers,
            (std::map<std::string, std::string>{{"__dlq.errors.topic", "orders"},
                                                {"__dlq.errors.partition", "2"},
                                                {"__dlq.errors.offset", "42"},
                                                {"__dlq.errors.group", "g"},
                                                {"__dlq.errors.delivery.count", "3"},
                                                {"__dlq.errors.message", "record rejected by the consumer"}}));
  EXPECT_EQ(o.calls, 0) << "done only once the write is";
  w.complete(0, MOSAIC_OK);
  EXPECT_EQ(o.calls, 1);
  EXPECT_EQ(o.status, MOSAIC_OK);
}

TEST_F(share_plugins, dlq_topic_bounds_what_is_in_flight_and_never_loops) {
  const auto& vt = load<mosaic_dlq_handler_vtable_v1>("dlq_topic", "mosaic.dlq.topic", {{"max.in.flight", "2"}});
  recording_writer w;
  outcome o[4];
  char msg[128] = {0};
  mosaic_error_v1 err{msg, sizeof(msg)};
  for (int i = 0; i < 2; ++i) {
    auto l = letter(i, MOSAIC_SHARE_CAUSE_LOCK_TIMEOUT);
    ASSERT_EQ(vt.enqueue(handle(), &l, &w.table, &outcome::done, &o[i], &err), MOSAIC_OK);
  }
  auto third = letter(2, MOSAIC_SHARE_CAUSE_LOCK_TIMEOUT);
  EXPECT_EQ(vt.enqueue(handle(), &third, &w.table, &outcome::done, &o[2], &err), MOSAIC_ERR_LIMIT) << "full";
  EXPECT_EQ(o[2].calls, 0) << "a refused letter gets no done";
  EXPECT_EQ(w.writes.at(0).headers.at("__dlq.errors.message"), "delivery count limit reached");
  w.complete(0, MOSAIC_ERR_INTERNAL);
  EXPECT_EQ(o[0].status, MOSAIC_ERR_INTERNAL) << "a failed write is reported, and frees its place";
  EXPECT_EQ(vt.enqueue(handle(), &third, &w.table, &outcome::done, &o[2], &err), MOSAIC_OK);
  auto self = letter(3, MOSAIC_SHARE_CAUSE_REJECT, "orders");
  EXPECT_EQ(vt.enqueue(handle(), &self, &w.table, &outcome::done, &o[3], &err), MOSAIC_OK);
  EXPECT_EQ(o[3].status, MOSAIC_ERR_INVALID_ARGUMENT) << "never into the topic it came from";
  EXPECT_EQ(w.writes.size(), 3u);
  w.complete(1, MOSAIC_OK);
  w.complete(2, MOSAIC_OK);
}

}  // namespace
