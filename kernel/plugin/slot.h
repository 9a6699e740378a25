// A hot-swappable policy point. A slot holds one immutable generation: the
// instance (which holds its library), its config and a number. Callers take
// the current generation once per call and use it to the end of the call; a
// swap publishes a new, fully created generation atomically. The old one is
// destroyed when its last user lets go, and its library is released only
// after that, so no call ever runs into freed code or a half-built object.
//
// Threading: `current` and `publish` may be called from any thread at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

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
  generation_ptr current() const noexcept { return current_.load(std::memory_order_acquire); }

  // Makes `inst` the current generation and returns its number. The
  // instance must already be created (and its config validated): publishing
  // cannot fail.
  uint64_t publish(std::shared_ptr<instance> inst) {
    const auto* table = static_cast<const Vtable*>(inst->vtable());
    void* handle = inst->handle();
    uint64_t number = next_.fetch_add(1, std::memory_order_relaxed) + 1;
    current_.store(std::make_shared<const generation>(generation{std::move(inst), table, handle, number}),
                   std::memory_order_release);
    return number;
  }

  // Empties the slot (at shutdown); callers holding a generation keep it.
  void clear() noexcept { current_.store(nullptr, std::memory_order_release); }

 private:
  std::atomic<generation_ptr> current_;
  std::atomic<uint64_t> next_{0};
};

}  // namespace mosaic::plugin
