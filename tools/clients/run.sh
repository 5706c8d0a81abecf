#!/usr/bin/env bash
# Generated clients and schemathesis against a throwaway `tpgate sandbox`.
#
#   tools/clients/run.sh [install] [python] [ts] [schemathesis]     (default: all three test phases)
#
# 1. installs the pinned tools (requirements.txt, package.json + package-lock.json) once into
#    ${TPGATE_TOOLS_CACHE:-$HOME/.cache/tpgate-tools} (a venv and node_modules; reused while the pins match);
# 2. builds tpgate (`cargo build -p tpgate`, debug) unless TPGATE_BIN names a binary, starts
#    `tpgate sandbox` on free ports with a temp db, waits for /readyz and follows the sandbox's
#    onboarding link (so its API key may call its Mini Program);
# 3. python: openapi-python-client generates a client from openapi/tpgate.json (the committed file)
#    into a temp dir, and smoke.py calls the sandbox through it;
#    ts: openapi-typescript generates types from the same file, smoke.ts (openapi-fetch) is
#    type-checked with tsc --strict and run;
#    schemathesis: `st run <sandbox>/openapi.json` with schemathesis.toml (credentials per path),
#    after creating a scratch tenant + Mini Program for the admin operations to act on.
# Exits non-zero if any phase fails; prints a summary with each phase's wall time.
#
# Environment: TPGATE_BIN (skip cargo), TPGATE_SPEC (default openapi/tpgate.json),
# ST_MAX_EXAMPLES (100), ST_CHECKS (every check but positive_data_acceptance), ST_WORKERS (2), ST_SEED, ST_EXTRA_ARGS,
# KEEP_WORK=1 (keep the temp dir), HOLD=1 (keep the sandbox up at the end, to replay the curls).
# Reports and logs of the last run: $TPGATE_TOOLS_CACHE/last-run/.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${TPGATE_TOOLS_CACHE:-$HOME/.cache/tpgate-tools}
SPEC=${TPGATE_SPEC:-$ROOT/openapi/tpgate.json}
PYTHON=${PYTHON:-python3}
ST_MAX_EXAMPLES=${ST_MAX_EXAMPLES:-100}
# What the gateway must never do: answer 5xx, break its own spec, accept what
# the spec forbids, ignore auth. (`all` adds positive_data_acceptance, which
# fails wherever tpgate enforces a seed rule the schema cannot state.)
ST_CHECKS=${ST_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection,unsupported_method,missing_required_header,ignored_auth}
ST_WORKERS=${ST_WORKERS:-2}

PHASES=("$@")
[[ ${#PHASES[@]} -gt 0 ]] || PHASES=(python ts schemathesis)
for p in "${PHASES[@]}"; do
  case $p in install | python | ts | schemathesis) ;; *) echo "unknown phase '$p' (install, python, ts, schemathesis)" >&2; exit 2 ;; esac
done
want() { local p; for p in "${PHASES[@]}"; do [[ $p == "$1" ]] && return 0; done; return 1; }

# shellcheck source=tools/phases.sh
source "$(dirname "${BASH_SOURCE[0]}")/../phases.sh"
RESULTS=()
summary() {
  log "summary"
  local t
  for t in "${TIMES[@]}"; do echo "  $t"; done
  for t in "${RESULTS[@]}"; do echo "$t"; done
  echo "  logs and reports: $OUT"
}

mkdir -p "$CACHE"
OUT=$CACHE/last-run
rm -rf "$OUT" && mkdir -p "$OUT"

# --- tools -----------------------------------------------------------------
install_tools() {
  # One installer at a time per cache directory.
  exec 9>"$CACHE/.lock"
  flock 9
  # shellcheck source=tools/pinned.sh
  source "$ROOT/tools/pinned.sh"
  # Python 3.11+: the generated client uses typing.Self.
  pinned_venv "$CACHE/venv" "$HERE/requirements.txt" "$PYTHON"
  pinned_node "$CACHE/node" "$HERE"
  flock -u 9
}

log "tools (cache: $CACHE)"
t0=$(now)
install_tools # not in an `if`: set -e must stop it at the first failing step
record "install tools" "$t0" ok
VENV=$CACHE/venv
NODE_MODULES=$CACHE/node/node_modules
if [[ ${PHASES[*]} == install ]]; then summary; exit 0; fi

# --- sandbox ---------------------------------------------------------------
# shellcheck source=tools/sandbox.sh
source "$ROOT/tools/sandbox.sh"
sandbox_work tpgate-clients
sandbox_bin
t0=$(now)
sandbox_start
jq_() { sandbox_field "$1"; }
sandbox_onboard
cp "$WORK/sandbox.json" "$OUT/"
# For schemathesis.toml and st_summary.py.
TPGATE_ADMIN_TOKEN=$(jq_ admin_token) TPGATE_API_KEY=$(jq_ api_key)
TPGATE_APPID=$(jq_ authorizer_appid) TPGATE_TENANT_ID=$(jq_ tenant_id)
export TPGATE_ADMIN_TOKEN TPGATE_API_KEY TPGATE_APPID TPGATE_TENANT_ID
record "sandbox up (+ onboarding)" "$t0" ok
echo "gateway $BASE, spec under test: $SPEC"

# --- python ----------------------------------------------------------------
if want python; then
  log "python: openapi-python-client generate"
  t0=$(now)
  status=ok
  mkdir -p "$WORK/py"
  if ! PATH="$VENV/bin:$PATH" "$VENV/bin/openapi-python-client" generate --path "$SPEC" --meta none \
    --output-path "$WORK/py/tpgate_client" --fail-on-warning >"$OUT/python-generate.log" 2>&1; then
    status=FAILED
  fi
  cat "$OUT/python-generate.log"
  record "python: generate" "$t0" "$status"
  if [[ $status == ok ]]; then
    log "python: smoke.py"
    t0=$(now)
    if "$VENV/bin/python" "$HERE/smoke.py" "$WORK/py" "$WORK/sandbox.json"; then status=ok; else status=FAILED; fi
    record "python: smoke" "$t0" "$status"
  fi
fi

# --- typescript ------------------------------------------------------------
if want ts; then
  log "ts: openapi-typescript"
  t0=$(now)
  status=ok
  TS=$WORK/ts
  mkdir -p "$TS"
  ln -s "$NODE_MODULES" "$TS/node_modules"
  cp "$HERE/smoke.ts" "$HERE/tsconfig.json" "$TS/"
  echo '{"private": true, "type": "module"}' >"$TS/package.json"
  if ! "$NODE_MODULES/.bin/openapi-typescript" "$SPEC" -o "$TS/tpgate-api.ts" >"$OUT/ts-generate.log" 2>&1; then
    status=FAILED
  fi
  cat "$OUT/ts-generate.log"
  if grep -qiE 'warn|error' "$OUT/ts-generate.log"; then status=FAILED; fi
  record "ts: generate" "$t0" "$status"
  if [[ $status == ok ]]; then
    log "ts: tsc --strict, node"
    t0=$(now)
    if (cd "$TS" && node_modules/.bin/tsc -p tsconfig.json); then
      record "ts: tsc --strict" "$t0" ok
      t0=$(now)
      if node "$TS/out/smoke.js" "$WORK/sandbox.json"; then status=ok; else status=FAILED; fi
      record "ts: smoke" "$t0" "$status"
    else
      record "ts: tsc --strict" "$t0" FAILED
    fi
  fi
fi

# --- schemathesis ----------------------------------------------------------
if want schemathesis; then
  log "schemathesis: st run ${BASE}openapi.json (-n $ST_MAX_EXAMPLES, checks $ST_CHECKS)"
  t0=$(now)
  # A scratch tenant with its own Mini Program for the admin operations to act on (see schemathesis.toml).
  # Plain curl and the wire format (not a generated client), so this works whatever the clients say.
  admin_post() {
    curl -fsS -X POST -H "Authorization: Bearer $TPGATE_ADMIN_TOKEN" -H 'Content-Type: application/json' \
      -d "$2" "${BASE}${1#/}"
  }
  field() { "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
  TPGATE_SCRATCH_APPID=wx$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
  TPGATE_SCRATCH_TENANT_ID=$(admin_post /admin/v1/tenants "{\"name\": \"schemathesis-$RANDOM$RANDOM\"}" | field id)
  admin_post "/admin/v1/tenants/$TPGATE_SCRATCH_TENANT_ID/onboarding-links" \
    "{\"biz_appid\": \"$TPGATE_SCRATCH_APPID\", \"single_use\": false}" | field url >"$WORK/scratch-link"
  curl -fsSL -o /dev/null -e "${BASE};auto" -d page=pc "$(cat "$WORK/scratch-link")/authorize"
  export TPGATE_SCRATCH_TENANT_ID TPGATE_SCRATCH_APPID
  echo "scratch tenant $TPGATE_SCRATCH_TENANT_ID with $TPGATE_SCRATCH_APPID"
  # shellcheck disable=SC2086  # ST_EXTRA_ARGS is a list of words
  if (cd "$WORK" && "$VENV/bin/st" --config-file "$HERE/schemathesis.toml" run "${BASE}openapi.json" \
    --checks "$ST_CHECKS" --max-examples "$ST_MAX_EXAMPLES" --workers "$ST_WORKERS" \
    --continue-on-failure --generation-database none ${ST_SEED:+--seed "$ST_SEED"} \
    --output-sanitize false --no-color \
    --report junit --report-junit-path "$OUT/schemathesis-junit.xml" ${ST_EXTRA_ARGS:-} \
    >"$OUT/schemathesis.log" 2>&1); then
    status=ok
  else
    status=FAILED
  fi
  sed -n '/^=* SUMMARY =*$/,$p' "$OUT/schemathesis.log"
  record "schemathesis" "$t0" "$status"
  if [[ -f $OUT/schemathesis-junit.xml ]]; then
    "$VENV/bin/python" "$HERE/st_summary.py" "$OUT/schemathesis-junit.xml" >"$OUT/schemathesis-summary.txt" || true
    RESULTS+=("" "$(cat "$OUT/schemathesis-summary.txt")" "  (full output: $OUT/schemathesis.log)")
  fi
fi

summary
if [[ ${HOLD:-0} == 1 ]]; then
  log "HOLD=1: the sandbox keeps running until Ctrl-C; to replay the curls above:"
  echo "export TPGATE_ADMIN_TOKEN='$TPGATE_ADMIN_TOKEN' TPGATE_API_KEY='$TPGATE_API_KEY'"
  echo "(gateway $BASE, simulator $(jq_ simulator_url))"
  wait "$SANDBOX_PID" || true
fi
if [[ $FAILED != 0 ]]; then echo "FAILED" >&2; exit 1; fi
echo "all phases passed"
