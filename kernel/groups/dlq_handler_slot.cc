#include "kernel/groups/dlq_handler_slot.h"

#include <memory>
#include <utility>

namespace mosaic::groups {

namespace {

using generation = plugin::slot<mosaic_dlq_handler_vtable_v1>::generation_ptr;

mosaic_bytes_v1 view(const std::optional<std::vector<uint8_t>>& b) {
  return b ? mosaic_bytes_v1{b->data(), b->size()} : mosaic_bytes_v1{nullptr, 0};
}

std::optional<std::vector<uint8_t>> copy(mosaic_bytes_v1 b) {
  if (b.data == nullptr) return std::nullopt;
  return std::vector<uint8_t>(b.data, b.data + b.size);
}

// One letter in a handler's hands. It keeps the generation (so the
// plugin's code) alive until the handler calls done, and is the context of
// the writer lent with the letter.
struct letter_ctx {
  generation gen;
  std::function<void(bool, std::string)> done;
  dead_letter_writer* writer = nullptr;
  int32_t source_partition = 0;
  mosaic_dlq_writer_v1 table{};
};

void letter_done(void* ctx, mosaic_status_t status, const char* message) {
  std::unique_ptr<letter_ctx> l(static_cast<letter_ctx*>(ctx));
  if (status != MOSAIC_OK) l->gen->meter.failed_later();
  l->done(status == MOSAIC_OK, message != nullptr ? message : "");
}

void write_record(void* host_ctx, const char* topic, int32_t partition, mosaic_bytes_v1 key, mosaic_bytes_v1 value,
                  int64_t timestamp, const mosaic_record_header_v1* headers, size_t header_count,
                  mosaic_dlq_done_v1 done, void* done_ctx) {
  auto* l = static_cast<letter_ctx*>(host_ctx);
  std::vector<header_value> hs;
  hs.reserve(header_count);
  for (size_t i = 0; i < header_count; ++i)
    hs.push_back({headers[i].key != nullptr ? headers[i].key : "", copy(headers[i].value)});
  l->writer->write(topic != nullptr ? topic : "", partition, l->source_partition, copy(key), copy(value), timestamp,
                   std::move(hs),
                   [done, done_ctx](mosaic_status_t s, const std::string& why) { done(done_ctx, s, why.c_str()); });
}

}  // namespace

result<uint64_t> dlq_handler_slot::install(std::shared_ptr<plugin::instance> inst) {
  if (inst->factory().category != MOSAIC_CATEGORY_DLQ_HANDLER)
    return status(errc::invalid_argument, std::string(inst->factory().name) + " is not a DLQ handler");
  return slot_.publish(std::move(inst));
}

void dlq_handler_slot::visit(const plugin::meter_visitor& fn) const { slot_.visit("group.share.dlq.handler", fn); }

std::string dlq_handler_slot::current_name() const {
  auto gen = slot_.current();
  return gen ? gen->inst->factory().name : "";
}

dlq_handler_slot::outcome dlq_handler_slot::enqueue(const dead_letter_record& letter, dead_letter_writer* writer,
                                                    std::function<void(bool, std::string)> done) const {
  auto gen = slot_.current();
  if (!gen) return outcome::none;
  auto ctx = std::make_unique<letter_ctx>();
  ctx->gen = gen;
  ctx->done = std::move(done);
  ctx->writer = writer;
  ctx->source_partition = letter.partition;
  ctx->table = {sizeof(mosaic_dlq_writer_v1), ctx.get(), &write_record};
  mosaic_dead_letter_v1 l{sizeof(mosaic_dead_letter_v1),
                          letter.group.c_str(),
                          letter.topic.c_str(),
                          letter.partition,
                          letter.offset,
                          letter.delivery_count,
                          static_cast<int32_t>(letter.cause),
                          letter.dlq_topic.c_str(),
                          letter.copy_record ? 1 : 0,
                          letter.has_record ? 1 : 0,
                          view(letter.key),
                          view(letter.value),
                          letter.timestamp};
  char message[256] = {0};
  mosaic_error_v1 err{message, sizeof(message)};
  letter_ctx* raw = ctx.release();  // the handler owns it now, through done
  const auto began = plugin::call_meter::start();
  const mosaic_status_t s = gen->vt().enqueue(gen->handle, &l, &raw->table, &letter_done, raw, &err);
  gen->meter.done(began, s == MOSAIC_OK || s == MOSAIC_ERR_LIMIT);  // full is the handler's answer, not a fault
  if (s == MOSAIC_OK) return outcome::taken;
  delete raw;  // not taken: done will not be called
  return outcome::full;
}

}  // namespace mosaic::groups
