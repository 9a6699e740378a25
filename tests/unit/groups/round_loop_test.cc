// The group coordinator's and share manager's thread: a task that throws
// (a bug in a handler) is logged, and the loop goes on serving the rest.
#include "kernel/groups/round_loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>

namespace mosaic::groups {
namespace {

TEST(round_loop, a_task_that_throws_is_logged_and_the_loop_serves_the_next_rounds) {
  std::atomic<int> ends{0};
  std::atomic<bool> later_ran{false};
  round_loop loop;
  loop.start(10, {[](round_loop::clock::time_point) {}, [] {}, [&] { ends.fetch_add(1); }});
  loop.post([] { throw std::runtime_error("a handler bug"); });
  loop.post([&] { later_ran = true; });
  for (int i = 0; i < 300 && !later_ran; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(later_ran);
  const int seen = ends.load();
  std::atomic<bool> next_round{false};
  loop.post([&] { next_round = true; });
  for (int i = 0; i < 300 && !next_round; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(next_round);
  for (int i = 0; i < 300 && ends.load() <= seen; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_GT(ends.load(), seen) << "rounds still end (group commit still runs)";
  loop.stop();
}

}  // namespace
}  // namespace mosaic::groups
