// C++ side of the DLQ handler category: derive from `dlq_handler<T>` and
// provide `enqueue`:
//
//   class my_handler : public mosaic::sdk::dlq_handler<my_handler> {
//    public:
//     static constexpr const char* name = "com.acme.dlq.s3";
//     my_handler(const mosaic::sdk::config& cfg, mosaic::sdk::host host);
//     // true: taken, `done` will be called once; false: the queue is full.
//     bool enqueue(const mosaic::sdk::dead_letter& letter, const mosaic::sdk::dlq_writer& writer,
//                  mosaic::sdk::dlq_done done);
//   };
//
// `enqueue` must not block (see mosaic/abi/dlq_handler.h).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mosaic/abi/dlq_handler.h"
#include "mosaic/sdk/plugin.h"

namespace mosaic::sdk {

inline std::optional<std::span<const uint8_t>> bytes_of(mosaic_bytes_v1 b) {
  if (b.data == nullptr) return std::nullopt;
  return std::span<const uint8_t>(b.data, b.size);
}

inline mosaic_bytes_v1 bytes_to(const std::optional<std::span<const uint8_t>>& b) {
  return b ? mosaic_bytes_v1{b->data(), b->size()} : mosaic_bytes_v1{nullptr, 0};
}

// A letter, as views into the broker's data: valid during `enqueue` only.
struct dead_letter {
  std::string_view group_id, topic, dlq_topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int32_t delivery_count = 0;
  int32_t cause = 0;  // MOSAIC_SHARE_CAUSE_*
  bool copy_record = false;
  bool has_record = false;
  std::optional<std::span<const uint8_t>> key, value;
  int64_t timestamp = -1;
};

// Completes one letter; call exactly once (copyable, but only one copy may
// be called).
class dlq_done {
 public:
  dlq_done(mosaic_dlq_done_v1 callback, void* context) : fn_(callback), ctx_(context) {}
  void operator()(mosaic_status_t status, const char* message = "") const { fn_(ctx_, status, message); }
  mosaic_dlq_done_v1 fn() const noexcept { return fn_; }
  void* ctx() const noexcept { return ctx_; }

 private:
  mosaic_dlq_done_v1 fn_;
  void* ctx_;
};

struct record_header {
  std::string key;
  std::optional<std::string> value;
};

class dlq_writer {
 public:
  explicit dlq_writer(const mosaic_dlq_writer_v1* w) : w_(w) {}
  // Appends one record; `done` is called once it is stored or failed.
  void write(const std::string& topic, int32_t partition, std::optional<std::span<const uint8_t>> key,
             std::optional<std::span<const uint8_t>> value, int64_t timestamp,
             const std::vector<record_header>& headers, mosaic_dlq_done_v1 done, void* done_ctx) const {
    std::vector<mosaic_record_header_v1> hs;
    hs.reserve(headers.size());
    for (const auto& h : headers)
      hs.push_back(
          {h.key.c_str(), h.value ? mosaic_bytes_v1{reinterpret_cast<const uint8_t*>(h.value->data()), h.value->size()}
                                  : mosaic_bytes_v1{nullptr, 0}});
    w_->write(w_->host_ctx, topic.c_str(), partition, bytes_to(key), bytes_to(value), timestamp, hs.data(), hs.size(),
              done, done_ctx);
  }

 private:
  const mosaic_dlq_writer_v1* w_;
};

template <class T>
struct dlq_handler_binding {
  static mosaic_status_t enqueue(void* instance, const mosaic_dead_letter_v1* l, const mosaic_dlq_writer_v1* w,
                                 mosaic_dlq_done_v1 done, void* done_ctx, mosaic_error_v1* err) noexcept {
    bool taken = false;
    const mosaic_status_t s = barrier(err, [&] {
      dead_letter d;
      d.group_id = l->group_id ? l->group_id : "";
      d.topic = l->topic ? l->topic : "";
      d.dlq_topic = l->dlq_topic ? l->dlq_topic : "";
      d.partition = l->partition;
      d.offset = l->offset;
      d.delivery_count = l->delivery_count;
      d.cause = l->cause;
      d.copy_record = l->copy_record != 0;
      d.has_record = l->has_record != 0;
      d.key = bytes_of(l->key);
      d.value = bytes_of(l->value);
      d.timestamp = l->timestamp;
      taken = static_cast<T*>(instance)->enqueue(d, dlq_writer(w), dlq_done(done, done_ctx));
    });
    if (s != MOSAIC_OK) return s;
    return taken ? MOSAIC_OK : MOSAIC_ERR_LIMIT;
  }
  static constexpr mosaic_dlq_handler_vtable_v1 table = {sizeof(mosaic_dlq_handler_vtable_v1), &enqueue};
};

template <class T>
struct dlq_handler {
  static constexpr int32_t category = MOSAIC_CATEGORY_DLQ_HANDLER;
  using binding = dlq_handler_binding<T>;
};

}  // namespace mosaic::sdk
