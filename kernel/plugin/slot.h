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
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>

#include "kernel/plugin/host.h"

namespace mosaic::plugin {

template <class Vtable>
class slot {
 public:
  struct generation {
    std::shared_ptr<instance> inst;
    const Vtable* table;
    void* handle;
    uint64_t number;

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
    auto next = std::make_shared<generation>(generation{std::move(inst), table, handle, 0});
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
