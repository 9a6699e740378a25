// Records as the CLI reads and prints them (mosaic consume, mosaic share
// consume): batches decompressed with the built-in codecs, records printed
// through a kcat-like format.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "kernel/app/builtins.h"
#include "kernel/log/record_batch.h"
#include "kernel/plugin/codecs.h"
#include "kernel/plugin/host.h"
#include "tools/cli/client.h"

namespace mosaic::cli {

// Prints one record through `format` (%t topic, %p partition, %o offset,
// %k key, %s or %v value, %T timestamp, %d delivery count, %h headers).
void print_record(const std::string& format, const std::string& topic, int32_t partition, int64_t offset,
                  int64_t timestamp, const mosaic::log::record_view& r, int delivery_count = 1);

// Reads the records of fetched batches, decompressing with the built-in
// codecs; control batches are skipped.
class record_reader {
 public:
  record_reader() {
    for (const char* name : {"mosaic.codec.gzip", "mosaic.codec.snappy", "mosaic.codec.lz4", "mosaic.codec.zstd"})
      if (host_.ensure(name, "builtin").ok())
        if (auto inst = host_.create(name, {})) (void)codecs_.install(*inst);
  }
  // Calls `on_record(offset, timestamp, record)` for each record and
  // `after_batch(batch)` after each batch.
  void read(std::span<const uint8_t> records,
            const std::function<void(int64_t, int64_t, const mosaic::log::record_view&)>& on_record,
            const std::function<void(const mosaic::log::batch_view&)>& after_batch = {}) {
    mosaic::log::for_each_batch(records, [&](const mosaic::log::batch_view& b) {
      std::vector<uint8_t> inflated;
      mosaic::log::batch_view view = b;
      if (b.codec() != 0) {
        plain_.clear();
        if (!codecs_.decompress(b.codec(), b.records(), plain_).ok())
          throw cli_error{1, "cannot decompress a batch at offset " + std::to_string(b.base_offset())};
        inflated.assign(b.bytes.begin(), b.bytes.begin() + mosaic::log::batch_layout::header_size);
        inflated.insert(inflated.end(), plain_.bytes().begin(), plain_.bytes().end());
        view = mosaic::log::batch_view{inflated};
      }
      if (!b.is_control())
        mosaic::log::for_each_record(view, [&](const mosaic::log::record_view& rec) {
          const int64_t ts = b.log_append_time() ? b.max_timestamp() : b.base_timestamp() + rec.timestamp_delta;
          on_record(b.base_offset() + rec.offset_delta, ts, rec);
        });
      if (after_batch) after_batch(b);
      return true;
    });
  }

 private:
  mosaic::plugin::plugin_host host_{{}, mosaic::app::builtin_plugins()};
  mosaic::plugin::codec_set codecs_;
  mosaic::plugin::byte_buffer plain_{256u << 20};
};

}  // namespace mosaic::cli
