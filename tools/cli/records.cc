#include "tools/cli/records.h"

#include <cstdio>
#include <optional>
#include <string_view>

namespace mosaic::cli {

void print_record(const std::string& format, const std::string& topic, int32_t partition, int64_t offset,
                  int64_t timestamp, const mosaic::log::record_view& r, int delivery_count) {
  auto text = [](const std::optional<std::span<const uint8_t>>& s) {
    return s ? std::string(reinterpret_cast<const char*>(s->data()), s->size()) : std::string();
  };
  std::string out;
  for (size_t i = 0; i < format.size(); ++i) {
    const char ch = format[i];
    if (ch == '\\' && i + 1 < format.size()) {
      const char e = format[++i];
      out += e == 'n' ? '\n' : e == 't' ? '\t' : e;
    } else if (ch == '%' && i + 1 < format.size()) {
      switch (format[++i]) {
        case 't': out += topic; break;
        case 'p': out += std::to_string(partition); break;
        case 'o': out += std::to_string(offset); break;
        case 'k': out += text(r.key); break;
        case 's':
        case 'v': out += text(r.value); break;
        case 'T': out += std::to_string(timestamp); break;
        case 'd': out += std::to_string(delivery_count); break;
        case 'h': {
          std::string hs;
          mosaic::log::for_each_header(r.headers, [&](std::string_view k, std::optional<std::string_view> v) {
            if (!hs.empty()) hs += ',';
            hs += std::string(k) + "=" + std::string(v.value_or(""));
          });
          out += hs;
          break;
        }
        case '%': out += '%'; break;
        default: out += '%', out += format[i];
      }
    } else {
      out += ch;
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
}

}  // namespace mosaic::cli
