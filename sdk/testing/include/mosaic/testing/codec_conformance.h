// The conformance suite every codec plugin passes. Include it in exactly one
// test file and instantiate it for your codec:
//
//   #include "mosaic/testing/codec_conformance.h"
//   INSTANTIATE_TEST_SUITE_P(rle, codec_conformance,
//       ::testing::Values(mosaic::testing::codec_case{"/path/librle.so", "com.acme.codec.rle", {}}));
//
// It checks: round trips of empty, tiny, batch-sized, large and
// incompressible input; the output bound (a decompression bomb is refused
// with MOSAIC_ERR_LIMIT, an exact bound is enough); truncated and corrupt
// input rejected or decoded to nothing but a prefix of the original, without
// a crash; concurrent use of one instance; and a status, never an exception,
// for every failure.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "mosaic/abi/codec.h"
#include "mosaic/testing/data.h"
#include "mosaic/testing/fake_host.h"

namespace mosaic::testing {

struct codec_case {
  std::string library_path;
  std::string factory_name;
  std::map<std::string, std::string> config;
};

inline void PrintTo(const codec_case& c, std::ostream* os) { *os << c.factory_name; }

class codec_conformance : public ::testing::TestWithParam<codec_case> {
 protected:
  void SetUp() override {
    lib_ = std::make_unique<plugin_library>(GetParam().library_path);
    const mosaic_factory_v1& f = lib_->factory(GetParam().factory_name);
    ASSERT_EQ(f.category, MOSAIC_CATEGORY_CODEC);
    inst_ = host_.create(f, GetParam().config);
    vt_ = &inst_->vtable<mosaic_codec_vtable_v1>();
  }

  struct outcome {
    mosaic_status_t status;
    std::vector<uint8_t> bytes;
    std::string message;
  };

  outcome run(bool compress, const std::vector<uint8_t>& in, size_t limit = SIZE_MAX) const {
    vector_buffer out(limit);
    char message[256] = {0};
    mosaic_error_v1 err{message, sizeof(message)};
    auto fn = compress ? vt_->compress : vt_->decompress;
    mosaic_status_t s = fn(inst_->handle(), in.data(), in.size(), out.abi(), &err);
    return {s, out.bytes(), message};
  }
  outcome compress(const std::vector<uint8_t>& in) const { return run(true, in); }
  outcome decompress(const std::vector<uint8_t>& in, size_t limit = SIZE_MAX) const { return run(false, in, limit); }

  void round_trip(const std::vector<uint8_t>& in) const {
    auto c = compress(in);
    ASSERT_EQ(c.status, MOSAIC_OK) << c.message;
    auto d = decompress(c.bytes);
    ASSERT_EQ(d.status, MOSAIC_OK) << d.message;
    ASSERT_EQ(d.bytes.size(), in.size());
    EXPECT_TRUE(d.bytes == in);
  }

  // A failed decode is fine; a successful one must not invent bytes.
  static void expect_rejected_or_prefix(const outcome& o, const std::vector<uint8_t>& original) {
    if (o.status == MOSAIC_OK) {
      ASSERT_LE(o.bytes.size(), original.size());
      EXPECT_TRUE(std::equal(o.bytes.begin(), o.bytes.end(), original.begin()))
          << "decoded to bytes that are not a prefix of the original";
    } else {
      EXPECT_TRUE(o.status == MOSAIC_ERR_CORRUPT_INPUT || o.status == MOSAIC_ERR_LIMIT) << o.message;
      EXPECT_NE(o.message, "") << "a failure must say why";
    }
  }

  fake_host host_;
  std::unique_ptr<plugin_library> lib_;
  std::unique_ptr<fake_instance> inst_;
  const mosaic_codec_vtable_v1* vt_ = nullptr;
};

TEST_P(codec_conformance, declares_a_kafka_codec_id) {
  EXPECT_GE(vt_->codec_id, 1);
  EXPECT_LE(vt_->codec_id, 7);
  EXPECT_GE(vt_->struct_size, sizeof(mosaic_codec_vtable_v1));
}

TEST_P(codec_conformance, round_trips_empty_input) { round_trip({}); }
TEST_P(codec_conformance, round_trips_one_byte) { round_trip({0x42}); }
TEST_P(codec_conformance, round_trips_a_16k_batch) { round_trip(json_records(16 * 1024)); }
TEST_P(codec_conformance, round_trips_4_mib) { round_trip(json_records(4 << 20, 3)); }
TEST_P(codec_conformance, round_trips_incompressible_input) { round_trip(random_bytes(100 * 1000)); }
TEST_P(codec_conformance, round_trips_long_runs) { round_trip(std::vector<uint8_t>(300 * 1000, 'a')); }

TEST_P(codec_conformance, appends_after_existing_output) {
  auto in = json_records(4096);
  vector_buffer out;
  std::vector<uint8_t> prefix = {1, 2, 3};
  ASSERT_EQ(out.abi()->reserve(out.abi(), 3), MOSAIC_OK);
  std::memcpy(out.abi()->data, prefix.data(), 3);
  out.abi()->size = 3;
  char msg[256] = {0};
  mosaic_error_v1 err{msg, sizeof(msg)};
  ASSERT_EQ(vt_->compress(inst_->handle(), in.data(), in.size(), out.abi(), &err), MOSAIC_OK) << msg;
  auto all = out.bytes();
  ASSERT_GT(all.size(), 3u);
  EXPECT_TRUE(std::equal(prefix.begin(), prefix.end(), all.begin()));
  auto d = decompress(std::vector<uint8_t>(all.begin() + 3, all.end()));
  ASSERT_EQ(d.status, MOSAIC_OK) << d.message;
  EXPECT_TRUE(d.bytes == in);
}

TEST_P(codec_conformance, refuses_a_decompression_bomb) {
  std::vector<uint8_t> zeros(64 << 20, 0);  // 64 MiB that compress to little
  auto c = compress(zeros);
  ASSERT_EQ(c.status, MOSAIC_OK) << c.message;
  auto d = decompress(c.bytes, 1 << 20);
  EXPECT_EQ(d.status, MOSAIC_ERR_LIMIT) << d.message;
  EXPECT_NE(d.message, "");
}

TEST_P(codec_conformance, an_exact_output_bound_is_enough) {
  auto in = json_records(200 * 1000, 5);
  auto c = compress(in);
  ASSERT_EQ(c.status, MOSAIC_OK) << c.message;
  auto exact = decompress(c.bytes, in.size());
  ASSERT_EQ(exact.status, MOSAIC_OK) << exact.message;
  EXPECT_TRUE(exact.bytes == in);
  auto short_by_one = decompress(c.bytes, in.size() - 1);
  EXPECT_EQ(short_by_one.status, MOSAIC_ERR_LIMIT) << short_by_one.message;
}

TEST_P(codec_conformance, rejects_truncated_input) {
  auto in = json_records(40 * 1000, 9);
  auto c = compress(in);
  ASSERT_EQ(c.status, MOSAIC_OK);
  for (size_t len = 0; len < c.bytes.size(); len += (len < 64 ? 1 : 97)) {
    std::vector<uint8_t> cut(c.bytes.begin(), c.bytes.begin() + static_cast<long>(len));
    auto d = decompress(cut);
    expect_rejected_or_prefix(d, in);
    if (len == 0) {
      EXPECT_NE(d.status, MOSAIC_OK) << "empty input is not a valid stream";
    }
    if (HasFailure()) {
      FAIL() << "at truncation length " << len;
    }
  }
}

TEST_P(codec_conformance, rejects_garbage) {
  for (uint32_t seed = 1; seed <= 50; ++seed) {
    auto junk = random_bytes(1 + seed * 37, seed);
    auto d = decompress(junk, 1 << 20);
    EXPECT_NE(d.status, MOSAIC_OK) << "random bytes decoded as valid, seed " << seed;
  }
}

TEST_P(codec_conformance, survives_corrupted_bytes) {
  // Codecs without checksums cannot notice every flipped bit; what matters
  // is that none crashes, overreads or exceeds the bound (run under ASan).
  auto in = json_records(20 * 1000, 11);
  auto c = compress(in);
  ASSERT_EQ(c.status, MOSAIC_OK);
  std::mt19937 rng(42);
  for (int round = 0; round < 300; ++round) {
    auto bad = c.bytes;
    for (int flips = 0; flips < 1 + round % 4; ++flips)
      bad[rng() % bad.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
    auto d = decompress(bad, in.size() * 2);
    if (d.status != MOSAIC_OK) {
      EXPECT_NE(d.message, "");
    } else {
      EXPECT_LE(d.bytes.size(), in.size() * 2);
    }
  }
}

TEST_P(codec_conformance, one_instance_serves_threads_at_once) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto in = json_records(8 * 1024 + static_cast<size_t>(t * 100 + i), static_cast<uint32_t>(t * 1000 + i));
        auto c = compress(in);
        auto d = c.status == MOSAIC_OK ? decompress(c.bytes) : outcome{c.status, {}, c.message};
        if (d.status != MOSAIC_OK || d.bytes != in) failures.fetch_add(1);
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace mosaic::testing
