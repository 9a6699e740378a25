// A protocol adapter as a plugin: the C++ tier's way into the plugin host.
//
//   class my_protocol : public mosaic::sdk::protocol_adapter_plugin<my_protocol> {
//    public:
//     static constexpr const char* name = "com.acme.protocol.mqtt";
//     static constexpr const char* description = "MQTT 5 over the broker";
//     my_protocol(const mosaic::sdk::config& cfg, mosaic::sdk::host host);
//     std::shared_ptr<mosaic::adapter::protocol_adapter> open(const mosaic::adapter::adapter_context& context);
//   };
//   MOSAIC_PLUGIN("acme-mqtt", "1.0.0", my_protocol)
//
// The library is found, opened and checked like any plugin (descriptor,
// ABI, category, declared config), and then once more for this tier: the
// factory's table carries the build signature below, and the host refuses
// a library whose signature is not exactly its own. C++ objects cross
// this boundary (std::shared_ptr, std::string, std::function, the
// interfaces in this folder), so the adapter must be built by the same
// compiler, against the same standard library and the same SDK as the
// host; the signature says which. There is no stability promise across
// Mosaic versions: rebuild the adapter with each release.
//
// Lifetime: the host makes one instance per listener that names the
// adapter, calls `open` once on it at start-up, and keeps the instance
// (and so the library) until the adapter it returned is gone. Adapters
// are never hot-swapped.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "mosaic/abi/plugin.h"
#include "mosaic/adapter/adapter.h"
#include "mosaic/adapter/broker.h"
#include "mosaic/adapter/table.h"
#include "mosaic/sdk/plugin.h"

namespace mosaic::sdk {

template <class T>
struct protocol_adapter_binding {
  static std::shared_ptr<adapter::protocol_adapter> open(void* instance, const adapter::adapter_context& context,
                                                         std::string* error) noexcept {
    try {
      auto a = static_cast<T*>(instance)->open(context);
      if (!a) *error = "the adapter's open returned nothing";
      return a;
    } catch (const std::exception& e) {
      *error = e.what();
    } catch (...) {
      *error = "the adapter's open threw something that is not a std::exception";
    }
    return nullptr;
  }
  static constexpr adapter::adapter_table_v1 table = {sizeof(adapter::adapter_table_v1), adapter::adapter_table_magic,
                                                      MOSAIC_ADAPTER_BUILD_SIGNATURE, &open};
};

template <class T>
struct protocol_adapter_plugin {
  static constexpr int32_t category = MOSAIC_CATEGORY_PROTOCOL_ADAPTER;
  using binding = protocol_adapter_binding<T>;
};

}  // namespace mosaic::sdk
