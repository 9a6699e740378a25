/*
 * Mosaic plugin ABI, version 1: the contract between the broker (the host)
 * and a plugin shared library.
 *
 * C11, no dependencies. Every struct that may grow starts with `struct_size`;
 * a reader only touches fields that lie inside the size the writer declared,
 * and fields are only ever appended (a new minor version). Enum numbers are
 * explicit and never reused.
 *
 * Ownership, in one sentence per kind of pointer:
 *   - `const` data returned by the plugin (descriptor, factories, config
 *     fields, names, vtables) is static in the library and stays valid while
 *     the library is loaded. The host keeps the library loaded while any
 *     instance or table from it is referenced.
 *   - Data the host passes in (config, host services, buffers, input spans)
 *     is borrowed for the duration of the call, except `mosaic_host_v1`,
 *     which stays valid until the instance is destroyed.
 *   - An instance returned by `create` is owned by the host and released by
 *     exactly one call to the same factory's `destroy`.
 *
 * Nothing crosses this boundary but C types: no C++ objects, exceptions or
 * RTTI. A plugin must not throw out of any function below.
 */
#ifndef MOSAIC_ABI_PLUGIN_H
#define MOSAIC_ABI_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI this header describes. A host refuses a plugin built against
 * another major, or against a newer minor than the host's own. */
#define MOSAIC_ABI_VERSION_MAJOR 1
#define MOSAIC_ABI_VERSION_MINOR 0

/* The one symbol a plugin library exports. */
#define MOSAIC_PLUGIN_ENTRY_SYMBOL "mosaic_plugin_entry_v1"

#if defined(_WIN32)
#define MOSAIC_EXPORT __declspec(dllexport)
#else
#define MOSAIC_EXPORT __attribute__((visibility("default")))
#endif

/* ---- status codes ---------------------------------------------------- */

typedef int32_t mosaic_status_t;

#define MOSAIC_OK 0
#define MOSAIC_ERR_INVALID_ARGUMENT 1 /* the caller passed something the callee cannot use */
#define MOSAIC_ERR_CORRUPT_INPUT 2    /* data failed to parse or verify */
#define MOSAIC_ERR_LIMIT 3            /* an output would exceed the limit the caller set */
#define MOSAIC_ERR_UNSUPPORTED 4      /* the operation or variant is not supported */
#define MOSAIC_ERR_NO_MEMORY 5        /* an allocation failed */
#define MOSAIC_ERR_CONFIG 6           /* the configuration is not acceptable */
#define MOSAIC_ERR_INTERNAL 7         /* a bug or an unexpected failure in the callee */
#define MOSAIC_ERR_NOT_FOUND 8        /* what was looked up does not exist */

/* Where a fallible call writes its message. The callee writes at most
 * `capacity` bytes including a terminating NUL, truncating if needed. `data`
 * may be NULL (capacity 0): then no message is written. */
typedef struct mosaic_error_v1 {
  char* data;
  size_t capacity;
} mosaic_error_v1;

/* ---- growable output buffers ----------------------------------------- */

/* A byte buffer owned by the host that a plugin appends to. The plugin writes
 * into data[size, capacity) and then advances `size`. When it needs more
 * room it calls `reserve`, which may move `data`. `reserve` refuses with
 * MOSAIC_ERR_LIMIT when `min_capacity` is above `limit`: that is how a
 * caller bounds, for example, a decompression. */
typedef struct mosaic_buffer_v1 {
  uint32_t struct_size;
  uint8_t* data;
  size_t size;
  size_t capacity;
  size_t limit;
  void* host_ctx;
  mosaic_status_t (*reserve)(struct mosaic_buffer_v1* self, size_t min_capacity);
} mosaic_buffer_v1;

/* ---- record fields ---------------------------------------------------- */

/* A record's key, value or header value: `data` NULL is a null field (not
 * the same as empty). */
typedef struct mosaic_bytes_v1 {
  const uint8_t* data;
  size_t size;
} mosaic_bytes_v1;

typedef struct mosaic_record_header_v1 {
  const char* key;
  mosaic_bytes_v1 value;
} mosaic_record_header_v1;

/* ---- host services --------------------------------------------------- */

#define MOSAIC_LOG_TRACE 0
#define MOSAIC_LOG_DEBUG 1
#define MOSAIC_LOG_INFO 2
#define MOSAIC_LOG_WARN 3
#define MOSAIC_LOG_ERROR 4

/* An opaque counter owned by the host; valid while the instance lives. */
typedef struct mosaic_counter_v1 mosaic_counter_v1;

/* Services the host offers a plugin instance. Every function is thread-safe
 * and non-blocking, and may be called from any thread while the instance
 * lives. `log` and `counter_add` never fail. */
typedef struct mosaic_host_v1 {
  uint32_t struct_size;
  void* host_ctx;
  /* Writes a message (not NUL-terminated, `len` bytes) to the broker's log,
   * tagged with the instance's plugin name. */
  void (*log)(void* host_ctx, int32_t level, const char* message, size_t len);
  /* Wall-clock time, milliseconds since the Unix epoch. */
  int64_t (*now_ms)(void* host_ctx);
  /* A monotonic clock in nanoseconds, for measuring intervals. */
  int64_t (*monotonic_ns)(void* host_ctx);
  /* Returns the counter with this name, creating it at zero the first time.
   * The host prefixes the name with the plugin's name. NULL only if `name`
   * is NULL or empty. */
  mosaic_counter_v1* (*counter)(void* host_ctx, const char* name, const char* help);
  void (*counter_add)(void* host_ctx, mosaic_counter_v1* counter, uint64_t delta);
} mosaic_host_v1;

/* ---- declared configuration ------------------------------------------ */

#define MOSAIC_CONFIG_BOOL 1
#define MOSAIC_CONFIG_INT 2 /* int64, checked against int_min..int_max */
#define MOSAIC_CONFIG_DOUBLE 3
#define MOSAIC_CONFIG_STRING 4
#define MOSAIC_CONFIG_LIST 5 /* a list of strings */

#define MOSAIC_CONFIG_REQUIRED (1u << 0) /* must be given; no default */
#define MOSAIC_CONFIG_SECRET (1u << 1)   /* never logged or listed */
#define MOSAIC_CONFIG_RECONFIGURABLE                       \
  (1u << 2) /* meant to be changed at run time: a hot swap \
               re-creates the instance with the new value */

/* One field a factory accepts in its config block. The host refuses a block
 * with an unknown key, a value of the wrong type or out of range, or a
 * missing required field, before `create` is called. */
typedef struct mosaic_config_field_v1 {
  uint32_t struct_size;
  const char* name;
  int32_t type;
  uint32_t flags;
  /* The default as text in the field's syntax ("3", "true", "a,b"), or NULL. */
  const char* default_value;
  const char* description;
  /* For MOSAIC_CONFIG_INT: the accepted range, inclusive. */
  int64_t int_min;
  int64_t int_max;
} mosaic_config_field_v1;

/* One validated value. Scalars are in canonical text ("true"/"false", a
 * decimal integer, the double as given, the string); a list has its items in
 * `items` and `value` NULL. */
typedef struct mosaic_config_value_v1 {
  const char* name;
  const char* value;
  const char* const* items;
  size_t item_count;
} mosaic_config_value_v1;

/* The validated config handed to `create`: every declared field that was
 * given or has a default, in declaration order. Borrowed for the call. */
typedef struct mosaic_config_v1 {
  uint32_t struct_size;
  const mosaic_config_value_v1* values;
  size_t count;
} mosaic_config_v1;

/* ---- factories and the descriptor ------------------------------------ */

#define MOSAIC_CATEGORY_CODEC 1
#define MOSAIC_CATEGORY_ASSIGNOR 2
#define MOSAIC_CATEGORY_SHARE_POLICY 3
#define MOSAIC_CATEGORY_DLQ_HANDLER 4
#define MOSAIC_CATEGORY_AUTHENTICATOR 5
#define MOSAIC_CATEGORY_PROTOCOL_ADAPTER 6
#define MOSAIC_CATEGORY_AUTHORIZER 7
#define MOSAIC_CATEGORY_RECORD_INTERCEPTOR 8

/* Makes instances of one named thing of one category. */
typedef struct mosaic_factory_v1 {
  uint32_t struct_size;
  int32_t category;
  /* The plugin id: "mosaic.<category>.<name>", or reverse DNS for third
   * parties ("com.acme.assignor.sticky_rack"). Unique within a host. */
  const char* name;
  const char* description;
  const mosaic_config_field_v1* const* config_fields;
  size_t config_field_count;
  /* Creates an instance. `host` stays valid until `destroy`; `config` is
   * borrowed for this call. On failure returns a status, writes `err` and
   * leaves *instance_out untouched. Called from a control thread, never from
   * an event loop; it may block briefly. */
  mosaic_status_t (*create)(const mosaic_host_v1* host, const mosaic_config_v1* config, void** instance_out,
                            mosaic_error_v1* err);
  /* Releases an instance. Called once, after every call into it returned. */
  void (*destroy)(void* instance);
  /* The category's function table (for example `mosaic_codec_vtable_v1`),
   * static in the library. */
  const void* vtable;
} mosaic_factory_v1;

/* What `mosaic_plugin_entry_v1` returns: static, valid while loaded. */
typedef struct mosaic_plugin_descriptor_v1 {
  uint32_t struct_size;
  uint16_t abi_major;
  uint16_t abi_minor;
  const char* name;    /* the library's name, for messages and listings */
  const char* version; /* the library's own version, free text */
  const mosaic_factory_v1* const* factories;
  size_t factory_count;
} mosaic_plugin_descriptor_v1;

typedef const mosaic_plugin_descriptor_v1* (*mosaic_plugin_entry_fn_v1)(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MOSAIC_ABI_PLUGIN_H */
