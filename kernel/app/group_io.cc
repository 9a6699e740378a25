#include "kernel/app/group_io.h"

namespace mosaic::app {

std::optional<adapter::topic_info> broker_group_io::ensure_topic(const std::string& name, int32_t partitions) {
  if (auto t = svc_->find_topic(name)) return t;
  adapter::new_topic nt;
  nt.name = name;
  nt.partitions = partitions;
  adapter::topic_info created;
  auto made = svc_->create_topic(nt, false, &created);
  if (made.ok() || made.code == adapter::error::topic_already_exists) return svc_->find_topic(name);
  return std::nullopt;
}

std::shared_ptr<const groups::topic_summaries> broker_group_io::summaries() const {
  std::shared_ptr<const groups::topic_summaries> out;
  svc_->with_image([&](const metadata::image& i) {
    std::lock_guard g(summaries_mu_);
    if (!summaries_ || summaries_version_ != i.version()) {
      auto fresh = std::make_shared<groups::topic_summaries>();
      fresh->reserve(i.topics().size());
      for (const auto& [name, t] : i.topics())
        fresh->push_back({name, t.id, static_cast<int32_t>(t.partitions.size()), name.rfind("__", 0) == 0});
      summaries_ = std::move(fresh);
      summaries_version_ = i.version();
    }
    out = summaries_;
  });
  return out;
}

void broker_group_io::write(const std::string& topic, int32_t partition, std::shared_ptr<std::vector<uint8_t>> batch,
                            int32_t timeout_ms, std::function<void(const adapter::produce_result&)> done,
                            int32_t leader_epoch) {
  std::span<uint8_t> bytes(*batch);
  svc_->produce_internal(topic, partition, bytes, timeout_ms, std::move(batch), leader_epoch,
                         [done = std::move(done)](const adapter::produce_result& r) { done(r); });
}

}  // namespace mosaic::app
