// Helpers shared by the log tests.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <vector>

#include "kernel/log/batch_builder.h"
#include "kernel/log/partition_log.h"
#include "tests/support/temp_dir.h"

namespace mosaic::log::test {

// A fresh folder for one test.
class scratch_dir : public mosaic::testing::temp_dir {
 public:
  scratch_dir() : temp_dir("mosaic_log") {}
};

// A batch of `records` records whose values name `tag`, timestamps from `ts`.
inline std::vector<uint8_t> batch(const std::string& tag, int records = 1, int64_t ts = 1000, size_t value_size = 0) {
  batch_builder b(ts);
  for (int i = 0; i < records; ++i) {
    std::string value = tag + "#" + std::to_string(i);
    if (value.size() < value_size) value.resize(value_size, '.');
    b.add("k" + std::to_string(i), value, ts + i);
  }
  return b.finish();
}

inline std::vector<uint8_t> read_all(const partition_log& l, int64_t from, size_t max_bytes = SIZE_MAX) {
  auto r = l.read(from, max_bytes, INT64_MAX);
  std::vector<uint8_t> out;
  if (r.ok()) (void)r->copy_to(out);
  return out;
}

// The base offsets of the batches in `bytes`.
inline std::vector<int64_t> offsets_in(const std::vector<uint8_t>& bytes) {
  std::vector<int64_t> v;
  for_each_batch(bytes, [&](const batch_view& b) {
    v.push_back(b.base_offset());
    return true;
  });
  return v;
}

struct fake_clock {
  std::shared_ptr<std::atomic<int64_t>> now = std::make_shared<std::atomic<int64_t>>(1'000'000);
  clock_fn fn() const {
    return [n = now] { return n->load(); };
  }
};

}  // namespace mosaic::log::test
