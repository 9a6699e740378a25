// The plugins linked into this binary. Defined by a file the build
// generates from MOSAIC_BUILTIN_PLUGINS, so the kernel's sources never name
// a plugin.
#pragma once

#include <vector>

#include "kernel/plugin/library.h"

namespace mosaic::app {

std::vector<plugin::builtin_plugin> builtin_plugins();

}  // namespace mosaic::app
