// Queues over HTTP on share groups (KIP-932), the way SQS is used: receive
// a batch of records, each locked for the group's lock duration and
// carrying a receipt handle, then accept, release, reject or renew each by
// its handle.
//
// The adapter is the share group's member for its HTTP callers: one member
// per group on this broker (joined on the first receive, subscribed to the
// topics callers receive from, heartbeating in the background, leaving
// after a minute unused). Its share session is one sequence of requests,
// so a group's fetches and acknowledgements take turns; a long poll waits
// in slices of at most 250 ms, so an acknowledgement waits no longer.
// A receipt handle is the record's place (topic id, partition, offset),
// its delivery count and the member that holds its lock, signed with
// HMAC-SHA256 under a key this adapter draws at start: a forged or altered
// handle is refused whole, and after a restart the handles of the old
// member are refused too (their locks lapse as the group's lock duration
// says).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <nlohmann/json_fwd.hpp>

#include "mosaic/sdk/delay_queue.h"
#include "plugins/protocol_http/api.h"

namespace mosaic::http {

class queues {
 public:
  queues(const adapter::adapter_context& ctx, options o);
  ~queues();
  queues(const queues&) = delete;
  queues& operator=(const queues&) = delete;

  void receive(const std::string& group, const nlohmann::json& body,
               const std::function<bool(const std::string&)>& may_read_topic, done_fn done);
  void acknowledge(const std::string& group, const nlohmann::json& body, done_fn done);

  struct member;
  struct receipt {
    std::string member_id;
    adapter::uuid topic_id{};
    int32_t partition = 0;
    int64_t offset = 0;
    int16_t delivery_count = 0;
  };
  std::string sign(const std::string& group, const receipt& r) const;
  std::optional<receipt> open(const std::string& group, const std::string& handle) const;

 private:
  std::shared_ptr<member> member_for(const std::string& group);
  // Runs `op` once the member's earlier operations are done; `op` calls
  // its argument when it is done with the session.
  void run(const std::shared_ptr<member>& m, std::function<void(std::function<void()>)> op);
  void heartbeat(const std::shared_ptr<member>& m, std::function<void()> then);
  void fetch_slice(const std::shared_ptr<member>& m, const std::shared_ptr<struct receive_call>& rc);
  void background();
  // Around each call into the share groups whose callback uses this object:
  // began() before it, an `ended` held for the callback's whole body.
  void began();
  class ended {
   public:
    explicit ended(queues* q) : q_(q) {}
    ~ended();
    ended(const ended&) = delete;
    ended& operator=(const ended&) = delete;

   private:
    queues* q_;
  };
  int calls_ = 0;  // callbacks to come (under mu_)

  adapter::adapter_context ctx_;
  options opts_;
  std::string key_;  // the receipts' HMAC key
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<std::string, std::shared_ptr<member>> members_;  // by group
  std::thread thread_;                                      // heartbeats, and members that go unused
  sdk::delay_queue later_;                                  // the next poll of a member not yet assigned
};

}  // namespace mosaic::http
