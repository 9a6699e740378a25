// Kafka's error codes in one table: each with the name Kafka gives it,
// whether a client retries it (as Kafka's protocol guide says), and a short
// description in Mosaic's words. The `error` enum, the names the CLI prints
// and the retriable flag all come from this list; add a code here and it is
// everywhere.
#pragma once

#include <cstdint>
#include <string>

// X(identifier, code, NAME, retriable, description)
#define MOSAIC_KAFKA_ERRORS(X)                                                                                         \
  X(unknown_server_error, -1, "UNKNOWN_SERVER_ERROR", false, "the server failed in a way it did not expect")           \
  X(none, 0, "NONE", false, "")                                                                                        \
  X(offset_out_of_range, 1, "OFFSET_OUT_OF_RANGE", false, "the offset is outside the partition's log")                 \
  X(corrupt_message, 2, "CORRUPT_MESSAGE", true, "a record batch failed its CRC or is malformed")                      \
  X(unknown_topic_or_partition, 3, "UNKNOWN_TOPIC_OR_PARTITION", true,                                                 \
    "this broker does not know the topic or partition")                                                                \
  X(invalid_fetch_size, 4, "INVALID_FETCH_SIZE", false, "the fetch size is invalid")                                   \
  X(leader_not_available, 5, "LEADER_NOT_AVAILABLE", true,                                                             \
    "the partition has no leader right now (an election is under way)")                                                \
  X(not_leader_or_follower, 6, "NOT_LEADER_OR_FOLLOWER", true, "this broker does not lead the partition")              \
  X(request_timed_out, 7, "REQUEST_TIMED_OUT", true, "the request did not complete in its time")                       \
  X(message_too_large, 10, "MESSAGE_TOO_LARGE", false, "a record batch is larger than max.message.bytes")              \
  X(offset_metadata_too_large, 12, "OFFSET_METADATA_TOO_LARGE", false,                                                 \
    "the commit's metadata is longer than offset.metadata.max.bytes")                                                  \
  X(coordinator_load_in_progress, 14, "COORDINATOR_LOAD_IN_PROGRESS", true,                                            \
    "the coordinator is loading the group's state")                                                                    \
  X(coordinator_not_available, 15, "COORDINATOR_NOT_AVAILABLE", true, "the coordinator is not available")              \
  X(not_coordinator, 16, "NOT_COORDINATOR", true, "this broker is not the group's coordinator")                        \
  X(invalid_topic_exception, 17, "INVALID_TOPIC_EXCEPTION", false, "the topic name is not valid or is reserved")       \
  X(record_list_too_large, 18, "RECORD_LIST_TOO_LARGE", false, "the records of the request are too large")             \
  X(not_enough_replicas, 19, "NOT_ENOUGH_REPLICAS", true,                                                              \
    "fewer in-sync replicas than min.insync.replicas: nothing was written")                                            \
  X(not_enough_replicas_after_append, 20, "NOT_ENOUGH_REPLICAS_AFTER_APPEND", true,                                    \
    "written, but to fewer in-sync replicas than min.insync.replicas")                                                 \
  X(invalid_required_acks, 21, "INVALID_REQUIRED_ACKS", false, "acks must be 0, 1 or -1")                              \
  X(illegal_generation, 22, "ILLEGAL_GENERATION", false, "the generation is not the group's current one")              \
  X(inconsistent_group_protocol, 23, "INCONSISTENT_GROUP_PROTOCOL", false,                                             \
    "the member's protocols have none in common with the group's")                                                     \
  X(invalid_group_id, 24, "INVALID_GROUP_ID", false, "the group id is empty or not valid")                             \
  X(unknown_member_id, 25, "UNKNOWN_MEMBER_ID", false, "the group does not know this member")                          \
  X(invalid_session_timeout, 26, "INVALID_SESSION_TIMEOUT", false,                                                     \
    "the session timeout is outside the broker's bounds")                                                              \
  X(rebalance_in_progress, 27, "REBALANCE_IN_PROGRESS", false, "the group is rebalancing: join again")                 \
  X(topic_authorization_failed, 29, "TOPIC_AUTHORIZATION_FAILED", false, "the principal may not do that on the topic") \
  X(group_authorization_failed, 30, "GROUP_AUTHORIZATION_FAILED", false, "the principal may not do that on the group") \
  X(cluster_authorization_failed, 31, "CLUSTER_AUTHORIZATION_FAILED", false,                                           \
    "the principal may not do that on the cluster")                                                                    \
  X(invalid_timestamp, 32, "INVALID_TIMESTAMP", false, "a record's timestamp is out of the accepted range")            \
  X(unsupported_sasl_mechanism, 33, "UNSUPPORTED_SASL_MECHANISM", false,                                               \
    "the broker does not offer that SASL mechanism on this listener")                                                  \
  X(illegal_sasl_state, 34, "ILLEGAL_SASL_STATE", false, "a SASL request came in a state that does not take it")       \
  X(unsupported_version, 35, "UNSUPPORTED_VERSION", false, "this broker does not serve that version of the API")       \
  X(topic_already_exists, 36, "TOPIC_ALREADY_EXISTS", false, "the topic exists already")                               \
  X(invalid_partitions, 37, "INVALID_PARTITIONS", false, "the partition count is not valid")                           \
  X(invalid_replication_factor, 38, "INVALID_REPLICATION_FACTOR", false,                                               \
    "the replication factor is not valid for the live brokers")                                                        \
  X(invalid_replica_assignment, 39, "INVALID_REPLICA_ASSIGNMENT", false, "the replica assignment is not valid")        \
  X(invalid_config, 40, "INVALID_CONFIG", false, "a config name or value is not valid")                                \
  X(not_controller, 41, "NOT_CONTROLLER", true, "this node cannot reach the metadata quorum's leader")                 \
  X(invalid_request, 42, "INVALID_REQUEST", false, "the request is malformed or not valid here")                       \
  X(unsupported_for_message_format, 43, "UNSUPPORTED_FOR_MESSAGE_FORMAT", false,                                       \
    "not supported by the message format")                                                                             \
  X(policy_violation, 44, "POLICY_VIOLATION", false, "the request breaks a configured policy")                         \
  X(out_of_order_sequence_number, 45, "OUT_OF_ORDER_SEQUENCE_NUMBER", false,                                           \
    "an idempotent producer's sequence skipped a number")                                                              \
  X(invalid_producer_epoch, 47, "INVALID_PRODUCER_EPOCH", false,                                                       \
    "the producer's epoch is older than the partition has seen")                                                       \
  X(transactional_id_authorization_failed, 53, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", false,                         \
    "the transactional id may not be used")                                                                            \
  X(security_disabled, 54, "SECURITY_DISABLED", false, "no authorizer is configured on this broker")                   \
  X(kafka_storage_error, 56, "KAFKA_STORAGE_ERROR", true, "the broker could not read or write the partition's log")    \
  X(sasl_authentication_failed, 58, "SASL_AUTHENTICATION_FAILED", false,                                               \
    "the SASL authentication failed: wrong credentials, or a malformed exchange")                                      \
  X(non_empty_group, 68, "NON_EMPTY_GROUP", false, "the group has members")                                            \
  X(group_id_not_found, 69, "GROUP_ID_NOT_FOUND", false, "the group does not exist")                                   \
  X(fenced_leader_epoch, 74, "FENCED_LEADER_EPOCH", true, "the leader epoch is older than the partition's")            \
  X(unknown_leader_epoch, 75, "UNKNOWN_LEADER_EPOCH", true, "the leader epoch is newer than this broker knows")        \
  X(unsupported_compression_type, 76, "UNSUPPORTED_COMPRESSION_TYPE", false, "the codec is not loaded on this broker") \
  X(stale_broker_epoch, 77, "STALE_BROKER_EPOCH", false, "the broker epoch is not the current one")                    \
  X(member_id_required, 79, "MEMBER_ID_REQUIRED", false, "join again with the member id given")                        \
  X(preferred_leader_not_available, 80, "PREFERRED_LEADER_NOT_AVAILABLE", true,                                        \
    "the preferred leader cannot lead now")                                                                            \
  X(group_max_size_reached, 81, "GROUP_MAX_SIZE_REACHED", false, "the group has as many members as it may")            \
  X(fenced_instance_id, 82, "FENCED_INSTANCE_ID", false, "another member took this static member's instance id")       \
  X(eligible_leaders_not_available, 83, "ELIGIBLE_LEADERS_NOT_AVAILABLE", true, "no replica may be elected")           \
  X(election_not_needed, 84, "ELECTION_NOT_NEEDED", false, "the partition already has the leader asked for")           \
  X(no_reassignment_in_progress, 85, "NO_REASSIGNMENT_IN_PROGRESS", false, "there is no reassignment to cancel")       \
  X(group_subscribed_to_topic, 86, "GROUP_SUBSCRIBED_TO_TOPIC", false, "the group's members consume the topic")        \
  X(invalid_record, 87, "INVALID_RECORD", false, "a record is not valid for the topic")                                \
  X(resource_not_found, 91, "RESOURCE_NOT_FOUND", false, "the resource does not exist")                                \
  X(duplicate_resource, 92, "DUPLICATE_RESOURCE", false, "the request names the same resource twice")                  \
  X(unacceptable_credential, 93, "UNACCEPTABLE_CREDENTIAL", false, "the credential does not meet the broker's rules")  \
  X(invalid_update_version, 95, "INVALID_UPDATE_VERSION", false, "the update version is not valid")                    \
  X(unknown_topic_id, 100, "UNKNOWN_TOPIC_ID", true, "this broker does not know the topic id")                         \
  X(inconsistent_topic_id, 103, "INCONSISTENT_TOPIC_ID", true, "the topic id does not match the topic name")           \
  X(ineligible_replica, 107, "INELIGIBLE_REPLICA", false, "the replica may not join the ISR")                          \
  X(fenced_member_epoch, 110, "FENCED_MEMBER_EPOCH", false, "the member epoch is fenced: join again")                  \
  X(unreleased_instance_id, 111, "UNRELEASED_INSTANCE_ID", false, "the static member's instance id is still held")     \
  X(unsupported_assignor, 112, "UNSUPPORTED_ASSIGNOR", false, "the server-side assignor is not known")                 \
  X(stale_member_epoch, 113, "STALE_MEMBER_EPOCH", false, "the member epoch is not the current one")                   \
  X(unknown_subscription_id, 117, "UNKNOWN_SUBSCRIPTION_ID", false,                                                    \
    "the telemetry push names a subscription that is not the current one")                                             \
  X(telemetry_too_large, 118, "TELEMETRY_TOO_LARGE", false, "the telemetry push is larger than the broker takes")      \
  X(invalid_record_state, 121, "INVALID_RECORD_STATE", false, "the record is not in a state for that acknowledgement") \
  X(share_session_not_found, 122, "SHARE_SESSION_NOT_FOUND", true, "the share session is unknown")                     \
  X(invalid_share_session_epoch, 123, "INVALID_SHARE_SESSION_EPOCH", true,                                             \
    "the share session epoch is not the next one")                                                                     \
  X(fenced_state_epoch, 124, "FENCED_STATE_EPOCH", false,                                                              \
    "the share-partition's state was replaced (its offsets altered or deleted)")                                       \
  X(invalid_regular_expression, 128, "INVALID_REGULAR_EXPRESSION", false,                                              \
    "the subscription's regular expression is not valid")                                                              \
  X(share_session_limit_reached, 133, "SHARE_SESSION_LIMIT_REACHED", true,                                             \
    "the broker has as many share sessions as it may")

namespace mosaic::adapter {

enum class error : int16_t {
// An enumerator cannot be parenthesized.
#define MOSAIC_KAFKA_ERROR_ENUM(id, code, name, retriable, description) \
  id = code,  // NOLINT(bugprone-macro-parentheses)
  MOSAIC_KAFKA_ERRORS(MOSAIC_KAFKA_ERROR_ENUM)
#undef MOSAIC_KAFKA_ERROR_ENUM
};

struct error_info {
  int16_t code;
  const char* name;
  bool retriable;
  const char* description;
};

inline constexpr error_info error_table[] = {
#define MOSAIC_KAFKA_ERROR_ROW(id, code, name, retriable, description) {code, name, retriable, description},
    MOSAIC_KAFKA_ERRORS(MOSAIC_KAFKA_ERROR_ROW)
#undef MOSAIC_KAFKA_ERROR_ROW
};

// The row of `code`; nullptr for a code not in the table.
inline const error_info* find_error(int16_t code) noexcept {
  for (const auto& e : error_table)
    if (e.code == code) return &e;
  return nullptr;
}

// Kafka's name for `code` ("error N" for one not in the table).
inline std::string error_name(int16_t code) {
  const error_info* e = find_error(code);
  return e != nullptr ? e->name : "error " + std::to_string(code);
}
inline std::string error_name(error e) { return error_name(static_cast<int16_t>(e)); }

inline bool retriable(error e) noexcept {
  const error_info* i = find_error(static_cast<int16_t>(e));
  return i != nullptr && i->retriable;
}

}  // namespace mosaic::adapter
