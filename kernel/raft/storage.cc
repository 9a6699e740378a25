#include "kernel/raft/storage.h"

#include <algorithm>
#include <utility>

namespace mosaic::raft {

void memory_storage::sync() {
  ++syncs_;
  while (!pending_.empty()) {
    apply(pending_.front());
    pending_.pop_front();
  }
}

void memory_storage::crash(size_t keep) {
  keep = std::min(keep, pending_.size());
  for (size_t i = 0; i < keep; ++i) {
    apply(pending_.front());
    pending_.pop_front();
  }
  pending_.clear();
}

void memory_storage::apply(op& o) {
  auto& log = durable_.entries;
  if (auto* hs = std::get_if<hard_state>(&o)) {
    durable_.hard = *hs;
  } else if (auto* a = std::get_if<append_op>(&o)) {
    auto cut = std::find_if(log.begin(), log.end(), [&](const entry& e) { return e.index >= a->from; });
    log.erase(cut, log.end());
    for (auto& e : a->entries) log.push_back(std::move(e));
  } else {
    auto& s = std::get<snapshot_op>(o);
    auto keep_from = std::find_if(log.begin(), log.end(), [&](const entry& e) { return e.index > s.compact_through; });
    log.erase(log.begin(), keep_from);
    durable_.snap = std::move(s.snap);
  }
}

}  // namespace mosaic::raft
