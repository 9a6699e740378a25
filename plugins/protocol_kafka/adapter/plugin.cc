// The Kafka adapter as a plugin (mosaic.protocol.kafka): built into
// mosaicd and as lib/mosaic/plugins/libmosaic_protocol_kafka.so from this
// one entry, like every in-tree plugin.
#include "mosaic/adapter/plugin.h"

#include "plugins/protocol_kafka/adapter/kafka_adapter.h"

namespace {

class kafka_protocol : public mosaic::sdk::protocol_adapter_plugin<kafka_protocol> {
 public:
  static constexpr const char* name = "mosaic.protocol.kafka";
  static constexpr const char* description = "the Apache Kafka 4.x wire protocol (plugins/protocol_kafka/README.md)";

  kafka_protocol(const mosaic::sdk::config& cfg, mosaic::sdk::host host) {
    (void)cfg;
    (void)host;
  }
  std::shared_ptr<mosaic::adapter::protocol_adapter> open(const mosaic::adapter::adapter_context& context) {
    return mosaic::kafka::make_adapter(context);
  }
};

}  // namespace

MOSAIC_PLUGIN("mosaic-protocol-kafka", MOSAIC_VERSION, kafka_protocol)
