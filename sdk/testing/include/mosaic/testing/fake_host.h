// A stand-in for the broker, for a plugin's own tests: it opens the plugin's
// shared library the way the broker does (dlopen, the one entry symbol),
// validates config blocks with the broker's rules, creates instances, and
// records what the plugin logs and counts.
//
//   mosaic::testing::plugin_library lib("path/to/libmy_plugin.so");
//   mosaic::testing::fake_host host;
//   auto inst = host.create(lib.factory("com.acme.codec.rle"), {{"min_run", "4"}});
#pragma once

#include <dlfcn.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "mosaic/abi/plugin.h"
#include "mosaic/sdk/config_validation.h"

namespace mosaic::testing {

// The opaque mosaic_counter_v1 of this host (the broker has its own).
struct fake_counter {
  std::atomic<uint64_t> value{0};
};

class plugin_library {
 public:
  explicit plugin_library(const std::string& path) : path_(path) {
    handle_ = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle_ == nullptr) throw std::runtime_error(path + ": " + ::dlerror());
    auto entry = reinterpret_cast<mosaic_plugin_entry_fn_v1>(::dlsym(handle_, MOSAIC_PLUGIN_ENTRY_SYMBOL));
    if (entry == nullptr) throw std::runtime_error(path + ": no " MOSAIC_PLUGIN_ENTRY_SYMBOL);
    descriptor_ = entry();
    if (descriptor_ == nullptr || descriptor_->abi_major != MOSAIC_ABI_VERSION_MAJOR)
      throw std::runtime_error(path + ": not a plugin of ABI major " + std::to_string(MOSAIC_ABI_VERSION_MAJOR));
  }
  // Like the broker, the library stays mapped for the life of the process:
  // instances may still point into it.
  plugin_library(const plugin_library&) = delete;
  plugin_library& operator=(const plugin_library&) = delete;

  const mosaic_plugin_descriptor_v1& descriptor() const { return *descriptor_; }
  const mosaic_factory_v1& factory(const std::string& name) const {
    for (size_t i = 0; i < descriptor_->factory_count; ++i)
      if (name == descriptor_->factories[i]->name) return *descriptor_->factories[i];
    throw std::runtime_error(path_ + ": no factory '" + name + "'");
  }

 private:
  std::string path_;
  void* handle_ = nullptr;
  const mosaic_plugin_descriptor_v1* descriptor_ = nullptr;
};

// An instance made by a fake_host; destroys itself through its factory.
class fake_instance {
 public:
  fake_instance(const mosaic_factory_v1& f, void* handle, std::unique_ptr<sdk::validated_config> cfg)
      : factory_(&f), handle_(handle), config_(std::move(cfg)) {}
  ~fake_instance() { factory_->destroy(handle_); }
  fake_instance(const fake_instance&) = delete;
  fake_instance& operator=(const fake_instance&) = delete;

  void* handle() const { return handle_; }
  template <class Vtable>
  const Vtable& vtable() const {
    return *static_cast<const Vtable*>(factory_->vtable);
  }

 private:
  const mosaic_factory_v1* factory_;
  void* handle_;
  std::unique_ptr<sdk::validated_config> config_;
};

class fake_host {
 public:
  fake_host() {
    table_ = {sizeof(mosaic_host_v1), this, &log_fn, &now_ms_fn, &monotonic_ns_fn, &counter_fn, &counter_add_fn};
  }
  fake_host(const fake_host&) = delete;
  fake_host& operator=(const fake_host&) = delete;

  const mosaic_host_v1* abi() const { return &table_; }

  // Validates `config` (plain "key" -> "value"; a value in [a,b] form is a
  // list) and `lists` (lists whose items may hold commas) and creates an
  // instance. Throws std::runtime_error with the broker's message on
  // refusal.
  std::unique_ptr<fake_instance> create(const mosaic_factory_v1& f,
                                        const std::map<std::string, std::string>& config = {},
                                        const std::map<std::string, std::vector<std::string>>& lists = {}) {
    std::vector<sdk::raw_value> raw;
    for (const auto& [k, items] : lists) {
      sdk::raw_value r;
      r.name = k;
      r.type = sdk::raw_value::kind::list;
      r.items = items;
      raw.push_back(std::move(r));
    }
    for (const auto& [k, v] : config) {
      sdk::raw_value r;
      r.name = k;
      if (v.size() >= 2 && v.front() == '[' && v.back() == ']') {
        r.type = sdk::raw_value::kind::list;
        r.items = sdk::detail::split_list(std::string_view(v).substr(1, v.size() - 2));
      } else {
        r.scalar = v;
      }
      raw.push_back(std::move(r));
    }
    auto checked = sdk::validate_config(f, raw);
    if (!checked.config) throw std::runtime_error(checked.error);
    char message[512] = {0};
    mosaic_error_v1 err{message, sizeof(message)};
    void* handle = nullptr;
    mosaic_status_t rc = f.create(&table_, checked.config->view(), &handle, &err);
    if (rc != MOSAIC_OK) throw std::runtime_error(std::string(f.name) + " refused to start: " + message);
    return std::make_unique<fake_instance>(f, handle, std::move(checked.config));
  }

  std::vector<std::pair<int32_t, std::string>> logs() const {
    std::lock_guard lock(mu_);
    return logs_;
  }
  uint64_t counter(const std::string& name) const {
    std::lock_guard lock(mu_);
    auto it = counters_.find(name);
    return it == counters_.end() ? 0 : it->second->value.load();
  }

 private:
  static fake_host* self(void* ctx) { return static_cast<fake_host*>(ctx); }
  static void log_fn(void* ctx, int32_t level, const char* m, size_t len) {
    std::lock_guard lock(self(ctx)->mu_);
    self(ctx)->logs_.emplace_back(level, std::string(m, len));
  }
  static int64_t now_ms_fn(void*) {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }
  static int64_t monotonic_ns_fn(void*) {
    using namespace std::chrono;
    return duration_cast<nanoseconds>(steady_clock::now().time_since_epoch()).count();
  }
  static mosaic_counter_v1* counter_fn(void* ctx, const char* name, const char*) {
    if (name == nullptr || *name == '\0') return nullptr;
    std::lock_guard lock(self(ctx)->mu_);
    auto& c = self(ctx)->counters_[name];
    if (!c) c = std::make_unique<fake_counter>();
    return reinterpret_cast<mosaic_counter_v1*>(c.get());
  }
  static void counter_add_fn(void*, mosaic_counter_v1* c, uint64_t delta) {
    if (c != nullptr) reinterpret_cast<fake_counter*>(c)->value.fetch_add(delta);
  }

  mosaic_host_v1 table_{};
  mutable std::mutex mu_;
  std::vector<std::pair<int32_t, std::string>> logs_;
  std::map<std::string, std::unique_ptr<fake_counter>> counters_;
};

// A host-owned output buffer backed by a std::vector, with a limit.
class vector_buffer {
 public:
  explicit vector_buffer(size_t limit = SIZE_MAX) {
    b_ = {sizeof(mosaic_buffer_v1), nullptr, 0, 0, limit, this, &reserve_fn};
  }
  vector_buffer(const vector_buffer&) = delete;
  vector_buffer& operator=(const vector_buffer&) = delete;
  mosaic_buffer_v1* abi() { return &b_; }
  std::vector<uint8_t> bytes() const { return {storage_.begin(), storage_.begin() + static_cast<long>(b_.size)}; }
  void clear() { b_.size = 0; }

 private:
  static mosaic_status_t reserve_fn(mosaic_buffer_v1* b, size_t min_capacity) {
    auto* self = static_cast<vector_buffer*>(b->host_ctx);
    if (min_capacity > b->limit) return MOSAIC_ERR_LIMIT;
    if (min_capacity > self->storage_.size()) self->storage_.resize(min_capacity);
    b->data = self->storage_.data();
    b->capacity = self->storage_.size();
    return MOSAIC_OK;
  }
  mosaic_buffer_v1 b_{};
  std::vector<uint8_t> storage_;
};

}  // namespace mosaic::testing
