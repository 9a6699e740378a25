// mosaic.interceptor.header_stamp: a record interceptor that adds headers to
// every record produced to its topics, from templates filled in per batch:
// who produced it, with which client, when the broker received it. What an
// audit trail or a consumer that must know the writer needs, and what a
// producer cannot forge: a header the producer set under the same key is
// removed first (unless `replace` is false).
//
// A template is text with placeholders: ${principal} ("User:alice"),
// ${client.id}, ${topic}, ${partition}, ${producer.id} (-1 unless
// idempotent) and ${received.ms} (the broker's clock, milliseconds since the
// epoch). `$$` is a literal dollar sign.
#include <string>
#include <string_view>
#include <vector>

#include "mosaic/sdk/record_interceptor.h"

namespace {

using namespace mosaic;

enum class part_kind { text, principal, client_id, topic, partition, producer_id, received_ms };

struct part {
  part_kind kind = part_kind::text;
  std::string text;
};

struct header_template {
  std::string key;
  std::vector<part> parts;
};

header_template parse_template(const std::string& entry) {
  const auto eq = entry.find('=');
  if (eq == std::string::npos || eq == 0)
    throw sdk::error(MOSAIC_ERR_CONFIG, "headers: '" + entry + "' is not KEY=TEMPLATE");
  header_template t;
  t.key = entry.substr(0, eq);
  const std::string_view v(entry.data() + eq + 1, entry.size() - eq - 1);
  std::string text;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '$') {
      text += v[i];
      continue;
    }
    if (i + 1 < v.size() && v[i + 1] == '$') {
      text += '$';
      ++i;
      continue;
    }
    const auto close = v.find('}', i);
    if (i + 1 >= v.size() || v[i + 1] != '{' || close == std::string_view::npos)
      throw sdk::error(MOSAIC_ERR_CONFIG, "headers: '" + entry + "': a '$' starts ${name} or is written $$");
    const std::string_view name = v.substr(i + 2, close - i - 2);
    part p;
    if (name == "principal") {
      p.kind = part_kind::principal;
    } else if (name == "client.id") {
      p.kind = part_kind::client_id;
    } else if (name == "topic") {
      p.kind = part_kind::topic;
    } else if (name == "partition") {
      p.kind = part_kind::partition;
    } else if (name == "producer.id") {
      p.kind = part_kind::producer_id;
    } else if (name == "received.ms") {
      p.kind = part_kind::received_ms;
    } else {
      throw sdk::error(MOSAIC_ERR_CONFIG, "headers: '" + entry + "': unknown placeholder ${" + std::string(name) +
                                              "} (principal, client.id, topic, partition, producer.id, received.ms)");
    }
    if (!text.empty()) t.parts.push_back({part_kind::text, std::move(text)});
    text.clear();
    t.parts.push_back(std::move(p));
    i = close;
  }
  if (!text.empty()) t.parts.push_back({part_kind::text, std::move(text)});
  return t;
}

class header_stamp : public sdk::record_interceptor<header_stamp> {
 public:
  static constexpr const char* name = "mosaic.interceptor.header_stamp";
  static constexpr const char* description =
      "adds headers to every produced record from templates: the producer's principal, client id, receive time";
  static constexpr bool reads_records = false;
  static constexpr sdk::field config_fields[] = {
      sdk::list_field("headers", nullptr,
                      "KEY=TEMPLATE entries, e.g. 'x-producer=${principal}'; placeholders ${principal}, "
                      "${client.id}, ${topic}, ${partition}, ${producer.id}, ${received.ms}",
                      MOSAIC_CONFIG_REQUIRED | MOSAIC_CONFIG_RECONFIGURABLE),
      sdk::bool_field("replace", "true",
                      "remove headers the producer set under the same keys first (so they cannot be forged)",
                      MOSAIC_CONFIG_RECONFIGURABLE)};

  header_stamp(const sdk::config& cfg, sdk::host host) : host_(host), replace_(cfg.get_bool("replace", true)) {
    for (const auto& entry : cfg.get_list("headers")) templates_.push_back(parse_template(entry));
    if (templates_.empty()) throw sdk::error(MOSAIC_ERR_CONFIG, "headers: at least one KEY=TEMPLATE");
    if (templates_.size() > 32) throw sdk::error(MOSAIC_ERR_CONFIG, "headers: at most 32");
  }

  sdk::verdict intercept(const sdk::produced_batch& b, const sdk::stamp& stamp) const {
    std::string value;
    for (const auto& t : templates_) {
      value.clear();
      for (const auto& p : t.parts) {
        switch (p.kind) {
          case part_kind::text: value += p.text; break;
          case part_kind::principal: value += b.principal(); break;
          case part_kind::client_id: value += b.client_id(); break;
          case part_kind::topic: value += b.topic(); break;
          case part_kind::partition: value += std::to_string(b.partition()); break;
          case part_kind::producer_id: value += std::to_string(b.producer_id()); break;
          case part_kind::received_ms: value += std::to_string(host_.now_ms()); break;
        }
      }
      stamp.add(t.key, value, replace_);
    }
    return sdk::verdict::accept();
  }

 private:
  sdk::host host_;
  bool replace_;
  std::vector<header_template> templates_;
};

}  // namespace

MOSAIC_PLUGIN("mosaic-interceptor-header-stamp", "0.1.0", header_stamp)
