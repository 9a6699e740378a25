// com.acme.interceptor.require_keys: refuses a batch holding a record
// without a key, or with a key longer than `max.key.bytes`: for topics whose
// consumers (or compaction) depend on every record being keyed. The smallest
// complete record interceptor: it reads the records, rejects naming the
// record at fault, and is safe to call from many threads (it keeps no
// state).
#include <mosaic/sdk/record_interceptor.h>

#include <string>

class require_keys : public mosaic::sdk::record_interceptor<require_keys> {
 public:
  static constexpr const char* name = "com.acme.interceptor.require_keys";
  static constexpr const char* description = "every record must have a key, of at most max.key.bytes";
  static constexpr bool reads_records = true;
  static constexpr mosaic::sdk::field config_fields[] = {
      mosaic::sdk::int_field("max.key.bytes", "256", "the longest key taken", 1, 1 << 20)};

  require_keys(const mosaic::sdk::config& cfg, mosaic::sdk::host host)
      : max_(static_cast<size_t>(cfg.get_int("max.key.bytes", 256))) {
    host.info("keys required, at most " + std::to_string(max_) + " bytes");
  }

  mosaic::sdk::verdict intercept(const mosaic::sdk::produced_batch& b, const mosaic::sdk::stamp&) const {
    for (int32_t i = 0; i < b.record_count(); ++i) {
      const auto key = b.record(static_cast<size_t>(i)).key();
      if (!key || key->empty()) return mosaic::sdk::verdict::reject("record " + std::to_string(i) + " has no key", i);
      if (key->size() > max_)
        return mosaic::sdk::verdict::reject(
            "record " + std::to_string(i) + " has a key of " + std::to_string(key->size()) + " bytes", i);
    }
    return mosaic::sdk::verdict::accept();
  }

 private:
  size_t max_;
};

MOSAIC_PLUGIN("acme-require-keys", "1.0.0", require_keys)
