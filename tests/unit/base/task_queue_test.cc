// sdk::task_queue: order with one worker, every task run by several,
// stopping runs what is queued, a throwing task does not end its worker.
#include "mosaic/sdk/task_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

namespace mosaic::sdk {
namespace {

TEST(task_queue, one_worker_runs_tasks_in_the_order_posted) {
  std::vector<int> seen;
  {
    task_queue q(1);
    for (int i = 0; i < 1000; ++i) q.post([&seen, i] { seen.push_back(i); });
  }  // stopping runs what is queued
  ASSERT_EQ(seen.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(seen[static_cast<size_t>(i)], i);
}

TEST(task_queue, several_workers_run_every_task_once) {
  std::atomic<int> sum{0};
  task_queue q(4);
  for (int i = 1; i <= 10000; ++i) q.post([&sum, i] { sum += i; });
  q.stop();
  EXPECT_EQ(sum.load(), 10000 * 10001 / 2);
  q.post([&sum] { sum = -1; });  // after stop: dropped
  q.stop();
  EXPECT_EQ(sum.load(), 10000 * 10001 / 2);
}

TEST(task_queue, a_task_that_throws_is_reported_and_the_worker_carries_on) {
  std::vector<std::string> failures;
  std::atomic<int> after{0};
  {
    task_queue q(1, [&](const std::exception& e) { failures.emplace_back(e.what()); });
    q.post([] { throw std::runtime_error("broken on purpose"); });
    q.post([&after] { ++after; });
  }
  EXPECT_EQ(failures, std::vector<std::string>{"broken on purpose"});
  EXPECT_EQ(after.load(), 1);
}

}  // namespace
}  // namespace mosaic::sdk
