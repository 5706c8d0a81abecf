#!/usr/bin/env bash
# Proxied `get_order` (POST JSON) on one machine, under the same load, in one run:
#   (a) direct  the WeChat simulator (`wechat-sim`) called directly;
#   (b) nginx   nginx `proxy_pass` (upstream keep-alive) → the same simulator process;
#   (c) bare    tools/bench/bare-proxy → the same simulator process: a reverse proxy on tpgate's
#               own stack (Tokio, hyper server and client, mimalloc) that does nothing else, so
#               the gap between tpgate and nginx splits into the stack's share and the gate's;
#   (d) barelog (c) that also records every call in tpgate's call log (into tpgate's database,
#               with tpgate's batches and writers; a call waits for room in the queue where
#               tpgate's log would drop it): the floor of any proxy that keeps a complete call
#               log, so what the log costs on this machine shows apart from what the gate costs;
#   (e) tpgate  `tpgate serve` → the same simulator process: the full gate (API key, ownership,
#               permission sets, seed rules, Redis rate limiter, call log), at tpgate's defaults,
#               on Postgres + Redis.
#
#   tools/bench/proxy-vs-nginx.sh
#
# 1. Installs what is missing from Debian's packages (nginx, wrk, curl, jq, postgresql-client,
#    redis-tools); builds tpgate and bare-proxy in the Dockerfile's `production` profile and
#    wechat-sim in release (`cargo build`), and the fixed-rate
#    generator tools/bench/openloop.rs (plain rustc; see below why it exists).
# 2. Starts the simulator, nginx (its own config, pid and logs in a temp dir: the system's nginx
#    and its service are left alone) and tpgate (a fresh Postgres database, created and dropped;
#    Redis with a key prefix of its own, deleted at the end), and seeds them (below).
# 3. Closed loop: BENCH_ROUNDS rounds, each measuring (a)–(e) one after the other with wrk
#    (BENCH_CONNECTIONS connections, BENCH_SECONDS each); per path calls/s, p50, p99; per round
#    tpgate/nginx calls/s; then min–max across rounds, with each path's ratio to nginx and
#    tpgate's to bare and to barelog.
# 4. Fixed rate (open loop): (b) then (e) at half nginx's median calls/s from the rounds; the p99
#    of each and tpgate's p99 over nginx's.
# 5. PASS/FAIL lines for the targets (tpgate ≥ 0.8× nginx calls/s; tpgate adds ≤ 1 ms p99 at the
#    fixed rate). Exits 0 whatever the figures; non-zero only when something broke.
# Every process it started is stopped on exit, failure and Ctrl-C included.
#
# Seeding. The simulator authorizes two Mini Programs of the same simulated platform:
#   - APPID_GATE (wx0123456789abcdef) through tpgate's own onboarding (admin API: tenant, API key,
#     onboarding link; the link followed as a browser would), so tpgate holds its token;
#   - APPID_DIRECT (wx00000000000b0b0b) by this script acting as the platform itself (ticket,
#     component token, pre_auth_code, the authorization page, api_query_auth), which gives the
#     authorizer access token that (a), (b) and (c) put in `?access_token=`.
#   Two appids because the simulator, like WeChat, expires an account's previous access token 5
#   minutes after issuing a new one: sharing tpgate's appid would make tpgate and this script
#   invalidate each other's tokens. Each appid has one paid order (POST /sim/orders); get_order
#   does the same work in the simulator for either. The direct authorization is done before the
#   simulator learns tpgate's URL (its pushes go to a sink on itself until then), so tpgate never
#   hears of APPID_DIRECT.
#
# Environment (defaults in brackets):
#   BENCH_SECONDS [10]          length of each closed-loop run
#   BENCH_CONNECTIONS [32]      connections, closed loop and fixed rate alike
#   BENCH_ROUNDS [3]            closed-loop rounds
#   BENCH_WRK_THREADS [2]       wrk threads
#   BENCH_FIXED_SECONDS [20]    length of each fixed-rate run (after a 2 s warm-up)
#   BENCH_FIXED_RATE            requests/s of the fixed-rate phase [half nginx's median calls/s]
#   BENCH_PG_URL [postgres://postgres@127.0.0.1:5432/postgres]   where to CREATE/DROP the database
#   BENCH_REDIS_URL [redis://127.0.0.1:6379]
#   BENCH_NGINX_WORKERS [auto]  BENCH_NGINX_ACCESS_LOG [on]: `off` for nginx at its leanest
#   BENCH_SIM_LOG [warn]        RUST_LOG of the simulator (its default logs every call at debug)
#   BENCH_TPGATE_LOG            RUST_LOG of tpgate [unset: its default, one info line per request]
#   BENCH_CALL_LOG [on]         `off`: tpgate runs with its call log off, to see what the gate
#                               costs without it (the targets are met only with it on)
#   BENCH_TPGATE_BIN, BENCH_SIM_BIN, BENCH_BARE_BIN   prebuilt binaries (skips cargo)
#   BENCH_NO_INSTALL=1          never run apt-get (fail if something is missing)
#   KEEP_WORK=1                 keep the temp dir (logs, nginx.conf) at the end
#   BENCH_HOLD=1                set up, then hold everything up for profiling (see below)
#
# Fixed rate: Debian bookworm packages no open-loop load generator (no wrk2, no vegeta; hey and
# bombardier limit their rate but still wait for each answer before the next request, so a stall
# hides the requests that would have queued behind it). tools/bench/openloop.rs is a small one in
# the standard library only (wrk2's model: latency counted from each request's scheduled time).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

SECS=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-32}
ROUNDS=${BENCH_ROUNDS:-3}
WRK_THREADS=${BENCH_WRK_THREADS:-2}
FIXED_SECS=${BENCH_FIXED_SECONDS:-20}
FIXED_WARMUP=2
PG_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
REDIS_URL=${BENCH_REDIS_URL:-redis://127.0.0.1:6379}
NGINX_WORKERS=${BENCH_NGINX_WORKERS:-auto}
NGINX_ACCESS_LOG=${BENCH_NGINX_ACCESS_LOG:-on}

# The simulated platform: wechat-sim's built-in identity (SimConfig::sandbox), which tpgate must be
# configured with, as a real platform copies its credentials from the Open Platform console.
COMPONENT_APPID=wx5a5a5a5a5a5a5a5a
COMPONENT_SECRET=sandbox-component-secret-0123456789
COMPONENT_TOKEN=sandboxtoken
COMPONENT_AES_KEY=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG
APPID_GATE=wx0123456789abcdef
APPID_DIRECT=wx00000000000b0b0b

# tpgate reads every TPGATE_* variable as configuration: only this script's may reach it.
while read -r name; do unset "$name"; done < <(compgen -e | grep '^TPGATE_' || true)

log() { printf '\n==> %s\n' "$*" >&2; }
die() {
  printf 'proxy-vs-nginx: %s\n' "$*" >&2
  exit 1
}

# --- processes and cleanup ---------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/proxy-vs-nginx.XXXXXX")
PIDS=()     # every background process started, in order
DB=         # the database, once created
REDIS_PREFIX=

stop_pid() {
  local pid=$1 _
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$? i f
  trap - EXIT INT TERM
  # Newest first: load generators, tpgate, nginx, the simulator.
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[i]}"; done
  if [[ -n $DB ]]; then
    psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1 ||
      echo "could not drop database $DB" >&2
  fi
  if [[ -n $REDIS_PREFIX ]]; then
    redis-cli -u "$REDIS_URL" --scan --pattern "$REDIS_PREFIX:*" 2>/dev/null |
      xargs -r redis-cli -u "$REDIS_URL" del >/dev/null 2>&1 || true
  fi
  if [[ $rc != 0 ]]; then
    for f in "$WORK"/*.log "$WORK"/nginx/error.log; do
      [[ -s $f ]] || continue
      echo "--- last lines of $f (backtrace frames left out)" >&2
      grep -v -E '^ +([0-9]+: |at )' "$f" | tail -n 15 >&2
    done
  fi
  if [[ ${KEEP_WORK:-0} == 1 ]]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A background process whose pid cleanup will stop; sets BG_PID. Run in the background and
# waited for (even the load generators), so a signal reaches the trap at once.
start_bg() {
  local out=$1
  shift
  "$@" >"$out" 2>&1 &
  BG_PID=$!
  PIDS+=("$BG_PID")
}

# Runs a load generator to its end; its output goes to $1.
run_load() {
  start_bg "$@"
  wait "$BG_PID" || die "load generator failed: ${*:2} (see $1: $(tail -n 3 "$1"))"
}

# A TCP port nobody listens on (and that this script has not handed out yet).
TAKEN=" "
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    [[ $TAKEN == *" $p "* ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      TAKEN+="$p "
      echo "$p"
      return
    fi
  done
}

# Waits until URL answers 2xx, failing early if process PID exits.
wait_http() {
  local url=$1 pid=$2 what=$3 _
  for _ in $(seq 1 600); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || die "$what exited before answering $url"
    sleep 0.1
  done
  die "$what did not answer $url within 60 s"
}

# --- tools -------------------------------------------------------------------
install_missing() {
  local need=() sudo=()
  command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || need+=(nginx)
  command -v wrk >/dev/null || need+=(wrk)
  command -v curl >/dev/null || need+=(curl)
  command -v jq >/dev/null || need+=(jq)
  command -v psql >/dev/null || need+=(postgresql-client)
  command -v redis-cli >/dev/null || need+=(redis-tools)
  [[ ${#need[@]} == 0 ]] && return
  [[ ${BENCH_NO_INSTALL:-0} == 1 ]] && die "missing packages: ${need[*]} (BENCH_NO_INSTALL=1)"
  if [[ $EUID != 0 ]]; then
    command -v sudo >/dev/null || die "missing packages: ${need[*]}; install them as root"
    sudo=(sudo)
  fi
  log "apt-get install -y ${need[*]}"
  # On a machine with systemd, installing nginx also starts the system's nginx service on port
  # 80; this script never uses or stops it.
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
}

install_missing
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
command -v rustc >/dev/null || die "rustc is needed for tools/bench/openloop.rs (rustup, or apt-get install rustc)"

if [[ -n ${BENCH_TPGATE_BIN:-} && -n ${BENCH_SIM_BIN:-} && -n ${BENCH_BARE_BIN:-} ]]; then
  TPGATE_BIN=$BENCH_TPGATE_BIN SIM_BIN=$BENCH_SIM_BIN BARE_BIN=$BENCH_BARE_BIN
else
  # The two proxies as shipped (the Dockerfile's profile); the simulator, which all paths
  # share, in plain release.
  log "cargo build --profile production -p tpgate -p bare-proxy; cargo build --release -p wechat-sim"
  (cd "$ROOT" && cargo build --profile production -p tpgate -p bare-proxy && cargo build --release -p wechat-sim)
  TPGATE_BIN=${BENCH_TPGATE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/production/tpgate}
  SIM_BIN=${BENCH_SIM_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/wechat-sim}
  BARE_BIN=${BENCH_BARE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/production/bare-proxy}
fi
rustc -O --edition 2021 -o "$WORK/openloop" "$HERE/openloop.rs"

psql -q "$PG_URL" -Atc 'select 1' >/dev/null || die "Postgres is not reachable at $PG_URL (BENCH_PG_URL)"
[[ $(redis-cli -u "$REDIS_URL" ping 2>/dev/null) == PONG ]] || die "Redis is not reachable at $REDIS_URL (BENCH_REDIS_URL)"

SIM_PORT=$(free_port) NGINX_PORT=$(free_port) BARE_PORT=$(free_port) BARELOG_PORT=$(free_port) GW_PORT=$(free_port) OPS_PORT=$(free_port)
SIM=http://127.0.0.1:$SIM_PORT
GW=http://127.0.0.1:$GW_PORT

# POST JSON $2 to $1, print the answer; fails on HTTP errors.
post() { curl -fsS -X POST -H 'Content-Type: application/json' "${@:3}" -d "$2" "$1"; }

# --- the simulator -----------------------------------------------------------
log "wechat-sim on :$SIM_PORT"
# Until tpgate is up, the simulator's pushes go to a sink on itself (any unknown path answers),
# so that the direct authorization below never reaches tpgate.
start_bg "$WORK/sim.log" env RUST_LOG="${BENCH_SIM_LOG:-warn}" "$SIM_BIN" \
  --listen "127.0.0.1:$SIM_PORT" --gateway-events-url "$SIM/bench/sink"
SIM_PID=$BG_PID
wait_http "$SIM/sim/clock" "$SIM_PID" wechat-sim

# (a), (b), (c): this script as the platform authorizes APPID_DIRECT and keeps its access token.
TICKET=$(post "$SIM/sim/push/ticket" '{}' | jq -er .ticket)
COMPONENT_AT=$(post "$SIM/cgi-bin/component/api_component_token" \
  "$(jq -nc --arg a "$COMPONENT_APPID" --arg s "$COMPONENT_SECRET" --arg t "$TICKET" \
    '{component_appid: $a, component_appsecret: $s, component_verify_ticket: $t}')" |
  jq -er .component_access_token)
PRE_AUTH=$(post "$SIM/cgi-bin/component/api_create_preauthcode?component_access_token=$COMPONENT_AT" \
  "{\"component_appid\": \"$COMPONENT_APPID\"}" | jq -er .pre_auth_code)
REDIRECT=$(curl -fsS -o /dev/null -w '%{redirect_url}' -G "$SIM/cgi-bin/componentloginpage" \
  --data-urlencode "component_appid=$COMPONENT_APPID" --data-urlencode "pre_auth_code=$PRE_AUTH" \
  --data-urlencode "biz_appid=$APPID_DIRECT" --data-urlencode "redirect_uri=http://127.0.0.1/bench-callback")
[[ $REDIRECT =~ [?\&]auth_code=([^\&]+) ]] || die "no auth_code in the authorization page's redirect: $REDIRECT"
AUTH_CODE=${BASH_REMATCH[1]}
AUTH_CODE=$(printf '%b' "${AUTH_CODE//%/\\x}") # percent-decoded (the code holds @@@)
DIRECT_TOKEN=$(post "$SIM/cgi-bin/component/api_query_auth?component_access_token=$COMPONENT_AT" \
  "$(jq -nc --arg a "$COMPONENT_APPID" --arg c "$AUTH_CODE" '{component_appid: $a, authorization_code: $c}')" |
  jq -er .authorization_info.authorizer_access_token)
TX_DIRECT=$(post "$SIM/sim/orders" "{\"appid\": \"$APPID_DIRECT\"}" | jq -er .transaction_id)
TX_GATE=$(post "$SIM/sim/orders" "{\"appid\": \"$APPID_GATE\"}" | jq -er .transaction_id)
# The page pushes `authorized` to the sink 50 ms after its redirect: wait for that push (the
# ticket's and this one) before pointing the simulator at tpgate, or tpgate would get it.
for _ in $(seq 1 100); do
  [[ $(curl -fsS "$SIM/sim/calls" | jq '."/bench/sink" // 0') -ge 2 ]] && break
  sleep 0.1
done
# From now on the simulator pushes to tpgate, as WeChat pushes to a registered platform.
post "$SIM/sim/gateway" "$(jq -nc --arg g "$GW" \
  '{events_url: "\($g)/wechat/component/events", app_events_url: "\($g)/wechat/apps/$APPID$/events"}')" >/dev/null

# --- nginx -------------------------------------------------------------------
log "nginx on :$NGINX_PORT"
mkdir -p "$WORK/nginx"
# As root, nginx's workers switch to a user: Debian has no group "nobody", nginx's default.
USER_LINE=
[[ $EUID == 0 ]] && USER_LINE="user nobody nogroup;"
ACCESS_LOG=off
[[ $NGINX_ACCESS_LOG == on ]] && ACCESS_LOG="$WORK/nginx/access.log"
sed -e "s|@WORK@|$WORK/nginx|g" -e "s|@USER@|$USER_LINE|" -e "s|@WORKERS@|$NGINX_WORKERS|" \
  -e "s|@ACCESS_LOG@|$ACCESS_LOG|" -e "s|@UPSTREAM@|127.0.0.1:$SIM_PORT|" \
  -e "s|@LISTEN@|127.0.0.1:$NGINX_PORT|" "$HERE/nginx.conf.in" >"$WORK/nginx/nginx.conf"
"$NGINX" -t -q -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log"
start_bg "$WORK/nginx.log" "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log"
NGINX_PID=$BG_PID
wait_http "http://127.0.0.1:$NGINX_PORT/sim/clock" "$NGINX_PID" nginx

# --- the bare proxy ------------------------------------------------------------
log "bare-proxy on :$BARE_PORT"
start_bg "$WORK/bare.log" "$BARE_BIN" "127.0.0.1:$BARE_PORT" "127.0.0.1:$SIM_PORT"
BARE_PID=$BG_PID
wait_http "http://127.0.0.1:$BARE_PORT/sim/clock" "$BARE_PID" bare-proxy

# --- tpgate ------------------------------------------------------------------
DB=proxy_vs_nginx_$$_$RANDOM
REDIS_PREFIX=proxy-vs-nginx-$$-$RANDOM
log "tpgate serve on :$GW_PORT (database $DB, Redis prefix $REDIS_PREFIX)"
psql -q "$PG_URL" -c "CREATE DATABASE \"$DB\"" >/dev/null
SEALING_KEY=$("$TPGATE_BIN" gen-key)
JWT_SECRET=$("$TPGATE_BIN" gen-key)
TPGATE_ENV=(
  TPGATE_LISTEN="127.0.0.1:$GW_PORT"
  TPGATE_OPS_LISTEN="127.0.0.1:$OPS_PORT"
  TPGATE_PUBLIC_BASE_URL="$GW/"
  TPGATE_DATABASE_URL="${PG_URL%/*}/$DB"
  TPGATE_REDIS_URL="$REDIS_URL"
  TPGATE_REDIS_KEY_PREFIX="$REDIS_PREFIX"
  TPGATE_SEALING_KEY="$SEALING_KEY"
  TPGATE_ADMIN__JWT_SECRET="$JWT_SECRET"
  TPGATE_COMPONENT__APPID="$COMPONENT_APPID"
  TPGATE_COMPONENT__SECRET="$COMPONENT_SECRET"
  TPGATE_COMPONENT__TOKEN="$COMPONENT_TOKEN"
  TPGATE_COMPONENT__ENCODING_AES_KEY="$COMPONENT_AES_KEY"
  TPGATE_WECHAT__API_BASE="$SIM/"
  TPGATE_WECHAT__MP_BASE="$SIM/"
  TPGATE_WECHAT__OPEN_BASE="$SIM/"
)
# An inherited RUST_LOG would change tpgate's logging (a cost per request): only BENCH_TPGATE_LOG may.
LOG_ENV=()
[[ -n ${BENCH_TPGATE_LOG:-} ]] && LOG_ENV=(RUST_LOG="$BENCH_TPGATE_LOG")
CALL_LOG=${BENCH_CALL_LOG:-on}
[[ $CALL_LOG == on || $CALL_LOG == off ]] || die "BENCH_CALL_LOG must be on or off, not $CALL_LOG"
[[ $CALL_LOG == off ]] && TPGATE_ENV+=(TPGATE_CALL_LOG__ENABLED=false)
start_bg "$WORK/tpgate.log" env -u RUST_LOG "${TPGATE_ENV[@]}" "${LOG_ENV[@]}" "$TPGATE_BIN" serve
GW_PID=$BG_PID
wait_http "http://127.0.0.1:$OPS_PORT/healthz" "$GW_PID" tpgate
# The verify ticket WeChat pushes every 10 minutes; tpgate is ready once it has one.
PUSHED=$(post "$SIM/sim/push/ticket" '{}' | jq -r '"\(.status) \(.body)"')
[[ $PUSHED == "200 success" ]] || die "tpgate refused the ticket push: $PUSHED"
wait_http "http://127.0.0.1:$OPS_PORT/readyz" "$GW_PID" tpgate

# (d): the bare proxy again, logging into the database tpgate has just migrated.
log "bare-proxy with the call log on :$BARELOG_PORT"
start_bg "$WORK/barelog.log" "$BARE_BIN" "127.0.0.1:$BARELOG_PORT" "127.0.0.1:$SIM_PORT" \
  "${PG_URL%/*}/$DB"
BARELOG_PID=$BG_PID
wait_http "http://127.0.0.1:$BARELOG_PORT/sim/clock" "$BARELOG_PID" bare-proxy

# (e): a tenant, its API key, and APPID_GATE authorized for it through an onboarding link.
ADMIN=$(env "${TPGATE_ENV[@]}" "$TPGATE_BIN" token --role platform_admin --subject proxy-vs-nginx 2>/dev/null)
admin() { post "$GW$1" "$2" -H "Authorization: Bearer $ADMIN"; }
TENANT=$(admin /admin/v1/tenants "{\"name\": \"bench-$$-$RANDOM\"}" | jq -er .id)
API_KEY=$(admin "/admin/v1/tenants/$TENANT/api-keys" '{"name": "bench"}' | jq -er .key)
LINK=$(admin "/admin/v1/tenants/$TENANT/onboarding-links" "{\"biz_appid\": \"$APPID_GATE\"}" | jq -er .url)
# The landing page's button, with the Referer a browser sends; curl follows WeChat's redirect
# back to tpgate, which exchanges the auth_code.
curl -fsSL -o /dev/null -e "$GW/;auto" -d page=pc "$LINK/authorize"

# --- the three paths ---------------------------------------------------------
URL_DIRECT="$SIM/wxa/sec/order/get_order?access_token=$DIRECT_TOKEN"
URL_NGINX="http://127.0.0.1:$NGINX_PORT/wxa/sec/order/get_order?access_token=$DIRECT_TOKEN"
URL_BARE="http://127.0.0.1:$BARE_PORT/wxa/sec/order/get_order?access_token=$DIRECT_TOKEN"
URL_BARELOG="http://127.0.0.1:$BARELOG_PORT/wxa/sec/order/get_order?access_token=$DIRECT_TOKEN"
URL_GATE="$GW/v1/apps/$APPID_GATE/wxa/sec/order/get_order"
BODY_DIRECT="{\"transaction_id\": \"$TX_DIRECT\"}"
BODY_GATE="{\"transaction_id\": \"$TX_GATE\"}"
PATHS=(direct nginx bare barelog tpgate)
declare -A URL=([direct]=$URL_DIRECT [nginx]=$URL_NGINX [bare]=$URL_BARE [barelog]=$URL_BARELOG
  [tpgate]=$URL_GATE)
declare -A BODY=([direct]=$BODY_DIRECT [nginx]=$BODY_DIRECT [bare]=$BODY_DIRECT
  [barelog]=$BODY_DIRECT [tpgate]=$BODY_GATE)
declare -A BEARER=([direct]="" [nginx]="" [bare]="" [barelog]="" [tpgate]=$API_KEY)

# One call on path $1 must answer WeChat's success (errcode 0): before and after every run, as the
# load generators only see HTTP statuses (the simulator answers its refusals with HTTP 200).
check() {
  local p=$1 auth=() answer
  [[ -n ${BEARER[$p]} ]] && auth=(-H "Authorization: Bearer ${BEARER[$p]}")
  answer=$(curl -sS -X POST -H 'Content-Type: application/json' "${auth[@]}" -d "${BODY[$p]}" "${URL[$p]}") ||
    die "$p: no answer"
  jq -e '.errcode == 0' <<<"$answer" >/dev/null 2>&1 || die "$p: get_order did not succeed: $answer"
}

# wrk on path $1 for $2 seconds; sets W_RPS (calls/s), W_P50, W_P99 (ms), W_ERR. Not run in a
# $(…) subshell, so that the EXIT trap knows wrk's pid.
wrk_run() {
  local p=$1 secs=$2 out=$WORK/wrk-$1.out line requests dur p50 p99 sock non2xx
  check "$p"
  BENCH_BODY=${BODY[$p]} BENCH_BEARER=${BEARER[$p]} run_load "$out" \
    wrk -t "$WRK_THREADS" -c "$CONNS" -d "${secs}s" --timeout 5s -s "$HERE/post.lua" "${URL[$p]}"
  check "$p"
  line=$(grep '^WRK ' "$out") || die "no result from wrk: $(cat "$out")"
  read -r _ requests dur p50 p99 sock non2xx <<<"$line"
  read -r W_RPS W_P50 W_P99 < <(awk -v r="$requests" -v d="$dur" -v a="$p50" -v b="$p99" \
    'BEGIN { printf "%.0f %.2f %.2f\n", r / (d / 1e6), a / 1000, b / 1000 }')
  W_ERR=$((sock + non2xx))
}

# The median of the numbers given.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
minmax() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s–%s", lo, hi }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# BENCH_HOLD=1: everything stays up for profiling or a rebuilt tpgate; $WORK/hold.env has what
# is needed to restart tpgate by hand and load each path; `touch $WORK/stop` ends the run.
if [[ ${BENCH_HOLD:-} == 1 ]]; then
  {
    printf 'export %q\n' "${TPGATE_ENV[@]}"
    printf 'GW_PID=%q\nAPI_KEY=%q\n' "$GW_PID" "$API_KEY"
    for p in "${PATHS[@]}"; do printf 'URL_%s=%q\nBODY_%s=%q\n' "$p" "${URL[$p]}" "$p" "${BODY[$p]}"; done
  } >"$WORK/hold.env"
  log "holding: $WORK/hold.env; touch $WORK/stop to end"
  until [[ -e $WORK/stop ]]; do sleep 1; done
  exit 0
fi

log "warm-up: 2 s per path (connections, caches)"
for p in "${PATHS[@]}"; do wrk_run "$p" 2; done

# --- closed loop -------------------------------------------------------------
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')
git -C "$ROOT" diff --quiet HEAD -- crates 2>/dev/null || REV+=" +local changes"
log "closed loop: $ROUNDS rounds × (direct, nginx, bare, barelog, tpgate), wrk -t$WRK_THREADS -c$CONNS, ${SECS} s each"
declare -A RPS P50 P99 ERR
RATIOS=() BARE_RATIOS=() BARELOG_RATIOS=()
{
  echo "get_order; $(nproc) cores ($CPU); tpgate $REV, log ${BENCH_TPGATE_LOG:-default}, call log $CALL_LOG;" \
    "$("$NGINX" -v 2>&1 | sed 's/.*: //'), $NGINX_WORKERS workers, access log $NGINX_ACCESS_LOG"
  printf '%-6s %-7s %10s %9s %9s %7s\n' round path calls/s p50_ms p99_ms errors
} | tee "$WORK/results.txt"
for ((r = 1; r <= ROUNDS; r++)); do
  # The proxies run in reverse order every other round, so drift favours none of them.
  order=(direct nginx bare barelog tpgate)
  ((r % 2 == 0)) && order=(direct tpgate barelog bare nginx)
  for p in "${order[@]}"; do
    wrk_run "$p" "$SECS"
    RPS[$p,$r]=$W_RPS P50[$p,$r]=$W_P50 P99[$p,$r]=$W_P99 ERR[$p,$r]=$W_ERR
  done
  for p in "${PATHS[@]}"; do
    printf '%-6s %-7s %10s %9s %9s %7s\n' "$r" "$p" "${RPS[$p,$r]}" "${P50[$p,$r]}" "${P99[$p,$r]}" "${ERR[$p,$r]}"
  done | tee -a "$WORK/results.txt"
  RATIOS+=("$(ratio "${RPS[tpgate,$r]}" "${RPS[nginx,$r]}")")
  BARE_RATIOS+=("$(ratio "${RPS[tpgate,$r]}" "${RPS[bare,$r]}")")
  BARELOG_RATIOS+=("$(ratio "${RPS[tpgate,$r]}" "${RPS[barelog,$r]}")")
  echo "       tpgate/nginx calls/s: ${RATIOS[-1]}; tpgate/bare: ${BARE_RATIOS[-1]};" \
    "tpgate/barelog: ${BARELOG_RATIOS[-1]}" | tee -a "$WORK/results.txt"
done

echo
printf '%-7s %16s %14s %14s %12s\n' path calls/s p50_ms p99_ms "nginx ratio"
for p in "${PATHS[@]}"; do
  rps=() p50=() p99=() pr=()
  for ((r = 1; r <= ROUNDS; r++)); do
    rps+=("${RPS[$p,$r]}") p50+=("${P50[$p,$r]}") p99+=("${P99[$p,$r]}")
    pr+=("$(ratio "${RPS[$p,$r]}" "${RPS[nginx,$r]}")")
  done
  printf '%-7s %16s %14s %14s %12s\n' "$p" "$(minmax "${rps[@]}")" "$(minmax "${p50[@]}")" \
    "$(minmax "${p99[@]}")" "$(minmax "${pr[@]}")"
done
RATIO_MEDIAN=$(median "${RATIOS[@]}")
echo "tpgate/nginx calls/s per round: ${RATIOS[*]} (min–max $(minmax "${RATIOS[@]}"), median $RATIO_MEDIAN)"
echo "tpgate/bare calls/s per round: ${BARE_RATIOS[*]} (what the gate costs over its stack's floor)"
echo "tpgate/barelog calls/s per round: ${BARELOG_RATIOS[*]} (the same, the call log's cost taken out)"

# --- fixed rate --------------------------------------------------------------
NGINX_RPS=()
for ((r = 1; r <= ROUNDS; r++)); do NGINX_RPS+=("${RPS[nginx,$r]}"); done
RATE=$(awk -v m="$(median "${NGINX_RPS[@]}")" 'BEGIN { printf "%d", m / 2 }')
WHY="half nginx's median"
[[ -n ${BENCH_FIXED_RATE:-} ]] && RATE=$BENCH_FIXED_RATE WHY=BENCH_FIXED_RATE
log "fixed rate: nginx then tpgate at $RATE calls/s ($WHY), $CONNS connections, ${FIXED_SECS} s each after ${FIXED_WARMUP} s"

# openloop on path $1; sets FIX[$1] to its OPENLOOP line (not in a subshell: see wrk_run).
fixed_run() {
  local p=$1 out=$WORK/openloop-$1.out auth=()
  [[ -n ${BEARER[$p]} ]] && auth=(--header "Authorization: Bearer ${BEARER[$p]}")
  printf '%s' "${BODY[$p]}" >"$WORK/body-$p.json"
  check "$p"
  run_load "$out" "$WORK/openloop" --url "${URL[$p]}" --rate "$RATE" --duration "$FIXED_SECS" \
    --warmup "$FIXED_WARMUP" --connections "$CONNS" --body-file "$WORK/body-$p.json" \
    --expect '"errcode":0,' "${auth[@]}"
  check "$p"
  FIX[$p]=$(grep '^OPENLOOP ' "$out") || die "no result from openloop: $(cat "$out")"
}
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

declare -A FIX
# p50…max: from each request's scheduled send; svc_p99: from its actual send (what a closed-loop
# tool would report; the difference is queueing plus the generator's own wake-up delays).
printf '%-7s %8s %8s %9s %9s %9s %9s %9s %7s\n' path rate ok/s p50_ms p99_ms p99.9_ms max_ms svc_p99 errors
for p in nginx tpgate; do
  fixed_run "$p"
  printf '%-7s %8s %8s %9s %9s %9s %9s %9s %7s\n' "$p" "$RATE" "$(field rate "${FIX[$p]}")" \
    "$(field p50_ms "${FIX[$p]}")" "$(field p99_ms "${FIX[$p]}")" "$(field p999_ms "${FIX[$p]}")" \
    "$(field max_ms "${FIX[$p]}")" "$(field svc_p99_ms "${FIX[$p]}")" "$(field errors "${FIX[$p]}")"
done
ADDED=$(awk -v c="$(field p99_ms "${FIX[tpgate]}")" -v n="$(field p99_ms "${FIX[nginx]}")" 'BEGIN { printf "%.3f", c - n }')
echo "tpgate's added p99 over nginx at $RATE calls/s: $ADDED ms (latency from each request's scheduled send)"
for p in nginx tpgate; do
  # Below the rate asked for, requests queued for the whole run: p99 is then that queue's wait.
  awk -v got="$(field rate "${FIX[$p]}")" -v want="$RATE" 'BEGIN { exit !(got < 0.97 * want) }' &&
    echo "note: $p fell behind ($(field rate "${FIX[$p]}") of $RATE calls/s answered per second): its latencies are mostly queueing"
done

# --- targets -----------------------------------------------------------------
echo
verdict() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN { ok = (op == ">=") ? v >= t : v <= t; print ok ? "PASS" : "FAIL" }'; }
echo "$(verdict "$RATIO_MEDIAN" 0.8 '>=') throughput: tpgate/nginx calls/s median $RATIO_MEDIAN (min–max $(minmax "${RATIOS[@]}")), target ≥ 0.8"
echo "$(verdict "$ADDED" 1.0 '<=') latency: tpgate's added p99 at $RATE calls/s $ADDED ms, target ≤ 1 ms"
# Every guarantee kept: a call the call log dropped under this load is one the operator never sees.
read -r LOG_WRITTEN LOG_DROPPED < <(curl -fsS "http://127.0.0.1:$OPS_PORT/metrics" | awk '
  $1 == "tpgate_call_log_written_total" { w = $2 } $1 == "tpgate_call_log_dropped_total" { d = $2 }
  END { printf "%d %d\n", w, d }')
if [[ $CALL_LOG == off ]]; then
  echo "n/a call log: off (BENCH_CALL_LOG=off): the figures above are not the targets' conditions"
else
  echo "$( ((LOG_DROPPED == 0)) && echo PASS || echo FAIL) call log: $LOG_WRITTEN calls written, $LOG_DROPPED dropped (tpgate_call_log_*_total)"
fi
# barelog has no metrics: its rows (it waits rather than drop one) against the calls its rounds answered.
BARELOG_ROWS=$(psql -tAq "${PG_URL%/*}/$DB" -c "SELECT count(*) FROM wechat_calls WHERE request_id LIKE 'bare-proxy-%'")
BARELOG_ANSWERED=0
for ((r = 1; r <= ROUNDS; r++)); do
  BARELOG_ANSWERED=$(awk -v a="$BARELOG_ANSWERED" -v b="${RPS[barelog,$r]}" -v s="$SECS" 'BEGIN { printf "%d", a + b * s }')
done
echo "barelog's call log: $BARELOG_ROWS rows for ~$BARELOG_ANSWERED calls in its rounds (plus warm-up and checks)"
for p in "${PATHS[@]}"; do
  for ((r = 1; r <= ROUNDS; r++)); do
    [[ ${ERR[$p,$r]} == 0 ]] || echo "warning: $p had ${ERR[$p,$r]} failed requests in round $r" >&2
  done
done
for p in nginx tpgate; do
  [[ $(field errors "${FIX[$p]}") == 0 ]] || echo "warning: $p had $(field errors "${FIX[$p]}") failed requests at the fixed rate" >&2
done

