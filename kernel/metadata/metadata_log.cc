#include "kernel/metadata/metadata_log.h"

#include "kernel/log/batch_builder.h"
#include "kernel/log/record_batch.h"

namespace mosaic::metadata {

status local_metadata_log::replay(const entry_fn& apply) {
  int64_t at = log_->log_start_offset();
  const int64_t end = log_->log_end_offset();
  while (at < end) {
    auto read = log_->read(at, 1 << 20, end);
    if (!read) return read.error();
    std::vector<uint8_t> bytes;
    if (auto s = read->copy_to(bytes); !s) return s;
    status bad;
    const size_t whole = log::for_each_batch(bytes, [&](const log::batch_view& b) {
      bool ok = log::for_each_record(b, [&](const log::record_view& r) {
        if (!r.value) return;
        auto records = decode(*r.value);
        if (!records) {
          bad = records.error();
          return;
        }
        apply(b.base_offset() + r.offset_delta, *records);
      });
      if (!ok)
        bad = status(errc::corrupt,
                     "a metadata batch at offset " + std::to_string(b.base_offset()) + " has a malformed record");
      at = b.last_offset() + 1;
      return bad.ok();
    });
    if (!bad) return bad;
    if (whole == 0) return status(errc::corrupt, "the metadata log holds a torn batch at " + std::to_string(at));
  }
  return {};
}

result<int64_t> local_metadata_log::commit(const std::vector<record>& records) {
  const auto bytes = encode(records);
  log::batch_builder b;
  b.add(std::nullopt, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  auto batch = b.finish();
  auto r = log_->append(batch, 0);
  if (!r.io) return r.io;
  if (r.refused) return status(errc::limit, "metadata entry refused: " + r.refused->message);
  if (auto s = log_->wait_durable(r.last_offset); !s) return s;
  log_->set_high_watermark(r.last_offset + 1);
  return r.base_offset;
}

status metadata_store::load() {
  std::lock_guard g(mu_);
  return log_->replay([&](int64_t offset, const std::vector<record>& records) {
    for (const auto& r : records) image_.apply(r);
    applied_ = offset;
  });
}

result<int64_t> metadata_store::propose(const std::vector<record>& records) {
  std::lock_guard g(mu_);
  auto offset = log_->commit(records);
  if (!offset) return offset;
  for (const auto& r : records) image_.apply(r);
  applied_ = *offset;
  return offset;
}

int64_t metadata_store::applied_offset() const {
  std::lock_guard g(mu_);
  return applied_;
}

}  // namespace mosaic::metadata
