// The cluster metadata as records: every change to topics, partitions and
// configs is one or more of these, committed to the metadata log and then
// applied to the image. The fields follow KRaft's metadata records
// (TopicRecord, PartitionRecord, ConfigRecord, RemoveTopicRecord); the
// encoding is Mosaic's own: a type byte, a version byte, then the fields
// big-endian, strings with a 32-bit length (-1 for null).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "kernel/base/status.h"

namespace mosaic::metadata {

using uuid = std::array<uint8_t, 16>;

struct cluster_record {
  std::string cluster_id;
};

struct topic_record {
  std::string name;
  uuid id{};
};

struct partition_record {
  uuid topic_id{};
  int32_t partition = 0;
  int32_t leader = -1;
  int32_t leader_epoch = 0;
  std::vector<int32_t> replicas;
};

// resource_type as Kafka numbers ConfigResource types: 2 topic, 4 broker.
struct config_record {
  int8_t resource_type = 2;
  std::string resource_name;
  std::string name;
  std::optional<std::string> value;  // null: back to the default
};

struct remove_topic_record {
  uuid topic_id{};
};

// Producer ids below `next_block_start` are handed out (KRaft's
// ProducerIdsRecord): a broker takes a block at a time, so no id is ever
// given twice, restarts included.
struct producer_ids_record {
  int64_t next_block_start = 0;
};

// A broker and where clients reach it (KRaft's RegisterBrokerRecord, one
// endpoint): written by each node at start-up when it changed.
struct broker_record {
  int32_t id = -1;
  std::string host;
  int32_t port = 0;
};

using record = std::variant<cluster_record, topic_record, partition_record, config_record, remove_topic_record,
                            producer_ids_record, broker_record>;

// One entry of the metadata log: records committed and applied together.
std::vector<uint8_t> encode(const std::vector<record>& records);
result<std::vector<record>> decode(std::span<const uint8_t> bytes);

// A random topic id (version 4 UUID; never all zeros).
uuid random_uuid();
// Kafka's text form of an id: URL-safe base64 without padding (22 chars).
std::string to_base64(const uuid& id);

}  // namespace mosaic::metadata
