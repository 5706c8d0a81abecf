# Sourced by tools/clients/run.sh and tools/console/run.sh: a throwaway `tpgate sandbox` on free
# ports with a temp database, stopped (and its log kept in $OUT) when the script exits.
#
#   sandbox_work NAME   WORK=<temp dir>, and the exit trap that stops the sandbox (KEEP_WORK=1 keeps WORK)
#   sandbox_bin         BIN=$TPGATE_BIN, else `cargo build -q -p tpgate` (debug)
#   sandbox_start       starts it, waits for its JSON and /readyz; sets SANDBOX_PID, BASE, OPS (both end with /)
#   sandbox_field KEY   prints a field of the sandbox's JSON (exit 1 when absent)
#   sandbox_onboard     follows its onboarding link as a browser would (step 1 of its next_steps):
#                       the simulated WeChat authorizes its Mini Program for tenant demo
#
# The caller defines log, now, record (see either run.sh) and OUT, and sets ROOT.

sandbox_work() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  SANDBOX_PID=
  trap sandbox_cleanup EXIT
  trap 'exit 130' INT TERM
}

sandbox_cleanup() {
  local rc=$?
  if [[ -n $SANDBOX_PID ]] && kill -0 "$SANDBOX_PID" 2>/dev/null; then
    kill -INT "$SANDBOX_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SANDBOX_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SANDBOX_PID" 2>/dev/null || true
    wait "$SANDBOX_PID" 2>/dev/null || true
  fi
  [[ -f $WORK/sandbox.log ]] && cp "$WORK/sandbox.log" "$OUT/" 2>/dev/null
  if [[ ${KEEP_WORK:-0} == 1 ]]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}

sandbox_bin() {
  if [[ -n ${TPGATE_BIN:-} ]]; then
    BIN=$TPGATE_BIN
    return
  fi
  log "cargo build -p tpgate"
  local t0
  t0=$(now)
  (cd "$ROOT" && cargo build -q -p tpgate)
  record "cargo build -p tpgate" "$t0" ok
  BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug/tpgate
}

sandbox_field() {
  python3 -c 'import json, sys; v = json.load(open(sys.argv[1])).get(sys.argv[2]); sys.exit(1) if v is None else print(v)' \
    "$WORK/sandbox.json" "$1"
}

sandbox_start() {
  log "tpgate sandbox ($BIN)"
  # tpgate reads every TPGATE_* variable as configuration: not the scripts' own.
  env -u TPGATE_BIN -u TPGATE_SPEC -u TPGATE_TOOLS_CACHE "$BIN" sandbox --host 127.0.0.1 \
    --port 0 --sim-port 0 --ops-port 0 --db "$WORK/sandbox.db" --out "$WORK/sandbox.json" \
    >"$WORK/sandbox.log" 2>&1 &
  SANDBOX_PID=$!
  for _ in $(seq 1 600); do
    [[ -s $WORK/sandbox.json ]] && sandbox_field base_url >/dev/null 2>&1 && break
    if ! kill -0 "$SANDBOX_PID" 2>/dev/null; then
      echo "the sandbox exited:" >&2; cat "$WORK/sandbox.log" >&2; exit 1
    fi
    sleep 0.1
  done
  BASE=$(sandbox_field base_url)
  OPS=$(sandbox_field ops_url)
  for _ in $(seq 1 300); do curl -fsS -o /dev/null "${OPS}readyz" 2>/dev/null && break; sleep 0.1; done
  curl -fsS -o /dev/null "${OPS}readyz" || { echo "${OPS}readyz is not 200" >&2; exit 1; }
}

sandbox_onboard() {
  # The landing page, then its button with the Referer a browser sends.
  curl -fsSL -o /dev/null "$(sandbox_field onboarding_url)"
  curl -fsSL -o /dev/null -e "${BASE};auto" -d page=pc "$(sandbox_field onboarding_url)/authorize"
}
