// Dead letters (KIP-1191), the parts that need no thread: the letter for
// a record given up, the copy of its key, value and timestamp from the
// partition's bytes, and the writer handlers write through (the broker's
// produce path, by way of group_io).
#pragma once

#include <cstdint>
#include <string>

#include "kernel/config/broker_config.h"
#include "kernel/groups/dlq_handler_slot.h"
#include "kernel/groups/group_io.h"

namespace mosaic::groups {

// Copies the key, value and timestamp of the record at `offset` from
// `fetched` (a read from that offset) into `r`; false if its batch is
// compressed or the record is not there.
bool copy_record(const adapter::fetched_partition& fetched, int64_t offset, dead_letter_record& r);

// Writes dead letters with acks=all, creating the topic first if it is
// missing and `settings` allow (errors.deadletterqueue.auto.create.topics.enable).
// Called from any thread: it touches the group_io and the settings only.
class io_dead_letter_writer final : public dead_letter_writer {
 public:
  io_dead_letter_writer(group_io* io, const config::group_settings* settings) : io_(io), settings_(settings) {}
  void write(const std::string& topic, int32_t partition, int32_t source_partition,
             std::optional<std::vector<uint8_t>> key, std::optional<std::vector<uint8_t>> value, int64_t timestamp,
             std::vector<header_value> headers, std::function<void(mosaic_status_t, std::string)> done) override;

 private:
  group_io* io_;
  const config::group_settings* settings_;
};

}  // namespace mosaic::groups
