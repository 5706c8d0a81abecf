#!/usr/bin/env bash
# The operator console's checks.
#
#   tools/console/run.sh [check] [browser]     (default: both)
#
# check:   tools/console/check.sh: the console's JavaScript type-checked (tsc --checkJs --strict)
#          against types generated from openapi/tpgate.json.
# browser: headless Chromium (playwright-core, /usr/bin/chromium) against a throwaway `tpgate sandbox`:
#          builds tpgate (`cargo build -q -p tpgate`) unless TPGATE_BIN names a binary, starts the
#          sandbox on free ports, then `node --test tools/console/tests/*.test.mjs`: the operator's
#          flow (one-time link, tenant, authorization link through the simulated WeChat, API key,
#          webhook, event + replay, suspension, tenant admin, viewer, sign-out), sessions (sign-out,
#          cross-origin writes, suspended tenant, revoked key, one-time links), and every page per
#          role (console errors, failed requests, requests to other hosts, axe-core serious/critical
#          violations, screenshots at 1280x800 and 375x812, one pass in Chinese), and the Shipping page
#          with pending orders and durable shipments made through the sandbox's APIs and simulator.
# The pinned node tools are installed once into ${TPGATE_TOOLS_CACHE:-$HOME/.cache/tpgate-tools}/console-node.
# Exits non-zero if any phase fails; prints each phase's wall time.
#
# Environment: TPGATE_BIN (skip cargo), TPGATE_SPEC (check phase), CHROMIUM (default /usr/bin/chromium),
# TEST_FILTER (node --test-name-pattern), KEEP_WORK=1 (keep the temp dir), HOLD=1 (keep the sandbox
# up at the end). Screenshots: target/console-screenshots/. Logs of the last run: $TPGATE_TOOLS_CACHE/console-last-run/.
set -euo pipefail

# shellcheck source=tools/console/tools.sh
source "$(dirname "${BASH_SOURCE[0]}")/tools.sh"
HERE=$CONSOLE_HERE
ROOT=$CONSOLE_ROOT
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
SHOTS=$ROOT/target/console-screenshots

PHASES=("$@")
[[ ${#PHASES[@]} -gt 0 ]] || PHASES=(check browser)
for p in "${PHASES[@]}"; do
  case $p in check | browser) ;; *) echo "unknown phase '$p' (check, browser)" >&2; exit 2 ;; esac
done
want() { local p; for p in "${PHASES[@]}"; do [[ $p == "$1" ]] && return 0; done; return 1; }

# shellcheck source=tools/phases.sh
source "$(dirname "${BASH_SOURCE[0]}")/../phases.sh"
summary() {
  log "summary"
  local t
  for t in "${TIMES[@]}"; do echo "  $t"; done
  echo "  logs: $OUT"
  if want browser; then echo "  screenshots: $SHOTS"; fi
}

mkdir -p "$TOOLS_CACHE"
OUT=$TOOLS_CACHE/console-last-run
rm -rf "$OUT" && mkdir -p "$OUT"

# --- check -----------------------------------------------------------------
if want check; then
  log "check: openapi-typescript + tsc (tools/console/check.sh)"
  t0=$(now)
  if "$HERE/check.sh" 2>&1 | tee "$OUT/check.log"; then status=ok; else status=FAILED; fi
  record "check (types + tsc)" "$t0" "$status"
fi
if ! want browser; then
  summary
  if [[ $FAILED != 0 ]]; then echo "FAILED" >&2; exit 1; fi
  echo "all phases passed"
  exit 0
fi

# --- browser: tools, chromium, tpgate --------------------------------------
log "tools (cache: $TOOLS_CACHE)"
t0=$(now)
install_console_tools
record "install tools" "$t0" ok

if [[ ! -x $CHROMIUM ]]; then
  if [[ $CHROMIUM == /usr/bin/chromium && $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    log "apt-get install chromium"
    t0=$(now)
    # Another apt run (e.g. an earlier install still going) holds the lock: wait for it.
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends chromium \
      >"$OUT/apt.log" 2>&1 || { cat "$OUT/apt.log" >&2; }
    if [[ -x $CHROMIUM ]]; then record "apt-get install chromium" "$t0" ok; else record "apt-get install chromium" "$t0" FAILED; fi
  fi
  if [[ ! -x $CHROMIUM ]]; then
    echo "no Chromium at $CHROMIUM: install it (Debian/Ubuntu: apt-get install -y --no-install-recommends chromium)," >&2
    echo "or point CHROMIUM at a Chromium/Chrome binary" >&2
    summary
    exit 1
  fi
fi
echo "chromium: $("$CHROMIUM" --version 2>/dev/null | tail -n1)"
# The Chinese screenshots need a CJK font (the console loads no web font: CSP, no other hosts).
if command -v fc-list >/dev/null && [[ -z $(fc-list :lang=zh 2>/dev/null | head -n1) ]]; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    log "apt-get install fonts-wqy-zenhei (a CJK font for the zh-CN screenshots)"
    t0=$(now)
    if DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends fonts-wqy-zenhei \
      >"$OUT/apt-fonts.log" 2>&1; then
      record "apt-get install CJK font" "$t0" ok
    else
      echo "warning: could not install a CJK font (see $OUT/apt-fonts.log): Chinese screenshots will show boxes" >&2
    fi
  else
    echo "warning: no CJK font (e.g. apt-get install fonts-wqy-zenhei): Chinese screenshots will show boxes" >&2
  fi
fi

# shellcheck source=tools/sandbox.sh
source "$ROOT/tools/sandbox.sh"
sandbox_work tpgate-console
sandbox_bin

# --- sandbox ---------------------------------------------------------------
t0=$(now)
sandbox_start
field() { sandbox_field "$1"; }
field console_url >/dev/null || { echo "the sandbox's JSON has no console_url (is this tpgate built with the console?)" >&2; exit 1; }
curl -fsS -o /dev/null "${BASE}console/" || { echo "GET ${BASE}console/ is not 200" >&2; exit 1; }
cp "$WORK/sandbox.json" "$OUT/"
record "sandbox up" "$t0" ok
echo "gateway $BASE, simulator $(field simulator_url)"

# --- browser tests ---------------------------------------------------------
log "browser: node --test tools/console/tests/"
t0=$(now)
rm -rf "$SHOTS" && mkdir -p "$SHOTS"
TESTS=()
for f in "$HERE"/tests/*.test.mjs; do TESTS+=("$f"); done
# One test file at a time: they share the sandbox (and its simulator) and two cores.
if TPGATE_SANDBOX_JSON=$WORK/sandbox.json TPGATE_SANDBOX_DB=$WORK/sandbox.db TPGATE_BIN=$BIN \
  CONSOLE_NODE_MODULES=$CONSOLE_NODE_MODULES CONSOLE_SCREENSHOTS=$SHOTS CHROMIUM=$CHROMIUM \
  node --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=junit --test-reporter-destination="$OUT/junit.xml" \
  ${TEST_FILTER:+--test-name-pattern="$TEST_FILTER"} "${TESTS[@]}" 2>&1 | tee "$OUT/browser.log"; then
  status=ok
else
  status=FAILED
fi
record "browser tests" "$t0" "$status"
# Each test file's top-level suite with node --test's own duration (before its "failing tests" recap).
awk '/failing tests:/ { exit } /^(✔|✖) .*\([0-9.]+ms\)$/ { print "  " $0 }' "$OUT/browser.log" >"$OUT/file-times.txt" || true

summary
if [[ -s $OUT/file-times.txt ]]; then echo "  test files (node --test):"; cat "$OUT/file-times.txt"; fi
if [[ ${HOLD:-0} == 1 ]]; then
  log "HOLD=1: the sandbox keeps running until Ctrl-C"
  echo "gateway ${BASE}console/ (admin token: $(field admin_token)), simulator $(field simulator_url)"
  wait "$SANDBOX_PID" || true
fi
if [[ $FAILED != 0 ]]; then echo "FAILED" >&2; exit 1; fi
echo "all phases passed"
