// The Kafka adapter's group APIs: FindCoordinator, the classic group
// protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup), KIP-848's
// ConsumerGroupHeartbeat and ConsumerGroupDescribe, offsets (OffsetCommit,
// OffsetFetch, OffsetDelete) and group administration (ListGroups,
// DescribeGroups, DeleteGroups), translated to the group coordinator API
// (sdk/include/mosaic/adapter/groups.h).
#pragma once

#include "mosaic/adapter/broker.h"
#include "mosaic/adapter/groups.h"
#include "mosaic/adapter/shares.h"
#include "plugins/protocol_kafka/adapter/request_context.h"

namespace mosaic::kafka {

// Decodes and answers the request if it is one of the group APIs (the
// answer may come later, from the coordinator's thread); false otherwise.
// Without a coordinator, group requests are answered
// COORDINATOR_NOT_AVAILABLE. ListGroups and DeleteGroups cover share
// groups too, when `shares` is given. A ConsumerGroupHeartbeat goes to the
// coordinator under `hold` (see adapter::consumer_heartbeat_request::hold;
// 0: answered at once).
bool answer_group_request(const request_context& rc, reader& r, adapter::group_coordinator* groups,
                          adapter::share_groups* shares, adapter::broker& broker, const adapter::peer& peer,
                          uint64_t hold = 0);

}  // namespace mosaic::kafka
