// mosaicd: config -> plugins -> (services, listeners) -> wait for a signal.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "kernel/app/builtins.h"
#include "kernel/app/node.h"
#include "kernel/base/log.h"
#include "kernel/config/broker_config.h"
#include "kernel/plugin/library.h"
#include "mosaic/sdk/config_validation.h"

namespace {

using namespace mosaic;

void usage(std::FILE* to) {
  std::fprintf(to,
               "usage: mosaicd --config FILE [--set KEY=VALUE]...   start a node\n"
               "       mosaicd --validate-config FILE [--set KEY=VALUE]...\n"
               "                                      check a config and its plugin blocks, then exit\n"
               "       mosaicd --list-plugins [--config FILE]\n"
               "                                      list built-in plugins and those on the search path\n"
               "       mosaicd --help | --version\n"
               "\n"
               "--set overrides one key of the file (the value is read as YAML); repeat it for more keys.\n"
               "SIGTERM or SIGINT stops the node; SIGHUP re-reads the file and hot-swaps plugins whose\n"
               "library or config changed.\n\nconfig keys:\n");
  for (const auto& k : config::documented_keys())
    std::fprintf(to, "  %-22s %-13s default %s%s\n  %-22s %s\n", k.name, k.type, k.default_value,
                 k.dynamic ? " (dynamic)" : "", "", k.doc);
}

std::filesystem::path exe_dir() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::current_path() : p.parent_path();
}

void print_library(const plugin::library& lib) {
  const auto& d = lib.descriptor();
  for (size_t i = 0; i < d.factory_count; ++i) {
    const mosaic_factory_v1& f = *d.factories[i];
    std::printf("%s\n  category %s, library %s %s, ABI %u.%u, %s\n", f.name, plugin::category_name(f.category), d.name,
                d.version, d.abi_major, d.abi_minor, lib.origin().c_str());
    if (f.description != nullptr && *f.description != '\0') std::printf("  %s\n", f.description);
    for (size_t j = 0; j < f.config_field_count; ++j) {
      const mosaic_config_field_v1& c = *f.config_fields[j];
      std::string flags;
      if (c.flags & MOSAIC_CONFIG_REQUIRED) flags += " required";
      if (c.flags & MOSAIC_CONFIG_SECRET) flags += " secret";
      if (c.flags & MOSAIC_CONFIG_RECONFIGURABLE) flags += " reconfigurable";
      std::string range;
      if (c.type == MOSAIC_CONFIG_INT && (sdk::field_int_min(c) != INT64_MIN || sdk::field_int_max(c) != INT64_MAX))
        range = " [" + std::to_string(sdk::field_int_min(c)) + ".." + std::to_string(sdk::field_int_max(c)) + "]";
      std::printf("    config %s: %s%s%s%s%s%s\n", c.name, sdk::config_type_name(c.type), range.c_str(),
                  c.default_value != nullptr ? ", default " : "", c.default_value != nullptr ? c.default_value : "",
                  flags.c_str(), c.description != nullptr ? (std::string(" - ") + c.description).c_str() : "");
    }
  }
}

int list_plugins(const config::broker_config& cfg) {
  for (const auto& b : app::builtin_plugins()) {
    auto lib = plugin::library::from_builtin(b);
    if (lib)
      print_library(**lib);
    else
      std::printf("refused: %s\n", lib.error().message().c_str());
  }
  for (const auto& dir : cfg.plugin_search_paths) {
    std::error_code ec;
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
      if (entry.path().extension() == ".so") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      auto lib = plugin::library::open(f);
      if (lib)
        print_library(**lib);
      else
        std::printf("refused: %s\n", lib.error().message().c_str());
    }
  }
  return 0;
}

int run(const std::filesystem::path& config_file, const std::vector<std::string>& overrides,
        const config::broker_config& cfg) {
  // Signals are taken synchronously by this thread; every other thread
  // inherits the mask and never sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  log::info("mosaicd {} starting: node.id {}, roles {}, config {}", app::mosaic_version, cfg.node_id,
            fmt::format("{}", fmt::join(cfg.process_roles, ",")), config_file.string());
  // Every open partition holds a file per open segment: take all the file
  // descriptors the hard limit allows.
  if (rlimit lim{}; ::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &lim) == 0) log::debug("open files limit raised to {}", lim.rlim_cur);
  }
  app::node n(cfg, app::builtin_plugins());
  if (auto s = n.open_data_dirs(); !s.ok()) {
    log::error("{}", s.message());
    return 1;
  }
  if (auto s = n.load_plugins(); !s.ok()) {
    log::error("{}", s.message());
    return 1;
  }
  if (auto s = n.start_services(); !s.ok()) {
    log::error("{}", s.message());
    return 1;
  }
  log::info("mosaicd started, pid {}", ::getpid());

  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      log::info("SIGHUP: re-reading {}", config_file.string());
      auto fresh = config::load_broker_config(config_file, overrides, exe_dir());
      if (!fresh) {
        log::error("reload refused, nothing changed: {}", fresh.error().message());
        continue;
      }
      if (auto s = n.reload_plugins(*fresh); s.ok()) log::info("reload done");
      continue;
    }
    log::info("{}: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    break;
  }
  if (auto s = n.shutdown(); !s.ok()) {
    log::error("closing the logs: {}", s.message());
    return 1;
  }
  log::info("mosaicd stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Before any thread starts, so every thread inherits it: a client that
  // hangs up while its response goes out (by sendfile, which has no
  // MSG_NOSIGNAL) must cost its connection an EPIPE, not end the broker.
  ::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string config_file;
  std::vector<std::string> overrides;
  enum class mode { run, validate, list } m = mode::run;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const char* what) -> std::string {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "mosaicd: %s needs a value\n", what);
        std::exit(2);
      }
      return args[++i];
    };
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else if (a == "--version") {
      std::printf("mosaicd %s (plugin ABI %d.%d)\n", app::mosaic_version, MOSAIC_ABI_VERSION_MAJOR,
                  MOSAIC_ABI_VERSION_MINOR);
      return 0;
    } else if (a == "--config" || a == "-c") {
      config_file = value("--config");
    } else if (a == "--validate-config") {
      config_file = value("--validate-config");
      m = mode::validate;
    } else if (a == "--list-plugins") {
      m = mode::list;
    } else if (a == "--set") {
      overrides.push_back(value("--set"));
    } else if (a.rfind("--set=", 0) == 0) {
      overrides.push_back(a.substr(6));
    } else {
      std::fprintf(stderr, "mosaicd: unknown argument '%s'\n", a.c_str());
      usage(stderr);
      return 2;
    }
  }
  if (config_file.empty() && m != mode::list) {
    std::fprintf(stderr, "mosaicd: --config FILE is required\n");
    usage(stderr);
    return 2;
  }

  auto cfg = config_file.empty() ? config::parse_broker_config("", "<defaults>", overrides, exe_dir())
                                 : config::load_broker_config(config_file, overrides, exe_dir());
  if (!cfg) {
    std::fprintf(stderr, "mosaicd: %s\n", cfg.error().message().c_str());
    return 2;
  }
  log::set_level(*log::parse_level(cfg->log_level));

  if (m == mode::list) return list_plugins(*cfg);
  if (m == mode::validate) {
    log::set_level(log::level::warn);
    app::node n(*cfg, app::builtin_plugins());
    if (auto s = n.load_plugins(/*dry_run=*/true); !s.ok()) {
      std::fprintf(stderr, "mosaicd: %s\n", s.message().c_str());
      return 2;
    }
    std::printf("%s: config is valid (%zu plugins)\n", config_file.c_str(), cfg->plugins.size());
    return 0;
  }
  return run(config_file, overrides, *cfg);
}
