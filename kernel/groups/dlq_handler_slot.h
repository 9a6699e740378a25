// The broker's dead-letter handler (KIP-1191) as a hot-swappable plugin
// slot, and the writer the broker lends handlers: its own produce path.
// A letter is handed to the generation current at that moment, which then
// lives until the letter is done, so a swap never strands a letter.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "kernel/base/status.h"
#include "kernel/groups/share_policy.h"
#include "kernel/plugin/slot.h"
#include "mosaic/abi/dlq_handler.h"

namespace mosaic::groups {

struct dead_letter_record {
  std::string group, topic, dlq_topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int16_t delivery_count = 0;
  share_cause cause = share_cause::reject;
  bool copy_record = false;
  bool has_record = false;
  std::optional<std::vector<uint8_t>> key, value;
  int64_t timestamp = -1;
};

struct header_value {
  std::string key;
  std::optional<std::vector<uint8_t>> value;
};

// How handlers write records: implemented by the share manager. `write`
// may be called from any thread and must not block; `done(ok, why)` is
// called once.
class dead_letter_writer {
 public:
  virtual ~dead_letter_writer() = default;
  virtual void write(const std::string& topic, int32_t partition, int32_t source_partition,
                     std::optional<std::vector<uint8_t>> key, std::optional<std::vector<uint8_t>> value,
                     int64_t timestamp, std::vector<header_value> headers,
                     std::function<void(mosaic_status_t, std::string)> done) = 0;
};

class dlq_handler_slot {
 public:
  result<uint64_t> install(std::shared_ptr<plugin::instance> inst);
  std::string current_name() const;
  // The current generation's calls (slot "group.share.dlq.handler").
  void visit(const plugin::meter_visitor& fn) const;

  enum class outcome { taken, full, none };
  // Hands `letter` to the current handler. `taken`: `done(ok, why)` will be
  // called once, from any thread. `full`: the handler's queue is full.
  // `none`: no handler is loaded. `writer` must outlive every letter.
  outcome enqueue(const dead_letter_record& letter, dead_letter_writer* writer,
                  std::function<void(bool ok, std::string why)> done) const;

 private:
  plugin::slot<mosaic_dlq_handler_vtable_v1> slot_;
};

}  // namespace mosaic::groups
