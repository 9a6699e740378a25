#include "kernel/log/partition_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "kernel/base/crc32c.h"
#include "kernel/log/batch_builder.h"
#include "tests/unit/log/log_test_util.h"

namespace mosaic::log {
namespace {

using namespace test;

std::unique_ptr<partition_log> open_log(const std::filesystem::path& dir, log_config c = {}, clock_fn clock = nullptr) {
  auto l = partition_log::open(dir, c, std::move(clock));
  EXPECT_TRUE(l.ok()) << l.error().message();
  return l.ok() ? std::move(*l) : nullptr;
}

append_result append(partition_log& l, std::vector<uint8_t> bytes, int32_t epoch = 0) { return l.append(bytes, epoch); }

std::vector<std::filesystem::path> files(const std::filesystem::path& dir, const std::string& suffix) {
  std::vector<std::filesystem::path> v;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == suffix) v.push_back(e.path().filename());
  std::sort(v.begin(), v.end());
  return v;
}

TEST(partition_log, assigns_offsets_and_reads_back_byte_for_byte) {
  scratch_dir d;
  auto l = open_log(d.path());
  auto r1 = append(*l, batch("a", 3));
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(r1.base_offset, 0);
  EXPECT_EQ(r1.last_offset, 2);
  // Two batches in one append, as a produce request may carry.
  auto two = batch("b", 2);
  auto c = batch("c", 1);
  two.insert(two.end(), c.begin(), c.end());
  auto r2 = l->append(two, 5);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2.base_offset, 3);
  EXPECT_EQ(r2.last_offset, 5);
  EXPECT_EQ(r2.batches, 2u);
  EXPECT_EQ(l->log_end_offset(), 6);
  auto all = read_all(*l, 0);
  EXPECT_EQ(offsets_in(all), (std::vector<int64_t>{0, 3, 5}));
  // The stored bytes are the producer's, with the offset and epoch patched.
  auto stored = std::vector<uint8_t>(all.end() - static_cast<long>(c.size()), all.end());
  set_base_offset(c, 5);
  set_leader_epoch(c, 5);
  EXPECT_EQ(stored, c);
  EXPECT_TRUE(validate_batch(stored, 1 << 20).ok());
}

TEST(partition_log, a_refused_append_changes_nothing) {
  scratch_dir d;
  log_config cfg;
  cfg.max_message_bytes = 4096;
  auto l = open_log(d.path(), cfg);
  ASSERT_TRUE(append(*l, batch("ok", 2)).ok());
  const auto before = read_all(*l, 0);

  auto bad_crc = batch("x", 2);
  bad_crc.back() ^= 0x40;
  auto r = append(*l, bad_crc);
  ASSERT_TRUE(r.refused);
  EXPECT_EQ(r.refused->error, batch_error::corrupt);

  auto big = batch("y", 1, 1000, 5000);
  r = append(*l, big);
  ASSERT_TRUE(r.refused);
  EXPECT_EQ(r.refused->error, batch_error::too_large);

  auto good_then_torn = batch("z", 1);
  auto tail = batch("w", 1);
  good_then_torn.insert(good_then_torn.end(), tail.begin(), tail.begin() + 40);
  r = append(*l, good_then_torn);
  ASSERT_TRUE(r.refused);
  EXPECT_EQ(r.refused->error, batch_error::corrupt);
  EXPECT_NE(r.refused->message.find("batch 1"), std::string::npos) << r.refused->message;

  auto huge_length = batch("v", 1);
  store_be32(huge_length.data() + batch_layout::batch_length, 1 << 24);
  r = append(*l, huge_length);
  ASSERT_TRUE(r.refused);
  EXPECT_EQ(r.refused->error, batch_error::too_large);

  auto miscounted = batch("u", 3);
  store_be32(miscounted.data() + batch_layout::records_count, 2);
  store_be32(miscounted.data() + batch_layout::last_offset_delta, 1);
  store_be32(
      miscounted.data() + batch_layout::crc,
      static_cast<int32_t>(crc32c::value(std::span<const uint8_t>(miscounted).subspan(batch_layout::attributes))));
  r = append(*l, miscounted);
  ASSERT_TRUE(r.refused);
  EXPECT_EQ(r.refused->error, batch_error::invalid_record);

  EXPECT_TRUE(append(*l, {}).refused);
  EXPECT_EQ(l->log_end_offset(), 2);
  EXPECT_EQ(read_all(*l, 0), before);
}

TEST(partition_log, rolls_by_size_into_segments_named_by_base_offset) {
  scratch_dir d;
  log_config cfg;
  cfg.segment_bytes = 1000;
  auto l = open_log(d.path(), cfg);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(append(*l, batch("s" + std::to_string(i), 2, 1000, 100)).ok());
  EXPECT_GT(l->segment_count(), 5u);
  auto logs = files(d.path(), ".log");
  EXPECT_EQ(logs.front(), "00000000000000000000.log");
  EXPECT_EQ(logs.size(), l->segment_count());
  // Rolled segments are synced and indexed by the periodic task.
  EXPECT_EQ(files(d.path(), ".index").size(), 0u);
  ASSERT_TRUE(l->tick().ok());
  EXPECT_EQ(files(d.path(), ".index").size(), logs.size() - 1);
  auto all = read_all(*l, 0);
  ASSERT_EQ(offsets_in(all).size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(offsets_in(all)[i], i * 2);
  // Reading from an offset inside a batch starts at that batch.
  auto from = l->read(13, SIZE_MAX, INT64_MAX);
  ASSERT_TRUE(from.ok());
  EXPECT_EQ(from->first_offset, 12);
}

// Bytes of disk a file holds (not its size).
uint64_t disk_bytes(const std::filesystem::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

TEST(partition_log, the_active_segment_reserves_disk_ahead_and_a_rolled_one_gives_it_back) {
  scratch_dir d;
  // Does this file system reserve blocks past the end at all?
  bool reserves = false;
  {
    const auto probe = d.path() / "probe";
    const int fd = ::open(probe.c_str(), O_RDWR | O_CREAT, 0644);
    ASSERT_GE(fd, 0);
    reserves = ::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 1 << 20) == 0;
    ::close(fd);
    std::filesystem::remove(probe);
  }
  log_config cfg;
  cfg.preallocate_bytes = 1 << 20;
  cfg.segment_bytes = 200000;
  auto l = open_log(d.path(), cfg);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(append(*l, batch("p" + std::to_string(i), 10, 1000, 1000)).ok());
  auto logs = files(d.path(), ".log");
  ASSERT_EQ(logs.size(), 1u);
  const auto first = d.path() / logs[0];
  const uint64_t written = std::filesystem::file_size(first);
  EXPECT_GT(written, 10000u);
  EXPECT_LT(written, 1u << 20);
  // The size is what was written; the disk held goes past it, by no more
  // than the segment holds (less than a step here: it grows with the data).
  if (reserves) {
    EXPECT_GE(disk_bytes(first), written + 32768);
    EXPECT_LE(disk_bytes(first), 2 * written + 65536);
  }
  // Filling the segment rolls it; sealing it gives the reserve back.
  while (l->segment_count() < 2) ASSERT_TRUE(append(*l, batch("q", 10, 1000, 1000)).ok());
  ASSERT_TRUE(l->tick().ok());
  const uint64_t sealed = std::filesystem::file_size(first);
  EXPECT_LT(disk_bytes(first), sealed + 65536);
  // Nothing of it shows in what is read, and a reopen reads it all back.
  const auto before = read_all(*l, 0);
  ASSERT_TRUE(l->close().ok());
  l.reset();
  auto again = open_log(d.path(), cfg);
  EXPECT_EQ(read_all(*again, 0), before);
  // Off: the file system's own allocation only.
  scratch_dir d2;
  cfg.preallocate_bytes = 0;
  auto plain = open_log(d2.path(), cfg);
  ASSERT_TRUE(append(*plain, batch("x", 10, 1000, 1000)).ok());
  const auto only = d2.path() / files(d2.path(), ".log")[0];
  EXPECT_LT(disk_bytes(only), std::filesystem::file_size(only) + 65536);
  // On, a segment of a few records reserves nothing: a broker of many
  // partitions does not hold a step of disk for each.
  scratch_dir d3;
  cfg.preallocate_bytes = 4 << 20;
  auto small = open_log(d3.path(), cfg);
  ASSERT_TRUE(append(*small, batch("y", 3, 1000, 100)).ok());
  const auto few = d3.path() / files(d3.path(), ".log")[0];
  EXPECT_LT(disk_bytes(few), std::filesystem::file_size(few) + 65536);
}

TEST(partition_log, rolls_by_age) {
  scratch_dir d;
  fake_clock clock;
  log_config cfg;
  cfg.segment_ms = 60'000;
  auto l = open_log(d.path(), cfg, clock.fn());
  ASSERT_TRUE(append(*l, batch("a")).ok());
  *clock.now += 30'000;
  ASSERT_TRUE(append(*l, batch("b")).ok());
  EXPECT_EQ(l->segment_count(), 1u);
  *clock.now += 31'000;
  ASSERT_TRUE(append(*l, batch("c")).ok());
  EXPECT_EQ(l->segment_count(), 2u);
  *clock.now += 61'000;
  ASSERT_TRUE(l->tick().ok());  // the periodic task rolls an idle old segment too
  EXPECT_EQ(l->segment_count(), 3u);
}

TEST(partition_log, reads_respect_max_bytes_and_the_high_watermark) {
  scratch_dir d;
  auto l = open_log(d.path());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(append(*l, batch("r" + std::to_string(i), 1, 1000, 200)).ok());
  const size_t one = read_all(*l, 0).size() / 10;
  auto r = l->read(0, one * 3 + one / 2, INT64_MAX);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->bytes, one * 3) << "whole batches only";
  r = l->read(0, 10, INT64_MAX);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->bytes, one) << "KIP-74: the first batch comes whole even past max_bytes";
  r = l->read(2, SIZE_MAX, 5);
  ASSERT_TRUE(r.ok());
  std::vector<uint8_t> bytes;
  ASSERT_TRUE(r->copy_to(bytes).ok());
  EXPECT_EQ(offsets_in(bytes), (std::vector<int64_t>{2, 3, 4}));
  r = l->read(10, SIZE_MAX, INT64_MAX);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->bytes, 0u) << "reading at the log end is empty, not an error";
  EXPECT_EQ(l->read(11, SIZE_MAX, INT64_MAX).error().code(), errc::not_found);
  EXPECT_EQ(l->read(-1, SIZE_MAX, INT64_MAX).error().code(), errc::not_found);
}

TEST(partition_log, a_read_across_segments_never_skips_a_batch) {
  scratch_dir d;
  log_config cfg;
  cfg.segment_bytes = 1150;
  auto l = open_log(d.path(), cfg);
  // Segments of a small batch then a big one: a budget can stop before the
  // big one while the next segment's small one would still fit.
  for (int i = 0; i < 24; ++i)
    ASSERT_TRUE(append(*l, batch("mix" + std::to_string(i), 1, 1000, i % 2 == 1 ? 900 : 60)).ok());
  ASSERT_GT(l->segment_count(), 4u);
  for (int64_t from = 0; from < 24; ++from)
    for (size_t budget : {100u, 300u, 700u, 1200u, 2500u}) {
      auto r = l->read(from, budget, INT64_MAX);
      ASSERT_TRUE(r.ok());
      std::vector<uint8_t> bytes;
      ASSERT_TRUE(r->copy_to(bytes).ok());
      auto offsets = offsets_in(bytes);
      ASSERT_FALSE(offsets.empty());
      EXPECT_EQ(offsets.front(), from);
      for (size_t i = 1; i < offsets.size(); ++i)
        EXPECT_EQ(offsets[i], offsets[i - 1] + 1) << "gap reading from " << from << " with " << budget << " bytes";
      EXPECT_TRUE(offsets.size() == 1 || bytes.size() <= budget);
    }
}

TEST(partition_log, read_slices_point_into_the_segment_files) {
  scratch_dir d;
  auto l = open_log(d.path());
  auto b = batch("sendfile", 2);
  ASSERT_TRUE(append(*l, b).ok());
  auto r = l->read(0, SIZE_MAX, INT64_MAX);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->slices.size(), 1u);
  EXPECT_EQ(r->slices[0].position, 0u);
  EXPECT_EQ(r->slices[0].length, b.size());
  std::vector<uint8_t> via_fd(b.size());
  ASSERT_EQ(::pread(r->slices[0].fd, via_fd.data(), via_fd.size(), 0), static_cast<ssize_t>(b.size()));
  EXPECT_TRUE(validate_batch(via_fd, 1 << 20).ok());
}

TEST(partition_log, truncates_to_an_offset_and_carries_on) {
  scratch_dir d;
  log_config cfg;
  cfg.segment_bytes = 600;
  auto l = open_log(d.path(), cfg);
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(append(*l, batch("t" + std::to_string(i), 1, 1000, 150)).ok());
  const size_t segments = l->segment_count();
  ASSERT_GT(segments, 3u);
  l->set_high_watermark(12);
  auto leo = l->truncate_to(5);
  ASSERT_TRUE(leo.ok());
  EXPECT_EQ(*leo, 5);
  EXPECT_EQ(l->log_end_offset(), 5);
  EXPECT_EQ(l->high_watermark(), 5);
  EXPECT_LT(l->segment_count(), segments);
  EXPECT_EQ(offsets_in(read_all(*l, 0)), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  auto again = append(*l, batch("after"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.base_offset, 5);
  ASSERT_TRUE(l->close().ok());
  l = open_log(d.path(), cfg);
  EXPECT_EQ(l->log_end_offset(), 6);
  EXPECT_EQ(offsets_in(read_all(*l, 0)).size(), 6u);
}

TEST(partition_log, truncating_inside_a_batch_removes_the_whole_batch) {
  scratch_dir d;
  auto l = open_log(d.path());
  ASSERT_TRUE(append(*l, batch("a", 3)).ok());
  ASSERT_TRUE(append(*l, batch("b", 3)).ok());
  auto leo = l->truncate_to(4);
  ASSERT_TRUE(leo.ok());
  EXPECT_EQ(*leo, 3);
}

TEST(partition_log, delete_records_moves_the_start_and_survives_a_restart) {
  scratch_dir d;
  log_config cfg;
  cfg.segment_bytes = 500;
  auto l = open_log(d.path(), cfg);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(append(*l, batch("d" + std::to_string(i), 1, 1000, 150)).ok());
  l->set_high_watermark(10);
  const size_t before = l->segment_count();
  EXPECT_EQ(l->delete_records_before(11).error().code(), errc::invalid_argument) << "past the high watermark";
  auto lso = l->delete_records_before(6);
  ASSERT_TRUE(lso.ok());
  EXPECT_EQ(*lso, 6);
  EXPECT_LT(l->segment_count(), before);
  EXPECT_EQ(l->read(5, SIZE_MAX, INT64_MAX).error().code(), errc::not_found);
  EXPECT_EQ(offsets_in(read_all(*l, 6)).front(), 6);
  ASSERT_TRUE(l->close().ok());
  l = open_log(d.path(), cfg);
  EXPECT_EQ(l->log_start_offset(), 6);
  EXPECT_EQ(l->log_end_offset(), 10);
}

TEST(partition_log, finds_offsets_by_timestamp_down_to_the_record) {
  scratch_dir d;
  log_config cfg;
  cfg.segment_bytes = 400;
  auto l = open_log(d.path(), cfg);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(append(*l, batch("ts" + std::to_string(i), 3, 10'000 + i * 100)).ok());
  // Batch i holds offsets 3i..3i+2 with timestamps 10000+100i, +1, +2.
  EXPECT_EQ(l->offset_for_timestamp(0), 0);
  EXPECT_EQ(l->offset_for_timestamp(10'000), 0);
  EXPECT_EQ(l->offset_for_timestamp(10'401), 13);
  EXPECT_EQ(l->offset_for_timestamp(10'402), 14);
  EXPECT_EQ(l->offset_for_timestamp(10'403), 15);
  EXPECT_EQ(l->offset_for_timestamp(10'902), 29);
  EXPECT_EQ(l->offset_for_timestamp(10'903), std::nullopt);
}

TEST(partition_log, retention_deletes_old_and_excess_segments_but_never_the_active_one) {
  scratch_dir d;
  fake_clock clock;
  log_config cfg;
  cfg.segment_bytes = 500;
  cfg.retention_ms = -1;
  cfg.retention_bytes = 1500;
  auto l = open_log(d.path(), cfg, clock.fn());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(append(*l, batch("ret" + std::to_string(i), 1, 1000, 150)).ok());
  const size_t before = l->segment_count();
  EXPECT_GT(l->enforce_retention(), 0u);
  EXPECT_LT(l->segment_count(), before);
  EXPECT_LE(l->size_bytes(), 1500u + 500u);
  EXPECT_GT(l->log_start_offset(), 0);
  EXPECT_EQ(l->log_end_offset(), 20);

  // By time: batches stamped long ago go, the active segment stays.
  cfg.retention_bytes = -1;
  cfg.retention_ms = 60'000;
  l->set_config(cfg);
  *clock.now = 1000 + 61'000;
  l->enforce_retention();
  EXPECT_EQ(l->segment_count(), 1u);
  EXPECT_EQ(l->log_end_offset(), 20);
  EXPECT_TRUE(append(*l, batch("new")).ok());
}

TEST(partition_log, reopens_with_its_indexes_and_rebuilds_lost_ones) {
  scratch_dir d;
  log_config cfg;
  cfg.segment_bytes = 800;
  cfg.index_interval_bytes = 1;
  auto l = open_log(d.path(), cfg);
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(append(*l, batch("i" + std::to_string(i), 1, 1000 + i, 120)).ok());
  const auto everything = read_all(*l, 0);
  ASSERT_TRUE(l->close().ok());
  EXPECT_TRUE(std::filesystem::exists(d.path() / "clean-shutdown"));

  l = open_log(d.path(), cfg);
  EXPECT_EQ(read_all(*l, 0), everything);
  ASSERT_TRUE(l->close().ok());

  // Lose one index and garble another: both are rebuilt from the segments.
  auto idx = files(d.path(), ".index");
  ASSERT_GE(idx.size(), 3u);
  std::filesystem::remove(d.path() / idx[0]);
  {
    std::fstream f(d.path() / idx[1], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(30);
    f.put('\x7f');
  }
  l = open_log(d.path(), cfg);
  EXPECT_EQ(read_all(*l, 0), everything);
  EXPECT_EQ(l->offset_for_timestamp(1000 + 17), 17);
  auto mid = l->read(17, SIZE_MAX, INT64_MAX);
  ASSERT_TRUE(mid.ok());
  EXPECT_EQ(mid->first_offset, 17);
}

size_t open_fds() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

TEST(partition_log, a_clean_reopen_opens_segment_files_only_when_read) {
  scratch_dir d;
  log_config cfg;
  cfg.segment_bytes = 600;
  auto l = open_log(d.path(), cfg);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(append(*l, batch("lazy" + std::to_string(i), 1, 1000, 150)).ok());
  ASSERT_GT(l->segment_count(), 5u);
  const auto everything = read_all(*l, 0);
  ASSERT_TRUE(l->close().ok());
  l.reset();
  const size_t before = open_fds();
  l = open_log(d.path(), cfg);
  EXPECT_EQ(open_fds(), before) << "no segment file is opened to reopen a cleanly closed log";
  EXPECT_EQ(l->log_end_offset(), 20);
  auto r = l->read(0, 1, INT64_MAX);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(open_fds(), before + 1) << "reading the first batch opens the first segment only";
  EXPECT_EQ(read_all(*l, 0), everything);
}

TEST(partition_log, cuts_a_torn_tail_on_reopen) {
  scratch_dir d;
  auto l = open_log(d.path());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(append(*l, batch("torn" + std::to_string(i))).ok());
  const auto good = read_all(*l, 0);
  l.reset();                                             // (a clean close)
  std::filesystem::remove(d.path() / "clean-shutdown");  // as after a crash
  auto seg = d.path() / "00000000000000000000.log";
  auto partial = batch("half", 4);
  {
    std::ofstream f(seg, std::ios::app | std::ios::binary);
    f.write(reinterpret_cast<const char*>(partial.data()), static_cast<std::streamsize>(partial.size() / 2));
  }
  l = open_log(d.path());
  EXPECT_EQ(l->log_end_offset(), 5);
  EXPECT_EQ(read_all(*l, 0), good);
  EXPECT_EQ(std::filesystem::file_size(seg), good.size());
  EXPECT_EQ(append(*l, batch("next")).base_offset, 5);
}

TEST(partition_log, serves_nothing_after_a_corrupt_byte) {
  scratch_dir d;
  log_config cfg;
  cfg.segment_bytes = 700;
  auto l = open_log(d.path(), cfg);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(append(*l, batch("c" + std::to_string(i), 1, 1000, 100)).ok());
  const size_t one = read_all(*l, 0).size() / 20;
  l.reset();
  std::filesystem::remove(d.path() / "clean-shutdown");
  // Flip a byte inside the third batch of the first segment, and lose that
  // segment's index (as if the crash came before it was written).
  auto logs = files(d.path(), ".log");
  ASSERT_GT(logs.size(), 2u);
  {
    std::fstream f(d.path() / logs[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(2 * one + 70));
    char c = 0;
    f.seekg(static_cast<std::streamoff>(2 * one + 70));
    f.get(c);
    f.seekp(static_cast<std::streamoff>(2 * one + 70));
    f.put(static_cast<char>(c ^ 0x20));
  }
  std::filesystem::remove(d.path() / "00000000000000000000.index");
  l = open_log(d.path(), cfg);
  EXPECT_EQ(l->log_end_offset(), 2);
  EXPECT_EQ(offsets_in(read_all(*l, 0)), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(files(d.path(), ".log").size(), 1u) << "later segments are dropped";
  EXPECT_EQ(append(*l, batch("again")).base_offset, 2);
}

TEST(partition_log, wait_durable_flushes_and_flush_messages_forces_it) {
  scratch_dir d;
  auto l = open_log(d.path());
  ASSERT_TRUE(append(*l, batch("a")).ok());
  EXPECT_EQ(l->flushed_offset(), 0);
  ASSERT_TRUE(l->wait_durable(0).ok());
  EXPECT_EQ(l->flushed_offset(), 1);
  const uint64_t flushes = l->flush_count();
  ASSERT_TRUE(l->wait_durable(0).ok());
  EXPECT_EQ(l->flush_count(), flushes) << "nothing new to flush";

  log_config every;
  every.flush_messages = 1;
  scratch_dir d2;
  auto m = open_log(d2.path(), every);
  ASSERT_TRUE(append(*m, batch("x")).ok());
  EXPECT_EQ(m->flushed_offset(), 1);
  ASSERT_TRUE(append(*m, batch("y", 3)).ok());
  EXPECT_EQ(m->flushed_offset(), 4);
}

TEST(partition_log, flush_ms_flushes_from_the_periodic_task) {
  scratch_dir d;
  fake_clock clock;
  log_config cfg;
  cfg.flush_ms = 1000;
  auto l = open_log(d.path(), cfg, clock.fn());
  ASSERT_TRUE(append(*l, batch("a")).ok());
  ASSERT_TRUE(l->tick().ok());
  EXPECT_EQ(l->flushed_offset(), 0);
  *clock.now += 1001;
  ASSERT_TRUE(l->tick().ok());
  EXPECT_EQ(l->flushed_offset(), 1);
}

TEST(partition_log, log_append_time_stamps_the_batches) {
  scratch_dir d;
  fake_clock clock;
  log_config cfg;
  cfg.log_append_time = true;
  auto l = open_log(d.path(), cfg, clock.fn());
  auto r = append(*l, batch("lat", 2, 5));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.log_append_time, clock.now->load());
  auto bytes = read_all(*l, 0);
  batch_view v{bytes};
  EXPECT_TRUE(v.log_append_time());
  EXPECT_EQ(v.max_timestamp(), clock.now->load());
  EXPECT_TRUE(validate_batch(bytes, 1 << 20).ok());
}

}  // namespace
}  // namespace mosaic::log

namespace mosaic::log {
namespace {

std::vector<uint8_t> idempotent(int64_t pid, int16_t epoch, int32_t seq, int records) {
  batch_builder b(1'700'000'000'000);
  b.producer(pid, epoch, seq);
  for (int i = 0; i < records; ++i) b.add("k", "v" + std::to_string(seq + i));
  return b.finish();
}

TEST(partition_log, idempotent_producers_get_duplicates_answered_and_gaps_refused) {
  test::scratch_dir d;
  auto l = open_log(d.path());
  auto first = append(*l, idempotent(7, 0, 0, 3));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first.base_offset, 0);
  auto second = append(*l, idempotent(7, 0, 3, 2));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second.base_offset, 3);

  // A retry of either of the last batches: the original offsets, no append.
  auto again = append(*l, idempotent(7, 0, 0, 3));
  EXPECT_TRUE(again.ok());
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.base_offset, 0);
  EXPECT_EQ(again.last_offset, 2);
  EXPECT_EQ(l->log_end_offset(), 5) << "nothing appended twice";

  auto gap = append(*l, idempotent(7, 0, 9, 1));
  ASSERT_TRUE(gap.refused);
  EXPECT_EQ(gap.refused->error, batch_error::out_of_order_sequence);
  // A new epoch starts again at 0; after it, the old epoch is stale.
  EXPECT_EQ(append(*l, idempotent(7, 1, 4, 1)).refused->error, batch_error::out_of_order_sequence);
  EXPECT_TRUE(append(*l, idempotent(7, 1, 0, 1)).ok());
  EXPECT_EQ(append(*l, idempotent(7, 0, 5, 1)).refused->error, batch_error::invalid_producer_epoch);
  // Another producer, and a producer the log has never seen mid-stream
  // (KIP-360): accepted.
  EXPECT_TRUE(append(*l, idempotent(8, 0, 0, 1)).ok());
  EXPECT_TRUE(append(*l, idempotent(9, 3, 100, 1)).ok());
  // Only the last five batches are remembered.
  for (int32_t s = 1; s <= 5; ++s) ASSERT_TRUE(append(*l, idempotent(7, 1, s, 1)).ok());
  EXPECT_EQ(append(*l, idempotent(7, 1, 0, 1)).refused->error, batch_error::out_of_order_sequence);
  EXPECT_TRUE(append(*l, idempotent(7, 1, 5, 1)).duplicate);
}

TEST(partition_log, producer_state_survives_a_clean_and_an_unclean_restart) {
  test::scratch_dir d;
  log_config cfg;
  cfg.segment_bytes = 300;  // a roll every few batches: snapshots at rolls
  {
    auto l = open_log(d.path(), cfg);
    for (int32_t s = 0; s < 20; s += 2) ASSERT_TRUE(append(*l, idempotent(42, 0, s, 2)).ok());
    ASSERT_TRUE(l->close().ok());
  }
  test::scratch_dir crashed;
  {
    auto l = open_log(d.path(), cfg);  // clean: the snapshot written at close
    EXPECT_TRUE(append(*l, idempotent(42, 0, 18, 2)).duplicate);
    EXPECT_EQ(append(*l, idempotent(42, 0, 30, 2)).refused->error, batch_error::out_of_order_sequence);
    ASSERT_TRUE(append(*l, idempotent(42, 0, 20, 2)).ok());
    // The folder as kill -9 would leave it (no close, no clean marker): the
    // snapshot of the last roll plus the batches after it must give the
    // same state.
    std::filesystem::copy(d.path(), crashed.path(),
                          std::filesystem::copy_options::recursive | std::filesystem::copy_options::overwrite_existing);
  }
  {
    auto l = open_log(crashed.path(), cfg);
    auto dup = append(*l, idempotent(42, 0, 20, 2));
    EXPECT_TRUE(dup.duplicate);
    EXPECT_EQ(dup.base_offset, 20);
    EXPECT_TRUE(append(*l, idempotent(42, 0, 22, 2)).ok());
  }
  // Without any snapshot the whole log is scanned.
  std::filesystem::remove(crashed.path() / "producer.snapshot");
  auto l = open_log(crashed.path(), cfg);
  EXPECT_TRUE(append(*l, idempotent(42, 0, 22, 2)).duplicate);
  EXPECT_EQ(l->producer(42)->batches.back().last_seq, 23);
}

}  // namespace
}  // namespace mosaic::log

namespace mosaic::log {
namespace {

// A follower's log takes a leader's batches as they are: offsets, epochs
// and producer state follow the leader's, and anything out of place is
// refused whole.
TEST(partition_log, a_follower_appends_the_leaders_batches_with_their_offsets_and_epochs) {
  scratch_dir leader_dir, follower_dir;
  auto leader = open_log(leader_dir.path());
  auto follower = open_log(follower_dir.path());
  ASSERT_TRUE(append(*leader, batch("a", 3), 1).ok());
  ASSERT_TRUE(append(*leader, batch("b", 2), 4).ok());
  ASSERT_TRUE(append(*leader, batch("c", 1), 4).ok());
  const auto from_leader = read_all(*leader, 0);
  auto r = follower->append_replicated(from_leader);
  ASSERT_TRUE(r.ok()) << (r.refused ? r.refused->message : r.io.message());
  EXPECT_EQ(r.base_offset, 0);
  EXPECT_EQ(r.last_offset, 5);
  EXPECT_EQ(follower->log_end_offset(), 6);
  EXPECT_EQ(read_all(*follower, 0), from_leader) << "byte for byte";
  EXPECT_EQ(follower->leader_epochs(), leader->leader_epochs());
  EXPECT_EQ(follower->end_offset_for_epoch(1), (std::pair<int32_t, int64_t>{1, 3}));

  // Behind the log end, batches that overlap, a corrupt byte: refused,
  // nothing stored.
  auto again = follower->append_replicated(from_leader);
  ASSERT_TRUE(again.refused);
  EXPECT_NE(again.refused->message.find("the log ends at 6"), std::string::npos) << again.refused->message;
  auto next = batch("d", 2);
  set_base_offset(next, 7);  // a gap at 6, as a compacted leader's log has
  set_leader_epoch(next, 4);
  auto overlapping = next;
  overlapping.insert(overlapping.end(), next.begin(), next.end());
  EXPECT_TRUE(follower->append_replicated(overlapping).refused);
  auto corrupt = next;
  corrupt.back() ^= 0xFF;
  EXPECT_TRUE(follower->append_replicated(corrupt).refused);
  EXPECT_EQ(follower->log_end_offset(), 6);
  // The gap is taken: the offsets stay the leader's.
  ASSERT_TRUE(follower->append_replicated(next).ok());
  EXPECT_EQ(follower->log_end_offset(), 9);

  // An epoch started at the end (as a leader that wrote nothing in it)
  // goes with a truncation to the end.
  ASSERT_TRUE(follower->start_leader_epoch(9).ok());
  EXPECT_EQ(follower->leader_epochs().back(), (epoch_entry{9, 9}));
  ASSERT_TRUE(follower->truncate_to(9).ok());
  EXPECT_EQ(follower->leader_epochs().back().epoch, 4);
  // A truncation to a diverging point, then the leader's own history.
  ASSERT_TRUE(follower->truncate_to(3).ok());
  EXPECT_EQ(follower->leader_epochs().back().epoch, 1);
  ASSERT_TRUE(follower->append_replicated(read_all(*leader, 3)).ok());
  EXPECT_EQ(read_all(*follower, 0), from_leader);
  // It survives a restart, epochs included.
  ASSERT_TRUE(follower->close().ok());
  follower.reset();
  auto reopened = open_log(follower_dir.path());
  EXPECT_EQ(reopened->log_end_offset(), 6);
  EXPECT_EQ(reopened->leader_epochs(), leader->leader_epochs());
}

TEST(partition_log, reset_starts_the_log_over_empty_at_an_offset_and_survives_a_restart) {
  scratch_dir d;
  auto l = open_log(d.path());
  ASSERT_TRUE(append(*l, batch("a", 3), 1).ok());
  auto r = l->reset_to(10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(l->log_start_offset(), 10);
  EXPECT_EQ(l->log_end_offset(), 10);
  EXPECT_TRUE(l->leader_epochs().empty());
  auto next = append(*l, batch("b", 2), 2);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next.base_offset, 10);
  ASSERT_TRUE(l->close().ok());
  l.reset();
  auto again = open_log(d.path());
  EXPECT_EQ(again->log_start_offset(), 10);
  EXPECT_EQ(again->log_end_offset(), 12);
  EXPECT_EQ(again->leader_epochs(), (std::vector<epoch_entry>{{2, 10}}));
  EXPECT_FALSE(again->reset_to(-1).ok());
}

TEST(partition_log, a_follower_keeps_idempotent_producers_state) {
  scratch_dir leader_dir, follower_dir;
  auto leader = open_log(leader_dir.path());
  auto follower = open_log(follower_dir.path());
  batch_builder b(1700000000000);
  b.producer(42, 3, 0);
  b.add("k", "v", 1700000000000);
  b.add("k", "w", 1700000000001);
  ASSERT_TRUE(append(*leader, b.finish(), 2).ok());
  ASSERT_TRUE(follower->append_replicated(read_all(*leader, 0)).ok());
  const auto p = follower->producer(42);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->epoch, 3);
  ASSERT_FALSE(p->batches.empty());
  EXPECT_EQ(p->batches.back().last_seq, 1);
}

}  // namespace
}  // namespace mosaic::log
