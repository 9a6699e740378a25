// The web console's files, served at /console (console/, embedded at build
// time by embed_console.cmake).
#include <string_view>

#include "plugins/protocol_http/api.h"

namespace mosaic::http {

namespace console_assets {
extern const std::string_view index_html;
extern const std::string_view console_js;
extern const std::string_view console_css;
}  // namespace console_assets

reply console_file(const std::string& name) {
  reply r;
  r.headers.emplace_back("Cache-Control", "no-cache");
  // Nothing from elsewhere: scripts, styles and data from this origin only.
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'");
  if (name.empty() || name == "index.html") {
    r.content_type = "text/html; charset=utf-8";
    r.body = console_assets::index_html;
  } else if (name == "console.js") {
    r.content_type = "text/javascript; charset=utf-8";
    r.body = console_assets::console_js;
  } else if (name == "console.css") {
    r.content_type = "text/css; charset=utf-8";
    r.body = console_assets::console_css;
  } else {
    return error_reply(404, "not_found", "the console has no file " + name);
  }
  return r;
}

}  // namespace mosaic::http
