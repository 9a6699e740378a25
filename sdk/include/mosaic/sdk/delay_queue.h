// Tasks run once their time comes, by one thread of the queue's own: for
// answers that must wait (a failed authentication is answered late, to
// slow password guessing) without holding a worker that others need.
// Tasks run in deadline order (posting order among equal deadlines); one
// that throws is dropped silently, the thread carries on. `stop` drops
// what has not come due, then joins.
//
// Threading: `post_after` and `stop` from any thread (not from a task).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace mosaic::sdk {

class delay_queue {
 public:
  using clock = std::chrono::steady_clock;

  delay_queue() : thread_([this] { serve(); }) {}
  ~delay_queue() { stop(); }
  delay_queue(const delay_queue&) = delete;
  delay_queue& operator=(const delay_queue&) = delete;

  void post_after(std::chrono::milliseconds delay, std::function<void()> task) {
    {
      std::lock_guard g(mu_);
      if (stopping_) return;
      tasks_.emplace(clock::now() + delay, std::move(task));
    }
    cv_.notify_one();
  }

  // Idempotent.
  void stop() {
    std::multimap<clock::time_point, std::function<void()>> dropped;  // let go outside the lock
    {
      std::lock_guard g(mu_);
      stopping_ = true;
      dropped.swap(tasks_);
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void serve() {
    std::unique_lock lk(mu_);
    while (!stopping_) {
      if (tasks_.empty()) {
        cv_.wait(lk);
        continue;
      }
      auto first = tasks_.begin();
      if (first->first > clock::now()) {
        cv_.wait_until(lk, first->first);
        continue;
      }
      std::function<void()> task = std::move(first->second);
      tasks_.erase(first);
      lk.unlock();
      try {
        task();
      } catch (...) {
      }
      lk.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<clock::time_point, std::function<void()>> tasks_;
  bool stopping_ = false;
  std::thread thread_;  // last: started once the rest exists
};

}  // namespace mosaic::sdk
