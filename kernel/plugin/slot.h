// A hot-swappable policy point. A slot holds one immutable generation: the
// instance (which holds its library), its config and a number. Callers take
// the current generation once per call and use it to the end of the call; a
// swap publishes a new, fully created generation atomically. The old one is
// destroyed when its last user lets go, and its library is released only
// after that, so no call ever runs into freed code or a half-built object.
//
// Threading: `current` and `publish` may be called from any thread at once.
// The current pointer sits behind a mutex held only to copy it (one
// reference-count increment). libstdc++ 12's std::atomic<std::shared_ptr> is
// no faster, since it spins on a lock bit in the control word, and that lock
// is invisible to ThreadSanitizer, which then reports races that are not.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "kernel/base/metrics.h"
#include "kernel/plugin/host.h"

namespace mosaic::plugin {

// What one generation's calls did, for /metrics: counts always (relaxed
// atomics), latency only while timing is on (mosaicd turns it on with a
// metrics listener), so that a node nobody scrapes reads no clock for its
// plugins. A call is timed from just before the plugin's function to just
// after it returns (a DLQ write's completion, which comes later, is not).
class call_meter {
 public:
  using clock = std::chrono::steady_clock;
  static void set_timing(bool on) noexcept { timing().store(on, std::memory_order_relaxed); }
  // The call's start: the time, or the epoch when timing is off.
  static clock::time_point start() noexcept {
    return timing().load(std::memory_order_relaxed) ? clock::now() : clock::time_point{};
  }
  void done(clock::time_point began, bool ok) const noexcept {
    calls_.fetch_add(1, std::memory_order_relaxed);
    if (!ok) errors_.fetch_add(1, std::memory_order_relaxed);
    if (began != clock::time_point{}) latency_.observe(clock::now() - began);
  }
  // A failure reported after the call returned (a DLQ write's completion).
  void failed_later() const noexcept { errors_.fetch_add(1, std::memory_order_relaxed); }
  uint64_t calls() const noexcept { return calls_.load(std::memory_order_relaxed); }
  uint64_t errors() const noexcept { return errors_.load(std::memory_order_relaxed); }
  metrics::histogram_snapshot latency() const noexcept { return latency_.snapshot(); }

 private:
  static std::atomic<bool>& timing() noexcept {
    static std::atomic<bool> on{false};
    return on;
  }
  mutable std::atomic<uint64_t> calls_{0}, errors_{0};
  mutable metrics::histogram latency_;
};

// Called for each slot's current generation: the slot's name, the
// instance (its plugin id, library and config), the generation number and
// its calls (for /metrics and `mosaic plugin list`).
using meter_visitor =
    std::function<void(const std::string& slot, const instance& inst, uint64_t generation, const call_meter&)>;

template <class Vtable>
class slot {
 public:
  struct generation {
    generation(std::shared_ptr<instance> i, const Vtable* t, void* h) : inst(std::move(i)), table(t), handle(h) {}
    std::shared_ptr<instance> inst;
    const Vtable* table = nullptr;
    void* handle = nullptr;
    uint64_t number = 0;
    call_meter meter;  // this generation's calls

    const Vtable& vt() const noexcept { return *table; }
  };
  using generation_ptr = std::shared_ptr<const generation>;

  slot() = default;
  slot(const slot&) = delete;
  slot& operator=(const slot&) = delete;

  // The generation to use for one call; null if nothing was published yet.
  generation_ptr current() const noexcept {
    std::lock_guard lock(mu_);
    return current_;
  }

  // Makes `inst` the current generation and returns its number. The
  // instance must already be created (and its config validated): publishing
  // cannot fail.
  uint64_t publish(std::shared_ptr<instance> inst) {
    const auto* table = static_cast<const Vtable*>(inst->vtable());
    void* handle = inst->handle();
    auto next = std::make_shared<generation>(std::move(inst), table, handle);
    uint64_t number = 0;
    generation_ptr old;
    {
      std::lock_guard lock(mu_);
      next->number = ++published_;  // numbers follow publication order
      number = next->number;
      old = std::exchange(current_, std::move(next));
    }
    return number;  // `old` is let go here, outside the lock
  }

  // Calls `fn` with the current generation's meter, if there is one.
  void visit(const std::string& name, const meter_visitor& fn) const {
    if (auto gen = current()) fn(name, *gen->inst, gen->number, gen->meter);
  }

  // Empties the slot (at shutdown); callers holding a generation keep it.
  void clear() noexcept {
    generation_ptr old;
    std::lock_guard lock(mu_);
    current_.swap(old);
  }

 private:
  mutable std::mutex mu_;
  generation_ptr current_;
  uint64_t published_ = 0;
};

}  // namespace mosaic::plugin
