/*
 * Mosaic plugin ABI v1, category MOSAIC_CATEGORY_AUTHENTICATOR: SASL
 * mechanisms (RFC 4422). An instance serves one or more mechanisms
 * ("PLAIN", "SCRAM-SHA-256", ...); for each authentication the host begins
 * an exchange, feeds it the client's messages one by one and sends back
 * what the exchange answers, until the exchange says the client is
 * authenticated (as a principal) or refused. The protocol framing (Kafka's
 * SaslHandshake and SaslAuthenticate) is the host's: an exchange sees only
 * the mechanism's own bytes.
 *
 * Threading: `mechanism_count`, `mechanism` and `begin` may be called from
 * several threads at once. One exchange is stepped by one thread at a time
 * (not always the same one), never concurrently. Steps run off the network
 * threads, so they may take the time a password hash needs (tens of
 * milliseconds), but must not wait on the network.
 *
 * Ownership: the strings `mechanism` returns are the instance's and stay
 * valid until it is destroyed. An exchange is the plugin's, made by `begin`
 * and released by exactly one `end`, which the host calls before it
 * destroys the instance (a swap lets exchanges under way finish on the
 * generation that began them). `peer` and `step`'s input are borrowed for
 * the call; `step`'s buffers are the host's.
 *
 * Secrets: a plugin never writes a password, a key or a token to the log
 * or to `err`; the host never logs a client's message either.
 */
#ifndef MOSAIC_ABI_AUTHENTICATOR_H
#define MOSAIC_ABI_AUTHENTICATOR_H

#include "mosaic/abi/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A SCRAM credential (RFC 5802) as the host keeps it: what
 * `mosaic_auth_credentials_v1.scram` fills in. */
typedef struct mosaic_scram_credential_v1 {
  uint32_t struct_size;
  mosaic_buffer_v1* salt;
  mosaic_buffer_v1* stored_key;
  mosaic_buffer_v1* server_key;
  int32_t iterations;
} mosaic_scram_credential_v1;

/* The credentials the host keeps (in the cluster's metadata log, managed
 * with Kafka's AlterUserScramCredentials), for mechanisms that check
 * against them. Non-blocking, thread-safe; valid until the exchange it
 * was given with ends. */
typedef struct mosaic_auth_credentials_v1 {
  uint32_t struct_size;
  void* host_ctx;
  /* `user` is `user_len` bytes of UTF-8; `mechanism` "SCRAM-SHA-256" or
   * "SCRAM-SHA-512". MOSAIC_OK with `out` filled, or MOSAIC_ERR_NOT_FOUND
   * when the user has no credential for that mechanism. */
  mosaic_status_t (*scram)(void* host_ctx, const char* user, size_t user_len, const char* mechanism,
                           mosaic_scram_credential_v1* out);
} mosaic_auth_credentials_v1;

/* Who is authenticating, for the plugin's decisions and messages. */
typedef struct mosaic_auth_peer_v1 {
  uint32_t struct_size;
  const char* mechanism; /* one of the instance's, as the client named it */
  const char* address;   /* "127.0.0.1:53412" */
  const char* listener;  /* the listener's name */
  /* Set when this exchange re-authenticates a connection (KIP-368): the
   * principal it holds. A plugin need not check it: the host refuses a
   * re-authentication that changes the principal. NULL otherwise. */
  const char* reauthenticating_principal;
  /* The host's credentials; NULL on a host that keeps none. */
  const mosaic_auth_credentials_v1* credentials;
} mosaic_auth_peer_v1;

/* Where an exchange stands after a step. */
#define MOSAIC_AUTH_CONTINUE 0 /* send `response`; the client's next message comes to `step` */
#define MOSAIC_AUTH_SUCCESS 1  /* authenticated as `principal`; `response` is the server's last message */
#define MOSAIC_AUTH_FAILURE 2  /* refused: `err` holds the reason the client is told (no secrets) */

typedef struct mosaic_auth_step_v1 {
  uint32_t struct_size;
  /* In: the client's message. */
  const uint8_t* input;
  size_t input_size;
  /* Out: the bytes to send back (may stay empty). */
  mosaic_buffer_v1* response;
  /* Out, on MOSAIC_AUTH_SUCCESS: the principal's name (the host makes it
   * "User:<name>"), UTF-8, not empty. */
  mosaic_buffer_v1* principal;
  /* Out: MOSAIC_AUTH_*. */
  int32_t state;
  /* Out, on MOSAIC_AUTH_SUCCESS: how long the credential stays good, in
   * milliseconds from now (a token's expiry); 0 when it does not expire.
   * The host ends the session at the earlier of this and its own
   * connections.max.reauth.ms. */
  int64_t session_lifetime_ms;
} mosaic_auth_step_v1;

typedef struct mosaic_authenticator_vtable_v1 {
  uint32_t struct_size;
  /* The mechanisms this instance serves (its config may narrow them). */
  size_t (*mechanism_count)(void* instance);
  const char* (*mechanism)(void* instance, size_t index);
  /* Begins an exchange for one authentication. */
  mosaic_status_t (*begin)(void* instance, const mosaic_auth_peer_v1* peer, void** exchange_out, mosaic_error_v1* err);
  /* Takes the client's next message. MOSAIC_OK with `state` set, whatever
   * the outcome; another status is a fault of the plugin (the client is
   * refused with a generic message, the host logs `err`). After SUCCESS or
   * FAILURE the host calls only `end`. */
  mosaic_status_t (*step)(void* instance, void* exchange, mosaic_auth_step_v1* step, mosaic_error_v1* err);
  void (*end)(void* instance, void* exchange);
} mosaic_authenticator_vtable_v1;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MOSAIC_ABI_AUTHENTICATOR_H */
