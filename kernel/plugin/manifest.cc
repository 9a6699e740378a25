#include "kernel/plugin/manifest.h"

#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

namespace mosaic::plugin {

namespace {

template <class T>
T load(const std::string& b, uint64_t at) {
  T v{};
  std::memcpy(&v, b.data() + at, sizeof v);  // little-endian, as the file is checked to be
  return v;
}

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  size_t at = 0;
  for (;;) {
    const size_t next = line.find(sep, at);
    out.push_back(line.substr(at, next == std::string::npos ? std::string::npos : next - at));
    if (next == std::string::npos) return out;
    at = next + 1;
  }
}

bool integer(const std::string& s, int64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  try {
    size_t used = 0;
    out = std::stoll(s, &used);
    return used == s.size();
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

result<std::vector<manifest>> parse_manifests(const std::string& bytes) {
  std::vector<manifest> out;
  for (const auto& text : split(bytes, '\0')) {
    if (text.empty()) continue;  // padding between manifests, the last NUL
    const auto lines = split(text, '\n');
    if (lines.empty() || lines[0] != "mosaic-plugin-manifest-v1")
      return status(errc::corrupt, "a manifest that does not start with mosaic-plugin-manifest-v1");
    manifest m;
    bool ended = false;
    for (size_t i = 1; i < lines.size(); ++i) {
      const auto f = split(lines[i], '\t');
      const std::string where = "manifest line " + std::to_string(i + 1);
      int64_t a = 0, b = 0, c = 0, d = 0;
      if (f[0] == "library" && f.size() == 4) {
        m.library = f[1], m.version = f[2], m.abi = f[3];
      } else if (f[0] == "factory" && f.size() == 4 && integer(f[2], a)) {
        m.factories.push_back({f[1], static_cast<int32_t>(a), f[3], {}});
      } else if (f[0] == "field" && f.size() == 8 && !m.factories.empty() && integer(f[2], a) && integer(f[3], b) &&
                 integer(f[5], c) && integer(f[6], d)) {
        m.factories.back().fields.push_back(
            {f[1], static_cast<int32_t>(a), static_cast<uint32_t>(b), f[4], c, d, f[7]});
      } else if (f[0] == "end" && f.size() == 1) {
        ended = true;
      } else if (!(f.size() == 1 && f[0].empty() && ended)) {
        return status(errc::corrupt, where + " does not read: '" + lines[i].substr(0, 80) + "'");
      }
    }
    if (!ended || m.library.empty()) return status(errc::corrupt, "a manifest that stops before its end");
    out.push_back(std::move(m));
  }
  return out;
}

result<std::vector<manifest>> read_manifests(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return status(errc::not_found, "cannot read '" + file.string() + "'");
  const std::string b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string name = file.string();
  // The ELF header: 64-bit (class 2), little-endian (data 1).
  if (b.size() < 64 || b.compare(0, 4,
                                 "\x7f"
                                 "ELF") != 0)
    return status(errc::corrupt, name + " is not an ELF file");
  if (b[4] != 2 || b[5] != 1) return status(errc::corrupt, name + " is not a 64-bit little-endian ELF file");
  const auto shoff = load<uint64_t>(b, 0x28);
  const auto shentsize = load<uint16_t>(b, 0x3A);
  const auto shnum = load<uint16_t>(b, 0x3C);
  const auto shstrndx = load<uint16_t>(b, 0x3E);
  if (shentsize < 64 || shnum == 0 || shstrndx >= shnum || shoff > b.size() ||
      static_cast<uint64_t>(shentsize) * shnum > b.size() - shoff)
    return status(errc::corrupt, name + ": its section headers are not within the file");
  auto section = [&](uint16_t k, uint64_t& offset, uint64_t& size) {
    const uint64_t h = shoff + static_cast<uint64_t>(k) * shentsize;
    offset = load<uint64_t>(b, h + 0x18);
    size = load<uint64_t>(b, h + 0x20);
    return load<uint32_t>(b, h + 0x04) != 8 /* SHT_NOBITS */ && offset <= b.size() && size <= b.size() - offset;
  };
  uint64_t names_at = 0, names_size = 0;
  if (!section(shstrndx, names_at, names_size))
    return status(errc::corrupt, name + ": its section names are not within the file");
  for (uint16_t k = 0; k < shnum; ++k) {
    const uint32_t name_at = load<uint32_t>(b, shoff + static_cast<uint64_t>(k) * shentsize);
    if (name_at >= names_size) continue;
    const char* section_name = b.data() + names_at + name_at;
    const size_t room = names_size - name_at;
    if (strnlen(section_name, room) == room || std::strcmp(section_name, ".mosaic_manifest") != 0) continue;
    uint64_t at = 0, size = 0;
    if (!section(k, at, size)) return status(errc::corrupt, name + ": its .mosaic_manifest is not within the file");
    auto m = parse_manifests(b.substr(at, size));
    if (!m) return status(m.error().code(), name + ": " + m.error().message());
    return m;
  }
  return status(errc::not_found, name +
                                     " has no manifest (a library built before Mosaic's SDK wrote one, or a C "
                                     "plugin whose descriptor is written by hand): load it to see its descriptor");
}

}  // namespace mosaic::plugin
