// Kills a writer with SIGKILL at random moments, many times over, and checks
// after each that every append the writer was told is durable is there, byte
// for byte, and that the log reopens clean. Some rounds also leave a torn
// write at the end (a partial batch), which recovery must cut.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <thread>

#include "tests/unit/log/log_test_util.h"

namespace mosaic::log {
namespace {

using namespace test;

// The batch the writer appends as its n-th, the same in both processes.
std::vector<uint8_t> nth_batch(int64_t n) {
  return batch("crash-" + std::to_string(n), 1 + static_cast<int>(n % 5), 1'700'000'000'000 + n,
               static_cast<size_t>(50 + (n * 37) % 3000));
}

struct ack {
  int64_t n;
  int64_t offset;
};

// Child: appends forever, reporting each durable append on the pipe.
[[noreturn]] void writer(const std::filesystem::path& dir, int64_t first_n, int fd, log_config cfg) {
  auto l = partition_log::open(dir, cfg);
  if (!l) ::_exit(3);
  for (int64_t n = first_n;; ++n) {
    auto b = nth_batch(n);
    auto r = (*l)->append(b, 1);
    if (!r.ok()) ::_exit(4);
    if (!(*l)->wait_durable(r.last_offset).ok()) ::_exit(5);
    ack a{n, r.base_offset};
    if (::write(fd, &a, sizeof(a)) != sizeof(a)) ::_exit(6);
  }
}

TEST(crash, every_durable_append_survives_sigkill) {
  scratch_dir d;
  log_config cfg;
  cfg.segment_bytes = 64 * 1024;  // rolls happen during the run too
  std::mt19937 rng(20261125);
  std::vector<ack> acked;
  int64_t next_n = 0;
  int torn_rounds = 0;
  for (int round = 0; round < 30; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      writer(d.path(), next_n, fds[1], cfg);
    }
    ::close(fds[1]);
    // Kill it some milliseconds after its first acknowledged append (so that
    // every round gets somewhere, however slow the machine or the build).
    {
      pollfd first{fds[0], POLLIN, 0};
      ack a{};
      if (::poll(&first, 1, 10000) > 0 && ::read(fds[0], &a, sizeof(a)) == sizeof(a)) acked.push_back(a);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + rng() % 40));
    ::kill(pid, SIGKILL);
    int st = 0;
    ::waitpid(pid, &st, 0);
    ASSERT_TRUE(WIFSIGNALED(st)) << "the writer stopped by itself with " << WEXITSTATUS(st);
    ack a{};
    while (::read(fds[0], &a, sizeof(a)) == sizeof(a)) acked.push_back(a);
    ::close(fds[0]);

    // Sometimes the crash leaves half a batch behind.
    if (round % 3 == 2) {
      std::vector<std::filesystem::path> logs;
      for (const auto& e : std::filesystem::directory_iterator(d.path()))
        if (e.path().extension() == ".log") logs.push_back(e.path());
      std::sort(logs.begin(), logs.end());
      auto half = nth_batch(999'999);
      std::ofstream(logs.back(), std::ios::app | std::ios::binary)
          .write(reinterpret_cast<const char*>(half.data()),
                 static_cast<std::streamsize>(1 + rng() % (half.size() - 1)));
      ++torn_rounds;
    }

    auto l = partition_log::open(d.path(), cfg);
    ASSERT_TRUE(l.ok()) << l.error().message();
    // Every acknowledged append is there, byte for byte.
    for (const auto& x : acked) {
      auto r = (*l)->read(x.offset, 1, INT64_MAX);
      ASSERT_TRUE(r.ok()) << "round " << round << " offset " << x.offset << ": " << r.error().message();
      std::vector<uint8_t> got;
      ASSERT_TRUE(r->copy_to(got).ok());
      auto want = nth_batch(x.n);
      set_base_offset(want, x.offset);
      set_leader_epoch(want, 1);
      ASSERT_EQ(got, want) << "round " << round << ", append " << x.n << " at offset " << x.offset;
    }
    // The whole log is whole batches with valid CRCs, offsets in order.
    auto all = read_all(**l, 0);
    int64_t expect = 0;
    size_t whole = for_each_batch(all, [&](const batch_view& b) {
      EXPECT_EQ(b.base_offset(), expect);
      EXPECT_TRUE(validate_batch(b.bytes, SIZE_MAX).ok());
      expect = b.last_offset() + 1;
      return true;
    });
    EXPECT_EQ(whole, all.size());
    EXPECT_EQ((*l)->log_end_offset(), expect);
    // Appends not acknowledged may or may not be there; acks name their
    // offsets, so the writer simply goes on after the last acknowledged one.
    next_n = acked.empty() ? 0 : acked.back().n + 1;
    (*l).reset();
    std::filesystem::remove(d.path() / "clean-shutdown");  // every round is a crash
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(acked.size(), 30u) << "the writer should have got somewhere";
  std::printf("30 SIGKILLs, %zu durable appends checked byte for byte, %d torn tails cut\n", acked.size(), torn_rounds);
  EXPECT_EQ(torn_rounds, 10);
}

}  // namespace
}  // namespace mosaic::log
