// Share sessions (KIP-932): per member, the partitions its ShareFetch
// requests have named and the epoch each request must carry (0 opens, -1
// closes, else one more than the last). A plain class: the share manager
// owns one and releases what a closed session's member held.
//
// Threading: none; the share manager serialises every call.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kernel/groups/group_context.h"
#include "kernel/groups/state.h"
#include "mosaic/adapter/shares.h"

namespace mosaic::groups {

struct share_session {
  int32_t epoch = 0;
  std::vector<std::pair<uuid, int32_t>> partitions;
  size_t next = 0;  // where the next fetch starts (fairness across partitions)
  // Set when the member left the group while the session was open: a
  // closing consumer sends its last acknowledgements and its leave at the
  // same moment, so the session (and the records it holds) waits for the
  // final-epoch request until then, acquiring nothing more.
  std::optional<clock::time_point> closing_by;

  // A request's partitions join the session; its forgotten ones leave.
  void update(const std::vector<std::pair<uuid, int32_t>>& named,
              const std::vector<std::pair<uuid, int32_t>>& forgotten);
};

class share_sessions {
 public:
  using key = std::pair<std::string, std::string>;  // group, member

  // The member's session for a request at `epoch`: 0 opens one afresh
  // (SHARE_SESSION_LIMIT_REACHED past `max_sessions`), -1 is the closing
  // request, any other must be the next epoch (INVALID_SHARE_SESSION_EPOCH)
  // of an open session (SHARE_SESSION_NOT_FOUND). Null with `code` and
  // `message` set if refused.
  share_session* use(const std::string& group, const std::string& member, int32_t epoch, int64_t max_sessions,
                     adapter::error& code, std::string& message);
  share_session* find(const std::string& group, const std::string& member);
  // Ends the member's session; false if it had none.
  bool close(const std::string& group, const std::string& member);
  // The member left the group: its open session waits until `by` for the
  // final request. False if it had none.
  bool close_by(const std::string& group, const std::string& member, clock::time_point by);
  // Sessions whose member left and whose final request did not come in time.
  std::vector<key> overdue(clock::time_point now) const;
  size_t size() const noexcept { return sessions_.size(); }

 private:
  std::map<key, share_session> sessions_;
};

}  // namespace mosaic::groups
