// Mosaic's version: the broker's, the SDK's and the adapter tier's (one
// number; the top-level CMakeLists.txt checks that its project version is
// this one).
#pragma once

#define MOSAIC_VERSION "0.1.0"
