#include "kernel/groups/share_sessions.h"

#include <algorithm>

namespace mosaic::groups {

using adapter::error;

void share_session::update(const std::vector<std::pair<uuid, int32_t>>& named,
                           const std::vector<std::pair<uuid, int32_t>>& forgotten) {
  for (const auto& tp : forgotten) std::erase(partitions, tp);
  for (const auto& tp : named)
    if (std::find(partitions.begin(), partitions.end(), tp) == partitions.end()) partitions.push_back(tp);
}

share_session* share_sessions::use(const std::string& group, const std::string& member, int32_t epoch,
                                   int64_t max_sessions, error& code, std::string& message) {
  const key k{group, member};
  auto it = sessions_.find(k);
  if (epoch == 0) {
    if (it == sessions_.end() && static_cast<int64_t>(sessions_.size()) >= max_sessions) {
      code = error::share_session_limit_reached;
      message = "this broker has " + std::to_string(sessions_.size()) + " share sessions open";
      return nullptr;
    }
    auto& s = sessions_[k];
    s = share_session{};
    return &s;
  }
  if (it == sessions_.end()) {
    code = error::share_session_not_found;
    message = "no share session for member " + member;
    return nullptr;
  }
  if (epoch == -1) return &it->second;
  const int32_t expected = it->second.epoch == INT32_MAX ? 1 : it->second.epoch + 1;
  if (epoch != expected) {
    code = error::invalid_share_session_epoch;
    message = "share session epoch " + std::to_string(epoch) + ", expected " + std::to_string(expected);
    return nullptr;
  }
  it->second.epoch = epoch;
  return &it->second;
}

share_session* share_sessions::find(const std::string& group, const std::string& member) {
  auto it = sessions_.find({group, member});
  return it == sessions_.end() ? nullptr : &it->second;
}

bool share_sessions::close(const std::string& group, const std::string& member) {
  return sessions_.erase({group, member}) > 0;
}

bool share_sessions::close_by(const std::string& group, const std::string& member, clock::time_point by) {
  auto* s = find(group, member);
  if (s == nullptr) return false;
  s->closing_by = by;
  return true;
}

std::vector<share_sessions::key> share_sessions::overdue(clock::time_point now) const {
  std::vector<key> out;
  for (const auto& [k, s] : sessions_)
    if (s.closing_by && *s.closing_by <= now) out.push_back(k);
  return out;
}

}  // namespace mosaic::groups
