#include "kernel/security/principal_rules.h"

#include <algorithm>
#include <cctype>

namespace mosaic::security {

result<principal_rules> principal_rules::parse(const std::vector<std::string>& rules) {
  principal_rules out;
  for (const auto& text : rules) {
    rule r;
    if (text == "DEFAULT") {
      r.whole = true;
      out.rules_.push_back(std::move(r));
      continue;
    }
    const std::string head = "RULE:";
    if (text.rfind(head, 0) != 0)
      return status(errc::config,
                    "ssl.principal.mapping.rules: '" + text + "' is neither DEFAULT nor RULE:regex/replacement/");
    // RULE:regex/replacement/[LU]: the regex and the replacement may not
    // hold a '/' (as in Kafka's rules).
    const std::string body = text.substr(head.size());
    const auto first = body.find('/');
    const auto second = first == std::string::npos ? first : body.find('/', first + 1);
    if (first == std::string::npos || second == std::string::npos)
      return status(errc::config, "ssl.principal.mapping.rules: '" + text + "' is not RULE:regex/replacement/");
    const std::string flags = body.substr(second + 1);
    if (flags != "" && flags != "L" && flags != "U")
      return status(errc::config, "ssl.principal.mapping.rules: '" + text + "' ends in '" + flags + "', not L or U");
    try {
      r.pattern = std::regex(body.substr(0, first), std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return status(errc::config,
                    "ssl.principal.mapping.rules: '" + text + "': the regex does not compile (" + e.what() + ")");
    }
    r.replacement = body.substr(first + 1, second - first - 1);
    r.fold = flags.empty() ? 0 : flags[0];
    out.rules_.push_back(std::move(r));
  }
  if (out.rules_.empty()) out.rules_.push_back(rule{true, {}, {}, 0});
  return out;
}

std::optional<std::string> principal_rules::apply(const std::string& subject) const {
  for (const auto& r : rules_) {
    if (r.whole) return subject;
    std::smatch m;
    if (!std::regex_match(subject, m, r.pattern)) continue;
    std::string name = m.format(r.replacement);
    if (r.fold == 'L')
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    if (r.fold == 'U')
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::toupper(c); });
    return name;
  }
  return std::nullopt;
}

}  // namespace mosaic::security
