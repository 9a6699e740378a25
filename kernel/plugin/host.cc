#include "kernel/plugin/host.h"

#include <chrono>
#include <optional>

#include "kernel/base/log.h"
#include "kernel/base/numbers.h"

namespace mosaic::plugin {

// ---- counters -------------------------------------------------------------

mosaic_counter_v1* counter_registry::get(const std::string& name, const std::string& help) {
  std::lock_guard lock(mu_);
  auto& slot = counters_[name];
  if (!slot) {
    slot = std::make_unique<mosaic_counter_v1>();
    slot->name = name;
    slot->help = help;
  }
  return slot.get();
}

std::map<std::string, uint64_t> counter_registry::snapshot() const {
  std::lock_guard lock(mu_);
  std::map<std::string, uint64_t> out;
  for (const auto& [name, c] : counters_) out[name] = c->value.load(std::memory_order_relaxed);
  return out;
}

// ---- host services given to each instance ----------------------------------

struct instance::services {
  std::string plugin_name;
  std::shared_ptr<counter_registry> counters;
  mosaic_host_v1 table{};

  static services* self(void* ctx) { return static_cast<services*>(ctx); }

  static void log(void* ctx, int32_t level, const char* message, size_t len) {
    log::level lv = level <= MOSAIC_LOG_TRACE   ? log::level::trace
                    : level == MOSAIC_LOG_DEBUG ? log::level::debug
                    : level == MOSAIC_LOG_INFO  ? log::level::info
                    : level == MOSAIC_LOG_WARN  ? log::level::warn
                                                : log::level::error;
    if (message == nullptr) return;
    log::write(lv, self(ctx)->plugin_name, std::string_view(message, len));
  }
  static int64_t now_ms(void*) { return wall_ms(); }
  static int64_t monotonic_ns(void*) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  static mosaic_counter_v1* counter(void* ctx, const char* name, const char* help) {
    if (name == nullptr || *name == '\0') return nullptr;
    try {
      return self(ctx)->counters->get(self(ctx)->plugin_name + "." + name, help != nullptr ? help : "");
    } catch (...) {
      return nullptr;
    }
  }
  static void counter_add(void*, mosaic_counter_v1* c, uint64_t delta) {
    if (c != nullptr) c->value.fetch_add(delta, std::memory_order_relaxed);
  }

  services(std::string name, std::shared_ptr<counter_registry> registry)
      : plugin_name(std::move(name)), counters(std::move(registry)) {
    table = {sizeof(mosaic_host_v1), this, &log, &now_ms, &monotonic_ns, &counter, &counter_add};
  }
};

instance::~instance() {
  if (handle_ != nullptr) factory_->destroy(handle_);
}

// ---- the host ---------------------------------------------------------------

plugin_host::plugin_host(std::vector<std::filesystem::path> search_paths, std::vector<builtin_plugin> builtins)
    : search_paths_(std::move(search_paths)),
      builtins_(std::move(builtins)),
      counters_(std::make_shared<counter_registry>()) {}

plugin_host::~plugin_host() = default;

result<std::filesystem::path> plugin_host::resolve(const std::string& library_name) const {
  if (library_name.find('/') != std::string::npos) return std::filesystem::path(library_name);
  const bool has_suffix = library_name.size() > 3 && library_name.ends_with(".so");
  const std::string file = has_suffix ? library_name : "lib" + library_name + ".so";
  std::string looked;
  for (const auto& dir : search_paths_) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(dir / file, ec)) return dir / file;
    looked += (looked.empty() ? "" : ", ") + dir.string();
  }
  return status(errc::not_found, "plugin library '" + file + "': no such file in the search paths (" +
                                     (looked.empty() ? std::string("none set") : looked) + ")");
}

status plugin_host::register_library(const std::shared_ptr<const library>& lib, bool replace) {
  std::lock_guard lock(mu_);
  const auto& d = lib->descriptor();
  for (size_t i = 0; i < d.factory_count && !replace; ++i) {
    auto it = factories_.find(d.factories[i]->name);
    if (it != factories_.end())
      return status(errc::already_exists, "plugin library '" + lib->origin() + "': factory '" + d.factories[i]->name +
                                              "' is already provided by '" + it->second.lib->origin() + "'");
  }
  for (size_t i = 0; i < d.factory_count; ++i) factories_[d.factories[i]->name] = {d.factories[i], lib};
  libraries_[lib->origin()] = lib;
  return {};
}

result<std::shared_ptr<const library>> plugin_host::load_shared(const std::string& library_name, bool replace) {
  auto path = resolve(library_name);
  if (!path) return path.error();
  std::error_code ec;
  auto canonical = std::filesystem::weakly_canonical(*path, ec);
  const std::string key = ec ? path->string() : canonical.string();
  trust_policy trust;
  std::function<void(const std::string&, const std::string&)> hook;
  {
    std::lock_guard lock(mu_);
    if (auto it = libraries_.find(key); it != libraries_.end()) return it->second;
    trust = trust_;
    hook = refusal_hook_;
  }
  // Read once: for the trust rules, and kept with the library (the audit).
  const auto& file = ec ? *path : canonical;
  auto digest = file_sha256(file);
  if (auto s = check_trust(file, digest ? *digest : std::string(), trust); !s.ok()) {
    log::warn("plugin library '{}' refused: {}", key, s.message());
    if (hook) hook(key, s.message());
    return status(errc::config, "plugin library '" + key + "': refused by plugins.trust: " + s.message());
  }
  auto lib = library::open(file, digest ? *digest : std::string());
  if (!lib) return lib.error();
  if (auto s = register_library(*lib, replace); !s.ok()) return s;
  log::info("loaded plugin library {} {} from {} (ABI {}.{})", (*lib)->descriptor().name, (*lib)->descriptor().version,
            (*lib)->origin(), (*lib)->descriptor().abi_major, (*lib)->descriptor().abi_minor);
  return lib;
}

void plugin_host::set_refusal_hook(std::function<void(const std::string&, const std::string&)> hook) {
  std::lock_guard lock(mu_);
  refusal_hook_ = std::move(hook);
}

void plugin_host::set_trust(trust_policy policy) {
  std::lock_guard lock(mu_);
  trust_ = std::move(policy);
}

result<std::shared_ptr<const library>> plugin_host::load_builtin(const std::string& library_name, bool replace) {
  for (const auto& b : builtins_) {
    if (library_name != b.library_name) continue;
    const std::string origin = std::string("builtin:") + b.library_name;
    {
      std::lock_guard lock(mu_);
      if (auto it = libraries_.find(origin); it != libraries_.end()) return it->second;
    }
    auto lib = library::from_builtin(b);
    if (!lib) return lib.error();
    if (auto s = register_library(*lib, replace); !s.ok()) return s;
    log::info("using built-in plugin library {} {}", (*lib)->descriptor().name, (*lib)->descriptor().version);
    return lib;
  }
  return status(errc::not_found, "no built-in plugin library '" + library_name + "' in this binary");
}

namespace {

// "mosaic.codec.zstd" -> "mosaic_codec_zstd": the library that name implies.
std::string implied_library(const std::string& factory_name) {
  std::string lib = factory_name;
  for (char& c : lib)
    if (c == '.') c = '_';
  return lib;
}

bool offers(const builtin_plugin& b, const std::string& factory_name) {
  const mosaic_plugin_descriptor_v1* d = b.entry();
  if (d == nullptr || d->factories == nullptr) return false;
  for (size_t i = 0; i < d->factory_count; ++i)
    if (d->factories[i] != nullptr && d->factories[i]->name != nullptr && factory_name == d->factories[i]->name)
      return true;
  return false;
}

}  // namespace

status plugin_host::ensure(const std::string& factory_name, const std::optional<std::string>& lib_name, bool replace) {
  result<std::shared_ptr<const library>> from = std::shared_ptr<const library>();
  auto from_builtin = [&]() -> bool {
    for (const auto& b : builtins_)
      if (offers(b, factory_name)) {
        from = load_builtin(b.library_name, replace);
        return true;
      }
    return false;
  };
  if (lib_name && *lib_name == "builtin") {
    if (!from_builtin()) return status(errc::not_found, "plugin '" + factory_name + "': no built-in library offers it");
  } else if (lib_name) {
    from = load_shared(*lib_name, replace);
  } else if (find(factory_name) != nullptr && !replace) {
    return {};
  } else if (!from_builtin()) {
    from = load_shared(implied_library(factory_name), replace);
    // Replacing with no library named: where it comes from by default, or
    // else the library that serves it now.
    if (!from && replace && find(factory_name) != nullptr) return {};
  }
  if (!from) return from.error();
  // A library loaded before (and since replaced) serves its names again.
  if (replace && *from) (void)register_library(*from, true);
  const factory_entry* f = find(factory_name);
  if (f == nullptr || (*from && f->lib != *from))
    return status(errc::not_found, "plugin '" + factory_name + "': " +
                                       (*from ? "library '" + (*from)->origin() + "' does not offer it"
                                              : std::string("not offered by any loaded library")));
  return {};
}

const factory_entry* plugin_host::find(const std::string& factory_name) const {
  std::lock_guard lock(mu_);
  auto it = factories_.find(factory_name);
  return it == factories_.end() ? nullptr : &it->second;
}

std::vector<factory_entry> plugin_host::factories() const {
  std::lock_guard lock(mu_);
  std::vector<factory_entry> out;
  for (const auto& [name, f] : factories_) out.push_back(f);
  return out;
}

result<std::unique_ptr<sdk::validated_config>> plugin_host::check_config(const std::string& factory_name,
                                                                         std::span<const sdk::raw_value> config,
                                                                         const std::string& where) const {
  const factory_entry* entry = find(factory_name);
  if (entry == nullptr)
    return status(errc::not_found, (where.empty() ? "" : where + ": ") + "plugin '" + factory_name + "' is not loaded");
  auto checked = sdk::validate_config(*entry->factory, config, where);
  if (!checked.config) return status(errc::config, checked.error);
  return std::move(checked.config);
}

result<std::shared_ptr<instance>> plugin_host::create(const std::string& factory_name,
                                                      std::span<const sdk::raw_value> config,
                                                      const std::string& where) {
  auto checked = check_config(factory_name, config, where);
  if (!checked) return checked.error();
  const factory_entry* entry = find(factory_name);
  std::shared_ptr<instance> inst(new instance());
  inst->lib_ = entry->lib;
  inst->factory_ = entry->factory;
  inst->config_ = std::move(*checked);
  inst->services_ = std::make_unique<instance::services>(factory_name, counters_);
  char message[512] = {0};
  mosaic_error_v1 err{message, sizeof(message)};
  void* handle = nullptr;
  mosaic_status_t rc = entry->factory->create(&inst->services_->table, inst->config_->view(), &handle, &err);
  if (rc != MOSAIC_OK || handle == nullptr)
    return status(rc == MOSAIC_ERR_CONFIG ? errc::config : errc::internal,
                  (where.empty() ? "" : where + ": ") + "plugin '" + factory_name + "' refused to start: " +
                      (message[0] != '\0' ? std::string(message) : "status " + std::to_string(rc)));
  inst->handle_ = handle;
  return inst;
}

}  // namespace mosaic::plugin
