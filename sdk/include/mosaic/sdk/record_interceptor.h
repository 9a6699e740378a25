// C++ side of the record interceptor category: derive from
// `record_interceptor<T>` and provide `intercept`:
//
//   class require_keys : public mosaic::sdk::record_interceptor<require_keys> {
//    public:
//     static constexpr const char* name = "com.acme.interceptor.require_keys";
//     static constexpr bool reads_records = true;  // false: header fields only, no decompression
//     require_keys(const mosaic::sdk::config& cfg, mosaic::sdk::host host);
//     mosaic::sdk::verdict intercept(const mosaic::sdk::produced_batch& batch, mosaic::sdk::stamp& stamp);
//   };
//
// `intercept` returns `verdict::accept()` or `verdict::reject(why, index)`,
// may add headers to every record through `stamp`, and is called
// concurrently from network threads: it must not block (see
// mosaic/abi/record_interceptor.h). An exception is a failure of the
// interceptor, and the batch is refused.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mosaic/abi/record_interceptor.h"
#include "mosaic/sdk/plugin.h"

namespace mosaic::sdk {

inline std::string_view text_of(mosaic_bytes_v1 b) {
  return b.data == nullptr ? std::string_view() : std::string_view(reinterpret_cast<const char*>(b.data), b.size);
}
inline std::optional<std::string_view> maybe_text(mosaic_bytes_v1 b) {
  if (b.data == nullptr) return std::nullopt;
  return std::string_view(reinterpret_cast<const char*>(b.data), b.size);
}

struct record_header_view {
  std::string_view key;
  std::optional<std::string_view> value;
};

// A record, as views into the broker's buffers: valid during `intercept`.
class record_view {
 public:
  explicit record_view(const mosaic_record_view_v1* r) : r_(r) {}
  int32_t offset_delta() const noexcept { return r_->offset_delta; }
  int64_t timestamp() const noexcept { return r_->timestamp; }
  std::optional<std::string_view> key() const { return maybe_text(r_->key); }
  std::optional<std::string_view> value() const { return maybe_text(r_->value); }
  size_t header_count() const noexcept { return r_->header_count; }
  record_header_view header(size_t i) const { return {text_of(r_->headers[i].key), maybe_text(r_->headers[i].value)}; }

 private:
  const mosaic_record_view_v1* r_;
};

// The batch, as views: valid during `intercept`.
class produced_batch {
 public:
  explicit produced_batch(const mosaic_produced_batch_v1* b) : b_(b) {}
  std::string_view topic() const { return text_of(b_->topic); }
  int32_t partition() const noexcept { return b_->partition; }
  std::string_view principal() const { return text_of(b_->principal); }
  std::string_view client_id() const { return text_of(b_->client_id); }
  int64_t producer_id() const noexcept { return b_->producer_id; }
  int16_t producer_epoch() const noexcept { return b_->producer_epoch; }
  int32_t base_sequence() const noexcept { return b_->base_sequence; }
  int32_t codec() const noexcept { return b_->codec; }
  int64_t base_timestamp() const noexcept { return b_->base_timestamp; }
  int64_t max_timestamp() const noexcept { return b_->max_timestamp; }
  int32_t record_count() const noexcept { return b_->record_count; }
  // The records (empty unless the interceptor reads them).
  bool has_records() const noexcept { return b_->records != nullptr; }
  record_view record(size_t i) const { return record_view(b_->records[i]); }
  const mosaic_produced_batch_v1* raw() const noexcept { return b_; }

 private:
  const mosaic_produced_batch_v1* b_;
};

// Adds headers to every record of the batch (applied if the chain accepts).
class stamp {
 public:
  explicit stamp(mosaic_intercept_result_v1* r) : r_(r) {}
  // `replace`: the records' own headers with this key go first.
  void add(std::string_view key, std::optional<std::string_view> value, bool replace = true) const {
    const mosaic_bytes_v1 k{reinterpret_cast<const uint8_t*>(key.data()), key.size()};
    const mosaic_bytes_v1 v = value ? mosaic_bytes_v1{reinterpret_cast<const uint8_t*>(value->data()), value->size()}
                                    : mosaic_bytes_v1{nullptr, 0};
    if (const mosaic_status_t s = r_->add_header(r_->host_ctx, k, v, replace ? 1 : 0); s != MOSAIC_OK)
      throw error(s, "the broker refused header '" + std::string(key) + "' (too many or too large)");
  }

 private:
  mosaic_intercept_result_v1* r_;
};

class verdict {
 public:
  static verdict accept() { return verdict(); }
  // The whole batch is refused; `record_index` names the record at fault.
  static verdict reject(std::string why, int32_t record_index = -1) {
    verdict v;
    v.reject_ = true;
    v.why_ = std::move(why);
    v.index_ = record_index;
    return v;
  }
  bool rejected() const noexcept { return reject_; }
  const std::string& why() const noexcept { return why_; }
  int32_t record_index() const noexcept { return index_; }

 private:
  bool reject_ = false;
  std::string why_;
  int32_t index_ = -1;
};

template <class T>
struct record_interceptor_binding {
  static mosaic_status_t intercept(void* instance, const mosaic_produced_batch_v1* batch,
                                   mosaic_intercept_result_v1* result, mosaic_error_v1* err) noexcept {
    return barrier(err, [&] {
      stamp st(result);
      const verdict v = static_cast<T*>(instance)->intercept(produced_batch(batch), st);
      if (!v.rejected()) return;
      result->verdict = MOSAIC_INTERCEPT_REJECT;
      result->record_index = v.record_index();
      write_error(&result->reason, v.why());
    });
  }
  static constexpr mosaic_record_interceptor_vtable_v1 table = {
      sizeof(mosaic_record_interceptor_vtable_v1), T::reads_records ? MOSAIC_INTERCEPTOR_READS_RECORDS : 0u,
      &intercept};
};

template <class T>
struct record_interceptor {
  static constexpr int32_t category = MOSAIC_CATEGORY_RECORD_INTERCEPTOR;
  using binding = record_interceptor_binding<T>;
};

}  // namespace mosaic::sdk
