// Kafka message schemas (JSON with // comments) -> C++ types with encode and
// decode for every version, plus sample builders for round-trip tests.
//
//   kafka_codegen OUT_DIR CHUNKS SCHEMA.json...
//
// Writes OUT_DIR/<message>.h for each schema, OUT_DIR/messages_<i>.cc and
// OUT_DIR/samples_<i>.cc in CHUNKS pieces (so a 2-core build can split the
// work), and OUT_DIR/registry.cc listing every message for the tests. The
// output is plain code built on protocol/codec.h; the only logic here is
// walking the schema.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

using json = nlohmann::json;

struct version_range {
  int lo = 0;
  int hi = -1;  // -1: open; lo > hi: none
  bool none() const { return lo > hi && hi != -1; }
  static version_range parse(const std::string& s) {
    if (s.empty() || s == "none") return {1, 0};
    auto plus = s.find('+');
    if (plus != std::string::npos) return {std::stoi(s.substr(0, plus)), -1};
    auto dash = s.find('-');
    if (dash != std::string::npos) return {std::stoi(s.substr(0, dash)), std::stoi(s.substr(dash + 1))};
    int v = std::stoi(s);
    return {v, v};
  }
  // A C++ condition on `v` for "v is in this range".
  std::string cond() const {
    if (none()) return "false";
    if (hi == -1) return lo == 0 ? "true" : "v >= " + std::to_string(lo);
    if (lo == hi) return "v == " + std::to_string(lo);
    return "(v >= " + std::to_string(lo) + " && v <= " + std::to_string(hi) + ")";
  }
  bool contains(int v) const { return !none() && v >= lo && (hi == -1 || v <= hi); }
};

std::string snake(const std::string& name) {
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (std::isupper(static_cast<unsigned char>(c))) {
      bool prev_lower = i > 0 && (std::islower(static_cast<unsigned char>(name[i - 1])) ||
                                  std::isdigit(static_cast<unsigned char>(name[i - 1])));
      bool next_lower = i + 1 < name.size() && std::islower(static_cast<unsigned char>(name[i + 1]));
      if (i > 0 && (prev_lower || (next_lower && std::isupper(static_cast<unsigned char>(name[i - 1]))))) out += '_';
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      out += c;
    }
  }
  static const std::set<std::string> reserved = {"default",  "operator", "delete",  "new",    "class",     "struct",
                                                 "union",    "register", "private", "public", "namespace", "this",
                                                 "template", "typename", "int",     "long",   "short",     "bool",
                                                 "char",     "version",  "v",       "r",      "w"};
  if (reserved.count(out)) out += '_';
  return out;
}

struct field;
struct struct_def {
  std::string name;  // C++ type name
  std::vector<field> fields;
};

struct field {
  std::string name;  // C++ member
  std::string type;  // schema type without []
  bool array = false;
  bool is_struct = false;
  version_range versions;
  version_range nullable{1, 0};
  version_range tagged{1, 0};
  int tag = -1;
  version_range flexible_override{1, 0};
  bool has_flexible_override = false;
  json default_value;
};

struct message {
  std::string schema_name;  // "ApiVersionsRequest"
  std::string cpp_name;     // "api_versions_request"
  std::string type;         // request / response / header / data
  int api_key = -1;
  version_range valid;
  version_range flexible;
  std::vector<struct_def> structs;  // nested first, the top one last
};

struct generator {
  message m;
  std::map<std::string, json> common;  // commonStructs by name

  std::vector<field> parse_fields(const json& fields) {
    std::vector<field> out;
    for (const auto& f : fields) {
      field x;
      x.name = snake(f.at("name").get<std::string>());
      std::string t = f.at("type").get<std::string>();
      if (t.rfind("[]", 0) == 0) {
        x.array = true;
        t = t.substr(2);
      }
      x.type = t;
      x.versions = version_range::parse(f.value("versions", std::string("0+")));
      if (f.contains("nullableVersions")) x.nullable = version_range::parse(f["nullableVersions"].get<std::string>());
      if (f.contains("taggedVersions")) x.tagged = version_range::parse(f["taggedVersions"].get<std::string>());
      if (f.contains("tag")) x.tag = f["tag"].get<int>();
      if (f.contains("flexibleVersions")) {
        x.flexible_override = version_range::parse(f["flexibleVersions"].get<std::string>());
        x.has_flexible_override = true;
      }
      if (f.contains("default")) x.default_value = f["default"];
      const bool primitive = t == "int8" || t == "int16" || t == "int32" || t == "int64" || t == "uint16" ||
                             t == "uint32" || t == "float64" || t == "bool" || t == "string" || t == "bytes" ||
                             t == "records" || t == "uuid";
      if (!primitive) {
        x.is_struct = true;
        x.type = snake(t);
        if (f.contains("fields")) {
          add_struct(x.type, f["fields"]);
        } else if (common.count(t)) {
          add_struct(x.type, common[t].at("fields"));
        }
      }
      out.push_back(std::move(x));
    }
    return out;
  }

  void add_struct(const std::string& name, const json& fields) {
    for (const auto& s : m.structs)
      if (s.name == name) return;
    auto parsed = parse_fields(fields);  // nested structs are added first
    m.structs.push_back({name, std::move(parsed)});
  }

  static std::string cpp_type(const field& f, bool element = false) {
    std::string base;
    const std::string& t = f.type;
    if (f.is_struct)
      base = f.type;
    else if (t == "int8")
      base = "int8_t";
    else if (t == "int16")
      base = "int16_t";
    else if (t == "int32")
      base = "int32_t";
    else if (t == "int64")
      base = "int64_t";
    else if (t == "uint16")
      base = "uint16_t";
    else if (t == "uint32")
      base = "uint32_t";
    else if (t == "float64")
      base = "double";
    else if (t == "bool")
      base = "bool";
    else if (t == "string")
      base = "std::string";
    else if (t == "bytes" || t == "records")
      base = "bytes_ref";
    else if (t == "uuid")
      base = "uuid";
    if (element) return base;
    const bool nullable = !f.nullable.none();
    if (f.array) return nullable ? "std::optional<std::vector<" + base + ">>" : "std::vector<" + base + ">";
    if (nullable && (t == "string" || f.is_struct)) return "std::optional<" + base + ">";
    return base;  // bytes_ref carries its own null
  }

  // The C++ initialiser for a field's default, or "".
  static std::string default_init(const field& f) {
    if (f.array || f.is_struct) return "";
    const json& d = f.default_value;
    const std::string& t = f.type;
    if (d.is_null())
      return t == "bool" ? "false" : (t == "string" || t == "uuid" || t == "bytes" || t == "records") ? "" : "0";
    std::string s = d.is_string() ? d.get<std::string>() : d.dump();
    if (s == "null") return t == "string" ? "std::nullopt" : "";
    if (t == "bool") return s == "true" ? "true" : "false";
    if (t == "string") return s.empty() ? "" : "\"" + s + "\"";
    if (t == "float64") return s;
    if (t == "uuid" || t == "bytes" || t == "records") return "";
    if (s.rfind("0x", 0) == 0 || s.rfind("0X", 0) == 0) return "static_cast<" + cpp_type(f) + ">(" + s + ")";
    if (s == "-9223372036854775808") return "INT64_MIN";
    return "static_cast<" + cpp_type(f) + ">(" + s + ")";
  }

  // Encoder and decoder statements for one value.
  std::string write_value(const field& f, const std::string& expr, const std::string& flex,
                          const std::string& w) const {
    const std::string& t = f.type;
    if (f.is_struct) return expr + ".encode(" + w + ", v);";
    if (t == "string") return w + ".string(" + expr + ", " + flex + ");";
    if (t == "bytes" || t == "records") return w + ".bytes(" + expr + ", " + flex + ");";
    if (t == "uuid") return w + ".uuid(" + expr + ");";
    if (t == "bool") return w + ".boolean(" + expr + ");";
    if (t == "float64") return w + ".float64(" + expr + ");";
    return w + ".integer<" + cpp_type(f, true) + ">(" + expr + ");";
  }
  std::string read_value(const field& f, const std::string& target, const std::string& flex,
                         const std::string& r) const {
    const std::string& t = f.type;
    if (f.is_struct) return target + ".decode(" + r + ", v);";
    if (t == "string") return target + " = " + r + ".string(" + flex + ");";
    if (t == "bytes" || t == "records") return target + " = " + r + ".bytes(" + flex + ");";
    if (t == "uuid") return target + " = " + r + ".uuid();";
    if (t == "bool") return target + " = " + r + ".boolean();";
    if (t == "float64") return target + " = " + r + ".float64();";
    return target + " = " + r + ".integer<" + cpp_type(f, true) + ">();";
  }

  std::string flex_expr(const field& f) const {
    if (f.has_flexible_override) return "(flexible && " + f.flexible_override.cond() + ")";
    return "flexible";
  }

  // Writes one field's value (not its tag framing) with writer `w`.
  std::string encode_field(const field& f, const std::string& ind, const std::string& w = "w") const {
    std::ostringstream o;
    const std::string flex = flex_expr(f);
    const std::string nullable_cond = f.nullable.cond();
    const std::string& n = f.name;
    const std::string forbid = "throw encode_error(\"" + n + " is null in a version that forbids it\");";
    if (f.array) {
      if (!f.nullable.none()) {
        o << ind << "if (!" << n << ") {\n"
          << ind << "  if (!(" << nullable_cond << ")) " << forbid << "\n"
          << ind << "  " << w << ".null_array(" << flex << ");\n"
          << ind << "} else {\n"
          << ind << "  " << w << ".array_length(" << n << "->size(), " << flex << ");\n"
          << ind << "  for (const auto& e : *" << n << ") { " << write_value(f, "e", flex, w) << " }\n"
          << ind << "}\n";
      } else {
        o << ind << w << ".array_length(" << n << ".size(), " << flex << ");\n"
          << ind << "for (const auto& e : " << n << ") { " << write_value(f, "e", flex, w) << " }\n";
      }
      return o.str();
    }
    if (f.is_struct && !f.nullable.none()) {
      o << ind << "if (!" << n << ") { " << w << ".integer<int8_t>(-1); } else { " << w << ".integer<int8_t>(1); " << n
        << "->encode(" << w << ", v); }\n";
      return o.str();
    }
    if (f.type == "string" && !f.nullable.none()) {
      o << ind << "if (!" << n << " && !(" << nullable_cond << ")) " << forbid << "\n";
      o << ind << w << ".nullable_string(" << n << ", " << flex << ");\n";
      return o.str();
    }
    if (f.type == "bytes" || f.type == "records")
      o << ind << "if (" << n << ".null && !(" << nullable_cond << ")) " << forbid << "\n";
    o << ind << write_value(f, n, flex, w) << "\n";
    return o.str();
  }

  // Reads one field's value with reader `r`.
  std::string decode_field(const field& f, const std::string& ind, const std::string& r = "r") const {
    std::ostringstream o;
    const std::string flex = flex_expr(f);
    const std::string& n = f.name;
    if (f.array) {
      o << ind << "{\n" << ind << "  const int64_t elements_ = " << r << ".array_length(" << flex << ");\n";
      if (!f.nullable.none()) {
        o << ind << "  if (elements_ < 0) { " << n << ".reset(); } else {\n"
          << ind << "    " << n << ".emplace();\n"
          << ind << "    " << n << "->resize(static_cast<size_t>(elements_));\n"
          << ind << "    for (auto& e : *" << n << ") { " << read_value(f, "e", flex, r) << " }\n"
          << ind << "  }\n";
      } else {
        o << ind << "  if (elements_ < 0) throw decode_error(\"" << n << ": null array\");\n"
          << ind << "  " << n << ".resize(static_cast<size_t>(elements_));\n"
          << ind << "  for (auto& e : " << n << ") { " << read_value(f, "e", flex, r) << " }\n";
      }
      o << ind << "}\n";
      return o.str();
    }
    if (f.is_struct && !f.nullable.none()) {
      o << ind << "if (" << r << ".integer<int8_t>() < 0) { " << n << ".reset(); } else { " << n << ".emplace(); " << n
        << "->decode(" << r << ", v); }\n";
      return o.str();
    }
    if (f.type == "string" && !f.nullable.none()) {
      o << ind << n << " = " << r << ".nullable_string(" << flex << ");\n";
      return o.str();
    }
    o << ind << read_value(f, n, flex, r) << "\n";
    return o.str();
  }

  // The "is this field at its default" test, for tagged fields.
  std::string is_default(const field& f) const {
    const std::string& n = f.name;
    if (f.array) return f.nullable.none() ? n + ".empty()" : "(!" + n + " || " + n + "->empty())";
    // A struct is at its default when equal to a default-made one (Kafka
    // writes a tagged struct only when it carries something).
    if (f.is_struct) return f.nullable.none() ? "(" + n + " == decltype(" + n + "){})" : "!" + n;
    if (f.type == "bytes" || f.type == "records") return "(" + n + ".null || " + n + ".size == 0)";
    if (f.type == "uuid") return "(" + n + " == uuid{})";
    std::string init = default_init(f);
    if (f.type == "string") {
      if (!f.nullable.none())
        return init == "std::nullopt" ? "!" + n : "(" + n + " && *" + n + " == " + (init.empty() ? "\"\"" : init) + ")";
      return n + " == " + (init.empty() ? "\"\"" : init);
    }
    return n + " == " + (init.empty() ? "0" : init);
  }

  void emit_struct_decl(std::ostream& h, const struct_def& s, bool top) const {
    h << "struct " << (top ? m.cpp_name : s.name) << " {\n";
    for (const auto& f : s.fields) {
      std::string init = default_init(f);
      h << "  " << cpp_type(f) << " " << f.name;
      h << "{" << init << "}";  // value-initialised when the schema gives no default
      h << ";\n";
    }
    h << "  std::vector<tagged_field> unknown_tags;  // kept as read, written back\n\n";
    h << "  bool operator==(const " << (top ? m.cpp_name : m.cpp_name + "_" + s.name) << "&) const = default;\n";
    h << "  void encode(writer& w, int16_t v) const;\n";
    h << "  void decode(reader& r, int16_t v);\n";
    h << "};\n\n";
  }

  void emit_struct_impl(std::ostream& c, const struct_def& s, bool top) const {
    const std::string qual = top ? m.cpp_name : m.cpp_name + "_" + s.name;
    const std::string flexible_cond = m.flexible.cond();
    c << "void " << qual << "::encode(writer& w, int16_t v) const {\n";
    c << "  const bool flexible = " << flexible_cond << ";\n  (void)flexible;\n  (void)v;\n";
    std::vector<const field*> tagged;
    for (const auto& f : s.fields) {
      if (f.versions.none()) continue;
      if (!f.tagged.none()) {
        tagged.push_back(&f);
        // A tagged field may also be a regular field in versions where it is not tagged.
        c << "  if ((" << f.versions.cond() << ") && !(flexible && (" << f.tagged.cond() << "))) {\n"
          << encode_field(f, "    ") << "  }\n";
        continue;
      }
      c << "  if (" << f.versions.cond() << ") {\n" << encode_field(f, "    ") << "  }\n";
    }
    // Tagged fields, in tag order, merged with the unknown ones.
    c << "  if (flexible) {\n";
    c << "    tag_writer tags(w, unknown_tags);\n";
    std::vector<const field*> sorted = tagged;
    std::sort(sorted.begin(), sorted.end(), [](const field* a, const field* b) { return a->tag < b->tag; });
    for (const field* f : sorted) {
      c << "    if ((" << f->versions.cond() << ") && (" << f->tagged.cond() << ") && !(" << is_default(*f) << ")) {\n"
        << "      tags.begin(" << f->tag << ");\n"
        << encode_field(*f, "      ", "tags.out()") << "      tags.end();\n    }\n";
    }
    c << "    tags.finish();\n  }\n}\n\n";

    c << "void " << qual << "::decode(reader& r, int16_t v) {\n";
    c << "  const bool flexible = " << flexible_cond << ";\n  (void)flexible;\n  (void)v;\n";
    for (const auto& f : s.fields) {
      if (f.versions.none()) continue;
      if (!f.tagged.none()) {
        c << "  if ((" << f.versions.cond() << ") && !(flexible && (" << f.tagged.cond() << "))) {\n"
          << decode_field(f, "    ") << "  }\n";
        continue;
      }
      c << "  if (" << f.versions.cond() << ") {\n" << decode_field(f, "    ") << "  }\n";
    }
    c << "  if (flexible) {\n    unknown_tags.clear();\n";
    c << "    const uint32_t tag_count_ = r.uvarint32();\n";
    c << "    for (uint32_t tag_i_ = 0; tag_i_ < tag_count_; ++tag_i_) {\n";
    c << "      const uint32_t tag_id_ = r.uvarint32();\n      const uint32_t tag_size_ = r.uvarint32();\n";
    c << "      reader tag_data_ = r.sub(tag_size_);\n";
    c << "      switch (tag_id_) {\n";
    for (const field* f : sorted) {
      c << "        case " << f->tag << ":\n          if ((" << f->versions.cond() << ") && (" << f->tagged.cond()
        << ")) {\n"
        << decode_field(*f, "            ", "tag_data_") << "            break;\n          }\n"
        << "          [[fallthrough]];\n";
    }
    c << "        default:\n          unknown_tags.push_back({tag_id_, tag_data_.rest_copy()});\n      }\n";
    c << "    }\n  }\n}\n\n";
  }

  // Header: type declarations. Nested structs are namespace-level types
  // named <message>_<struct>, aliased inside the message for readability.
  void emit_header(std::ostream& h) const {
    h << "// Generated by tools/codegen from " << m.schema_name << ".json. Do not edit.\n#pragma once\n\n"
      << "#include \"plugins/protocol_kafka/protocol/codec.h\"\n\nnamespace mosaic::kafka::msg {\n\n";
    for (size_t i = 0; i + 1 < m.structs.size(); ++i) {
      struct_def renamed = m.structs[i];
      std::ostringstream body;
      emit_struct_decl(body, renamed, false);
      std::string text = body.str();
      // "struct x {" -> "struct <msg>_x {"
      text.replace(7, renamed.name.size(), m.cpp_name + "_" + renamed.name);
      h << rename_refs(text);
    }
    std::ostringstream top;
    emit_struct_decl(top, m.structs.back(), true);
    h << rename_refs(top.str());
    h << "inline constexpr int16_t " << m.cpp_name << "_min_version = " << m.valid.lo << ";\n";
    h << "inline constexpr int16_t " << m.cpp_name << "_max_version = " << m.valid.hi << ";\n";
    if (m.api_key >= 0) h << "inline constexpr int16_t " << m.cpp_name << "_api_key = " << m.api_key << ";\n";
    h << "\n}  // namespace mosaic::kafka::msg\n";
  }

  // Struct types used as field types are referred to by their long name.
  std::string rename_refs(std::string text) const {
    for (size_t i = 0; i + 1 < m.structs.size(); ++i) {
      const std::string& s = m.structs[i].name;
      for (const std::string pre : {"std::vector<", "std::optional<", "  "}) {
        std::string from = pre + s + (pre == "  " ? " " : ">");
        std::string to = pre + m.cpp_name + "_" + s + (pre == "  " ? " " : ">");
        for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
          text.replace(at, from.size(), to);
      }
    }
    return text;
  }

  void emit_impl(std::ostream& c) const {
    for (size_t i = 0; i < m.structs.size(); ++i) {
      std::ostringstream body;
      emit_struct_impl(body, m.structs[i], i + 1 == m.structs.size());
      c << body.str();
    }
  }

  // Sample values: every field present in version v gets a value that is
  // not its default, so that encode/decode/encode exercises it.
  void emit_samples(std::ostream& c) const {
    for (size_t i = 0; i < m.structs.size(); ++i) {
      const auto& s = m.structs[i];
      const bool top = i + 1 == m.structs.size();
      const std::string type = top ? m.cpp_name : m.cpp_name + "_" + s.name;
      c << "void fill(" << type << "& x, int16_t v, int seed) {\n  (void)v; (void)seed;\n";
      for (const auto& f : s.fields) {
        if (f.versions.none()) continue;
        c << "  if (" << f.versions.cond() << ") {\n";
        const std::string elem = cpp_type(f, true);
        auto value = [&](const std::string& target) {
          if (f.is_struct) return "fill(" + target + ", v, seed + 1);";
          if (f.type == "string") return target + " = \"s\" + std::to_string(seed);";
          if (f.type == "bytes" || f.type == "records") return target + " = sample_bytes(seed);";
          if (f.type == "uuid") return target + " = sample_uuid(seed);";
          if (f.type == "bool") return target + " = (seed % 2) == 0;";
          if (f.type == "float64") return target + " = 1.5 + seed;";
          return target + " = static_cast<" + elem + ">(seed + 3);";
        };
        if (f.array) {
          const std::string v_ = f.nullable.none() ? "x." + f.name : "(*x." + f.name + ")";
          if (!f.nullable.none()) c << "    x." << f.name << ".emplace();\n";
          c << "    " << v_ << ".resize(2);\n    for (auto& e : " << v_ << ") { " << value("e") << " }\n";
        } else if ((f.is_struct || f.type == "string") && !f.nullable.none()) {
          c << "    x." << f.name << ".emplace();\n    " << value("*x." + f.name) << "\n";
        } else {
          c << "    " << value("x." + f.name) << "\n";
        }
        c << "  }\n";
      }
      c << "}\n\n";
    }
  }
};

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_if_changed(const std::filesystem::path& p, const std::string& text) {
  if (std::filesystem::exists(p) && read_text(p.string()) == text) return;
  std::ofstream(p) << text;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: kafka_codegen OUT_DIR CHUNKS SCHEMA.json...\n";
    return 2;
  }
  const std::filesystem::path out = argv[1];
  const int chunks = std::max(1, std::atoi(argv[2]));
  std::filesystem::create_directories(out);
  std::vector<generator> gens;
  for (int i = 3; i < argc; ++i) {
    json j;
    try {
      j = json::parse(read_text(argv[i]), nullptr, true, /*ignore_comments=*/true);
    } catch (const std::exception& e) {
      std::cerr << argv[i] << ": " << e.what() << "\n";
      return 1;
    }
    generator g;
    g.m.schema_name = j.at("name").get<std::string>();
    g.m.cpp_name = snake(g.m.schema_name);
    g.m.type = j.value("type", std::string());
    g.m.api_key = j.value("apiKey", -1);
    g.m.valid = version_range::parse(j.value("validVersions", std::string("0")));
    g.m.flexible = version_range::parse(j.value("flexibleVersions", std::string("none")));
    if (g.m.valid.none()) continue;  // a removed API
    if (j.contains("commonStructs"))
      for (const auto& cs : j["commonStructs"]) g.common[cs.at("name").get<std::string>()] = cs;
    try {
      g.add_struct("top_", j.at("fields"));
    } catch (const std::exception& e) {
      std::cerr << argv[i] << ": " << e.what() << "\n";
      return 1;
    }
    gens.push_back(std::move(g));
  }
  std::vector<std::ostringstream> impl(static_cast<size_t>(chunks)), samples(static_cast<size_t>(chunks));
  std::ostringstream registry, all;
  all << "// Generated by tools/codegen. Do not edit.\n#pragma once\n\n";
  registry << "// Generated by tools/codegen. Do not edit.\n#include \"plugins/protocol_kafka/protocol/registry.h\"\n\n"
           << "namespace mosaic::kafka::msg {\n\n";
  for (size_t c = 0; c < static_cast<size_t>(chunks); ++c) {
    impl[c] << "// Generated by tools/codegen. Do not edit.\n#include \"kafka_messages.h\"\n\nnamespace "
               "mosaic::kafka::msg {\n\n";
    samples[c] << "// Generated by tools/codegen. Do not edit.\n#include \"kafka_messages.h\"\n"
               << "#include \"plugins/protocol_kafka/protocol/samples.h\"\n\nnamespace mosaic::kafka::msg {\n\n";
  }
  for (size_t i = 0; i < gens.size(); ++i) {
    const auto& g = gens[i];
    std::ostringstream h;
    g.emit_header(h);
    write_if_changed(out / (g.m.cpp_name + ".h"), h.str());
    all << "#include \"" << g.m.cpp_name << ".h\"\n";
    const size_t c = i % static_cast<size_t>(chunks);
    g.emit_impl(impl[c]);
    g.emit_samples(samples[c]);
    samples[c] << "bool roundtrip_" << g.m.cpp_name << "(int16_t v, std::string& why) { return roundtrip<"
               << g.m.cpp_name << ">(v, why); }\n\n";
    registry << "bool roundtrip_" << g.m.cpp_name << "(int16_t v, std::string& why);\n";
  }
  registry
      << "\nconst std::vector<message_info>& all_messages() {\n  static const std::vector<message_info> list = {\n";
  for (const auto& g : gens)
    registry << "      {\"" << g.m.schema_name << "\", \"" << g.m.type << "\", " << g.m.api_key << ", " << g.m.valid.lo
             << ", " << g.m.valid.hi << ", " << (g.m.flexible.none() ? 99 : g.m.flexible.lo) << ", &roundtrip_"
             << g.m.cpp_name << "},\n";
  registry << "  };\n  return list;\n}\n\n}  // namespace mosaic::kafka::msg\n";
  // The APIs' names (the request schema's, without "Request"), in a header
  // of their own so that what names them need not include every message.
  std::ostringstream names;
  names << "// Generated by tools/codegen. Do not edit.\n#pragma once\n\n#include <cstdint>\n#include <iterator>\n\n"
        << "namespace mosaic::kafka::msg {\n\n// The APIs' names by key (nullptr: none).\n"
        << "inline constexpr const char* api_names[] = {\n";
  std::map<int, std::string> by_key;
  for (const auto& g : gens)
    if (g.m.type == "request" && g.m.api_key >= 0) {
      std::string n = g.m.schema_name;
      if (n.size() > 7 && n.ends_with("Request")) n.resize(n.size() - 7);
      by_key[g.m.api_key] = n;
    }
  // Kafka's keys are dense from 0; keys of Mosaic's own (10000 on) are
  // named in a switch, not in the table.
  constexpr int own_keys = 10000;
  int last = -1;
  for (const auto& [k, n] : by_key)
    if (k < own_keys) last = k;
  for (int k = 0; k <= last; ++k) {
    auto it = by_key.find(k);
    names << "    " << (it == by_key.end() ? std::string("nullptr") : "\"" + it->second + "\"") << ",  // " << k
          << "\n";
  }
  names << "};\n\n// The name of the API with this key, or nullptr.\ninline const char* api_name(int16_t key) {\n"
        << "  switch (key) {\n";
  for (const auto& [k, n] : by_key)
    if (k >= own_keys) names << "    case " << k << ": return \"" << n << "\";\n";
  names << "    default: break;\n  }\n"
        << "  return key >= 0 && key < static_cast<int16_t>(std::size(api_names)) ? api_names[key] : nullptr;\n}\n\n"
        << "}  // namespace mosaic::kafka::msg\n";
  write_if_changed(out / "api_names.h", names.str());
  write_if_changed(out / "kafka_messages.h", all.str());
  write_if_changed(out / "registry.cc", registry.str());
  for (size_t c = 0; c < static_cast<size_t>(chunks); ++c) {
    impl[c] << "}  // namespace mosaic::kafka::msg\n";
    samples[c] << "}  // namespace mosaic::kafka::msg\n";
    write_if_changed(out / ("messages_" + std::to_string(c) + ".cc"), impl[c].str());
    write_if_changed(out / ("samples_" + std::to_string(c) + ".cc"), samples[c].str());
  }
  return 0;
}
