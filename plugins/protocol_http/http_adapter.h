// The HTTP protocol adapter (plugins/protocol_http/README.md): Kafka data
// over HTTP/1.1 and JSON, on the broker API every adapter uses.
#pragma once

#include <memory>

#include "mosaic/adapter/adapter.h"
#include "mosaic/adapter/broker.h"
#include "plugins/protocol_http/api.h"

namespace mosaic::http {

std::shared_ptr<adapter::protocol_adapter> make_adapter(const adapter::adapter_context& context, options o);

}  // namespace mosaic::http
