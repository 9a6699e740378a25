// The C++20 side of the plugin SDK: write a class, add one MOSAIC_PLUGIN line.
//
//   class my_codec : public mosaic::sdk::codec<my_codec> {
//    public:
//     static constexpr const char* name = "com.acme.codec.rle";
//     static constexpr const char* description = "run-length encoding";
//     static constexpr int32_t codec_id = 5;
//     static constexpr mosaic::sdk::field config_fields[] = {
//         mosaic::sdk::int_field("min_run", "4", "shortest run worth encoding", 2, 255)};
//     my_codec(const mosaic::sdk::config& cfg, mosaic::sdk::host host);
//     void compress(std::span<const uint8_t> in, mosaic::sdk::output& out);
//     void decompress(std::span<const uint8_t> in, mosaic::sdk::output& out);
//   };
//   MOSAIC_PLUGIN("acme-rle", "1.0.0", my_codec)
//
// Everything the macro builds is constant-initialised: no static
// constructors run when the library is loaded. Every call from the host goes
// through `barrier`, so an exception thrown by plugin code becomes a status
// and a message; none crosses the C boundary.
#pragma once

#include <cstdint>
#include <cstring>
#include <iterator>
#include <new>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mosaic/abi/plugin.h"

namespace mosaic::sdk {

// Throw this from plugin code to return a specific status.
class error : public std::runtime_error {
 public:
  error(mosaic_status_t code, const std::string& message) : std::runtime_error(message), code_(code) {}
  mosaic_status_t code() const noexcept { return code_; }

 private:
  mosaic_status_t code_;
};

inline void write_error(mosaic_error_v1* err, std::string_view message) noexcept {
  if (err == nullptr || err->data == nullptr || err->capacity == 0) return;
  size_t n = message.size() < err->capacity - 1 ? message.size() : err->capacity - 1;
  std::memcpy(err->data, message.data(), n);
  err->data[n] = '\0';
}

// Runs `f`, turning any exception into a status and a message.
template <class F>
mosaic_status_t barrier(mosaic_error_v1* err, F&& f) noexcept {
  try {
    std::forward<F>(f)();
    return MOSAIC_OK;
  } catch (const error& e) {
    write_error(err, e.what());
    return e.code();
  } catch (const std::bad_alloc&) {
    write_error(err, "out of memory");
    return MOSAIC_ERR_NO_MEMORY;
  } catch (const std::exception& e) {
    write_error(err, e.what());
    return MOSAIC_ERR_INTERNAL;
  } catch (...) {
    write_error(err, "unknown exception");
    return MOSAIC_ERR_INTERNAL;
  }
}

// ---- host services ------------------------------------------------------

class counter {
 public:
  counter() = default;
  counter(const mosaic_host_v1* host, mosaic_counter_v1* c) : host_(host), c_(c) {}
  void add(uint64_t delta = 1) const noexcept {
    if (c_ != nullptr) host_->counter_add(host_->host_ctx, c_, delta);
  }

 private:
  const mosaic_host_v1* host_ = nullptr;
  mosaic_counter_v1* c_ = nullptr;
};

// A view of the host's services; copyable, valid until the instance is
// destroyed.
class host {
 public:
  explicit host(const mosaic_host_v1* h) : h_(h) {}
  void log(int32_t level, std::string_view message) const noexcept {
    h_->log(h_->host_ctx, level, message.data(), message.size());
  }
  void debug(std::string_view m) const noexcept { log(MOSAIC_LOG_DEBUG, m); }
  void info(std::string_view m) const noexcept { log(MOSAIC_LOG_INFO, m); }
  void warn(std::string_view m) const noexcept { log(MOSAIC_LOG_WARN, m); }
  void error(std::string_view m) const noexcept { log(MOSAIC_LOG_ERROR, m); }
  int64_t now_ms() const noexcept { return h_->now_ms(h_->host_ctx); }
  int64_t monotonic_ns() const noexcept { return h_->monotonic_ns(h_->host_ctx); }
  sdk::counter counter(const char* name, const char* help) const {
    return sdk::counter(h_, h_->counter(h_->host_ctx, name, help));
  }
  const mosaic_host_v1* raw() const noexcept { return h_; }

 private:
  const mosaic_host_v1* h_;
};

// ---- configuration ------------------------------------------------------

// Declares one config field; used in a `static constexpr field
// config_fields[]` of the plugin class.
using field = mosaic_config_field_v1;

constexpr field make_field(const char* name, int32_t type, const char* def, const char* description, uint32_t flags = 0,
                           int64_t lo = INT64_MIN, int64_t hi = INT64_MAX) {
  return field{sizeof(field), name, type, flags, def, description, lo, hi};
}
constexpr field bool_field(const char* name, const char* def, const char* description, uint32_t flags = 0) {
  return make_field(name, MOSAIC_CONFIG_BOOL, def, description, flags);
}
constexpr field int_field(const char* name, const char* def, const char* description, int64_t lo = INT64_MIN,
                          int64_t hi = INT64_MAX, uint32_t flags = 0) {
  return make_field(name, MOSAIC_CONFIG_INT, def, description, flags, lo, hi);
}
constexpr field double_field(const char* name, const char* def, const char* description, uint32_t flags = 0) {
  return make_field(name, MOSAIC_CONFIG_DOUBLE, def, description, flags);
}
constexpr field string_field(const char* name, const char* def, const char* description, uint32_t flags = 0) {
  return make_field(name, MOSAIC_CONFIG_STRING, def, description, flags);
}
constexpr field list_field(const char* name, const char* def, const char* description, uint32_t flags = 0) {
  return make_field(name, MOSAIC_CONFIG_LIST, def, description, flags);
}

// The validated config passed to a plugin's constructor. The host has
// already checked names, types and ranges, so the getters only convert.
// Borrowed: copy what you keep.
class config {
 public:
  explicit config(const mosaic_config_v1* c) : c_(c) {}

  const mosaic_config_value_v1* find(std::string_view name) const noexcept {
    for (size_t i = 0; i < c_->count; ++i)
      if (name == c_->values[i].name) return &c_->values[i];
    return nullptr;
  }
  bool has(std::string_view name) const noexcept { return find(name) != nullptr; }

  std::string get_string(std::string_view name, std::string_view fallback = {}) const {
    auto* v = find(name);
    return v != nullptr && v->value != nullptr ? std::string(v->value) : std::string(fallback);
  }
  int64_t get_int(std::string_view name, int64_t fallback = 0) const {
    auto* v = find(name);
    return v != nullptr && v->value != nullptr ? std::stoll(v->value) : fallback;
  }
  double get_double(std::string_view name, double fallback = 0) const {
    auto* v = find(name);
    return v != nullptr && v->value != nullptr ? std::stod(v->value) : fallback;
  }
  bool get_bool(std::string_view name, bool fallback = false) const {
    auto* v = find(name);
    return v != nullptr && v->value != nullptr ? std::string_view(v->value) == "true" : fallback;
  }
  std::vector<std::string> get_list(std::string_view name) const {
    std::vector<std::string> out;
    if (auto* v = find(name)) out.assign(v->items, v->items + v->item_count);
    return out;
  }

 private:
  const mosaic_config_v1* c_;
};

// ---- output buffers -----------------------------------------------------

// Appends to a host-owned `mosaic_buffer_v1`.
class output {
 public:
  explicit output(mosaic_buffer_v1* b) : b_(b) {}

  // Makes room for at least `n` more bytes and returns all the free space.
  // Throws error(MOSAIC_ERR_LIMIT) past the caller's limit.
  std::span<uint8_t> reserve(size_t n) {
    if (b_->capacity - b_->size < n) {
      if (n > b_->limit - b_->size)
        throw error(MOSAIC_ERR_LIMIT, "output would exceed its limit of " + std::to_string(b_->limit) + " bytes");
      size_t want = b_->size + n;
      size_t grown = b_->capacity + b_->capacity / 2;  // amortised growth
      if (grown > want) want = grown < b_->limit ? grown : b_->limit;
      mosaic_status_t s = b_->reserve(b_, want);
      if (s != MOSAIC_OK) throw error(s, "output buffer refused to grow");
    }
    return {b_->data + b_->size, b_->capacity - b_->size};
  }
  // For a streaming decoder that cannot tell how much is left: room for at
  // most `want` more bytes, at least one. At the limit it hands out a one-byte
  // probe instead, so the decoder can still finish reading its input (a
  // trailer, a checksum); `commit` then refuses any byte written to it.
  std::span<uint8_t> reserve_some(size_t want) {
    if (b_->size == b_->limit) {
      probing_ = true;
      return {&probe_, 1};
    }
    size_t n = want < room_to_limit() ? want : room_to_limit();
    return reserve(n == 0 ? 1 : n);
  }
  // Counts `n` bytes written into the span `reserve` or `reserve_some`
  // returned.
  void commit(size_t n) {
    if (probing_) {
      probing_ = false;
      if (n != 0)
        throw error(MOSAIC_ERR_LIMIT, "output would exceed its limit of " + std::to_string(b_->limit) + " bytes");
      return;
    }
    b_->size += n;
  }
  void append(std::span<const uint8_t> bytes) {
    if (bytes.empty()) return;
    auto room = reserve(bytes.size());
    std::memcpy(room.data(), bytes.data(), bytes.size());
    commit(bytes.size());
  }
  // What has been written so far (moves when the buffer grows).
  std::span<uint8_t> written() const noexcept { return {b_->data, b_->size}; }
  size_t size() const noexcept { return b_->size; }
  size_t limit() const noexcept { return b_->limit; }
  size_t room_to_limit() const noexcept { return b_->limit - b_->size; }

 private:
  mosaic_buffer_v1* b_;
  bool probing_ = false;
  uint8_t probe_ = 0;
};

// ---- factories and the descriptor ---------------------------------------

namespace detail {

template <class T>
consteval size_t field_count() {
  if constexpr (requires { T::config_fields; })
    return std::size(T::config_fields);
  else
    return 0;
}

template <class T, class Seq = std::make_index_sequence<field_count<T>()>>
struct field_table;
template <class T, size_t... I>
struct field_table<T, std::index_sequence<I...>> {
  static constexpr const mosaic_config_field_v1* value[sizeof...(I) + 1] = {&T::config_fields[I]..., nullptr};
};

template <class T>
mosaic_status_t create(const mosaic_host_v1* h, const mosaic_config_v1* c, void** out, mosaic_error_v1* err) noexcept {
  return barrier(err, [&] { *out = new T(config(c), host(h)); });
}

template <class T>
void destroy(void* instance) noexcept {
  delete static_cast<T*>(instance);
}

template <class T>
constexpr const char* description_of() {
  if constexpr (requires { T::description; })
    return T::description;
  else
    return "";
}

}  // namespace detail

// The factory for plugin class T; T names its category through the CRTP
// base of that category (for example `codec<T>`), which supplies `category`
// and `binding::table`.
template <class T>
inline constexpr mosaic_factory_v1 factory_for = {
    sizeof(mosaic_factory_v1),
    T::category,
    T::name,
    detail::description_of<T>(),
    detail::field_table<T>::value,
    detail::field_count<T>(),
    &detail::create<T>,
    &detail::destroy<T>,
    &T::binding::table,
};

template <class... T>
struct factory_list {
  static constexpr const mosaic_factory_v1* value[] = {&factory_for<T>...};
};

// ---- the manifest ---------------------------------------------------------
//
// What the descriptor says, as text in a section of its own
// (".mosaic_manifest"), made at compile time, with no pointer in it: `mosaic
// plugin inspect` reads it from the file without loading the library or
// running any of its code. One line each, tab-separated, tabs and newlines
// in texts turned into spaces:
//   mosaic-plugin-manifest-v1
//   library  NAME  VERSION  ABI_MAJOR.ABI_MINOR
//   factory  ID  CATEGORY  DESCRIPTION
//   field    NAME  TYPE  FLAGS  DEFAULT|-  MIN  MAX  DESCRIPTION    (the factory's above)
//   end
// followed by a NUL.

namespace detail {

struct manifest_writer {
  char* out = nullptr;  // null: only count
  size_t n = 0;
  constexpr void put(char c) {
    if (out != nullptr) out[n] = c;
    ++n;
  }
  constexpr void text(const char* s) {
    if (s == nullptr) return;
    for (; *s != '\0'; ++s) put(*s == '\n' || *s == '\t' || *s == '\r' ? ' ' : *s);
  }
  constexpr void number(int64_t v) {
    if (v < 0) {
      put('-');
      if (v == INT64_MIN) {
        text("9223372036854775808");
        return;
      }
      v = -v;
    }
    char digits[20] = {};
    int k = 0;
    do {
      digits[k++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v > 0);
    while (k > 0) put(digits[--k]);
  }
  constexpr void tab() { put('\t'); }
  constexpr void line() { put('\n'); }
};

template <class T>
constexpr void write_factory(manifest_writer& w) {
  const mosaic_factory_v1& f = factory_for<T>;
  w.text("factory"), w.tab(), w.text(f.name), w.tab(), w.number(f.category), w.tab(), w.text(f.description), w.line();
  for (size_t i = 0; i < f.config_field_count; ++i) {
    const mosaic_config_field_v1& c = *f.config_fields[i];
    w.text("field"), w.tab(), w.text(c.name), w.tab(), w.number(c.type), w.tab(), w.number(c.flags), w.tab();
    if (c.default_value != nullptr)
      w.text(c.default_value);
    else
      w.put('-');
    w.tab(), w.number(c.int_min), w.tab(), w.number(c.int_max), w.tab(), w.text(c.description), w.line();
  }
}

template <class... T>
constexpr void write_manifest(manifest_writer& w, const char* lib_name, const char* lib_version) {
  w.text("mosaic-plugin-manifest-v1"), w.line();
  w.text("library"), w.tab(), w.text(lib_name), w.tab(), w.text(lib_version), w.tab();
  w.number(MOSAIC_ABI_VERSION_MAJOR), w.put('.'), w.number(MOSAIC_ABI_VERSION_MINOR), w.line();
  (write_factory<T>(w), ...);
  w.text("end"), w.line();
}

template <class... T>
consteval size_t manifest_size(const char* lib_name, const char* lib_version) {
  manifest_writer w;
  write_manifest<T...>(w, lib_name, lib_version);
  return w.n + 1;  // the NUL
}

template <size_t N>
struct manifest_text {
  char bytes[N];
};

template <size_t N, class... T>
consteval manifest_text<N> manifest(const char* lib_name, const char* lib_version) {
  manifest_text<N> m{};
  manifest_writer w{m.bytes, 0};
  write_manifest<T...>(w, lib_name, lib_version);
  m.bytes[N - 1] = '\0';
  return m;
}

}  // namespace detail

}  // namespace mosaic::sdk

// A built-in (statically linked) copy of a plugin is compiled with
// MOSAIC_PLUGIN_BUILTIN_SYMBOL set to a unique name, so that several plugins
// can live in one binary; the host treats that function exactly like the
// entry of a shared library.
#ifdef MOSAIC_PLUGIN_BUILTIN_SYMBOL
#define MOSAIC_PLUGIN_ENTRY_NAME_ MOSAIC_PLUGIN_BUILTIN_SYMBOL
#define MOSAIC_PLUGIN_ENTRY_VISIBILITY_
#else
#define MOSAIC_PLUGIN_ENTRY_NAME_ mosaic_plugin_entry_v1
#define MOSAIC_PLUGIN_ENTRY_VISIBILITY_ MOSAIC_EXPORT
#endif

// Defines the library's single exported entry: its name, its version and the
// plugin classes it offers.
#define MOSAIC_PLUGIN(lib_name, lib_version, ...)                                                                 \
  namespace {                                                                                                     \
  [[gnu::used, gnu::section(".mosaic_manifest")]] const auto mosaic_plugin_manifest_ =                            \
      ::mosaic::sdk::detail::manifest<::mosaic::sdk::detail::manifest_size<__VA_ARGS__>(lib_name, lib_version),   \
                                      __VA_ARGS__>(lib_name, lib_version);                                        \
  }                                                                                                               \
  extern "C" MOSAIC_PLUGIN_ENTRY_VISIBILITY_ const mosaic_plugin_descriptor_v1* MOSAIC_PLUGIN_ENTRY_NAME_(void) { \
    using mosaic_factories_ = ::mosaic::sdk::factory_list<__VA_ARGS__>;                                           \
    static constexpr mosaic_plugin_descriptor_v1 descriptor = {sizeof(mosaic_plugin_descriptor_v1),               \
                                                               MOSAIC_ABI_VERSION_MAJOR,                          \
                                                               MOSAIC_ABI_VERSION_MINOR,                          \
                                                               lib_name,                                          \
                                                               lib_version,                                       \
                                                               mosaic_factories_::value,                          \
                                                               std::size(mosaic_factories_::value)};              \
    return &descriptor;                                                                                           \
  }
