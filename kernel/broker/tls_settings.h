// The config's ssl.* keys as the TLS settings of a listener, and
// security.inter.broker.protocol with inter.broker.peer.principals as the
// security of the links between nodes (the quorum and replication ports).
#pragma once

#include "kernel/base/status.h"
#include "kernel/config/broker_config.h"
#include "kernel/net/tls.h"
#include "kernel/rpc/endpoint.h"

namespace mosaic::broker {

// A TLS listener's settings (files, versions, ciphers, client
// certificates), with its ssl.principal.mapping.rules as principal_of.
result<net::tls_settings> tls_settings_of(const config::tls_config& c);

// Nothing for PLAINTEXT; for SSL, mutual TLS from the broker's ssl.* keys,
// accepting the peers whose certificate maps to one of
// inter.broker.peer.principals (any trusted one when empty).
result<rpc::endpoint_security> inter_broker_security(const config::broker_config& cfg);

}  // namespace mosaic::broker
