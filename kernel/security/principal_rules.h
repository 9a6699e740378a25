// Kafka's ssl.principal.mapping.rules: how a client certificate's subject
// (RFC 2253, "CN=alice,OU=eng,O=Mosaic") becomes a principal's name on an
// SSL listener. Rules are tried in order; the first whose regex matches the
// whole subject gives the name: its replacement ($1, $2... for the
// groups), lowercased with a trailing /L, uppercased with /U. DEFAULT
// matches any subject and keeps it whole. A subject no rule matches is
// refused, as Kafka refuses it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kernel/base/status.h"

namespace re2 {
class RE2;
}

namespace mosaic::security {

class principal_rules {
 public:
  // Parses "RULE:regex/replacement/", "RULE:regex/replacement/L" (or /U),
  // and "DEFAULT". No rules: DEFAULT.
  static result<principal_rules> parse(const std::vector<std::string>& rules);
  // The principal's name for `subject`, or nothing when no rule matches.
  std::optional<std::string> apply(const std::string& subject) const;

 private:
  struct rule {
    bool whole = false;                       // DEFAULT
    std::shared_ptr<const re2::RE2> pattern;  // RE2 syntax (Java's for what Kafka's rules use)
    std::string rewrite;                      // the replacement, $N as RE2's \N
    char fold = 0;                            // 'L', 'U' or none
  };
  std::vector<rule> rules_;
};

}  // namespace mosaic::security
