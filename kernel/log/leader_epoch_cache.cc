#include "kernel/log/leader_epoch_cache.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

#include "kernel/base/file.h"

namespace mosaic::log {

result<leader_epoch_cache> leader_epoch_cache::load(const std::filesystem::path& file) {
  leader_epoch_cache cache;
  std::ifstream in(file);
  if (!in) return cache;
  auto bad = [&](const std::string& why) { return status(errc::corrupt, file.string() + ": " + why); };
  int version = -1;
  int64_t count = -1;
  if (!(in >> version) || version != 0) return bad("unknown version");
  if (!(in >> count) || count < 0 || count > 1'000'000) return bad("bad entry count");
  for (int64_t i = 0; i < count; ++i) {
    epoch_entry e;
    if (!(in >> e.epoch >> e.start_offset)) return bad("entry " + std::to_string(i) + " is missing or malformed");
    if (e.epoch < 0 || e.start_offset < 0) return bad("entry " + std::to_string(i) + " is negative");
    if (!cache.entries_.empty() &&
        (e.epoch <= cache.entries_.back().epoch || e.start_offset < cache.entries_.back().start_offset))
      return bad("entry " + std::to_string(i) + " is out of order");
    cache.entries_.push_back(e);
  }
  std::string extra;
  if (in >> extra) return bad("more entries than its count");
  return cache;
}

status leader_epoch_cache::write(const std::filesystem::path& file) const {
  std::ostringstream out;
  out << "0\n" << entries_.size() << "\n";
  for (const auto& e : entries_) out << e.epoch << ' ' << e.start_offset << "\n";
  return replace_file(file, out.str());
}

bool leader_epoch_cache::assign(int32_t epoch, int64_t start_offset) {
  if (epoch < 0 || (!entries_.empty() && epoch <= entries_.back().epoch)) return false;
  // An epoch that wrote nothing is superseded by the next one at the same
  // offset.
  while (!entries_.empty() && entries_.back().start_offset >= start_offset) entries_.pop_back();
  entries_.push_back({epoch, start_offset});
  return true;
}

bool leader_epoch_cache::truncate_from_end(int64_t end_offset) {
  const size_t before = entries_.size();
  while (!entries_.empty() && entries_.back().start_offset >= end_offset) entries_.pop_back();
  return entries_.size() != before;
}

bool leader_epoch_cache::truncate_from_start(int64_t start_offset) {
  // The last entry starting at or below the new start survives, moved up.
  auto keep = std::upper_bound(entries_.begin(), entries_.end(), start_offset,
                               [](int64_t o, const epoch_entry& e) { return o < e.start_offset; });
  if (keep == entries_.begin()) return false;
  --keep;
  const bool changed = keep != entries_.begin() || keep->start_offset != start_offset;
  keep->start_offset = start_offset;
  entries_.erase(entries_.begin(), keep);
  return changed;
}

std::pair<int32_t, int64_t> leader_epoch_cache::end_offset_for(int32_t epoch, int64_t log_end_offset) const {
  if (epoch < 0 || entries_.empty()) return {undefined_epoch, undefined_offset};
  if (epoch == entries_.back().epoch) return {epoch, log_end_offset};
  auto higher = std::upper_bound(entries_.begin(), entries_.end(), epoch,
                                 [](int32_t e, const epoch_entry& x) { return e < x.epoch; });
  if (higher == entries_.end()) return {undefined_epoch, undefined_offset};
  if (higher == entries_.begin()) return {epoch, higher->start_offset};
  return {std::prev(higher)->epoch, higher->start_offset};
}

}  // namespace mosaic::log
