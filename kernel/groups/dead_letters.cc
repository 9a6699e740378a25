#include "kernel/groups/dead_letters.h"

#include <chrono>

#include "kernel/base/numbers.h"
#include "kernel/log/batch_builder.h"
#include "kernel/log/record_batch.h"

namespace mosaic::groups {

namespace {

// How long a dead letter's write waits for the DLQ topic's in-sync replicas.
constexpr int32_t dead_letter_timeout_ms = 30000;

std::optional<std::string_view> as_view(const std::optional<std::vector<uint8_t>>& b) {
  if (!b) return std::nullopt;
  return std::string_view(reinterpret_cast<const char*>(b->data()), b->size());
}

}  // namespace

bool copy_record(const adapter::fetched_partition& fetched, int64_t offset, dead_letter_record& r) {
  if (fetched.code != adapter::error::none) return false;
  bool found = false;
  log::for_each_batch(fetched.records, [&](const log::batch_view& b) {
    if (b.last_offset() < offset) return true;
    if (b.base_offset() > offset || b.codec() != 0) return false;
    log::for_each_record(b, [&](const log::record_view& rec) {
      if (b.base_offset() + rec.offset_delta != offset) return;
      if (rec.key) r.key.emplace(rec.key->begin(), rec.key->end());
      if (rec.value) r.value.emplace(rec.value->begin(), rec.value->end());
      r.timestamp = b.log_append_time() ? b.max_timestamp() : b.base_timestamp() + rec.timestamp_delta;
      found = true;
    });
    return false;
  });
  return found;
}

void io_dead_letter_writer::write(const std::string& topic, int32_t partition, int32_t source_partition,
                                  std::optional<std::vector<uint8_t>> key, std::optional<std::vector<uint8_t>> value,
                                  int64_t timestamp, std::vector<header_value> headers,
                                  std::function<void(mosaic_status_t, std::string)> done) {
  auto t = settings_->dlq_auto_create_topics ? io_->ensure_topic(topic, 1) : io_->find_topic(topic);
  if (!t || t->partitions.empty())
    return done(MOSAIC_ERR_INVALID_ARGUMENT,
                "topic '" + topic + "' does not exist (errors.deadletterqueue.auto.create.topics.enable is off)");
  const auto count = static_cast<int32_t>(t->partitions.size());
  int32_t target = partition >= 0 ? partition % count : source_partition % count;
  // The kernel appends only to partitions this broker leads: with no
  // partition asked for, one led here is taken when the usual one is not.
  if (partition < 0) {
    const auto led = io_->led_partitions(topic);
    if (!led.empty() && !led.count(target)) target = led.begin()->first;
  }
  std::vector<log::record_header> hs;
  hs.reserve(headers.size());
  for (const auto& h : headers) hs.push_back({h.key, as_view(h.value)});
  log::batch_builder builder;
  builder.add(as_view(key), as_view(value), timestamp >= 0 ? timestamp : wall_ms(), hs);
  io_->write(topic, target, std::make_shared<std::vector<uint8_t>>(builder.finish()), dead_letter_timeout_ms,
             [done](const adapter::produce_result& r) {
               if (r.code == adapter::error::none) return done(MOSAIC_OK, "");
               done(MOSAIC_ERR_INTERNAL, "the append failed with " + adapter::error_name(r.code) +
                                             (r.message.empty() ? "" : ": " + r.message));
             });
}

}  // namespace mosaic::groups
