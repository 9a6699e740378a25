// The plugin host: finds plugin libraries (built-in or on the search path),
// checks them, keeps a registry of the factories they offer, and creates
// instances from validated config blocks.
//
// Threading: loading and creating happen on a control thread; the registry
// is guarded by a mutex so that a hot swap may run beside listings.
// Instances are used from any thread (their category's header says how).
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "kernel/base/status.h"
#include "kernel/plugin/library.h"
#include "kernel/plugin/trust.h"
#include "mosaic/sdk/config_validation.h"

// The opaque counter of the C ABI, defined by the host.
struct mosaic_counter_v1 {
  std::string name;
  std::string help;
  std::atomic<uint64_t> value{0};
};

namespace mosaic::plugin {

// Counters plugins register, by full name ("<plugin id>.<name>").
class counter_registry {
 public:
  mosaic_counter_v1* get(const std::string& name, const std::string& help);
  std::map<std::string, uint64_t> snapshot() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<mosaic_counter_v1>> counters_;
};

// One object made by a factory. Destroying it calls the factory's destroy,
// then lets go of the library, in that order.
class instance {
 public:
  ~instance();
  instance(const instance&) = delete;
  instance& operator=(const instance&) = delete;

  void* handle() const noexcept { return handle_; }
  const mosaic_factory_v1& factory() const noexcept { return *factory_; }
  const void* vtable() const noexcept { return factory_->vtable; }
  const library& lib() const noexcept { return *lib_; }
  const sdk::validated_config& config() const noexcept { return *config_; }

 private:
  friend class plugin_host;
  struct services;  // the mosaic_host_v1 this instance was given
  instance() = default;

  // Declared first, destroyed last: the code must outlive the object.
  std::shared_ptr<const library> lib_;
  std::unique_ptr<services> services_;
  std::unique_ptr<sdk::validated_config> config_;
  const mosaic_factory_v1* factory_ = nullptr;
  void* handle_ = nullptr;
};

struct factory_entry {
  const mosaic_factory_v1* factory;
  std::shared_ptr<const library> lib;
};

class plugin_host {
 public:
  plugin_host(std::vector<std::filesystem::path> search_paths, std::vector<builtin_plugin> builtins);
  ~plugin_host();

  // The file a library name stands for: a path (with a '/') as it is,
  // otherwise "lib<name>.so" (or the name itself, if it ends in ".so") in
  // the first search path that has it.
  result<std::filesystem::path> resolve(const std::string& library_name) const;

  // Opens a shared library and registers its factories. Opening the same
  // file again returns the registered library. A factory name that another
  // library already registered is refused, unless `replace`: then this
  // library's factories are the ones found from now on (instances made
  // before keep theirs).
  result<std::shared_ptr<const library>> load_shared(const std::string& library_name, bool replace = false);
  // Registers a built-in library by its name ("mosaic_codec_zstd").
  result<std::shared_ptr<const library>> load_builtin(const std::string& library_name, bool replace = false);
  // Makes `factory_name` available: from `library` if given ("builtin" or
  // a file), else from a built-in that offers it, else from the library the
  // name implies ("mosaic.codec.zstd" -> libmosaic_codec_zstd.so). With
  // `replace` (a cluster swap to another library of a plugin id), the
  // library given is made the one that serves its factory names, even if
  // another (or it, before another) served them.
  status ensure(const std::string& factory_name, const std::optional<std::string>& library, bool replace = false);

  const factory_entry* find(const std::string& factory_name) const;
  std::vector<factory_entry> factories() const;

  // Checks `config` against the factory's declared fields; `where` locates
  // the block in messages.
  result<std::unique_ptr<sdk::validated_config>> check_config(const std::string& factory_name,
                                                              std::span<const sdk::raw_value> config,
                                                              const std::string& where = {}) const;
  // check_config, then the factory's create.
  result<std::shared_ptr<instance>> create(const std::string& factory_name, std::span<const sdk::raw_value> config,
                                           const std::string& where = {});

  // Which shared libraries may be loaded from now on (plugins.trust); a
  // library refused is named with the rule in the message and logged.
  void set_trust(trust_policy policy);
  // Told of each library plugins.trust refuses (the audit log).
  void set_refusal_hook(std::function<void(const std::string& library, const std::string& reason)> hook);

  const std::vector<builtin_plugin>& builtins() const noexcept { return builtins_; }
  const std::vector<std::filesystem::path>& search_paths() const noexcept { return search_paths_; }
  counter_registry& counters() noexcept { return *counters_; }

 private:
  status register_library(const std::shared_ptr<const library>& lib, bool replace = false);

  std::vector<std::filesystem::path> search_paths_;
  std::vector<builtin_plugin> builtins_;
  std::shared_ptr<counter_registry> counters_;
  mutable std::mutex mu_;
  std::map<std::string, factory_entry> factories_;
  std::map<std::string, std::shared_ptr<const library>> libraries_;  // by origin
  trust_policy trust_;
  std::function<void(const std::string&, const std::string&)> refusal_hook_;
};

}  // namespace mosaic::plugin
