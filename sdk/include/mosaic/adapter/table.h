// The build signature of the protocol adapter tier and the table an
// adapter factory offers (plugin.h explains both). Light on purpose: the
// plugin host reads it to check a library without the broker API.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "mosaic/version.h"

// Bumped with every change to a header under mosaic/adapter/ between
// releases, so that a development build refuses an adapter built against
// the headers as they were.
#define MOSAIC_ADAPTER_REVISION 5

#define MOSAIC_ADAPTER_STR_(x) #x
#define MOSAIC_ADAPTER_STR(x) MOSAIC_ADAPTER_STR_(x)

#if defined(__clang__)
#define MOSAIC_ADAPTER_COMPILER_ "clang " __clang_version__
#elif defined(__GNUC__)
#define MOSAIC_ADAPTER_COMPILER_ "g++ " __VERSION__
#else
#define MOSAIC_ADAPTER_COMPILER_ "unknown compiler"
#endif

#if defined(__GLIBCXX__)
#define MOSAIC_ADAPTER_STDLIB_ \
  "libstdc++ " MOSAIC_ADAPTER_STR(__GLIBCXX__) " cxx11-abi=" MOSAIC_ADAPTER_STR(_GLIBCXX_USE_CXX11_ABI)
#elif defined(_LIBCPP_VERSION)
#define MOSAIC_ADAPTER_STDLIB_ "libc++ " MOSAIC_ADAPTER_STR(_LIBCPP_VERSION)
#else
#define MOSAIC_ADAPTER_STDLIB_ "unknown standard library"
#endif

#if defined(_GLIBCXX_DEBUG)
#define MOSAIC_ADAPTER_DEBUG_ " debug-containers"
#else
#define MOSAIC_ADAPTER_DEBUG_ ""
#endif

// Sanitizers change what an object is built with (TSan's and ASan's
// instrumentation must be on both sides of a call to mean anything).
#if defined(__SANITIZE_ADDRESS__)
#define MOSAIC_ADAPTER_SANITIZER_ "address"
#elif defined(__SANITIZE_THREAD__)
#define MOSAIC_ADAPTER_SANITIZER_ "thread"
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MOSAIC_ADAPTER_SANITIZER_ "address"
#elif __has_feature(thread_sanitizer)
#define MOSAIC_ADAPTER_SANITIZER_ "thread"
#endif
#endif
#ifndef MOSAIC_ADAPTER_SANITIZER_
#define MOSAIC_ADAPTER_SANITIZER_ "none"
#endif

// "mosaic 0.1.0 adapter-rev 1; g++ 12.2.0; libstdc++ 20220819 cxx11-abi=1;
// C++ 202002; sanitizer none": what an adapter was built with.
#define MOSAIC_ADAPTER_BUILD_SIGNATURE                                                                         \
  "mosaic " MOSAIC_VERSION " adapter-rev " MOSAIC_ADAPTER_STR(                                                 \
      MOSAIC_ADAPTER_REVISION) "; " MOSAIC_ADAPTER_COMPILER_ "; " MOSAIC_ADAPTER_STDLIB_ MOSAIC_ADAPTER_DEBUG_ \
                               "; C++ " MOSAIC_ADAPTER_STR(__cplusplus) "; sanitizer " MOSAIC_ADAPTER_SANITIZER_

namespace mosaic::adapter {

class protocol_adapter;
struct adapter_context;

// Marks a factory table as an adapter's (a C plugin that declares the
// category by mistake is refused, not read).
inline constexpr uint32_t adapter_table_magic = 0x4d414450;  // "MADP"

// The table of a MOSAIC_CATEGORY_PROTOCOL_ADAPTER factory.
struct adapter_table_v1 {
  uint32_t struct_size;
  uint32_t magic;  // adapter_table_magic
  const char* build_signature;
  // Makes the adapter for one listener, on the control thread at start-up.
  // On failure: null, with the reason in *error.
  std::shared_ptr<protocol_adapter> (*open)(void* instance, const adapter_context& context, std::string* error);
};

}  // namespace mosaic::adapter
