// The descriptor bound (open_files): segment files closed when least
// recently used and opened again at their next use.
#include "kernel/log/open_files.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <random>

#include "kernel/log/log_manager.h"
#include "tests/unit/log/log_test_util.h"

namespace mosaic::log {
namespace {

using namespace test;

// The bound is the process's: a test sets it and puts the default back.
struct limit_of {
  explicit limit_of(size_t n) { open_files::instance().set_limit(n); }
  ~limit_of() { open_files::instance().set_limit(0); }
};

log_manager_options options(const std::filesystem::path& dir) {
  log_manager_options o;
  o.dirs = {dir};
  o.background = false;
  return o;
}

std::string value_of(const std::vector<uint8_t>& bytes) {
  std::string all;
  for_each_batch(bytes, [&](const batch_view& b) {
    all.append(reinterpret_cast<const char*>(b.records().data()), b.records().size());
    return true;
  });
  return all;
}

TEST(open_files, a_broker_with_more_partitions_than_the_limit_serves_them_all) {
  scratch_dir d;
  limit_of limit(8);
  const uint64_t evicted_before = open_files::instance().evictions();
  constexpr int partitions = 64;
  std::vector<std::vector<std::string>> written(partitions);
  {
    auto m = log_manager::open(options(d.path()));
    ASSERT_TRUE(m.ok());
    for (int p = 0; p < partitions; ++p) ASSERT_TRUE((*m)->create("wide", p, {}).ok());
    EXPECT_LE(open_files::instance().open_count(), 8u);
    std::mt19937 rng(7);
    for (int i = 0; i < 600; ++i) {
      const int p = static_cast<int>(rng() % partitions);
      auto l = (*m)->get("wide", p);
      ASSERT_TRUE(l.ok());
      const std::string tag = "p" + std::to_string(p) + "-" + std::to_string(i);
      auto b = batch(tag);
      ASSERT_TRUE((*l)->append(b, 0).ok()) << tag;
      written[p].push_back(tag);
      // Every few appends a read of another partition, as a consumer would.
      if (i % 3 == 0) {
        auto other = (*m)->get("wide", static_cast<int>(rng() % partitions));
        ASSERT_TRUE(other.ok());
        auto r = (*other)->read(0, SIZE_MAX, INT64_MAX);
        ASSERT_TRUE(r.ok()) << r.error().message();
      }
      ASSERT_LE(open_files::instance().open_count(), 8u);
    }
    EXPECT_GT(open_files::instance().evictions(), evicted_before);
    for (int p = 0; p < partitions; ++p) {
      auto l = (*m)->get("wide", p);
      ASSERT_TRUE(l.ok());
      ASSERT_TRUE((*l)->flush().ok());  // syncs files closed with unsynced writes too
      const std::string got = value_of(read_all(**l, 0));
      for (const auto& tag : written[p]) EXPECT_NE(got.find(tag + "#0"), std::string::npos) << tag;
      EXPECT_EQ((*l)->log_end_offset(), static_cast<int64_t>(written[p].size()));
    }
    ASSERT_TRUE((*m)->close_all().ok());
  }
  auto m = log_manager::open(options(d.path()));
  ASSERT_TRUE(m.ok());
  for (int p = 0; p < partitions; ++p) {
    auto l = (*m)->get("wide", p);
    ASSERT_TRUE(l.ok());
    EXPECT_EQ((*l)->log_end_offset(), static_cast<int64_t>(written[p].size())) << p;
  }
  EXPECT_LE(open_files::instance().open_count(), 8u);
}

TEST(open_files, a_read_keeps_its_descriptor_past_an_eviction) {
  scratch_dir d;
  limit_of limit(2);
  auto m = log_manager::open(options(d.path()));
  ASSERT_TRUE(m.ok());
  auto first = (*m)->create("t", 0, {});
  ASSERT_TRUE(first.ok());
  auto b = batch("kept");
  ASSERT_TRUE((*first)->append(b, 0).ok());
  auto r = (*first)->read(0, SIZE_MAX, INT64_MAX);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->slices.size(), 1u);
  // Others take the two places; the slice's descriptor is still the file.
  for (int p = 1; p <= 6; ++p) {
    auto l = (*m)->create("t", p, {});
    ASSERT_TRUE(l.ok());
    auto other = batch("other");
    ASSERT_TRUE((*l)->append(other, 0).ok());
  }
  const auto& s = r->slices[0];
  std::vector<uint8_t> via_fd(s.length);
  ASSERT_EQ(::pread(s.fd, via_fd.data(), via_fd.size(), static_cast<off_t>(s.position)),
            static_cast<ssize_t>(s.length));
  EXPECT_EQ(via_fd, b);
  // Once let go, the file closes; the next read opens it again.
  r = result<read_result>(read_result{});
  for (int p = 1; p <= 6; ++p) {
    auto l = (*m)->get("t", p);
    ASSERT_TRUE(l.ok());
    EXPECT_FALSE(read_all(**l, 0).empty());
  }
  EXPECT_EQ(read_all(**first, 0), b);
}

}  // namespace
}  // namespace mosaic::log
