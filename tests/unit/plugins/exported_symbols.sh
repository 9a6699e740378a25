#!/usr/bin/env bash
# Each plugin library given (every .so in the folders named) must export
# exactly one symbol: mosaic_plugin_entry_v1. Fixtures that are meant to lack
# it ("no_entry") must export nothing at all.
set -euo pipefail
status=0
count=0
for dir in "$@"; do
  for lib in "$dir"/*.so; do
    [ -e "$lib" ] || continue
    count=$((count + 1))
    syms=$(nm -D --defined-only "$lib" | awk '{print $NF}' | sort | tr '\n' ' ')
    case "$lib" in
      *no_entry*) want="" ;;
      *) want="mosaic_plugin_entry_v1 " ;;
    esac
    if [ "$syms" != "$want" ]; then
      echo "FAIL $lib exports: '$syms' (want '$want')"
      status=1
    fi
  done
done
if [ "$count" -lt 4 ]; then
  echo "FAIL only $count plugin libraries found in $*"
  exit 1
fi
echo "checked $count plugin libraries"
exit $status
