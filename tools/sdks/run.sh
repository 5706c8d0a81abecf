#!/usr/bin/env bash
# Real third-party WeChat SDKs against tpgate's WeChat-compatible host, on a throwaway `tpgate sandbox`.
#
#   tools/sdks/run.sh [install] [wechatpy] [node]     (default: wechatpy node)
#
# 1. installs the pinned SDKs once into ${TPGATE_TOOLS_CACHE:-$HOME/.cache/tpgate-tools}: sdks-venv/
#    (requirements.txt: wechatpy) and sdks-node/ (package.json + package-lock.json: node-easywechat),
#    reused while the pins and the Python/Node versions match;
# 2. builds tpgate (`cargo build -p tpgate`, debug) unless TPGATE_BIN names a binary, starts
#    `tpgate sandbox` on free ports with a temp db (tools/sandbox.sh), follows its onboarding link, and
#    checks that the host the SDKs will use (the sandbox's `compat_url`, else its `base_url`) answers
#    GET /cgi-bin/token WeChat's way;
# 3. wechatpy: test_wechatpy.py (WeChatClient with API_BASE_URL and its token URL on tpgate);
#    node: `node --test test_node.mjs` (node-easywechat's MiniApp with http.baseURL on tpgate).
# Exits non-zero if any phase fails; prints each phase's wall time.
#
# Environment: TPGATE_BIN (skip cargo), PYTHON (python3, >= 3.11), KEEP_WORK=1 (keep the temp dir),
# HOLD=1 (keep the sandbox up at the end). Logs of the last run: $TPGATE_TOOLS_CACHE/sdks-last-run/.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${TPGATE_TOOLS_CACHE:-$HOME/.cache/tpgate-tools}
PYTHON=${PYTHON:-python3}

PHASES=("$@")
[[ ${#PHASES[@]} -gt 0 ]] || PHASES=(wechatpy node)
for p in "${PHASES[@]}"; do
  case $p in install | wechatpy | node) ;; *) echo "unknown phase '$p' (install, wechatpy, node)" >&2; exit 2 ;; esac
done
want() { local p; for p in "${PHASES[@]}"; do [[ $p == "$1" ]] && return 0; done; return 1; }

# shellcheck source=tools/phases.sh
source "$(dirname "${BASH_SOURCE[0]}")/../phases.sh"
summary() {
  log "summary"
  local t
  for t in "${TIMES[@]}"; do echo "  $t"; done
  echo "  logs: $OUT"
}

mkdir -p "$CACHE"
OUT=$CACHE/sdks-last-run
rm -rf "$OUT" && mkdir -p "$OUT"

# --- SDKs ------------------------------------------------------------------
install_sdks() {
  # One installer at a time per cache directory (shared with tools/clients/run.sh).
  exec 9>"$CACHE/.lock"
  flock 9
  local venv=$CACHE/sdks-venv node=$CACHE/sdks-node
  # shellcheck source=tools/pinned.sh
  source "$ROOT/tools/pinned.sh"
  pinned_venv "$venv" "$HERE/requirements.txt" "$PYTHON"
  pinned_node "$node" "$HERE"
  flock -u 9
  # Both SDKs load (node-easywechat 3.6.2 breaks on a newer node-socialite: see package.json).
  "$venv/bin/python" -c 'import wechatpy, wechatpy.client; print("wechatpy", wechatpy.__version__)'
  (cd "$node" && node -e 'require("node-easywechat"); console.log("node-easywechat", require("node-easywechat/package.json").version)')
}

log "SDKs (cache: $CACHE)"
t0=$(now)
install_sdks # not in an `if`: set -e must stop it at the first failing step
record "install SDKs" "$t0" ok
VENV=$CACHE/sdks-venv
NODE_DIR=$CACHE/sdks-node
if [[ ${PHASES[*]} == install ]]; then summary; exit 0; fi

# --- sandbox ---------------------------------------------------------------
# shellcheck source=tools/sandbox.sh
source "$ROOT/tools/sandbox.sh"
sandbox_work tpgate-sdks
sandbox_bin
t0=$(now)
sandbox_start
jq_() { sandbox_field "$1"; }
sandbox_onboard
cp "$WORK/sandbox.json" "$OUT/"
record "sandbox up (+ onboarding)" "$t0" ok
COMPAT=$(jq_ compat_url 2>/dev/null || echo "$BASE")
COMPAT=${COMPAT%/}/
echo "gateway $BASE, WeChat-compatible host $COMPAT, simulator $(jq_ simulator_url)"

# The SDKs need WeChat's answer shape: say so once, plainly, if this tpgate has no such host.
probe=$(curl -sS -w '\nHTTP %{http_code} %{content_type}' \
  "${COMPAT}cgi-bin/token?grant_type=client_credential&appid=wx0000000000000000&secret=not-a-key" 2>&1 || true)
if ! grep -q '"errcode"' <<<"$probe"; then
  echo "GET ${COMPAT}cgi-bin/token does not answer WeChat-shaped JSON ({\"errcode\": …}); got:" >&2
  echo "$probe" >&2
  echo "(is this tpgate built with the WeChat-compatible host? TPGATE_BIN=$BIN)" >&2
  record "WeChat-compatible host" "$t0" FAILED
  summary
  exit 1
fi

# --- wechatpy ----------------------------------------------------------------
if want wechatpy; then
  log "wechatpy: test_wechatpy.py"
  t0=$(now)
  if "$VENV/bin/python" "$HERE/test_wechatpy.py" "$WORK/sandbox.json" 2>&1 | tee "$OUT/wechatpy.log"; then
    status=ok
  else
    status=FAILED
  fi
  record "wechatpy" "$t0" "$status"
fi

# --- node-easywechat ---------------------------------------------------------
if want node; then
  log "node-easywechat: node --test test_node.mjs"
  t0=$(now)
  if TPGATE_SANDBOX_JSON=$WORK/sandbox.json SDK_NODE_DIR=$NODE_DIR \
    node --test --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=junit --test-reporter-destination="$OUT/node-junit.xml" \
    "$HERE/test_node.mjs" 2>&1 | tee "$OUT/node.log"; then
    status=ok
  else
    status=FAILED
  fi
  record "node-easywechat" "$t0" "$status"
fi

summary
if [[ ${HOLD:-0} == 1 ]]; then
  log "HOLD=1: the sandbox keeps running until Ctrl-C"
  echo "gateway $BASE (admin token: $(jq_ admin_token)), WeChat-compatible host $COMPAT, API key $(jq_ api_key)"
  wait "$SANDBOX_PID" || true
fi
if [[ $FAILED != 0 ]]; then echo "FAILED" >&2; exit 1; fi
echo "all phases passed"
