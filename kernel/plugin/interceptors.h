// The record interceptors (mosaic/abi/record_interceptor.h) attached to
// topics by `plugins.interceptors`: each entry is one instance in a slot of
// its own, matched to topics by name or prefix; a topic's chain is every
// entry that matches it, in the list's order.
//
// Threading: `chain_for` may be called from any thread at once (network
// threads, on each produce); `set` replaces the whole list atomically (at
// start and on a reload), and a chain taken before keeps its generations to
// the end of its call.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "kernel/base/status.h"
#include "kernel/plugin/slot.h"
#include "mosaic/abi/record_interceptor.h"

namespace mosaic::plugin {

using interceptor_slot = slot<mosaic_record_interceptor_vtable_v1>;

class interceptor_set {
 public:
  struct entry {
    std::vector<std::string> topics;    // exact names
    std::vector<std::string> prefixes;  // "" matches every topic
    std::shared_ptr<instance> inst;
  };
  // One link of a chain: the generation to call, for the whole call.
  struct link {
    interceptor_slot::generation_ptr gen;
    size_t index = 0;  // the entry's place in plugins.interceptors
  };
  struct chain {
    std::vector<link> links;
    bool reads_records = false;  // some link asks for the records
    bool empty() const noexcept { return links.empty(); }
  };

  // Replaces the list. Every entry's instance is published: an entry of
  // the same plugin at the same place as before is a new generation of
  // that slot (a reload reads a schema file edited in place again), another
  // a new slot at generation 1. Returns each entry's generation.
  std::vector<uint64_t> set(std::vector<entry> entries);
  // Publishes `inst` as the next generation of entry `index`, which keeps
  // its topics (a cluster swap of slot "interceptor.<index>"); not_found
  // if there is no such entry.
  result<uint64_t> swap(size_t index, std::shared_ptr<instance> inst);
  // The chain for `topic` (empty, without a lock or an allocation, while
  // no interceptor is configured).
  chain chain_for(std::string_view topic) const;
  size_t size() const;
  bool any() const noexcept { return any_.load(std::memory_order_acquire); }
  // Each entry's calls, as slot "interceptor.<index>".
  void visit(const meter_visitor& fn) const;

 private:
  struct placed {
    std::vector<std::string> topics, prefixes;
    std::string plugin;
    std::shared_ptr<interceptor_slot> slot;
  };
  using list = std::vector<std::shared_ptr<placed>>;
  mutable std::mutex mu_;
  std::shared_ptr<const list> list_ = std::make_shared<list>();
  std::atomic<bool> any_{false};
};

}  // namespace mosaic::plugin
