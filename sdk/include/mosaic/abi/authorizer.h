/*
 * Mosaic plugin ABI v1, category MOSAIC_CATEGORY_AUTHORIZER: who may do
 * what. The broker asks its authorizer about every resource of every
 * request ("may User:alice from 10.0.0.7 WRITE topic orders?"); the answer
 * is ALLOW or DENY, and a DENY becomes the protocol's *_AUTHORIZATION_FAILED
 * error (or, for Metadata, the topic left out), as with Kafka's Authorizer.
 *
 * Operation and resource codes are Kafka's (AclOperation, ResourceType),
 * listed below; a plugin denies a code it does not know. The ACLs of the
 * cluster's metadata log (CreateAcls, `mosaic acl`) stay the host's: a
 * plugin may ask what they decide (`mosaic_authz_host_v1.acl_decision`) and
 * build on it, e.g. "deny writes outside business hours, else the ACLs".
 *
 * Threading: `authorize` is called from many threads at once (the network
 * threads), for every resource of every request: it must be thread-safe,
 * fast (a microsecond, not a round trip) and must not block. A policy that
 * lives elsewhere is fetched in the background and consulted from memory.
 *
 * Failure: a status other than MOSAIC_OK is a fault of the plugin; the host
 * denies the action (it fails closed), counts the fault and logs `err` at a
 * bounded rate.
 *
 * Ownership: everything passed in is borrowed for the call; strings are
 * not NUL-terminated (pointer and length).
 */
#ifndef MOSAIC_ABI_AUTHORIZER_H
#define MOSAIC_ABI_AUTHORIZER_H

#include "mosaic/abi/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Kafka's AclOperation codes. */
#define MOSAIC_AUTHZ_OP_ALL 2
#define MOSAIC_AUTHZ_OP_READ 3
#define MOSAIC_AUTHZ_OP_WRITE 4
#define MOSAIC_AUTHZ_OP_CREATE 5
#define MOSAIC_AUTHZ_OP_DELETE 6
#define MOSAIC_AUTHZ_OP_ALTER 7
#define MOSAIC_AUTHZ_OP_DESCRIBE 8
#define MOSAIC_AUTHZ_OP_CLUSTER_ACTION 9
#define MOSAIC_AUTHZ_OP_DESCRIBE_CONFIGS 10
#define MOSAIC_AUTHZ_OP_ALTER_CONFIGS 11
#define MOSAIC_AUTHZ_OP_IDEMPOTENT_WRITE 12
#define MOSAIC_AUTHZ_OP_CREATE_TOKENS 13
#define MOSAIC_AUTHZ_OP_DESCRIBE_TOKENS 14

/* Kafka's ResourceType codes. The cluster's one name is "kafka-cluster". */
#define MOSAIC_AUTHZ_RESOURCE_TOPIC 2
#define MOSAIC_AUTHZ_RESOURCE_GROUP 3
#define MOSAIC_AUTHZ_RESOURCE_CLUSTER 4
#define MOSAIC_AUTHZ_RESOURCE_TRANSACTIONAL_ID 5
#define MOSAIC_AUTHZ_RESOURCE_DELEGATION_TOKEN 6
#define MOSAIC_AUTHZ_RESOURCE_USER 7

#define MOSAIC_AUTHZ_DENY 0
#define MOSAIC_AUTHZ_ALLOW 1

/* One question. */
typedef struct mosaic_authz_action_v1 {
  uint32_t struct_size;
  /* The principal: type ("User") and name ("alice"; "ANONYMOUS" on a
   * listener without authentication). */
  const char* principal_type;
  size_t principal_type_len;
  const char* principal_name;
  size_t principal_name_len;
  /* The client's address without the port ("10.0.0.7", "::1"). */
  const char* host;
  size_t host_len;
  int32_t operation;     /* MOSAIC_AUTHZ_OP_* */
  int32_t resource_type; /* MOSAIC_AUTHZ_RESOURCE_* */
  /* 0: may the principal do `operation` on the resource named below?
   * 1: may it do `operation` on some resource of the type (Kafka's
   * authorizeByResourceType: an idempotent producer needs WRITE on some
   * topic)? The name is then empty. */
  int32_t on_some;
  const char* resource_name;
  size_t resource_name_len;
} mosaic_authz_action_v1;

/* What the host offers an authorizer during a call. */
typedef struct mosaic_authz_host_v1 {
  uint32_t struct_size;
  void* host_ctx;
  /* What the cluster's ACLs decide for `action` (any action, not only the
   * one asked), under the host's super.users and
   * allow.everyone.if.no.acl.found: MOSAIC_AUTHZ_ALLOW or _DENY.
   * Thread-safe, non-blocking. */
  int32_t (*acl_decision)(void* host_ctx, const mosaic_authz_action_v1* action);
} mosaic_authz_host_v1;

typedef struct mosaic_authorizer_vtable_v1 {
  uint32_t struct_size;
  /* Decides `action`: MOSAIC_OK with *decision MOSAIC_AUTHZ_ALLOW or
   * MOSAIC_AUTHZ_DENY. Another status is a fault (the host denies). */
  mosaic_status_t (*authorize)(void* instance, const mosaic_authz_host_v1* host, const mosaic_authz_action_v1* action,
                               int32_t* decision, mosaic_error_v1* err);
} mosaic_authorizer_vtable_v1;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MOSAIC_ABI_AUTHORIZER_H */
