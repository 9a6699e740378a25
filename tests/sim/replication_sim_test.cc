// Thousands of seeds of the replication simulation (replication_sim.h):
// controller, leaders and followers together, with crashes that lose
// unflushed data, pauses, cuts, loss and reordering.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "tests/sim/replication_sim.h"

namespace mosaic::sim {
namespace {

uint64_t env_or(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::strtoull(v, nullptr, 10) : fallback;
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr uint64_t default_seeds = 1000;
#else
constexpr uint64_t default_seeds = 2000;
#endif

class replication_sim_shard : public ::testing::TestWithParam<int> {};

TEST_P(replication_sim_shard, every_seed_keeps_every_acknowledged_record) {
  const uint64_t shards = 4;
  const uint64_t seeds = env_or("MOSAIC_REPLICATION_SIM_SEEDS", default_seeds);
  replication_sim_stats total;
  for (uint64_t seed = static_cast<uint64_t>(GetParam()); seed < seeds; seed += shards) {
    replication_sim_options o;
    o.seed = seed;
    auto r = run_replication_simulation(o);
    ASSERT_TRUE(r.ok) << "seed " << seed << ": " << r.failure << "\nreplay: MOSAIC_SIM_SEED=" << seed
                      << " build/release/bin/replication_sim_test --gtest_filter=replication_sim.replay";
    total.acked += r.stats.acked;
    total.crashes += r.stats.crashes;
    total.lost_unflushed += r.stats.lost_unflushed;
    total.leader_changes += r.stats.leader_changes;
    total.elr_elections += r.stats.elr_elections;
    total.isr_shrinks += r.stats.isr_shrinks;
    total.isr_expands += r.stats.isr_expands;
    total.truncations += r.stats.truncations;
    total.pauses += r.stats.pauses;
    total.offline_at_end += r.stats.offline_at_end;
  }
  // The faults happened, and the cluster still did its work.
  EXPECT_GT(total.acked, 1000u);
  EXPECT_GT(total.crashes, 10u);
  EXPECT_GT(total.lost_unflushed, 5u);
  EXPECT_GT(total.leader_changes, 10u);
  EXPECT_GT(total.isr_shrinks, 5u);
  EXPECT_GT(total.isr_expands, 5u);
  EXPECT_GT(total.truncations, 0u);
  std::printf(
      "acked %llu, crashes %llu (%llu lost unflushed data), pauses %llu, leader changes %llu (%llu from the "
      "ELR), ISR -%llu +%llu, truncations %llu, offline at the end %llu\n",
      static_cast<unsigned long long>(total.acked), static_cast<unsigned long long>(total.crashes),
      static_cast<unsigned long long>(total.lost_unflushed), static_cast<unsigned long long>(total.pauses),
      static_cast<unsigned long long>(total.leader_changes), static_cast<unsigned long long>(total.elr_elections),
      static_cast<unsigned long long>(total.isr_shrinks), static_cast<unsigned long long>(total.isr_expands),
      static_cast<unsigned long long>(total.truncations), static_cast<unsigned long long>(total.offline_at_end));
}

INSTANTIATE_TEST_SUITE_P(seeds, replication_sim_shard, ::testing::Range(0, 4));

TEST(replication_sim, replay) {
  replication_sim_options o;
  o.seed = env_or("MOSAIC_SIM_SEED", 7);
  o.trace = std::getenv("MOSAIC_SIM_SEED") != nullptr;
  auto a = run_replication_simulation(o);
  EXPECT_TRUE(a.ok) << a.failure;
  if (!o.trace) {
    auto b = run_replication_simulation(o);
    EXPECT_EQ(a.trace_hash, b.trace_hash) << "a seed must replay the same run";
    EXPECT_EQ(a.stats.acked, b.stats.acked);
  }
}

}  // namespace
}  // namespace mosaic::sim
