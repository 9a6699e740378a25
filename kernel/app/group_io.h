// The group coordinator's and the share manager's view of the broker
// (groups::group_io), over the broker service: topics from its metadata,
// reads through its fetch path, writes through its produce path.
#pragma once

#include <memory>
#include <mutex>

#include "kernel/broker/service.h"
#include "kernel/groups/group_io.h"

namespace mosaic::app {

class broker_group_io final : public groups::group_io {
 public:
  explicit broker_group_io(broker::service* svc) : svc_(svc) {}

  std::vector<adapter::topic_info> topics() const override { return svc_->topics(); }
  std::shared_ptr<const groups::topic_summaries> summaries() const override;
  std::optional<adapter::topic_info> find_topic(const std::string& name) const override {
    return svc_->find_topic(name);
  }
  std::optional<adapter::topic_info> find_topic(const adapter::uuid& id) const override { return svc_->find_topic(id); }
  std::optional<adapter::topic_info> ensure_topic(const std::string& name, int32_t partitions) override;
  adapter::offset_lookup list_offset(const std::string& topic, int32_t partition, int64_t timestamp) override {
    return svc_->list_offset(topic, partition, timestamp);
  }
  void read(adapter::fetch_request req, std::function<void(std::vector<adapter::fetched_partition>)> done) override {
    svc_->fetch(std::move(req), std::move(done));
  }
  void write(const std::string& topic, int32_t partition, std::shared_ptr<std::vector<uint8_t>> batch,
             int32_t timeout_ms, std::function<void(const adapter::produce_result&)> done,
             int32_t leader_epoch) override;
  result<adapter::topic_info> ensure_internal_topic(const internal_topic& t) override {
    return svc_->ensure_internal_topic(t.name, t.partitions, t.replication_factor, t.configs);
  }
  std::map<int32_t, int32_t> led_partitions(const std::string& topic) const override {
    return svc_->led_partitions(topic);
  }
  void on_leadership(const void* owner, std::function<void()> changed) override {
    svc_->on_leadership(owner, std::move(changed));
  }
  status scan(const std::string& topic, int32_t partition,
              const std::function<bool(std::span<const uint8_t>)>& chunk) override {
    return svc_->scan_partition(topic, partition, chunk);
  }
  std::map<std::string, std::string> group_configs(const std::string& group) const override {
    return svc_->group_configs(group);
  }
  status set_group_configs(const std::string& group,
                           const std::vector<std::pair<std::string, std::optional<std::string>>>& changes) override {
    return svc_->set_group_configs(group, changes);
  }
  uint64_t config_version() const override { return svc_->config_version(); }
  void serve_frames(int16_t first, int16_t last, frame_handler handler) override {
    svc_->serve_frames(first, last, std::move(handler));
  }
  void send_frame(int32_t to, int16_t kind, std::vector<uint8_t> body) override {
    svc_->send_frame(to, kind, std::move(body));
  }

 private:
  broker::service* svc_;
  mutable std::mutex summaries_mu_;  // taken inside the metadata's lock, never around it
  mutable std::shared_ptr<const groups::topic_summaries> summaries_;
  mutable uint64_t summaries_version_ = 0;  // the image version summaries_ was built at
};

}  // namespace mosaic::app
