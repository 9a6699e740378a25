// Log compaction: the record rules (cleaner.h) on hand-made batches, and
// whole passes (log_cleaner.h) over real partition logs in real folders,
// reopened as after a restart or a kill -9 in the middle of a swap.
#include "kernel/log/cleaner.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>

#include "kernel/log/batch_builder.h"
#include "kernel/log/log_cleaner.h"
#include "kernel/log/log_manager.h"
#include "tests/unit/log/log_test_util.h"

namespace mosaic::log {
namespace {

using namespace test;

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// One batch of (key, value) records; a null value is a tombstone, a null
// key a keyless record.
std::vector<uint8_t> records(std::vector<std::pair<std::optional<std::string>, std::optional<std::string>>> kv,
                             int64_t ts = 1000) {
  batch_builder b(ts);
  for (const auto& [k, v] : kv) b.add(k, v, ts);
  return b.finish();
}

// Every record of `bytes`: offset -> "key=value" ("key=" for a tombstone).
std::map<int64_t, std::string> contents(std::span<const uint8_t> bytes) {
  std::map<int64_t, std::string> out;
  for_each_batch(bytes, [&](const batch_view& b) {
    EXPECT_TRUE(validate_batch(b.bytes, 1 << 30, batch_origin::log).ok())
        << "a rewritten batch is whole, its CRC right";
    for_each_record(b, [&](const record_view& r) {
      std::string key = r.key ? std::string(r.key->begin(), r.key->end()) : "(none)";
      std::string value = r.value ? std::string(r.value->begin(), r.value->end()) : "";
      out[b.base_offset() + r.offset_delta] = key + "=" + value;
    });
    return true;
  });
  return out;
}

TEST(offset_map, keeps_the_latest_offset_per_key_and_refuses_new_keys_when_full) {
  offset_map m(10 * offset_map::slot_bytes);
  ASSERT_EQ(m.capacity(), 9u);
  EXPECT_TRUE(m.put(bytes_of("a"), 5));
  EXPECT_TRUE(m.put(bytes_of("a"), 3));
  EXPECT_EQ(m.get(bytes_of("a")), 5);
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(m.put(bytes_of("k" + std::to_string(i)), i));
  EXPECT_EQ(m.size(), 9u);
  EXPECT_FALSE(m.put(bytes_of("new"), 1)) << "full";
  EXPECT_TRUE(m.put(bytes_of("k3"), 99)) << "a key it has still moves";
  EXPECT_EQ(m.get(bytes_of("k3")), 99);
  EXPECT_FALSE(m.get(bytes_of("new")));
  m.clear();
  EXPECT_EQ(m.size(), 0u);
  EXPECT_FALSE(m.get(bytes_of("a")));
}

TEST(cleaner, keeps_each_keys_latest_record_at_its_offset) {
  auto b1 = records({{"a", "1"}, {"b", "1"}, {"a", "2"}});
  auto b2 = records({{"c", "1"}, {"b", std::nullopt}, {std::nullopt, "keyless"}});
  set_base_offset(b2, 3);
  std::vector<uint8_t> log = b1;
  log.insert(log.end(), b2.begin(), b2.end());
  offset_map map(1 << 16);
  auto m = map_keys(log, map, {});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->end, 6);
  EXPECT_FALSE(m->full);
  std::vector<uint8_t> out;
  auto st = compact_batches(log, map, {}, {}, out);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->records_read, 6u);
  EXPECT_EQ(st->records_kept, 3u);
  EXPECT_EQ(st->keyless_removed, 1u);
  // Offsets never move; the tombstone stays on its first pass.
  EXPECT_EQ(contents(out), (std::map<int64_t, std::string>{{2, "a=2"}, {3, "c=1"}, {4, "b="}}));
  // A batch with records gone is a log's, never a producer's: a produce
  // of it is refused, a follower or a recovery takes it.
  batch_view first{std::span<const uint8_t>(out).first(framed_size(out))};
  EXPECT_EQ(first.records_count(), 1);
  EXPECT_EQ(first.last_offset(), 2);
  EXPECT_FALSE(validate_batch(first.bytes, 1 << 30).ok());
  EXPECT_TRUE(validate_batch(first.bytes, 1 << 30, batch_origin::log).ok());
}

TEST(cleaner, tombstones_go_once_cleaned_and_older_than_delete_retention) {
  auto b = records({{"x", std::nullopt}, {"y", "v"}}, 1000);
  offset_map map(1 << 16);
  ASSERT_TRUE(map_keys(b, map, {}).ok());
  compaction_rules keep;  // a first pass: below nothing cleaned before
  keep.tombstone_horizon_ms = 5000;
  std::vector<uint8_t> out;
  ASSERT_TRUE(compact_batches(b, map, keep, {}, out).ok());
  EXPECT_EQ(contents(out).size(), 2u);
  compaction_rules young = keep;  // cleaned before, but not old enough
  young.tombstones_cleaned_below = 10;
  young.tombstone_horizon_ms = 500;
  out.clear();
  ASSERT_TRUE(compact_batches(b, map, young, {}, out).ok());
  EXPECT_EQ(contents(out).size(), 2u);
  compaction_rules old = young;
  old.tombstone_horizon_ms = 5000;
  out.clear();
  auto st = compact_batches(b, map, old, {}, out);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->tombstones_removed, 1u);
  EXPECT_EQ(contents(out), (std::map<int64_t, std::string>{{1, "y=v"}}));
}

TEST(cleaner, a_full_map_ends_the_mapped_part_and_what_is_past_it_stays) {
  auto b1 = records({{"a", "1"}, {"b", "1"}});
  auto b2 = records({{"c", "1"}, {"a", "2"}});
  set_base_offset(b2, 2);
  std::vector<uint8_t> log = b1;
  log.insert(log.end(), b2.begin(), b2.end());
  offset_map map(3 * offset_map::slot_bytes);  // room for 2 keys
  auto m = map_keys(log, map, {});
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->full);
  EXPECT_EQ(m->end, 2) << "the second batch's keys did not all fit, so none went in";
  compaction_rules rules;
  rules.mapped_end = m->end;
  std::vector<uint8_t> out;
  ASSERT_TRUE(compact_batches(log, map, rules, {}, out).ok());
  EXPECT_EQ(contents(out).size(), 4u) << "a=2 is past what was mapped: nothing can go yet";
}

TEST(cleaner, finds_the_keyless_records_of_a_batch) {
  auto b = records({{"a", "1"}, {std::nullopt, "x"}, {"b", "2"}, {std::nullopt, "y"}});
  auto keyless = keyless_records(b, {});
  ASSERT_TRUE(keyless.ok());
  EXPECT_EQ(*keyless, (std::vector<int32_t>{1, 3}));
}

// ---- whole passes over a partition log ----

log_config compacted(uint64_t segment_bytes = 4096) {
  log_config c;
  c.segment_bytes = segment_bytes;
  c.cleanup_compact = true;
  c.cleanup_delete = false;
  c.min_cleanable_dirty_ratio = 0.1;
  c.delete_retention_ms = 0;
  return c;
}

// 100 keys written `rounds` times, one record a batch: values "key@round".
void write_rounds(partition_log& l, int rounds, int64_t ts = 1000) {
  for (int r = 0; r < rounds; ++r)
    for (int k = 0; k < 100; ++k) {
      auto b = records({{"key" + std::to_string(k), "key" + std::to_string(k) + "@" + std::to_string(r)}}, ts);
      ASSERT_TRUE(l.append(b, 0).ok());
    }
}

// Seals what rolled and moves the high watermark to the end, as a
// one-replica partition's broker does after each append.
void settle(partition_log& l) {
  ASSERT_TRUE(l.tick().ok());
  l.set_high_watermark(l.log_end_offset());
}

std::map<std::string, std::pair<int64_t, std::string>> latest_by_key(const partition_log& l) {
  std::map<std::string, std::pair<int64_t, std::string>> out;
  for (const auto& [offset, kv] : contents(read_all(l, l.log_start_offset()))) {
    const auto eq = kv.find('=');
    out[kv.substr(0, eq)] = {offset, kv.substr(eq + 1)};
  }
  return out;
}

result<clean_result> pass(partition_log& l, size_t buffer = 1 << 20) {
  offset_map map(buffer);
  io_throttle io(1e18);
  return clean_log(l, map, io, {}, [] { return false; });
}

TEST(log_cleaner, a_pass_leaves_the_latest_value_of_each_key_at_its_offset_and_survives_a_reopen) {
  scratch_dir d;
  std::map<std::string, std::pair<int64_t, std::string>> before;
  uint64_t size_before = 0;
  {
    auto l = partition_log::open(d.path(), compacted());
    ASSERT_TRUE(l.ok());
    write_rounds(**l, 10);
    settle(**l);
    before = latest_by_key(**l);
    size_before = (*l)->size_bytes();
    const auto view = (*l)->cleaning_view();
    EXPECT_GT(view.dirty_bytes, 0u);
    EXPECT_EQ(view.clean_bytes, 0u);
    EXPECT_TRUE(view.due(0.5));
    auto r = pass(**l);
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_GT(r->segments_replaced, 0);
    EXPECT_EQ(r->cleaned_to, view.uncleanable_offset);
    EXPECT_LT((*l)->size_bytes(), size_before / 2);
    EXPECT_EQ(latest_by_key(**l), before) << "the latest value of every key, at its offset";
    const auto after = (*l)->cleaning_view();
    EXPECT_EQ(after.cleaned_offset, view.uncleanable_offset);
    EXPECT_FALSE(after.due(0.5));
    // Reading from an offset whose record went lands on the next one.
    auto from_gap = (*l)->read(1, 1 << 20, INT64_MAX);
    ASSERT_TRUE(from_gap.ok());
    EXPECT_GT(from_gap->first_offset, 1);
  }
  auto again = partition_log::open(d.path(), compacted());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(latest_by_key(**again), before);
  EXPECT_EQ((*again)->cleaning_view().cleaned_offset, (*again)->cleaning_view().uncleanable_offset)
      << "the cleaned offset is checkpointed";
  EXPECT_EQ((*again)->log_end_offset(), 1000);
}

TEST(log_cleaner, a_kill_9_at_any_step_of_a_swap_leaves_one_whole_copy) {
  scratch_dir d;
  std::map<std::string, std::pair<int64_t, std::string>> before;
  std::filesystem::path first_segment;
  {
    auto l = partition_log::open(d.path(), compacted());
    ASSERT_TRUE(l.ok());
    write_rounds(**l, 5);
    settle(**l);
    before = latest_by_key(**l);
    // A copy written but never put in place (a crash before the rename):
    // garbage in a .cleaned.tmp, which the next open deletes.
    const auto view = (*l)->cleaning_view();
    ASSERT_FALSE(view.segments.empty());
    first_segment = view.segments.front()->path();
    std::ofstream(d.path() / "00000000000000000000.cleaned.tmp") << "half a segment";
  }
  {
    auto l = partition_log::open(d.path(), compacted());
    ASSERT_TRUE(l.ok());
    EXPECT_FALSE(std::filesystem::exists(d.path() / "00000000000000000000.cleaned.tmp"));
    EXPECT_EQ(latest_by_key(**l), before);
    // The crash right after the rename: the new file is in place, its
    // indexes not written yet (the old ones went before the rename), and
    // no clean-shutdown marker.
    ASSERT_TRUE(pass(**l).ok());
  }
  for (const char* suffix : {".index", ".timeindex"})
    std::filesystem::remove(std::filesystem::path(first_segment).replace_extension(suffix));
  std::filesystem::remove(d.path() / "clean-shutdown");
  auto l = partition_log::open(d.path(), compacted());
  ASSERT_TRUE(l.ok()) << l.error().message();
  EXPECT_EQ(latest_by_key(**l), before);
}

TEST(log_cleaner, what_is_not_cleanable_waits_the_active_segment_the_high_watermark_and_the_lag) {
  scratch_dir d;
  fake_clock clock;
  auto c = compacted();
  c.min_compaction_lag_ms = 60000;
  auto l = partition_log::open(d.path(), c, clock.fn());
  ASSERT_TRUE(l.ok());
  // Records stamped "now": younger than min.compaction.lag.ms.
  write_rounds(**l, 5, clock.now->load());
  settle(**l);
  EXPECT_EQ((*l)->cleaning_view().dirty_bytes, 0u) << "too young";
  clock.now->fetch_add(120000);
  EXPECT_GT((*l)->cleaning_view().dirty_bytes, 0u);
  // Past the high watermark nothing is cleanable.
  (*l)->set_high_watermark(0);
  EXPECT_EQ((*l)->cleaning_view().dirty_bytes, 0u);
  (*l)->set_high_watermark((*l)->log_end_offset());
  const auto view = (*l)->cleaning_view();
  ASSERT_FALSE(view.segments.empty());
  EXPECT_LT(view.segments.back()->base_offset(), (*l)->log_end_offset()) << "never the active segment";
}

TEST(log_cleaner, a_tombstone_outlives_its_first_pass_and_goes_after_delete_retention) {
  scratch_dir d;
  fake_clock clock;
  auto c = compacted(512);
  c.delete_retention_ms = 60000;
  auto l = partition_log::open(d.path(), c, clock.fn());
  ASSERT_TRUE(l.ok());
  auto put = [&](const std::string& k, std::optional<std::string> v) {
    auto b = records({{k, v}}, clock.now->load());
    ASSERT_TRUE((*l)->append(b, 0).ok());
  };
  for (int i = 0; i < 20; ++i) put("gone", "v" + std::to_string(i));
  put("gone", std::nullopt);  // the tombstone
  for (int i = 0; i < 20; ++i) put("other", "v" + std::to_string(i));
  settle(**l);
  ASSERT_TRUE(pass(**l).ok());
  auto keys = latest_by_key(**l);
  ASSERT_TRUE(keys.count("gone")) << "kept on its first pass, for consumers to see the delete";
  EXPECT_EQ(keys["gone"].second, "");
  // More writes make the log dirty again; the tombstone is not old enough yet.
  for (int i = 0; i < 20; ++i) put("other", "w" + std::to_string(i));
  settle(**l);
  ASSERT_TRUE(pass(**l).ok());
  EXPECT_TRUE(latest_by_key(**l).count("gone"));
  // Past delete.retention.ms, the next pass removes it.
  clock.now->fetch_add(120000);
  for (int i = 0; i < 20; ++i) put("other", "x" + std::to_string(i));
  settle(**l);
  auto r = pass(**l);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->records.tombstones_removed, 1u);
  EXPECT_FALSE(latest_by_key(**l).count("gone"));
}

TEST(log_cleaner, a_log_below_its_dirty_ratio_waits_unless_records_passed_max_compaction_lag) {
  scratch_dir d;
  fake_clock clock;
  auto c = compacted();
  c.min_cleanable_dirty_ratio = 0.99;
  c.max_compaction_lag_ms = 60000;
  auto l = partition_log::open(d.path(), c, clock.fn());
  ASSERT_TRUE(l.ok());
  write_rounds(**l, 5, clock.now->load());
  settle(**l);
  ASSERT_TRUE(pass(**l).ok());  // a first pass: all of it is clean now
  for (int k = 0; k < 30; ++k) {
    auto b = records({{"k" + std::to_string(k), "again"}}, clock.now->load());
    ASSERT_TRUE((*l)->append(b, 0).ok());
  }
  for (int k = 0; k < 200; ++k) {  // enough to roll what came before
    auto b = records({{"pad", std::string(40, 'p')}}, clock.now->load());
    ASSERT_TRUE((*l)->append(b, 0).ok());
  }
  settle(**l);
  auto view = (*l)->cleaning_view();
  ASSERT_GT(view.dirty_bytes, 0u);
  EXPECT_FALSE(view.due(c.min_cleanable_dirty_ratio)) << view.dirty_ratio;
  clock.now->fetch_add(120000);
  view = (*l)->cleaning_view();
  EXPECT_TRUE(view.past_max_lag);
  EXPECT_TRUE(view.due(c.min_cleanable_dirty_ratio));
}

TEST(log_cleaner, a_pass_keeps_under_its_io_rate) {
  scratch_dir d;
  auto l = partition_log::open(d.path(), compacted());
  ASSERT_TRUE(l.ok());
  write_rounds(**l, 10);  // about 80 KB
  settle(**l);
  offset_map map(1 << 20);
  io_throttle io(100000);  // 100 KB/s: the map read and the rewrite, over a second at least
  const auto start = std::chrono::steady_clock::now();
  auto r = clean_log(**l, map, io, {}, [] { return false; });
  ASSERT_TRUE(r.ok());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GE(seconds, static_cast<double>(r->bytes_read + r->bytes_written) / 100000 * 0.9);
  EXPECT_GT(r->bytes_read, 100000u);
}

TEST(log_cleaner, a_truncation_below_the_cleaned_offset_takes_it_down_too) {
  scratch_dir d;
  auto l = partition_log::open(d.path(), compacted());
  ASSERT_TRUE(l.ok());
  write_rounds(**l, 5);
  settle(**l);
  ASSERT_TRUE(pass(**l).ok());
  const int64_t cleaned = (*l)->cleaned_offset();
  ASSERT_GT(cleaned, 100);
  // A follower that truncates (a new leader's history): what it writes
  // again there is dirty.
  ASSERT_TRUE((*l)->truncate_to(100).ok());
  const int64_t leo = (*l)->log_end_offset();  // 100 may lie in a gap: the log ends after the batch before it
  EXPECT_LE(leo, 100);
  EXPECT_EQ((*l)->cleaned_offset(), leo);
  (*l).reset();
  auto reopened = partition_log::open(d.path(), compacted());
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->cleaned_offset(), leo) << "checkpointed";
}

// A log manager in `dir` without its threads: tests run its passes.
log_manager_options manager_in(const std::filesystem::path& dir) {
  log_manager_options o;
  o.dirs = {dir};
  o.background = false;
  return o;
}

TEST(log_cleaner, the_log_manager_cleans_compacted_logs_and_leaves_the_others) {
  scratch_dir d;
  auto m = log_manager::open(manager_in(d.path()));
  ASSERT_TRUE(m.ok());
  auto compact = (*m)->create("compact", 0, compacted());
  auto plain = (*m)->create("plain", 0, [] {
    auto c = compacted();
    c.cleanup_compact = false;
    c.cleanup_delete = true;
    return c;
  }());
  ASSERT_TRUE(compact.ok() && plain.ok());
  write_rounds(**compact, 5);
  write_rounds(**plain, 5);
  for (auto* l : {*compact, *plain}) settle(*l);
  const uint64_t plain_size = (*plain)->size_bytes();
  EXPECT_EQ((*m)->run_cleaner(), 1u);
  EXPECT_EQ((*plain)->size_bytes(), plain_size);
  const auto stats = (*m)->cleaner();
  EXPECT_EQ(stats.passes, 1u);
  EXPECT_GT(stats.records_removed, 0u);
  EXPECT_EQ((*m)->run_cleaner(), 0u) << "nothing dirty is left";
  EXPECT_TRUE((*m)->remove("compact", 0).ok());
}

TEST(log_cleaner, a_compacted_log_nobody_opened_since_a_restart_is_cleaned_too) {
  scratch_dir d;
  const log_manager_options o = manager_in(d.path());
  {
    auto m = log_manager::open(o);
    ASSERT_TRUE(m.ok());
    auto l = (*m)->create("compact", 0, compacted());
    ASSERT_TRUE(l.ok());
    write_rounds(**l, 5);
    settle(**l);
    ASSERT_TRUE((*m)->close_all().ok());
  }
  // Restarted: the broker declares the partition with its config, and
  // nothing reads it; the cleaner opens it to look.
  auto m = log_manager::open(o);
  ASSERT_TRUE(m.ok());
  (*m)->declare("compact", 0, compacted(), true);
  (*m)->declare("idle", 0, compacted(), true);
  EXPECT_EQ((*m)->open_count(), 0u);
  EXPECT_EQ((*m)->run_cleaner(), 1u);
  EXPECT_GT((*m)->cleaner().records_removed, 0u);
  EXPECT_EQ((*m)->open_count(), 2u) << "both compacted logs were looked at";
}

}  // namespace
}  // namespace mosaic::log
