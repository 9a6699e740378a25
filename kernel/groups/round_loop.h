// The thread the group coordinator and the share manager each run on: it
// serves posted tasks in rounds. A round is what arrived since the last
// one; then the timers, every `tick_ms`; then the end of the round, which
// writes what the round changed with one append and one fsync and only then
// answers the requests that waited for it (group commit: `commit_round`).
//
// Threading: `post` and `stop` from any thread; the hooks run on the
// loop's thread only.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "kernel/base/log.h"
#include "kernel/base/status.h"

namespace mosaic::groups {

class round_loop {
 public:
  using clock = std::chrono::steady_clock;
  struct hooks {
    std::function<void(clock::time_point now)> begin;  // before the round's tasks
    std::function<void()> tick;                        // timers, when due
    std::function<void()> end;                         // after tasks and timers
  };

  round_loop() = default;
  ~round_loop() { stop(); }
  round_loop(const round_loop&) = delete;
  round_loop& operator=(const round_loop&) = delete;

  void start(int64_t tick_ms, hooks h) {
    tick_ = std::chrono::milliseconds(tick_ms);
    hooks_ = std::move(h);
    thread_ = std::thread([this] { run(); });
  }

  // Queues `task` for the next round; dropped once stopping.
  void post(std::function<void()> task) {
    {
      std::lock_guard g(mu_);
      if (stopping_) return;
      tasks_.push_back(std::move(task));
    }
    cv_.notify_one();
  }

  // Stops the thread; tasks still queued are dropped unanswered.
  void stop() {
    {
      std::lock_guard g(mu_);
      if (stopping_ && !thread_.joinable()) return;
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    auto next_tick = clock::now();
    for (;;) {
      std::deque<std::function<void()>> round;
      {
        std::unique_lock lk(mu_);
        cv_.wait_until(lk, next_tick, [&] { return stopping_ || !tasks_.empty(); });
        if (stopping_) return;
        round.swap(tasks_);
      }
      const auto now = clock::now();
      guarded([&] { hooks_.begin(now); });
      for (auto& task : round) guarded(task);
      if (now >= next_tick) {
        guarded(hooks_.tick);
        next_tick = now + tick_;
      }
      guarded(hooks_.end);
    }
  }

  // A task that throws (a bug: the state machines report errors as
  // values) would end this thread and terminate the node; it is logged and
  // the loop goes on with the next. Its caller's answer is dropped, which
  // the network layer treats as no response.
  template <class F>
  static void guarded(F&& fn) {
    try {
      fn();
    } catch (const std::exception& e) {
      log::error("group loop: a task failed ({}); the loop carries on", e.what());
    }
  }

  std::chrono::milliseconds tick_{50};
  hooks hooks_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::thread thread_;
};

// The end of a round: writes what `log` has queued (one append, one
// fsync), gives the answers that waited for it (`durable` false if the
// write failed), and compacts the log when it asks for it. `Log` is a
// keyed_log or a wrapper with the same calls.
template <class Log>
void commit_round(Log& log, std::vector<std::function<void(bool durable)>>& waiting,
                  const std::function<void()>& write_all, const char* what) {
  bool durable = true;
  if (log.pending()) {
    if (auto st = log.flush(); !st) {
      log::error("{}: writing failed: {}", what, st.message());
      durable = false;
    }
  }
  for (auto& f : std::exchange(waiting, {})) f(durable);
  if (durable && log.wants_compaction()) {
    if (auto st = log.compact(write_all); !st) log::error("{}: compacting failed: {}", what, st.message());
  }
}

}  // namespace mosaic::groups
