#!/usr/bin/env bash
# The console's type check: its JavaScript against the admin API's OpenAPI document.
#
#   tools/console/check.sh
#
# 1. installs the pinned tools (package.json + package-lock.json) once into
#    ${TPGATE_TOOLS_CACHE:-$HOME/.cache/tpgate-tools}/console-node (reused while the pins match);
# 2. openapi-typescript generates target/console-types/tpgate-api.d.ts from openapi/tpgate.json,
#    which crates/console/tsconfig.json maps the module `tpgate-api` to (with TPGATE_SPEC=<another
#    file>, the types go to a temp dir instead, through a tsconfig extending the console's);
# 3. tsc -p crates/console/tsconfig.json (checkJs, strict, noEmit) over crates/console/assets/**/*.js.
# Fails if the spec no longer fits what the JavaScript uses (a renamed or removed field, a changed type).
#
# Environment: TPGATE_SPEC (default openapi/tpgate.json), TPGATE_TOOLS_CACHE.
set -euo pipefail
# shellcheck source=tools/console/tools.sh
source "$(dirname "${BASH_SOURCE[0]}")/tools.sh"
ROOT=$CONSOLE_ROOT
SPEC=${TPGATE_SPEC:-$ROOT/openapi/tpgate.json}
TSCONFIG=$ROOT/crates/console/tsconfig.json
# Fixed place: the tsconfig's `paths` point at ../../target/console-types (not $CARGO_TARGET_DIR).
TYPES_DIR=$ROOT/target/console-types

install_console_tools

[[ -f $SPEC ]] || { echo "no OpenAPI document at $SPEC" >&2; exit 1; }
[[ -f $TSCONFIG ]] || { echo "no $TSCONFIG (the console's tsconfig)" >&2; exit 1; }

mkdir -p "$TYPES_DIR"
tmp=$(mktemp --suffix=.d.ts "$TYPES_DIR/.tpgate-api.XXXXXX")
log=$(mktemp)
scratch=
trap 'rm -f "$tmp" "$log"; [[ -z $scratch ]] || rm -rf "$scratch"' EXIT
echo "openapi-typescript ${SPEC#"$ROOT"/}"
if ! "$CONSOLE_NODE_MODULES/.bin/openapi-typescript" "$SPEC" -o "$tmp" >"$log" 2>&1; then
  cat "$log" >&2
  echo "openapi-typescript failed" >&2
  exit 1
fi
cat "$log"
# openapi-typescript reports an invalid document as warnings and still writes a file.
if grep -qiE 'warn|error' "$log"; then
  echo "openapi-typescript warned about $SPEC" >&2
  exit 1
fi
chmod 644 "$tmp"
if [[ $SPEC -ef $ROOT/openapi/tpgate.json ]]; then
  # The committed spec: the types editors and the JS helpers see.
  mv -f "$tmp" "$TYPES_DIR/tpgate-api.d.ts"
  echo "tsc -p ${TSCONFIG#"$ROOT"/}  (types: target/console-types/tpgate-api.d.ts)"
  "$CONSOLE_NODE_MODULES/.bin/tsc" -p "$TSCONFIG" --pretty false
else
  # Another spec (TPGATE_SPEC): its types stay out of target/, through a tsconfig extending the console's.
  scratch=$(mktemp -d)
  mv -f "$tmp" "$scratch/tpgate-api.d.ts"
  printf '{"extends": "%s", "compilerOptions": {"paths": {"tpgate-api": ["%s"]}}}\n' "$TSCONFIG" "$scratch/tpgate-api.d.ts" >"$scratch/tsconfig.json"
  echo "tsc -p ${TSCONFIG#"$ROOT"/}  (types from $SPEC)"
  "$CONSOLE_NODE_MODULES/.bin/tsc" -p "$scratch/tsconfig.json" --pretty false
fi
echo "console type check passed"
