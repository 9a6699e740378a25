// A queue of tasks served by worker threads: the one primitive for "run
// this later, off the caller's thread" (the broker's I/O threads, the
// Kafka adapter's administrative worker). Tasks run in the order posted
// when there is one worker. A task that throws is reported to
// `on_failure` and the worker carries on; stopping runs what is already
// queued, then joins the workers.
//
// In the SDK, not kernel/base, because protocol adapters build against the
// SDK alone.
//
// Threading: `post` and `stop` from any thread (not from a task).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace mosaic::sdk {

class task_queue {
 public:
  explicit task_queue(size_t threads = 1, std::function<void(const std::exception&)> on_failure = {})
      : on_failure_(std::move(on_failure)) {
    workers_.reserve(threads);
    for (size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { serve(); });
  }
  ~task_queue() { stop(); }
  task_queue(const task_queue&) = delete;
  task_queue& operator=(const task_queue&) = delete;

  // Queues `task`; dropped once the queue is stopping.
  void post(std::function<void()> task) {
    {
      std::lock_guard g(mu_);
      if (stopping_) return;
      tasks_.push_back(std::move(task));
    }
    cv_.notify_one();
  }

  // Runs what is queued, then joins the workers. Idempotent.
  void stop() {
    {
      std::lock_guard g(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_)
      if (t.joinable()) t.join();
  }

 private:
  void serve() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lk(mu_);
        cv_.wait(lk, [&] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      try {
        task();
      } catch (const std::exception& e) {
        if (on_failure_) on_failure_(e);
      }
    }
  }

  std::function<void(const std::exception&)> on_failure_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;  // last: started once the rest exists
};

}  // namespace mosaic::sdk
