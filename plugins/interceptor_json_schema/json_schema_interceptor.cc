// mosaic.interceptor.json_schema: a record interceptor that refuses a batch
// whose record values are not JSON documents matching a JSON Schema: the
// producer gets INVALID_RECORD with where the first record failed and why,
// and nothing of the batch is stored.
//
// The schema (a file, read when the instance is made, and again on each
// reload) is JSON Schema draft 2020-12, this subset of it:
//   - boolean schemas (true, false);
//   - type (one name or a list; "integer" takes 1.0 as 2020-12 does), enum,
//     const;
//   - objects: properties, required, additionalProperties (a boolean or a
//     schema), minProperties, maxProperties;
//   - arrays: prefixItems, items (the elements after prefixItems),
//     minItems, maxItems, uniqueItems;
//   - strings: minLength, maxLength (in code points);
//   - numbers: minimum, maximum, exclusiveMinimum, exclusiveMaximum,
//     multipleOf;
//   - allOf, anyOf, oneOf, not, if / then / else;
//   - $defs and $ref to a place in the same document ("#", "#/$defs/name",
//     any JSON pointer starting with "#/").
// Annotations are read and ignored: $schema, $id, $comment, title,
// description, default, examples, deprecated, readOnly, writeOnly, format
// (an annotation in 2020-12 unless a vocabulary says otherwise). Any other
// keyword (pattern, patternProperties, contains, dependentSchemas, $ref to
// another document, ...) makes the schema refused when it is loaded: a
// schema is never checked more weakly than it reads.
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mosaic/sdk/record_interceptor.h"

namespace {

using namespace mosaic;
using json = nlohmann::json;

const std::set<std::string, std::less<>>& annotations() {
  static const std::set<std::string, std::less<>> s = {"$schema",     "$id",       "$comment", "title",
                                                       "description", "default",   "examples", "deprecated",
                                                       "readOnly",    "writeOnly", "format"};
  return s;
}

const std::set<std::string, std::less<>>& keywords() {
  static const std::set<std::string, std::less<>> s = {"$defs",
                                                       "$ref",
                                                       "type",
                                                       "enum",
                                                       "const",
                                                       "properties",
                                                       "required",
                                                       "additionalProperties",
                                                       "minProperties",
                                                       "maxProperties",
                                                       "prefixItems",
                                                       "items",
                                                       "minItems",
                                                       "maxItems",
                                                       "uniqueItems",
                                                       "minLength",
                                                       "maxLength",
                                                       "minimum",
                                                       "maximum",
                                                       "exclusiveMinimum",
                                                       "exclusiveMaximum",
                                                       "multipleOf",
                                                       "allOf",
                                                       "anyOf",
                                                       "oneOf",
                                                       "not",
                                                       "if",
                                                       "then",
                                                       "else"};
  return s;
}

std::string pointer_text(const std::string& at) { return at.empty() ? "/" : at; }

// JSON Pointer escaping of one name.
std::string escaped(const std::string& name) {
  std::string out;
  for (char c : name) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

size_t code_points(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

bool is_integer(const json& v) {
  if (v.is_number_integer()) return true;
  if (!v.is_number_float()) return false;
  const double d = v.get<double>();
  return std::isfinite(d) && std::floor(d) == d;
}

bool type_matches(const json& v, std::string_view type) {
  if (type == "null") return v.is_null();
  if (type == "boolean") return v.is_boolean();
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "number") return v.is_number();
  if (type == "integer") return is_integer(v);
  return false;
}

// Numbers compare as numbers (1 == 1.0), as JSON Schema's equality says.
bool equal(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) return a.get<double>() == b.get<double>();
  if (a.type() != b.type()) return false;
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (!equal(a[i], b[i])) return false;
    return true;
  }
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      auto other = b.find(it.key());
      if (other == b.end() || !equal(*it, *other)) return false;
    }
    return true;
  }
  return a == b;
}

std::string brief(const json& v) {
  std::string s = v.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

class schema {
 public:
  explicit schema(json root) : root_(std::move(root)) { check(root_, "#"); }

  // Empty when `v` matches; otherwise where and why it does not.
  std::string validate(const json& v) const { return at(root_, v, "", 0); }

 private:
  // Refuses what the subset does not cover, and malformed keyword values.
  void check(const json& s, const std::string& where) const {
    if (s.is_boolean()) return;
    if (!s.is_object()) throw sdk::error(MOSAIC_ERR_CONFIG, where + ": a schema is an object or a boolean");
    for (auto it = s.begin(); it != s.end(); ++it) {
      const std::string& k = it.key();
      const json& v = *it;
      const std::string here = where + "/" + escaped(k);
      if (annotations().count(k)) continue;
      if (!keywords().count(k))
        throw sdk::error(MOSAIC_ERR_CONFIG,
                         here + ": keyword '" + k + "' is not in the supported subset of JSON Schema");
      auto need = [&](bool ok, const char* what) {
        if (!ok) throw sdk::error(MOSAIC_ERR_CONFIG, here + ": " + what);
      };
      if (k == "$defs" || k == "properties") {
        need(v.is_object(), "expects an object of schemas");
        for (auto d = v.begin(); d != v.end(); ++d) check(*d, here + "/" + escaped(d.key()));
      } else if (k == "$ref") {
        need(v.is_string(), "expects a string");
        resolve(v.get<std::string>(), here);
      } else if (k == "type") {
        auto known = [](const json& t) {
          return t.is_string() && (t == "null" || t == "boolean" || t == "object" || t == "array" || t == "string" ||
                                   t == "number" || t == "integer");
        };
        bool ok = known(v);
        if (v.is_array()) {
          ok = !v.empty();
          for (const auto& t : v) ok = ok && known(t);
        }
        need(ok, "expects a type name or a list of them");
      } else if (k == "enum") {
        need(v.is_array(), "expects a list");
      } else if (k == "required") {
        need(v.is_array(), "expects a list of names");
        for (const auto& n : v) need(n.is_string(), "expects a list of names");
      } else if (k == "additionalProperties" || k == "items" || k == "not" || k == "if" || k == "then" || k == "else") {
        check(v, here);
      } else if (k == "prefixItems" || k == "allOf" || k == "anyOf" || k == "oneOf") {
        need(v.is_array() && !v.empty(), "expects a non-empty list of schemas");
        for (size_t i = 0; i < v.size(); ++i) check(v[i], here + "/" + std::to_string(i));
      } else if (k == "minProperties" || k == "maxProperties" || k == "minItems" || k == "maxItems" ||
                 k == "minLength" || k == "maxLength") {
        need(is_integer(v) && v.get<double>() >= 0, "expects a non-negative integer");
      } else if (k == "uniqueItems") {
        need(v.is_boolean(), "expects true or false");
      } else if (k == "multipleOf") {
        need(v.is_number() && v.get<double>() > 0, "expects a number above 0");
      } else if (k == "minimum" || k == "maximum" || k == "exclusiveMinimum" || k == "exclusiveMaximum") {
        need(v.is_number(), "expects a number");
      }
    }
  }

  // "#" or "#/..." within this document.
  const json& resolve(const std::string& ref, const std::string& where) const {
    if (ref == "#") return root_;
    if (ref.rfind("#/", 0) != 0)
      throw sdk::error(MOSAIC_ERR_CONFIG,
                       where + ": $ref '" + ref + "': only references within the schema file (#/...)");
    try {
      return root_.at(json::json_pointer(ref.substr(1)));
    } catch (const std::exception&) {
      throw sdk::error(MOSAIC_ERR_CONFIG, where + ": $ref '" + ref + "' points nowhere in the schema");
    }
  }

  std::string at(const json& s, const json& v, const std::string& path, int depth) const {
    if (depth > 64) return pointer_text(path) + ": the schema's references nest deeper than 64";
    if (s.is_boolean()) return s.get<bool>() ? "" : pointer_text(path) + ": no value is allowed here";
    auto fail = [&](const std::string& why) { return pointer_text(path) + ": " + why; };
    for (auto it = s.begin(); it != s.end(); ++it) {
      const std::string& k = it.key();
      const json& kw = *it;
      std::string bad;
      if (k == "$ref") {
        bad = at(resolve(kw.get<std::string>(), "#"), v, path, depth + 1);
      } else if (k == "type") {
        bool ok = false;
        if (kw.is_string()) ok = type_matches(v, kw.get<std::string>());
        for (const auto& t : kw.is_array() ? kw : json::array()) ok = ok || type_matches(v, t.get<std::string>());
        if (!ok) bad = fail(brief(v) + " is not of type " + kw.dump());
      } else if (k == "enum") {
        bool ok = false;
        for (const auto& e : kw) ok = ok || equal(e, v);
        if (!ok) bad = fail(brief(v) + " is not one of " + brief(kw));
      } else if (k == "const") {
        if (!equal(kw, v)) bad = fail(brief(v) + " is not " + brief(kw));
      } else if (k == "properties" && v.is_object()) {
        for (auto p = kw.begin(); p != kw.end() && bad.empty(); ++p) {
          auto field = v.find(p.key());
          if (field != v.end()) bad = at(*p, *field, path + "/" + escaped(p.key()), depth + 1);
        }
      } else if (k == "required" && v.is_object()) {
        for (const auto& n : kw)
          if (bad.empty() && !v.contains(n.get<std::string>()))
            bad = fail("the required property '" + n.get<std::string>() + "' is missing");
      } else if (k == "additionalProperties" && v.is_object()) {
        const json* named = s.contains("properties") ? &s.at("properties") : nullptr;
        for (auto p = v.begin(); p != v.end() && bad.empty(); ++p) {
          if (named != nullptr && named->contains(p.key())) continue;
          if (kw.is_boolean() && !kw.get<bool>())
            bad = fail("property '" + p.key() + "' is not allowed");
          else
            bad = at(kw, *p, path + "/" + escaped(p.key()), depth + 1);
        }
      } else if ((k == "minProperties" || k == "maxProperties") && v.is_object()) {
        const auto n = kw.get<double>();
        if (k == "minProperties" ? static_cast<double>(v.size()) < n : static_cast<double>(v.size()) > n)
          bad = fail(std::to_string(v.size()) + " properties, " + (k == "minProperties" ? "at least " : "at most ") +
                     kw.dump() + " allowed");
      } else if (k == "prefixItems" && v.is_array()) {
        for (size_t i = 0; i < kw.size() && i < v.size() && bad.empty(); ++i)
          bad = at(kw[i], v[i], path + "/" + std::to_string(i), depth + 1);
      } else if (k == "items" && v.is_array()) {
        const size_t from = s.contains("prefixItems") ? s.at("prefixItems").size() : 0;
        for (size_t i = from; i < v.size() && bad.empty(); ++i)
          bad = at(kw, v[i], path + "/" + std::to_string(i), depth + 1);
      } else if ((k == "minItems" || k == "maxItems") && v.is_array()) {
        const auto n = kw.get<double>();
        if (k == "minItems" ? static_cast<double>(v.size()) < n : static_cast<double>(v.size()) > n)
          bad = fail(std::to_string(v.size()) + " items, " + (k == "minItems" ? "at least " : "at most ") + kw.dump() +
                     " allowed");
      } else if (k == "uniqueItems" && v.is_array() && kw.get<bool>()) {
        for (size_t i = 0; i < v.size() && bad.empty(); ++i)
          for (size_t j = i + 1; j < v.size() && bad.empty(); ++j)
            if (equal(v[i], v[j]))
              bad = fail("items " + std::to_string(i) + " and " + std::to_string(j) + " are equal");
      } else if ((k == "minLength" || k == "maxLength") && v.is_string()) {
        const auto n = static_cast<double>(code_points(v.get<std::string>()));
        if (k == "minLength" ? n < kw.get<double>() : n > kw.get<double>())
          bad = fail("a string of " + std::to_string(static_cast<size_t>(n)) + " characters, " +
                     (k == "minLength" ? "at least " : "at most ") + kw.dump() + " allowed");
      } else if (v.is_number() && (k == "minimum" || k == "maximum" || k == "exclusiveMinimum" ||
                                   k == "exclusiveMaximum" || k == "multipleOf")) {
        const double x = v.get<double>(), limit = kw.get<double>();
        if (k == "minimum" && x < limit) bad = fail(brief(v) + " is less than the minimum " + kw.dump());
        if (k == "maximum" && x > limit) bad = fail(brief(v) + " is more than the maximum " + kw.dump());
        if (k == "exclusiveMinimum" && x <= limit) bad = fail(brief(v) + " is not above " + kw.dump());
        if (k == "exclusiveMaximum" && x >= limit) bad = fail(brief(v) + " is not below " + kw.dump());
        if (k == "multipleOf") {
          const double q = x / limit;
          if (!std::isfinite(q) || std::fabs(q - std::round(q)) > 1e-9)
            bad = fail(brief(v) + " is not a multiple of " + kw.dump());
        }
      } else if (k == "allOf") {
        for (const auto& sub : kw)
          if (bad.empty()) bad = at(sub, v, path, depth + 1);
      } else if (k == "anyOf" || k == "oneOf") {
        size_t matched = 0;
        std::string first;
        for (const auto& sub : kw) {
          std::string why = at(sub, v, path, depth + 1);
          if (why.empty())
            ++matched;
          else if (first.empty())
            first = why;
        }
        if (matched == 0) bad = fail("matches none of " + k + " (the first: " + first + ")");
        if (k == "oneOf" && matched > 1) bad = fail("matches " + std::to_string(matched) + " of oneOf, not one");
      } else if (k == "not") {
        if (at(kw, v, path, depth + 1).empty()) bad = fail("matches the schema under 'not'");
      } else if (k == "if") {
        const bool holds = at(kw, v, path, depth + 1).empty();
        const char* branch = holds ? "then" : "else";
        if (s.contains(branch)) bad = at(s.at(branch), v, path, depth + 1);
      }
      if (!bad.empty()) return bad;
    }
    return "";
  }

  json root_;
};

class json_schema : public sdk::record_interceptor<json_schema> {
 public:
  static constexpr const char* name = "mosaic.interceptor.json_schema";
  static constexpr const char* description =
      "refuses batches whose record values are not JSON matching a JSON Schema (a draft 2020-12 subset)";
  static constexpr bool reads_records = true;
  static constexpr sdk::field config_fields[] = {
      sdk::string_field("schema.file", nullptr,
                        "the JSON Schema (draft 2020-12, the subset this plugin's source states), read at start and "
                        "on each reload",
                        MOSAIC_CONFIG_REQUIRED | MOSAIC_CONFIG_RECONFIGURABLE),
      sdk::string_field("null.values", "accept",
                        "a record with a null value (a tombstone): accept, or reject it as not JSON",
                        MOSAIC_CONFIG_RECONFIGURABLE)};

  json_schema(const sdk::config& cfg, sdk::host host) : schema_(load(cfg.get_string("schema.file"))) {
    const std::string nulls = cfg.get_string("null.values", "accept");
    if (nulls != "accept" && nulls != "reject")
      throw sdk::error(MOSAIC_ERR_CONFIG, "null.values is accept or reject, got '" + nulls + "'");
    accept_nulls_ = nulls == "accept";
    host.info("schema " + cfg.get_string("schema.file") + " loaded");
  }

  sdk::verdict intercept(const sdk::produced_batch& b, const sdk::stamp&) const {
    for (int32_t i = 0; i < b.record_count(); ++i) {
      const auto r = b.record(static_cast<size_t>(i));
      const auto value = r.value();
      const std::string which = "record " + std::to_string(i) + " of the batch";
      if (!value) {
        if (accept_nulls_) continue;
        return sdk::verdict::reject(which + " has a null value, which is not JSON", i);
      }
      json doc = json::parse(value->begin(), value->end(), nullptr, false);
      if (doc.is_discarded()) return sdk::verdict::reject(which + ": the value is not JSON", i);
      if (std::string why = schema_.validate(doc); !why.empty())
        return sdk::verdict::reject(which + " does not match the schema: " + why, i);
    }
    return sdk::verdict::accept();
  }

 private:
  static schema load(const std::string& file) {
    std::ifstream in(file);
    if (!in) throw sdk::error(MOSAIC_ERR_CONFIG, "schema.file: cannot read '" + file + "'");
    std::stringstream text;
    text << in.rdbuf();
    json root = json::parse(text.str(), nullptr, false);
    if (root.is_discarded()) throw sdk::error(MOSAIC_ERR_CONFIG, "schema.file: '" + file + "' is not JSON");
    try {
      return schema(std::move(root));
    } catch (const sdk::error& e) {
      throw sdk::error(MOSAIC_ERR_CONFIG, "schema.file '" + file + "': " + e.what());
    }
  }

  schema schema_;
  bool accept_nulls_ = true;
};

}  // namespace

MOSAIC_PLUGIN("mosaic-interceptor-json-schema", "0.1.0", json_schema)
