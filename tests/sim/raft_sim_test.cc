// The Raft simulation over many seeds (see raft_sim.h). The seeds are split
// into shards, each its own test, so ctest runs them in parallel.
//
// MOSAIC_SIM_SEEDS sets how many seeds in all (default 10,000; 1,000 under
// the sanitizers, which run several times slower). A failure names its
// seed; MOSAIC_SIM_SEED=N with --gtest_filter=raft_sim.replay runs that one
// seed again, printing every event.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/sim/raft_sim.h"

namespace mosaic::sim {
namespace {

constexpr uint64_t shards = 8;

uint64_t total_seeds() {
  if (const char* s = std::getenv("MOSAIC_SIM_SEEDS")) return std::strtoull(s, nullptr, 10);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return 1000;
#else
  return 10000;
#endif
}

class raft_sim_shard : public ::testing::TestWithParam<uint64_t> {};

TEST_P(raft_sim_shard, every_seed_keeps_the_invariants_and_recovers) {
  const uint64_t shard = GetParam();
  const uint64_t total = total_seeds();
  sim_stats sum;
  uint64_t runs = 0;
  for (uint64_t seed = shard; seed < total; seed += shards) {
    sim_result r = run_simulation(sim_options{seed});
    ASSERT_TRUE(r.ok) << "seed " << seed << ": " << r.failure << "\nreplay: MOSAIC_SIM_SEED=" << seed
                      << " raft_sim_test --gtest_filter=raft_sim.replay";
    ++runs;
    sum.events += r.stats.events;
    sum.messages += r.stats.messages;
    sum.dropped += r.stats.dropped;
    sum.elections += r.stats.elections;
    sum.acked_writes += r.stats.acked_writes;
    sum.reads += r.stats.reads;
    sum.crashes += r.stats.crashes;
    sum.snapshots_installed += r.stats.snapshots_installed;
    sum.config_changes += r.stats.config_changes;
    sum.transfers += r.stats.transfers;
    sum.observers_added += r.stats.observers_added;
  }
  std::printf(
      "shard %llu: %llu seeds, %llu events, %llu messages (%llu dropped), %llu elections, %llu writes acknowledged, "
      "%llu reads, %llu crashes, %llu snapshots installed, %llu membership changes, %llu transfers\n",
      static_cast<unsigned long long>(shard), static_cast<unsigned long long>(runs),
      static_cast<unsigned long long>(sum.events), static_cast<unsigned long long>(sum.messages),
      static_cast<unsigned long long>(sum.dropped), static_cast<unsigned long long>(sum.elections),
      static_cast<unsigned long long>(sum.acked_writes), static_cast<unsigned long long>(sum.reads),
      static_cast<unsigned long long>(sum.crashes), static_cast<unsigned long long>(sum.snapshots_installed),
      static_cast<unsigned long long>(sum.config_changes), static_cast<unsigned long long>(sum.transfers));
  // The faults must actually happen, or the invariants prove little.
  if (runs >= 100) {
    EXPECT_GT(sum.crashes, runs);
    EXPECT_GT(sum.snapshots_installed, 0u);
    EXPECT_GT(sum.config_changes, 0u);
    EXPECT_GT(sum.transfers, 0u);
    EXPECT_GT(sum.observers_added, 0u);
    EXPECT_GT(sum.reads, runs);
    EXPECT_GT(sum.elections, runs * 2);
  }
}

INSTANTIATE_TEST_SUITE_P(seeds, raft_sim_shard, ::testing::Range<uint64_t>(0, shards));

TEST(raft_sim, replay) {
  if (const char* s = std::getenv("MOSAIC_SIM_SEED")) {
    sim_options o{std::strtoull(s, nullptr, 10)};
    o.trace = true;
    sim_result r = run_simulation(o);
    EXPECT_TRUE(r.ok) << r.failure;
    return;
  }
  // Without a seed to replay: a seed run twice gives the same run.
  sim_result a = run_simulation(sim_options{12345});
  sim_result b = run_simulation(sim_options{12345});
  ASSERT_TRUE(a.ok) << a.failure;
  EXPECT_EQ(a.trace_hash, b.trace_hash);
  EXPECT_EQ(a.stats.events, b.stats.events);
  EXPECT_EQ(a.stats.messages, b.stats.messages);
  sim_result c = run_simulation(sim_options{12346});
  EXPECT_NE(a.trace_hash, c.trace_hash);
}

}  // namespace
}  // namespace mosaic::sim
