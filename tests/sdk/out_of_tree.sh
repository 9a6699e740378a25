#!/usr/bin/env bash
# Installs Mosaic's SDK into a scratch prefix, builds sdk/examples/codec_rle
# out of tree against it (as a third party would), runs the example's own
# conformance tests, and has mosaicd list, validate and load the result.
set -euo pipefail
build_dir=$1 source_dir=$2 mosaicd=$3 cxx=$4
work=$(mktemp -d /tmp/mosaic_sdk_XXXXXX)
trap 'rm -rf "$work"' EXIT

cmake --install "$build_dir" --component sdk --prefix "$work/prefix" >/dev/null
test -f "$work/prefix/include/mosaic/abi/plugin.h"
test -f "$work/prefix/lib/cmake/MosaicSDK/MosaicSDKConfig.cmake"

cp -r "$source_dir/sdk/examples/codec_rle" "$work/src"
cmake -S "$work/src" -B "$work/build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" \
      -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/build" >/dev/null
ctest --test-dir "$work/build" --output-on-failure | tail -n 3

lib="$work/build/libacme_codec_rle.so"
exports=$(nm -D --defined-only "$lib" | awk '{print $NF}' | tr '\n' ' ')
[ "$exports" = "mosaic_plugin_entry_v1 " ] || { echo "FAIL: the example exports '$exports'"; exit 1; }

listing=$("$mosaicd" --list-plugins --set "plugins.search_paths=[$work/build]")
echo "$listing" | grep -q "^com.acme.codec.rle$" || { echo "FAIL: --list-plugins misses it:"; echo "$listing"; exit 1; }
echo "$listing" | grep -q "config min_run: an integer \[3..16\], default 4" || { echo "FAIL: fields not listed"; exit 1; }

cat > "$work/node.yaml" <<YAML
log.dirs: [$work/data]
plugins:
  search_paths: [$work/build]
  load:
    - name: com.acme.codec.rle
      library: acme_codec_rle
      config: {min_run: 6}
YAML
"$mosaicd" --validate-config "$work/node.yaml"
if "$mosaicd" --validate-config "$work/node.yaml" --set 'plugins.load=[{name: com.acme.codec.rle, library: acme_codec_rle, config: {min_run: 99}}]' 2>"$work/err"; then
  echo "FAIL: an out-of-range min_run was accepted"; exit 1
fi
grep -q "'min_run': must be between 3 and 16" "$work/err" || { cat "$work/err"; exit 1; }

"$mosaicd" --config "$work/node.yaml" 2>"$work/log" &
pid=$!
for _ in $(seq 100); do grep -q "mosaicd started" "$work/log" && break; sleep 0.05; done
kill -TERM "$pid"
wait "$pid"
grep -q "plugin com.acme.codec.rle (acme-rle 1.0.0, $lib) is codec 5 generation 1: min_run=6" "$work/log" || { cat "$work/log"; exit 1; }
grep -q "\[com.acme.codec.rle\] rle codec ready, min_run 6" "$work/log" || { cat "$work/log"; exit 1; }

# A record interceptor the same way: built, its conformance tests run, and
# attached to a topic of a running mosaicd, where kcat meets it.
cp -r "$source_dir/sdk/examples/interceptor_require_keys" "$work/keys_src"
cmake -S "$work/keys_src" -B "$work/keys_build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" \
      -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/keys_build" >/dev/null
ctest --test-dir "$work/keys_build" --output-on-failure | tail -n 3
keys_lib="$work/keys_build/libacme_require_keys.so"
# What it declares, read from the file (the SDK's manifest) without loading it.
"$build_dir/bin/mosaic" plugin inspect "$keys_lib" >"$work/inspect"
grep -q "library acme-require-keys 1.0.0" "$work/inspect" && grep -q "com.acme.interceptor.require_keys  (record_interceptor)" "$work/inspect" &&
  grep -q "max.key.bytes" "$work/inspect" || { cat "$work/inspect"; exit 1; }
cat > "$work/keys.yaml" <<YAML
log.dirs: [$work/keys_data]
listeners: [{name: PLAINTEXT, host: 127.0.0.1, port: 0, adapter: kafka}]
plugins:
  interceptors:
    - {name: com.acme.interceptor.require_keys, library: $keys_lib, config: {max.key.bytes: 8}, topics: [keyed]}
YAML
"$mosaicd" --config "$work/keys.yaml" 2>"$work/keys.log" &
pid=$!
for _ in $(seq 200); do grep -q "mosaicd started" "$work/keys.log" && break; sleep 0.05; done
port=$(sed -n 's/.*listening on PLAINTEXT 127.0.0.1:\([0-9]*\).*/\1/p' "$work/keys.log" | head -1)
[ -n "$port" ] || { kill -TERM "$pid"; cat "$work/keys.log"; exit 1; }
if echo "no key" | kcat -P -b "127.0.0.1:$port" -t keyed 2>"$work/kcat.err"; then
  kill -TERM "$pid"; echo "FAIL: a record without a key was taken"; exit 1
fi
echo "k1:keyed" | kcat -P -b "127.0.0.1:$port" -t keyed -K: 2>&1
got=$(kcat -C -b "127.0.0.1:$port" -t keyed -e -q -f '%k=%s\n')
kill -TERM "$pid"
wait "$pid"
[ "$got" = "k1=keyed" ] || { echo "FAIL: read back '$got'"; cat "$work/keys.log"; exit 1; }
grep -q "Broker failed to validate record" "$work/kcat.err" || { cat "$work/kcat.err"; exit 1; }
grep -q "plugin com.acme.interceptor.require_keys (acme-require-keys 1.0.0, $keys_lib) intercepts keyed: max.key.bytes=8, generation 1" "$work/keys.log" || { cat "$work/keys.log"; exit 1; }
echo "out-of-tree plugins built, tested, inspected, listed, validated and loaded"
