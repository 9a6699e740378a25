// Checks a plugin's config block against the fields its factory declares and
// builds the `mosaic_config_v1` handed to `create`. The broker uses this, and
// so does the fake host in sdk/testing, so a plugin sees the same values in
// its own tests as in production. Header-only, standard library only.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "mosaic/abi/plugin.h"

namespace mosaic::sdk {

// A config value as the user wrote it, before it is checked.
struct raw_value {
  enum class kind { scalar, list, map, null };
  std::string name;
  kind type = kind::scalar;
  std::string scalar;
  std::vector<std::string> items;
  bool quoted = false;  // written as a quoted string: always a string
  std::string where;    // "file:line:column", or empty
};

inline const char* config_type_name(int32_t type) {
  switch (type) {
    case MOSAIC_CONFIG_BOOL: return "a boolean";
    case MOSAIC_CONFIG_INT: return "an integer";
    case MOSAIC_CONFIG_DOUBLE: return "a number";
    case MOSAIC_CONFIG_STRING: return "a string";
    case MOSAIC_CONFIG_LIST: return "a list";
    default: return "unknown type";
  }
}

// Reads the int range only where the plugin's struct is large enough to hold it.
inline int64_t field_int_min(const mosaic_config_field_v1& f) {
  return f.struct_size >= offsetof(mosaic_config_field_v1, int_min) + sizeof(int64_t) ? f.int_min : INT64_MIN;
}
inline int64_t field_int_max(const mosaic_config_field_v1& f) {
  return f.struct_size >= offsetof(mosaic_config_field_v1, int_max) + sizeof(int64_t) ? f.int_max : INT64_MAX;
}

namespace detail {

inline std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

// Returns the canonical text of `text` read as `type`, or nullopt.
inline std::optional<std::string> canonical_scalar(const mosaic_config_field_v1& f, std::string_view text,
                                                   std::string* why) {
  switch (f.type) {
    case MOSAIC_CONFIG_BOOL:
      if (text == "true" || text == "True" || text == "TRUE") return "true";
      if (text == "false" || text == "False" || text == "FALSE") return "false";
      *why = "expected a boolean (true or false)";
      return std::nullopt;
    case MOSAIC_CONFIG_INT: {
      int64_t v = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || end != text.data() + text.size()) {
        *why = "expected an integer";
        return std::nullopt;
      }
      if (v < field_int_min(f) || v > field_int_max(f)) {
        *why = "must be between " + std::to_string(field_int_min(f)) + " and " + std::to_string(field_int_max(f));
        return std::nullopt;
      }
      return std::to_string(v);
    }
    case MOSAIC_CONFIG_DOUBLE: {
      double v = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || end != text.data() + text.size()) {
        *why = "expected a number";
        return std::nullopt;
      }
      return std::string(text);
    }
    case MOSAIC_CONFIG_STRING: return std::string(text);
    default: *why = "has an unknown type"; return std::nullopt;
  }
}

}  // namespace detail

// The checked config, owning its strings. Not copyable or movable, since
// `view()` points into it; hold it by unique_ptr.
class validated_config {
 public:
  struct entry {
    std::string name;
    std::optional<std::string> value;  // set for scalars
    std::vector<std::string> items;    // for lists
    bool secret = false;
  };

  explicit validated_config(std::vector<entry> entries) : entries_(std::move(entries)) {
    for (auto& e : entries_) {
      auto& ptrs = item_ptrs_.emplace_back();
      for (auto& item : e.items) ptrs.push_back(item.c_str());
    }
    for (size_t i = 0; i < entries_.size(); ++i) {
      auto& e = entries_[i];
      values_.push_back({e.name.c_str(), e.value ? e.value->c_str() : nullptr,
                         item_ptrs_[i].empty() ? nullptr : item_ptrs_[i].data(), item_ptrs_[i].size()});
    }
    cfg_ = {sizeof(mosaic_config_v1), values_.data(), values_.size()};
  }
  validated_config(const validated_config&) = delete;
  validated_config& operator=(const validated_config&) = delete;

  const mosaic_config_v1* view() const { return &cfg_; }
  const std::vector<entry>& entries() const { return entries_; }

  // "level=3, dictionary=<secret>" for logs and listings; with
  // `reveal_secrets`, a complete form to compare two configs by.
  std::string describe(bool reveal_secrets = false) const {
    std::string s;
    for (auto& e : entries_) {
      if (!s.empty()) s += ", ";
      s += e.name + "=";
      if (e.secret && !reveal_secrets) {
        s += "<secret>";
      } else if (e.value) {
        s += *e.value;
      } else {
        s += "[";
        for (size_t i = 0; i < e.items.size(); ++i) s += (i ? "," : "") + e.items[i];
        s += "]";
      }
    }
    return s;
  }

 private:
  std::vector<entry> entries_;
  std::vector<std::vector<const char*>> item_ptrs_;
  std::vector<mosaic_config_value_v1> values_;
  mosaic_config_v1 cfg_{};
};

struct validation_result {
  std::unique_ptr<validated_config> config;  // null on failure
  std::string error;                         // set on failure
};

// Checks `given` against `factory`'s declared fields: an unknown key, a value
// of the wrong type or out of range, a duplicate key, and a missing required
// field are refused with a message naming the key and where it was written
// (`block_where` locates the block as a whole, for a key that is missing).
inline validation_result validate_config(const mosaic_factory_v1& factory, std::span<const raw_value> given,
                                         const std::string& block_where = {}) {
  auto fail = [&](const raw_value* at, const std::string& message) {
    const std::string& where = at != nullptr && !at->where.empty() ? at->where : block_where;
    std::string prefix = where.empty() ? std::string() : where + ": ";
    return validation_result{nullptr, prefix + "plugin '" + factory.name + "': " + message};
  };
  std::span<const mosaic_config_field_v1* const> fields(factory.config_fields, factory.config_field_count);

  for (size_t i = 0; i < given.size(); ++i) {
    const raw_value& g = given[i];
    bool known = false;
    for (auto* f : fields) known = known || g.name == f->name;
    if (!known) {
      std::string names;
      for (auto* f : fields) names += (names.empty() ? "" : ", ") + std::string(f->name);
      return fail(&g, "unknown config key '" + g.name + "' (" +
                          (names.empty() ? std::string("it takes no config") : "its keys are: " + names) + ")");
    }
    for (size_t j = 0; j < i; ++j)
      if (given[j].name == g.name) return fail(&g, "config key '" + g.name + "' is given twice");
  }

  std::vector<validated_config::entry> out;
  for (auto* f : fields) {
    const raw_value* g = nullptr;
    for (auto& candidate : given)
      if (candidate.name == f->name && candidate.type != raw_value::kind::null) g = &candidate;
    validated_config::entry e{f->name, std::nullopt, {}, (f->flags & MOSAIC_CONFIG_SECRET) != 0};
    std::string why;
    auto wrong_type = [&](const char* got) {
      return fail(g, "config key '" + e.name + "' expects " + config_type_name(f->type) + ", got " + got);
    };
    if (g == nullptr) {
      if ((f->flags & MOSAIC_CONFIG_REQUIRED) != 0)
        return fail(nullptr, "missing required config key '" + e.name + "'");
      if (f->default_value == nullptr) continue;
      if (f->type == MOSAIC_CONFIG_LIST) {
        e.items = detail::split_list(f->default_value);
      } else {
        auto v = detail::canonical_scalar(*f, f->default_value, &why);
        if (!v) return fail(nullptr, "default of '" + e.name + "' is invalid: " + why);
        e.value = std::move(*v);
      }
    } else if (f->type == MOSAIC_CONFIG_LIST) {
      if (g->type != raw_value::kind::list) return wrong_type(g->type == raw_value::kind::map ? "a map" : "a scalar");
      e.items = g->items;
    } else {
      if (g->type == raw_value::kind::list) return wrong_type("a list");
      if (g->type == raw_value::kind::map) return wrong_type("a map");
      if (g->quoted && f->type != MOSAIC_CONFIG_STRING) return wrong_type("a quoted string");
      auto v = detail::canonical_scalar(*f, g->scalar, &why);
      if (!v) return fail(g, "config key '" + e.name + "': " + why + ", got '" + g->scalar + "'");
      e.value = std::move(*v);
    }
    out.push_back(std::move(e));
  }
  return {std::make_unique<validated_config>(std::move(out)), {}};
}

}  // namespace mosaic::sdk
