// Which component owns each group id, so that one id names one kind of
// group, as in Kafka: classic and consumer groups belong to the group
// coordinator, share groups to the share manager. Each claims an id when it
// creates a group and lets it go when the group is deleted; a request for
// an id the other owns gets GROUP_ID_NOT_FOUND ("group X is not a share
// group" and the like).
//
// Threading: any thread (a mutex held for a map lookup).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace mosaic::groups {

class group_kinds {
 public:
  enum class kind : uint8_t { none, coordinator, share };

  kind of(const std::string& id) const {
    std::lock_guard g(mu_);
    auto it = ids_.find(id);
    return it == ids_.end() ? kind::none : it->second;
  }
  // Claims `id` for `k`; false if the other kind holds it.
  bool claim(const std::string& id, kind k) {
    std::lock_guard g(mu_);
    auto [it, fresh] = ids_.emplace(id, k);
    return fresh || it->second == k;
  }
  void release(const std::string& id, kind k) {
    std::lock_guard g(mu_);
    auto it = ids_.find(id);
    if (it != ids_.end() && it->second == k) ids_.erase(it);
  }

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, kind> ids_;
};

}  // namespace mosaic::groups
