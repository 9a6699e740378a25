#include "kernel/plugin/library.h"

#include <utility>
// Boost 1.74's Asio/DLL headers need <utility> first under C++20.
#include <dlfcn.h>
#include <boost/dll/shared_library.hpp>
#include <set>
#include <string_view>

#include "mosaic/abi/assignor.h"
#include "mosaic/abi/authenticator.h"
#include "mosaic/abi/authorizer.h"
#include "mosaic/abi/codec.h"
#include "mosaic/abi/dlq_handler.h"
#include "mosaic/abi/record_interceptor.h"
#include "mosaic/abi/share_policy.h"
#include "mosaic/adapter/table.h"
#include "mosaic/sdk/config_validation.h"

namespace mosaic::plugin {

struct library::dll {
  boost::dll::shared_library lib;
};

library::library(std::string origin, std::unique_ptr<dll> handle, const mosaic_plugin_descriptor_v1* d)
    : origin_(std::move(origin)), handle_(std::move(handle)), descriptor_(d) {}

library::~library() = default;

namespace {

// The smallest struct a v1.0 plugin may declare, up to and including `last`.
template <class S, class M>
constexpr size_t size_through(M S::*last) {
  S s{};
  return static_cast<size_t>(reinterpret_cast<const char*>(&(s.*last)) - reinterpret_cast<const char*>(&s)) + sizeof(M);
}

bool valid_id(std::string_view name) {
  if (name.empty() || name.size() > 200) return false;
  for (char c : name) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return name.front() != '.' && name.back() != '.';
}

status refuse(const std::string& origin, const std::string& why) {
  return status(errc::invalid_argument, "plugin library '" + origin + "': " + why);
}

status check_codec_vtable(const mosaic_factory_v1& f, const std::string& origin) {
  auto* vt = static_cast<const mosaic_codec_vtable_v1*>(f.vtable);
  if (vt->struct_size < size_through(&mosaic_codec_vtable_v1::decompress))
    return refuse(origin, std::string("factory '") + f.name + "': codec table is smaller than ABI v1 defines");
  if (vt->codec_id < 1 || vt->codec_id > 7)
    return refuse(
        origin, std::string("factory '") + f.name + "': codec id " + std::to_string(vt->codec_id) + " is outside 1..7");
  if (vt->compress == nullptr || vt->decompress == nullptr)
    return refuse(origin, std::string("factory '") + f.name + "': codec table has a null function");
  return {};
}

status check_assignor_vtable(const mosaic_factory_v1& f, const std::string& origin) {
  auto* vt = static_cast<const mosaic_assignor_vtable_v1*>(f.vtable);
  if (vt->struct_size < size_through(&mosaic_assignor_vtable_v1::assign))
    return refuse(origin, std::string("factory '") + f.name + "': assignor table is smaller than ABI v1 defines");
  if (vt->assignor_name == nullptr || !valid_id(vt->assignor_name))
    return refuse(origin, std::string("factory '") + f.name + "': assignor has no valid name (letters, digits, . _ -)");
  if (vt->assign == nullptr)
    return refuse(origin, std::string("factory '") + f.name + "': assignor table has a null function");
  return {};
}

status check_share_policy_vtable(const mosaic_factory_v1& f, const std::string& origin) {
  auto* vt = static_cast<const mosaic_share_policy_vtable_v1*>(f.vtable);
  if (vt->struct_size < size_through(&mosaic_share_policy_vtable_v1::decide))
    return refuse(origin, std::string("factory '") + f.name + "': share policy table is smaller than ABI v1 defines");
  if (vt->decide == nullptr)
    return refuse(origin, std::string("factory '") + f.name + "': share policy table has a null function");
  return {};
}

status check_dlq_handler_vtable(const mosaic_factory_v1& f, const std::string& origin) {
  auto* vt = static_cast<const mosaic_dlq_handler_vtable_v1*>(f.vtable);
  if (vt->struct_size < size_through(&mosaic_dlq_handler_vtable_v1::enqueue))
    return refuse(origin, std::string("factory '") + f.name + "': DLQ handler table is smaller than ABI v1 defines");
  if (vt->enqueue == nullptr)
    return refuse(origin, std::string("factory '") + f.name + "': DLQ handler table has a null function");
  return {};
}

status check_authenticator_vtable(const mosaic_factory_v1& f, const std::string& origin) {
  auto* vt = static_cast<const mosaic_authenticator_vtable_v1*>(f.vtable);
  if (vt->struct_size < size_through(&mosaic_authenticator_vtable_v1::end))
    return refuse(origin, std::string("factory '") + f.name + "': authenticator table is smaller than ABI v1 defines");
  if (vt->mechanism_count == nullptr || vt->mechanism == nullptr || vt->begin == nullptr || vt->step == nullptr ||
      vt->end == nullptr)
    return refuse(origin, std::string("factory '") + f.name + "': authenticator table has a null function");
  return {};
}

status check_authorizer_vtable(const mosaic_factory_v1& f, const std::string& origin) {
  auto* vt = static_cast<const mosaic_authorizer_vtable_v1*>(f.vtable);
  if (vt->struct_size < size_through(&mosaic_authorizer_vtable_v1::authorize))
    return refuse(origin, std::string("factory '") + f.name + "': authorizer table is smaller than ABI v1 defines");
  if (vt->authorize == nullptr)
    return refuse(origin, std::string("factory '") + f.name + "': authorizer table has a null function");
  return {};
}

status check_interceptor_vtable(const mosaic_factory_v1& f, const std::string& origin) {
  auto* vt = static_cast<const mosaic_record_interceptor_vtable_v1*>(f.vtable);
  if (vt->struct_size < size_through(&mosaic_record_interceptor_vtable_v1::intercept))
    return refuse(origin,
                  std::string("factory '") + f.name + "': record interceptor table is smaller than ABI v1 defines");
  if (vt->intercept == nullptr)
    return refuse(origin, std::string("factory '") + f.name + "': record interceptor table has a null function");
  if ((vt->flags & ~uint32_t{MOSAIC_INTERCEPTOR_READS_RECORDS}) != 0)
    return refuse(origin, std::string("factory '") + f.name + "': record interceptor table has unknown flags " +
                              std::to_string(vt->flags));
  return {};
}

// The C++ tier: a table of the right shape, then the exact build
// signature (adapters pass C++ objects, so only an identical build is safe).
status check_adapter_table(const mosaic_factory_v1& f, const std::string& origin) {
  const std::string who = std::string("factory '") + f.name + "': ";
  auto* t = static_cast<const adapter::adapter_table_v1*>(f.vtable);
  if (t->struct_size < sizeof(adapter::adapter_table_v1) || t->magic != adapter::adapter_table_magic)
    return refuse(origin, who +
                              "a protocol adapter's table is not an adapter table (build it with the SDK's "
                              "mosaic/adapter/plugin.h)");
  if (t->open == nullptr || t->build_signature == nullptr)
    return refuse(origin, who + "a protocol adapter's table has a null function or signature");
  if (std::string_view(t->build_signature) != MOSAIC_ADAPTER_BUILD_SIGNATURE)
    return refuse(origin, who + "a protocol adapter built as [" + t->build_signature + "], but this mosaicd is [" +
                              MOSAIC_ADAPTER_BUILD_SIGNATURE +
                              "]: the C++ tier loads only an adapter built by the same compiler, standard library "
                              "and SDK as the broker; rebuild it against this one");
  return {};
}

status check_fields(const mosaic_factory_v1& f, const std::string& origin) {
  std::set<std::string_view> names;
  const std::string who = std::string("factory '") + f.name + "': ";
  if (f.config_field_count > 0 && f.config_fields == nullptr) return refuse(origin, who + "config fields are null");
  for (size_t i = 0; i < f.config_field_count; ++i) {
    const mosaic_config_field_v1* field = f.config_fields[i];
    if (field == nullptr) return refuse(origin, who + "config field " + std::to_string(i) + " is null");
    if (field->struct_size < size_through(&mosaic_config_field_v1::description))
      return refuse(origin, who + "config field " + std::to_string(i) + " is smaller than ABI v1 defines");
    if (field->name == nullptr || !valid_id(field->name))
      return refuse(origin, who + "config field " + std::to_string(i) + " has no valid name");
    if (!names.insert(field->name).second)
      return refuse(origin, who + "config field '" + field->name + "' is declared twice");
    if (field->type < MOSAIC_CONFIG_BOOL || field->type > MOSAIC_CONFIG_LIST)
      return refuse(origin, who + "config field '" + field->name + "' has unknown type " + std::to_string(field->type));
    bool required = (field->flags & MOSAIC_CONFIG_REQUIRED) != 0;
    if (required && field->default_value != nullptr)
      return refuse(origin, who + "config field '" + field->name + "' is required but has a default");
    if (field->default_value != nullptr && field->type != MOSAIC_CONFIG_LIST) {
      std::string why;
      if (!sdk::detail::canonical_scalar(*field, field->default_value, &why))
        return refuse(origin, who + "config field '" + field->name + "' has an invalid default: " + why);
    }
  }
  return {};
}

}  // namespace

const char* category_name(int32_t category) noexcept {
  switch (category) {
    case MOSAIC_CATEGORY_CODEC: return "codec";
    case MOSAIC_CATEGORY_ASSIGNOR: return "assignor";
    case MOSAIC_CATEGORY_SHARE_POLICY: return "share_policy";
    case MOSAIC_CATEGORY_DLQ_HANDLER: return "dlq_handler";
    case MOSAIC_CATEGORY_AUTHENTICATOR: return "authenticator";
    case MOSAIC_CATEGORY_PROTOCOL_ADAPTER: return "protocol_adapter";
    case MOSAIC_CATEGORY_AUTHORIZER: return "authorizer";
    case MOSAIC_CATEGORY_RECORD_INTERCEPTOR: return "record_interceptor";
    default: return "unknown";
  }
}

bool category_supported(int32_t category) noexcept {
  return category == MOSAIC_CATEGORY_CODEC || category == MOSAIC_CATEGORY_ASSIGNOR ||
         category == MOSAIC_CATEGORY_SHARE_POLICY || category == MOSAIC_CATEGORY_DLQ_HANDLER ||
         category == MOSAIC_CATEGORY_AUTHENTICATOR || category == MOSAIC_CATEGORY_AUTHORIZER ||
         category == MOSAIC_CATEGORY_PROTOCOL_ADAPTER || category == MOSAIC_CATEGORY_RECORD_INTERCEPTOR;
}

status check_descriptor(const mosaic_plugin_descriptor_v1* d, const std::string& origin) {
  if (d == nullptr) return refuse(origin, "the entry returned no descriptor");
  if (d->struct_size < size_through(&mosaic_plugin_descriptor_v1::factory_count))
    return refuse(origin,
                  "descriptor is smaller than ABI v1 defines (struct_size " + std::to_string(d->struct_size) + ")");
  if (d->abi_major != MOSAIC_ABI_VERSION_MAJOR)
    return refuse(origin, "built for plugin ABI " + std::to_string(d->abi_major) + "." + std::to_string(d->abi_minor) +
                              ", but this host speaks ABI major " + std::to_string(MOSAIC_ABI_VERSION_MAJOR));
  if (d->abi_minor > MOSAIC_ABI_VERSION_MINOR)
    return refuse(origin, "built for plugin ABI " + std::to_string(d->abi_major) + "." + std::to_string(d->abi_minor) +
                              ", newer than this host's " + std::to_string(MOSAIC_ABI_VERSION_MAJOR) + "." +
                              std::to_string(MOSAIC_ABI_VERSION_MINOR));
  if (d->name == nullptr || d->version == nullptr) return refuse(origin, "descriptor has no name or version");
  if (d->factory_count == 0 || d->factories == nullptr) return refuse(origin, "the library offers no factories");
  std::set<std::string_view> names;
  for (size_t i = 0; i < d->factory_count; ++i) {
    const mosaic_factory_v1* f = d->factories[i];
    if (f == nullptr) return refuse(origin, "factory " + std::to_string(i) + " is null");
    if (f->struct_size < size_through(&mosaic_factory_v1::vtable))
      return refuse(origin, "factory " + std::to_string(i) + " is smaller than ABI v1 defines");
    if (f->name == nullptr || !valid_id(f->name))
      return refuse(origin, "factory " + std::to_string(i) + " has no valid name (letters, digits, . _ -)");
    if (!names.insert(f->name).second) return refuse(origin, std::string("factory '") + f->name + "' appears twice");
    if (std::string_view(category_name(f->category)) == "unknown")
      return refuse(origin,
                    std::string("factory '") + f->name + "' has unknown category " + std::to_string(f->category));
    if (!category_supported(f->category))
      return refuse(origin, std::string("factory '") + f->name + "' has category '" + category_name(f->category) +
                                "', which this host does not support yet");
    if (f->create == nullptr || f->destroy == nullptr || f->vtable == nullptr)
      return refuse(origin, std::string("factory '") + f->name + "' has a null create, destroy or table");
    if (auto s = check_fields(*f, origin); !s.ok()) return s;
    if (f->category == MOSAIC_CATEGORY_CODEC)
      if (auto s = check_codec_vtable(*f, origin); !s.ok()) return s;
    if (f->category == MOSAIC_CATEGORY_ASSIGNOR)
      if (auto s = check_assignor_vtable(*f, origin); !s.ok()) return s;
    if (f->category == MOSAIC_CATEGORY_SHARE_POLICY)
      if (auto s = check_share_policy_vtable(*f, origin); !s.ok()) return s;
    if (f->category == MOSAIC_CATEGORY_DLQ_HANDLER)
      if (auto s = check_dlq_handler_vtable(*f, origin); !s.ok()) return s;
    if (f->category == MOSAIC_CATEGORY_AUTHENTICATOR)
      if (auto s = check_authenticator_vtable(*f, origin); !s.ok()) return s;
    if (f->category == MOSAIC_CATEGORY_AUTHORIZER)
      if (auto s = check_authorizer_vtable(*f, origin); !s.ok()) return s;
    if (f->category == MOSAIC_CATEGORY_PROTOCOL_ADAPTER)
      if (auto s = check_adapter_table(*f, origin); !s.ok()) return s;
    if (f->category == MOSAIC_CATEGORY_RECORD_INTERCEPTOR)
      if (auto s = check_interceptor_vtable(*f, origin); !s.ok()) return s;
  }
  return {};
}

result<std::shared_ptr<const library>> library::open(const std::filesystem::path& path, std::string sha256) {
  const std::string origin = path.string();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    return status(errc::not_found, "plugin library '" + origin + "': no such file");
  auto handle = std::make_unique<dll>();
  boost::dll::fs::error_code load_ec;
  // Local binding: a plugin's symbols never resolve another plugin's.
  handle->lib.load(path, load_ec, boost::dll::load_mode::rtld_local | boost::dll::load_mode::rtld_now);
  if (load_ec) {
    const char* why = dlerror();
    return refuse(origin, std::string("cannot be loaded: ") + (why != nullptr ? why : load_ec.message()));
  }
  if (!handle->lib.has(MOSAIC_PLUGIN_ENTRY_SYMBOL))
    return refuse(origin, std::string("has no entry symbol '") + MOSAIC_PLUGIN_ENTRY_SYMBOL + "'");
  auto entry = handle->lib.get<const mosaic_plugin_descriptor_v1*()>(MOSAIC_PLUGIN_ENTRY_SYMBOL);
  const mosaic_plugin_descriptor_v1* d = entry();
  if (auto s = check_descriptor(d, origin); !s.ok()) return s;
  auto lib = std::shared_ptr<library>(new library(origin, std::move(handle), d));
  lib->sha256_ = std::move(sha256);
  return std::shared_ptr<const library>(std::move(lib));
}

result<std::shared_ptr<const library>> library::from_builtin(const builtin_plugin& builtin) {
  const std::string origin = std::string("builtin:") + builtin.library_name;
  const mosaic_plugin_descriptor_v1* d = builtin.entry();
  if (auto s = check_descriptor(d, origin); !s.ok()) return s;
  return std::shared_ptr<const library>(new library(origin, nullptr, d));
}

}  // namespace mosaic::plugin
