/* Compiled with -std=c11 -pedantic-errors: the ABI is plain C. */
#include "mosaic/abi/authenticator.h"
#include "mosaic/abi/authorizer.h"
#include "mosaic/abi/codec.h"
#include "mosaic/abi/plugin.h"

int mosaic_abi_c11_check(void);
int mosaic_abi_c11_check(void) {
  mosaic_codec_vtable_v1 vt = {0};
  mosaic_plugin_descriptor_v1 d = {0};
  mosaic_authenticator_vtable_v1 auth = {0};
  mosaic_authorizer_vtable_v1 authz = {0};
  mosaic_authz_action_v1 action = {0};
  return (int)(sizeof vt + sizeof d + sizeof auth + sizeof authz + sizeof action) + MOSAIC_ABI_VERSION_MAJOR;
}
