// The plugins linked into this binary. Defined by a file the build
// generates from MOSAIC_BUILTIN_PLUGINS, so the kernel's sources never name
// a plugin.
#pragma once

#include <vector>

#include "kernel/plugin/library.h"
#include "mosaic/adapter/broker.h"

namespace mosaic::app {

std::vector<plugin::builtin_plugin> builtin_plugins();

// The protocol adapters linked in, by the name a listener's `adapter` key
// gives.
struct builtin_adapter {
  const char* name;
  adapter::adapter_factory factory;
};
std::vector<builtin_adapter> builtin_adapters();

}  // namespace mosaic::app
