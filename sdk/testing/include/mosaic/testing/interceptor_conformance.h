// The conformance suite every record interceptor plugin passes. Include it
// in exactly one test file and instantiate it for your plugin with its
// config, the record values of a batch it accepts and of one it rejects
// (none, for an interceptor that never rejects):
//
//   #include "mosaic/testing/interceptor_conformance.h"
//   INSTANTIATE_TEST_SUITE_P(keys, interceptor_conformance, ::testing::Values(mosaic::testing::interceptor_case{
//       "/path/librequire_keys.so", "com.acme.interceptor.require_keys", {}, {},
//       {{"k", "v"}}, {{std::nullopt, "v"}}}));
//
// The suite checks what the broker relies on: every batch, however odd
// (no records, null and empty keys and values, bytes that are not UTF-8, a
// 1 MiB value, 1,000 records, empty and huge topic names and principals,
// every codec id, the records left out for an interceptor that does not
// read them), gets ACCEPT or REJECT and never a fault status or a crash;
// strings are read within their lengths (they are not NUL-terminated: run
// it under AddressSanitizer); a reason fits the buffer it was given, and a
// record index names a record of the batch; the headers added stay within
// the broker's limits; the same batch gets the same verdict every time and
// on many threads at once; and the stated batches are accepted and
// rejected.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "mosaic/abi/record_interceptor.h"
#include "mosaic/testing/fake_host.h"

namespace mosaic::testing {

// A record of a test batch: a key and a value, null or not.
struct test_record {
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers{};
};

struct interceptor_case {
  std::string library_path;
  std::string factory_name;
  std::map<std::string, std::string> config;
  std::map<std::string, std::vector<std::string>> lists;  // list fields whose items hold commas
  std::vector<test_record> accepted;                      // a batch it accepts
  std::vector<test_record> rejected;                      // a batch it rejects; empty: it never rejects
};

inline void PrintTo(const interceptor_case& c, std::ostream* os) { *os << c.factory_name; }

// A batch as the broker hands it over, every string copied into a buffer of
// exactly its size (no terminating NUL), so that a read past a length is
// caught by AddressSanitizer.
class test_batch {
 public:
  test_batch(const std::vector<test_record>& records, bool with_records, const std::string& topic = "orders",
             const std::string& principal = "User:alice", const std::string& client_id = "app-1", int32_t codec = 0) {
    batch_.struct_size = sizeof(batch_);
    batch_.topic = keep(topic);
    batch_.partition = 3;
    batch_.principal = keep(principal);
    batch_.client_id = keep(client_id);
    batch_.producer_id = 1000;
    batch_.producer_epoch = 0;
    batch_.base_sequence = 0;
    batch_.codec = codec;
    batch_.base_timestamp = 1767225600000;
    batch_.max_timestamp = batch_.base_timestamp + static_cast<int64_t>(records.size());
    batch_.record_count = static_cast<int32_t>(records.size());
    headers_.resize(records.size());
    views_.resize(records.size());
    for (size_t i = 0; i < records.size(); ++i) {
      for (const auto& [k, v] : records[i].headers)
        headers_[i].push_back({keep(k), v ? keep(*v) : mosaic_bytes_v1{nullptr, 0}});
      auto& r = views_[i];
      r.struct_size = sizeof(r);
      r.offset_delta = static_cast<int32_t>(i);
      r.timestamp = batch_.base_timestamp + static_cast<int64_t>(i);
      r.key = records[i].key ? keep(*records[i].key) : mosaic_bytes_v1{nullptr, 0};
      r.value = records[i].value ? keep(*records[i].value) : mosaic_bytes_v1{nullptr, 0};
      r.headers = headers_[i].data();
      r.header_count = headers_[i].size();
    }
    for (auto& v : views_) pointers_.push_back(&v);
    batch_.records = with_records && !pointers_.empty() ? pointers_.data() : nullptr;
  }
  test_batch(const test_batch&) = delete;
  test_batch& operator=(const test_batch&) = delete;

  const mosaic_produced_batch_v1* abi() const { return &batch_; }

 private:
  mosaic_bytes_v1 keep(const std::string& s) {
    // Never empty, read only within size().
    auto p = std::make_unique<uint8_t[]>(s.size() + 1);
    std::memcpy(p.get(), s.data(), s.size());
    mosaic_bytes_v1 b{p.get(), s.size()};
    owned_.push_back(std::move(p));
    return b;
  }

  mosaic_produced_batch_v1 batch_{};
  std::vector<std::unique_ptr<uint8_t[]>> owned_;
  std::vector<std::vector<mosaic_header_view_v1>> headers_;
  std::vector<mosaic_record_view_v1> views_;
  std::vector<const mosaic_record_view_v1*> pointers_;
};

// Calls an interceptor instance as the broker does, with the broker's
// limits on added headers (MOSAIC_INTERCEPT_MAX_HEADERS, _MAX_HEADER_BYTES).
class interceptor_caller {
 public:
  interceptor_caller(const mosaic_record_interceptor_vtable_v1& vt, void* handle) : vt_(vt), handle_(handle) {}

  struct answer {
    mosaic_status_t status = MOSAIC_ERR_INTERNAL;
    int32_t verdict = -1;
    int32_t record_index = -1;
    std::string reason;
    bool reason_terminated = true;
    std::string message;
    std::vector<std::pair<std::string, std::optional<std::string>>> headers;
    bool over_limit = false;
  };

  bool reads_records() const { return (vt_.flags & MOSAIC_INTERCEPTOR_READS_RECORDS) != 0; }

  answer call(const test_batch& b, size_t reason_capacity = 1024) const {
    answer out;
    std::vector<char> reason(reason_capacity + 1, '\x7f');  // one guard byte past the capacity
    sink s{&out};
    mosaic_intercept_result_v1 r{sizeof(r), MOSAIC_INTERCEPT_ACCEPT, -1, {reason.data(), reason_capacity}, &s,
                                 &sink::add};
    char message[256] = {0};
    mosaic_error_v1 err{message, sizeof(message)};
    out.status = vt_.intercept(handle_, b.abi(), &r, &err);
    out.verdict = r.verdict;
    out.record_index = r.record_index;
    out.message = message;
    if (reason_capacity > 0) {
      const void* nul = std::memchr(reason.data(), '\0', reason_capacity);
      out.reason_terminated = nul != nullptr || reason[0] == '\x7f';
      if (nul != nullptr)
        out.reason.assign(reason.data(), static_cast<size_t>(static_cast<const char*>(nul) - reason.data()));
    }
    EXPECT_EQ(reason[reason_capacity], '\x7f') << "the reason was written past its capacity";
    return out;
  }

 private:
  struct sink {
    answer* out;
    size_t bytes = 0;
    static mosaic_status_t add(void* ctx, mosaic_bytes_v1 key, mosaic_bytes_v1 value, int32_t) {
      auto* self = static_cast<sink*>(ctx);
      const size_t size = key.size + (value.data ? value.size : 0);
      if (self->out->headers.size() >= MOSAIC_INTERCEPT_MAX_HEADERS ||
          self->bytes + size > MOSAIC_INTERCEPT_MAX_HEADER_BYTES) {
        self->out->over_limit = true;
        return MOSAIC_ERR_LIMIT;
      }
      self->bytes += size;
      std::optional<std::string> v;
      if (value.data != nullptr) v = std::string(reinterpret_cast<const char*>(value.data), value.size);
      self->out->headers.emplace_back(std::string(reinterpret_cast<const char*>(key.data), key.size), v);
      return MOSAIC_OK;
    }
  };

  const mosaic_record_interceptor_vtable_v1& vt_;
  void* handle_;
};

class interceptor_conformance : public ::testing::TestWithParam<interceptor_case> {
 protected:
  void SetUp() override {
    lib_ = std::make_unique<plugin_library>(GetParam().library_path);
    const mosaic_factory_v1& f = lib_->factory(GetParam().factory_name);
    ASSERT_EQ(f.category, MOSAIC_CATEGORY_RECORD_INTERCEPTOR);
    inst_ = host_.create(f, GetParam().config, GetParam().lists);
    caller_ =
        std::make_unique<interceptor_caller>(inst_->vtable<mosaic_record_interceptor_vtable_v1>(), inst_->handle());
  }

  // Odd batches, each a variation of the stated ones.
  std::vector<std::unique_ptr<test_batch>> odd_batches() const {
    const bool reads = caller_->reads_records();
    std::vector<std::unique_ptr<test_batch>> out;
    auto add = [&](const std::vector<test_record>& records, const std::string& topic = "orders",
                   const std::string& principal = "User:alice", const std::string& client = "app-1",
                   int32_t codec = 0) {
      out.push_back(std::make_unique<test_batch>(records, reads, topic, principal, client, codec));
    };
    for (const auto* base : {&GetParam().accepted, &GetParam().rejected}) {
      if (base->empty()) continue;
      add(*base);
      for (int32_t codec = 0; codec <= 4; ++codec) add(*base, "orders", "User:alice", "app-1", codec);
      add(*base, "", "", "");
      add(*base, std::string(249, 't'), "User:" + std::string(10000, 'p'), std::string("with\0nul", 8));
      add(*base, "\xff\xfe", "User:\xc3\x28", "\xff");
      auto many = *base;
      while (many.size() < 1000) many.push_back(base->at(many.size() % base->size()));
      add(many);
    }
    add({});
    add({{std::nullopt, std::nullopt}, {"", ""}, {std::string("\0\xff", 2), std::string("\xc3\x28\xa0\xa1", 4)}});
    add({{"k", std::string(1 << 20, 'v')}});
    add({{"k", "{\"a\": [1, 2, {\"b\": null}]}"}, {"k", "[]"}, {"k", "null"}, {"k", "1e400"}, {"k", "\"x"}});
    add({{"k", std::string(10000, '[')}});
    add({{"k", "v", {{"h", "1"}, {"", std::nullopt}, {std::string(1000, 'h'), std::string(1000, 'v')}}}});
    return out;
  }

  fake_host host_;
  std::unique_ptr<plugin_library> lib_;
  std::unique_ptr<fake_instance> inst_;
  std::unique_ptr<interceptor_caller> caller_;
};

TEST_P(interceptor_conformance, the_stated_batches_are_accepted_and_rejected) {
  const bool reads = caller_->reads_records();
  test_batch yes(GetParam().accepted, reads);
  auto a = caller_->call(yes);
  EXPECT_EQ(a.status, MOSAIC_OK) << a.message;
  EXPECT_EQ(a.verdict, MOSAIC_INTERCEPT_ACCEPT) << a.reason;
  if (GetParam().rejected.empty()) return;
  test_batch no(GetParam().rejected, reads);
  auto r = caller_->call(no);
  EXPECT_EQ(r.status, MOSAIC_OK) << r.message;
  EXPECT_EQ(r.verdict, MOSAIC_INTERCEPT_REJECT);
  EXPECT_FALSE(r.reason.empty()) << "a refusal says why";
  EXPECT_GE(r.record_index, -1);
  EXPECT_LT(r.record_index, static_cast<int32_t>(GetParam().rejected.size()));
}

TEST_P(interceptor_conformance, every_batch_gets_a_verdict_and_never_a_fault) {
  for (const auto& b : odd_batches()) {
    auto a = caller_->call(*b);
    EXPECT_EQ(a.status, MOSAIC_OK) << a.message << " (" << b->abi()->record_count << " records)";
    EXPECT_TRUE(a.verdict == MOSAIC_INTERCEPT_ACCEPT || a.verdict == MOSAIC_INTERCEPT_REJECT) << a.verdict;
    EXPECT_TRUE(a.reason_terminated);
    EXPECT_GE(a.record_index, -1);
    EXPECT_LT(a.record_index, std::max(b->abi()->record_count, 0));
    EXPECT_FALSE(a.over_limit) << "more headers than the broker takes";
  }
}

TEST_P(interceptor_conformance, a_reason_fits_a_small_buffer) {
  const auto& batch = GetParam().rejected.empty() ? GetParam().accepted : GetParam().rejected;
  for (size_t capacity : {size_t{0}, size_t{1}, size_t{7}}) {
    test_batch b(batch, caller_->reads_records());
    auto a = caller_->call(b, capacity);  // the guard byte is checked inside
    EXPECT_EQ(a.status, MOSAIC_OK) << a.message;
    EXPECT_TRUE(a.reason_terminated);
  }
}

TEST_P(interceptor_conformance, the_same_batch_gets_the_same_verdict_on_many_threads) {
  const auto batches = odd_batches();
  std::vector<int32_t> first;
  first.reserve(batches.size());
  for (const auto& b : batches) first.push_back(caller_->call(*b).verdict);
  std::atomic<int> differ{0}, faults{0};
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int round = 0; round < 3; ++round)
        for (size_t i = 0; i < batches.size(); ++i) {
          auto a = caller_->call(*batches[i]);
          if (a.status != MOSAIC_OK) ++faults;
          if (a.verdict != first[i]) ++differ;
        }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(faults.load(), 0);
  EXPECT_EQ(differ.load(), 0);
}

}  // namespace mosaic::testing
