#include "kernel/security/principal_rules.h"

#include <re2/re2.h>

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
    if (!flags.empty() && flags != "L" && flags != "U")
      return status(errc::config, "ssl.principal.mapping.rules: '" + text + "' ends in '" + flags + "', not L or U");
    // Anchored: a rule matches the whole subject, and its groups are that
    // match's.
    auto pattern = std::make_shared<const re2::RE2>("^(?:" + body.substr(0, first) + ")$", re2::RE2::Quiet);
    if (!pattern->ok())
      return status(errc::config, "ssl.principal.mapping.rules: '" + text + "': the regex does not compile (" +
                                      pattern->error() + ")");
    r.pattern = std::move(pattern);
    // Java's $1 is RE2's \1; a literal backslash doubles.
    for (char c : body.substr(first + 1, second - first - 1)) {
      if (c == '$')
        r.rewrite += '\\';
      else if (c == '\\')
        r.rewrite += "\\\\";
      else
        r.rewrite += c;
    }
    std::string why;
    if (!r.pattern->CheckRewriteString(r.rewrite, &why))
      return status(errc::config, "ssl.principal.mapping.rules: '" + text + "': " + why);
    r.fold = flags.empty() ? 0 : flags[0];
    out.rules_.push_back(std::move(r));
  }
  if (out.rules_.empty()) out.rules_.push_back(rule{true, nullptr, {}, 0});
  return out;
}

std::optional<std::string> principal_rules::apply(const std::string& subject) const {
  for (const auto& r : rules_) {
    if (r.whole) return subject;
    std::string name;
    if (!r.pattern->Extract(subject, *r.pattern, r.rewrite, &name)) continue;
    if (r.fold == 'L')
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    if (r.fold == 'U')
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::toupper(c); });
    return name;
  }
  return std::nullopt;
}

}  // namespace mosaic::security
