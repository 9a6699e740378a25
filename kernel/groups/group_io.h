// What the group coordinator and the share manager need of the broker,
// and nothing more: the topics, reading a partition, writing a record
// batch. kernel/app lends both the same one, over the broker service
// (app/group_io.cc); the group kinds themselves see none of it.
//
// Threading: any thread; `read` and `write` answer on a broker thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mosaic/adapter/broker.h"

namespace mosaic::groups {

class group_io {
 public:
  virtual ~group_io() = default;

  // ---- topics ----
  virtual std::vector<adapter::topic_info> topics() const = 0;
  virtual std::optional<adapter::topic_info> find_topic(const std::string& name) const = 0;
  virtual std::optional<adapter::topic_info> find_topic(const adapter::uuid& id) const = 0;
  // Makes a topic of `partitions` partitions if there is none by that name
  // (dead-letter topics, when they may be created); the topic, if there is
  // one after.
  virtual std::optional<adapter::topic_info> ensure_topic(const std::string& name, int32_t partitions) = 0;

  // ---- reading a partition ----
  virtual adapter::offset_lookup list_offset(const std::string& topic, int32_t partition, int64_t timestamp) = 0;
  // A fetch (max_wait_ms 0: what is there now, answered before it returns).
  virtual void read(adapter::fetch_request req, std::function<void(std::vector<adapter::fetched_partition>)> done) = 0;

  // ---- writing ----
  // Appends one record batch with acks=all; `done` once replicated or failed.
  virtual void write(const std::string& topic, int32_t partition, std::shared_ptr<std::vector<uint8_t>> batch,
                     int32_t timeout_ms, std::function<void(const adapter::produce_result&)> done) = 0;
};

}  // namespace mosaic::groups
