// The Kafka adapter's share group APIs (KIP-932): ShareGroupHeartbeat,
// ShareGroupDescribe, ShareFetch, ShareAcknowledge and the share group
// offsets calls (Describe/Alter/DeleteShareGroupOffsets), translated to the
// share group API (sdk/include/mosaic/adapter/shares.h).
#pragma once

#include "mosaic/adapter/broker.h"
#include "mosaic/adapter/shares.h"
#include "plugins/protocol_kafka/adapter/request_context.h"

namespace mosaic::kafka {

// Decodes and answers the request if it is one of the share group APIs
// (the answer may come later, from the share manager's thread); false
// otherwise. Without share groups, they are answered
// COORDINATOR_NOT_AVAILABLE.
bool answer_share_request(const request_context& rc, reader& r, adapter::share_groups* shares, adapter::broker& broker,
                          const adapter::peer& peer);

}  // namespace mosaic::kafka
