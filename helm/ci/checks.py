"""Checks of rendered tpgate chart manifests, used by helm/ci/check.sh.

  checks.py split RENDER CORE_OUT CRD_OUT   core kinds (validated by kubernetes-validate) vs CRD kinds
  checks.py crds CRD_FILE...                 structural checks of CRD kinds kubernetes-validate has no schema for
  checks.py prod RENDER                      what the production render must wire
  checks.py env RENDER [NAME=VALUE|!NAME]... the env ConfigMap holds NAME with exactly VALUE (!NAME: lacks NAME)
  checks.py smoke RENDER BIN WORKDIR         run the rendered pod spec's command with the real tpgate binary

Needs PyYAML (installed with kubernetes-validate).
"""

import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import yaml

# Kinds that are CustomResourceDefinitions' instances: kubernetes-validate bundles only the
# Kubernetes API's own schemas.
CRD_GROUPS = ("monitoring.coreos.com/",)


def docs(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d]


def one(objs, kind, name=None, pred=None):
    found = [
        o for o in objs
        if o["kind"] == kind
        and (name is None or o["metadata"]["name"] == name)
        and (pred is None or pred(o))
    ]
    if len(found) != 1:
        fail(f"expected exactly one {kind}{' ' + name if name else ''}, found {len(found)}")
    return found[0]


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


# --- split / crds -------------------------------------------------------------------------------

def cmd_split(render, core_out, crd_out):
    objs = docs(render)
    core = [o for o in objs if not o["apiVersion"].startswith(CRD_GROUPS)]
    crds = [o for o in objs if o["apiVersion"].startswith(CRD_GROUPS)]
    for path, part in ((core_out, core), (crd_out, crds)):
        with open(path, "w", encoding="utf-8") as f:
            yaml.safe_dump_all(part, f, sort_keys=False)
    print(f"{len(core)} core object(s), {len(crds)} CRD object(s): "
          f"{', '.join(sorted({o['kind'] for o in crds})) or 'none'}")


def cmd_crds(*paths):
    """No published schema is reachable offline, so check what the chart relies on."""
    n = 0
    for path in paths:
        for o in docs(path):
            n += 1
            kind = o["kind"]
            if kind != "ServiceMonitor":
                fail(f"{path}: no check for CRD kind {kind}")
            check(o["apiVersion"] == "monitoring.coreos.com/v1", "ServiceMonitor apiVersion")
            spec = o["spec"]
            allowed = {"selector", "namespaceSelector", "endpoints", "jobLabel", "targetLabels",
                       "podTargetLabels", "sampleLimit", "targetLimit"}
            check(set(spec) <= allowed, f"ServiceMonitor spec has unknown keys {set(spec) - allowed}")
            check(spec["selector"].get("matchLabels", {}).get("app.kubernetes.io/component") == "ops",
                  "ServiceMonitor must select the ops Service only (component=ops)")
            check(isinstance(spec.get("namespaceSelector", {}).get("matchNames", []), list),
                  "namespaceSelector.matchNames is a list")
            eps = spec["endpoints"]
            check(isinstance(eps, list) and eps, "ServiceMonitor needs endpoints")
            ep_keys = {"port", "path", "interval", "scrapeTimeout", "scheme", "metricRelabelings",
                       "relabelings", "honorLabels", "tlsConfig"}
            for ep in eps:
                check(set(ep) <= ep_keys, f"ServiceMonitor endpoint has unknown keys {set(ep) - ep_keys}")
                check(ep.get("port") == "ops" and ep.get("path") == "/metrics",
                      "ServiceMonitor scrapes port ops, path /metrics (the public port has no /metrics)")
                for d in ("interval", "scrapeTimeout"):
                    if d in ep:
                        check(isinstance(ep[d], str) and ep[d][-1] in "smh", f"{d} is a duration")
    print(f"{n} CRD object(s) structurally checked (ServiceMonitor)")


# --- prod -----------------------------------------------------------------------------------------

REQUIRED_SECRET_ENV = {
    "TPGATE_DATABASE_URL": "database-url",
    "TPGATE_REDIS_URL": "redis-url",
    "TPGATE_COMPONENT__SECRET": "component-secret",
    "TPGATE_COMPONENT__TOKEN": "component-token",
    "TPGATE_COMPONENT__ENCODING_AES_KEY": "component-encoding-aes-key",
    "TPGATE_SEALING_KEY": "sealing-key",
    "TPGATE_ADMIN__JWT_SECRET": "admin-jwt-secret",
}
OPTIONAL_SECRET_ENV = {
    "TPGATE_COMPONENT__PREVIOUS_ENCODING_AES_KEY": "component-previous-encoding-aes-key",
    "TPGATE_SEALING_PREVIOUS_KEYS": "sealing-previous-keys",
}


def secret_refs(container, volumes, mounts):
    """env name -> (secret, key, optional); *_FILE variables resolved through secret mounts."""
    out = {}
    secret_mounts = {}
    vols = {v["name"]: v for v in volumes}
    for m in mounts:
        v = vols.get(m["name"], {})
        if "secret" in v:
            secret_mounts[m["mountPath"].rstrip("/")] = v["secret"]
    for e in container.get("env", []):
        ref = e.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            out[e["name"]] = (ref["name"], ref["key"], bool(ref.get("optional")))
        elif e["name"].endswith("_FILE") and "value" in e:
            d, _, key = e["value"].rpartition("/")
            sec = secret_mounts.get(d)
            if sec:
                out[e["name"][: -len("_FILE")]] = (sec["secretName"], key, False)
    return out


def env_config(objs, c):
    """The data of the ConfigMap the container takes its environment from (envFrom)."""
    cms = {o["metadata"]["name"]: o for o in objs if o["kind"] == "ConfigMap"}
    env_from = [e["configMapRef"]["name"] for e in c.get("envFrom", []) if "configMapRef" in e]
    check(env_from and env_from[0] in cms, "envFrom references the chart's ConfigMap")
    return cms[env_from[0]]["data"]


# What prod-values.yaml sets among tpgate's settings, as the ConfigMap must render them.
PROD_ENV = {
    "TPGATE_OPS_LISTEN": "0.0.0.0:9090",
    "TPGATE_HTTP__TRUSTED_PROXIES": "[10.42.0.0/16, fd00:42::/56]",
    "TPGATE_HTTP__IDLE_TIMEOUT_SECS": "75",
    "TPGATE_ONBOARDING__STARTS_PER_LINK_PER_MINUTE": "6",
    "TPGATE_TOKENS__SWEEP_CONCURRENCY": "8",
    "TPGATE_WEBHOOKS__ALLOWED_PORTS": "[443, 8443]",
    "TPGATE_WEBHOOKS__PROXY_URL": "http://egress-proxy.infra.svc:3128",
}
# Unset in prod-values.yaml: tpgate's defaults apply (denied_ports: the built-in list).
PROD_ABSENT = ("TPGATE_WEBHOOKS__DENIED_PORTS", "TPGATE_HTTP__HEADER_READ_TIMEOUT_SECS",
               "TPGATE_WECHAT__PUSH_WINDOW_SECS", "TPGATE_TOKENS__LEASE_TTL_SECS")
OPS_PATHS = ("/readyz", "/metrics", "/docs")


def cmd_env(render, *expect):
    objs = docs(render)
    c = one(objs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    data = env_config(objs, c)
    for e in expect:
        if e.startswith("!"):
            check(e[1:] not in data, f"ConfigMap sets {e[1:]}={data.get(e[1:])!r}, expected it unset")
        else:
            k, _, v = e.partition("=")
            check(data.get(k) == v, f"ConfigMap {k}={data.get(k)!r}, expected {v!r}")
    print(f"{os.path.basename(render)}: {len(expect)} ConfigMap setting(s) as expected")


def cmd_prod(render):
    objs = docs(render)
    dep = one(objs, "Deployment")
    pod = dep["spec"]["template"]["spec"]
    c = pod["containers"][0]
    refs = secret_refs(c, pod.get("volumes", []), c.get("volumeMounts", []))
    for env, key in REQUIRED_SECRET_ENV.items():
        check(env in refs, f"Deployment does not wire {env} (env or _FILE)")
        secret, k, optional = refs[env]
        check(secret == "tpgate-secrets", f"{env} comes from {secret}, not the existing Secret")
        check(k == key and not optional, f"{env} must be a required ref to key {key}, got {k} optional={optional}")
    for env, key in OPTIONAL_SECRET_ENV.items():
        check(refs.get(env, (None, None, None))[1:] == (key, True), f"{env} must be an optional ref to {key}")
    print(f"Deployment wires {len(REQUIRED_SECRET_ENV)} required + {len(OPTIONAL_SECRET_ENV)} optional "
          f"secret settings: {', '.join(REQUIRED_SECRET_ENV)}")

    # Non-secret config and the ConfigMap.
    data = env_config(objs, c)
    for k in ("TPGATE_PUBLIC_BASE_URL", "TPGATE_COMPONENT__APPID", "TPGATE_LISTEN", "TPGATE_OPS_LISTEN",
              "TPGATE_LOG_FORMAT"):
        check(k in data, f"ConfigMap lacks {k}")
    for k, want in PROD_ENV.items():
        check(data.get(k) == want, f"ConfigMap {k}={data.get(k)!r}, expected {want!r} (prod-values.yaml)")
    for k in PROD_ABSENT:
        check(k not in data, f"ConfigMap sets {k}, which prod-values.yaml leaves to tpgate's default")
    print(f"ConfigMap: {len(PROD_ENV)} settings of prod-values.yaml rendered, {len(PROD_ABSENT)} left to tpgate")

    # Two listeners: public `http` (TPGATE_LISTEN) and `ops` (TPGATE_OPS_LISTEN).
    cports = {p["name"]: p["containerPort"] for p in c["ports"]}
    check(set(cports) == {"http", "ops"}, f"container ports {sorted(cports)} != ['http', 'ops']")
    check(cports["http"] != cports["ops"], "public and ops container ports differ")
    check(data["TPGATE_LISTEN"] == f"0.0.0.0:{cports['http']}", "TPGATE_LISTEN is the `http` container port")
    check(data["TPGATE_OPS_LISTEN"] == f"0.0.0.0:{cports['ops']}", "TPGATE_OPS_LISTEN is the `ops` container port")
    print(f"listeners: http {cports['http']} (TPGATE_LISTEN), ops {cports['ops']} (TPGATE_OPS_LISTEN)")
    check(all(k.startswith("TPGATE_") for k in data), "env ConfigMap holds only TPGATE_* keys")
    check(not any(isinstance(v, str) and ("postgres://" in v or "redis://" in v) for v in data.values()),
          "no URL with credentials in the ConfigMap")
    check(c["args"][:1] == ["serve"] and "--config" in c["args"], "container runs `serve --config …`")

    # Security context, probes, shutdown.
    psc, sc = pod["securityContext"], c["securityContext"]
    check(psc.get("runAsNonRoot") and psc.get("runAsUser") == 65532, "pod runs as non-root 65532")
    check(psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", "pod seccomp RuntimeDefault")
    check(sc.get("readOnlyRootFilesystem") is True and sc.get("allowPrivilegeEscalation") is False,
          "read-only root FS, no privilege escalation")
    check(sc.get("capabilities", {}).get("drop") == ["ALL"], "drop ALL capabilities")
    check(pod.get("automountServiceAccountToken") is False, "no service account token")
    tmp = [m for m in c["volumeMounts"] if m["mountPath"] == "/tmp"]
    check(tmp and any(v["name"] == tmp[0]["name"] and "emptyDir" in v for v in pod["volumes"]), "emptyDir at /tmp")
    check(c["livenessProbe"]["httpGet"]["path"] == "/healthz", "liveness on /healthz")
    check(c["readinessProbe"]["httpGet"]["path"] == "/readyz", "readiness on /readyz")
    check(c["startupProbe"]["httpGet"]["path"] == "/healthz", "startup on /healthz")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        port = c[probe]["httpGet"]["port"]
        check(port in ("ops", cports["ops"]), f"{probe} on port {port!r}: /readyz is only on the ops port")
    sleep = c["lifecycle"]["preStop"]["sleep"]["seconds"]
    grace = pod["terminationGracePeriodSeconds"]
    check(grace >= sleep + 25, f"terminationGracePeriodSeconds {grace} < preStop {sleep} + 25 s drain")
    check("replicas" not in dep["spec"], "HPA owns replicas")
    check(pod.get("topologySpreadConstraints"), "topologySpreadConstraints")
    print(f"pod: non-root read-only, probes, preStop sleep {sleep}s, grace {grace}s")

    # Services: the callbacks one publishes unready pods.
    svcs = {o["metadata"]["labels"]["app.kubernetes.io/component"]: o for o in objs if o["kind"] == "Service"}
    check(set(svcs) == {"api", "callbacks", "ops"}, f"Services: {sorted(svcs)}")
    check(svcs["callbacks"]["spec"].get("publishNotReadyAddresses") is True,
          "callbacks Service has publishNotReadyAddresses: true")
    check(not svcs["api"]["spec"].get("publishNotReadyAddresses"), "main Service does not publish unready pods")
    ops_names = {"ops", cports["ops"]}
    for comp in ("api", "callbacks"):
        targets = [p["targetPort"] for p in svcs[comp]["spec"]["ports"]]
        check(targets == ["http"], f"{comp} Service targets {targets}: only the public port `http`")
    ops_svc = svcs["ops"]
    check(ops_svc["spec"].get("type", "ClusterIP") == "ClusterIP", "ops Service is ClusterIP")
    check([(p["name"], p["targetPort"]) for p in ops_svc["spec"]["ports"]] == [("ops", "ops")],
          "ops Service exposes only the ops port, named ops")
    check(ops_svc["spec"].get("publishNotReadyAddresses") is True, "ops Service lists unready pods (monitoring)")
    print("Services: api and callbacks on `http` only; ops (ClusterIP) on `ops` only")

    # Ingress routes.
    ing = one(objs, "Ingress")
    routes = {p["path"]: p["backend"]["service"]["name"] for r in ing["spec"]["rules"] for p in r["http"]["paths"]}
    cb, main = svcs["callbacks"]["metadata"]["name"], svcs["api"]["metadata"]["name"]
    expected = {"/wechat/component/events": cb, "/wechat/apps": cb, "/onboard": main, "/": main}
    check(routes == expected, f"Ingress routes {routes} != {expected}")
    check(ing["spec"].get("tls"), "Ingress has TLS")
    # The ops port (/readyz, /metrics, /docs) is never reachable through the Ingress.
    backends = [p["backend"] for r in ing["spec"]["rules"] for p in r["http"]["paths"]]
    backends += [ing["spec"]["defaultBackend"]] if "defaultBackend" in ing["spec"] else []
    ops_svc_name = ops_svc["metadata"]["name"]
    for b in backends:
        svc = b.get("service")
        check(svc, f"Ingress backend {b} is not a Service")
        check(svc["name"] != ops_svc_name, "Ingress routes to the ops Service")
        check(svc.get("port") == {"name": "http"}, f"Ingress backend port {svc.get('port')}: must be the public `http`")
    paths = [p["path"] for r in ing["spec"]["rules"] for p in r["http"]["paths"]]
    check(not [p for p in paths if p.rstrip("/").startswith(OPS_PATHS)], f"Ingress paths for ops endpoints: {paths}")
    ann = json.dumps(ing["metadata"].get("annotations", {}))
    for bad in (*OPS_PATHS, ops_svc_name, f":{cports['ops']}"):
        check(bad not in ann, f"Ingress annotations mention {bad!r} (the ops port must stay internal)")
    print(f"Ingress: {len(backends)} backends, all on port `http` of {cb} / {main}; nothing on the ops port")

    # Migration Job hook.
    job = one(objs, "Job")
    ann = job["metadata"]["annotations"]
    check(ann.get("helm.sh/hook") == "pre-install,pre-upgrade", f"Job hook: {ann.get('helm.sh/hook')}")
    check(ann.get("helm.sh/hook-delete-policy") == "before-hook-creation,hook-succeeded",
          f"Job delete policy: {ann.get('helm.sh/hook-delete-policy')}")
    jc = job["spec"]["template"]["spec"]["containers"][0]
    check(jc["args"] == ["migrate"], "Job runs `tpgate migrate`")
    jrefs = secret_refs(jc, job["spec"]["template"]["spec"].get("volumes", []), jc.get("volumeMounts", []))
    check("TPGATE_DATABASE_URL" in jrefs and "TPGATE_SEALING_KEY" in jrefs, "Job gets the DB URL and sealing key")
    check(not jc.get("envFrom"), "Job does not depend on the ConfigMap (absent at pre-install)")
    print("migration Job: pre-install,pre-upgrade hook, before-hook-creation,hook-succeeded")

    hpa = one(objs, "HorizontalPodAutoscaler")
    check(hpa["apiVersion"] == "autoscaling/v2", "HPA is autoscaling/v2")
    pdb = one(objs, "PodDisruptionBudget")
    check(pdb["spec"]["selector"]["matchLabels"] == dep["spec"]["selector"]["matchLabels"], "PDB selects the pods")
    sm = one(objs, "ServiceMonitor")
    sel = sm["spec"]["selector"]["matchLabels"]
    selected = [comp for comp, o in svcs.items() if sel.items() <= o["metadata"]["labels"].items()]
    check(selected == ["ops"], f"ServiceMonitor selects Services {selected}, expected the ops Service only")
    check([(e["port"], e["path"]) for e in sm["spec"]["endpoints"]] == [("ops", "/metrics")],
          "ServiceMonitor scrapes /metrics on port ops")
    nps = [o for o in objs if o["kind"] == "NetworkPolicy"]
    check(len(nps) == 2, "NetworkPolicies for the pods and the migration Job")
    np = one(objs, "NetworkPolicy", dep["metadata"]["name"])
    rules = np["spec"]["ingress"]
    by_port = {}
    for r in rules:
        for p in r["ports"]:
            by_port.setdefault(p["port"], []).append(r.get("from"))
    check(set(by_port) == {"http", "ops"}, f"NetworkPolicy ingress ports {sorted(by_port, key=str)}")
    ops_from = by_port["ops"]
    check(all(ops_from), "NetworkPolicy opens the ops port to every peer")
    ops_peers = json.dumps(ops_from)
    check("prometheus" in ops_peers and "ingress-nginx" not in ops_peers,
          "ops port reachable from Prometheus (metricsFrom), not from the ingress controller")
    check("prometheus" not in json.dumps(by_port["http"]), "Prometheus moved from ingressFrom to metricsFrom")
    print("ServiceMonitor: ops Service, /metrics on `ops`; NetworkPolicy: ops port only from metricsFrom")
    sa = one(objs, "ServiceAccount")
    check(sa.get("automountServiceAccountToken") is False, "ServiceAccount without token automount")
    check(not [o for o in objs if o["kind"] == "Secret"], "existingSecret: the chart creates no Secret")
    print("HPA autoscaling/v2, PDB, ServiceMonitor, 2 NetworkPolicies, ServiceAccount: present")


# --- smoke ----------------------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(url, token=None, timeout=3):
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def materialise(objs, workdir):
    """The Deployment's container as (argv tail, env) on this machine: ConfigMaps, Secrets and volumes
    written under workdir, every mount path rewritten to its directory there."""
    dep = one(objs, "Deployment")
    pod = dep["spec"]["template"]["spec"]
    c = pod["containers"][0]
    cms = {o["metadata"]["name"]: o.get("data", {}) for o in objs if o["kind"] == "ConfigMap"}
    secrets = {}
    for o in objs:
        if o["kind"] == "Secret":
            d = dict(o.get("stringData", {}))
            d.update({k: base64.b64decode(v).decode() for k, v in o.get("data", {}).items()})
            secrets[o["metadata"]["name"]] = d
    vols = {v["name"]: v for v in pod["volumes"]}
    paths = {}
    for m in c["volumeMounts"]:
        local = os.path.join(workdir, "mnt", m["name"])
        os.makedirs(local, exist_ok=True)
        paths[m["mountPath"].rstrip("/")] = local
        v = vols[m["name"]]
        if "configMap" in v or "secret" in v:
            src = cms[v["configMap"]["name"]] if "configMap" in v else secrets[v["secret"]["secretName"]]
            items = (v.get("configMap") or v.get("secret")).get("items") or [{"key": k, "path": k} for k in src]
            for it in items:
                if it["key"] in src:
                    with open(os.path.join(local, it["path"]), "w", encoding="utf-8") as f:
                        f.write(src[it["key"]])

    # One pass, longest mount first, so a rewritten path is not rewritten again (/tmp is a mount).
    pattern = re.compile("|".join(re.escape(m + "/") for m in sorted(paths, key=len, reverse=True)))

    def local(s):
        return pattern.sub(lambda m: paths[m.group(0)[:-1]] + "/", s)

    # Files mounted from ConfigMaps may name other mounted files (tpgate.toml's jwks_path).
    for here in paths.values():
        for name in os.listdir(here):
            p = os.path.join(here, name)
            with open(p, encoding="utf-8") as f:
                text = f.read()
            if local(text) != text:
                with open(p, "w", encoding="utf-8") as f:
                    f.write(local(text))

    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": workdir}
    for ef in c.get("envFrom", []):
        for k, v in cms[ef["configMapRef"]["name"]].items():
            env[k] = local(v)
    for e in c.get("env", []):
        if "value" in e:
            env[e["name"]] = local(e["value"])
        else:
            ref = e["valueFrom"]["secretKeyRef"]
            val = secrets[ref["name"]].get(ref["key"])
            if val is None:
                check(ref.get("optional"), f"required secret key {ref['key']} missing")
                continue
            env[e["name"]] = local(val)
    return [local(a) for a in c["args"]], env


def cmd_smoke(render, binary, workdir, fixtures):
    objs = docs(render)
    c = one(objs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    args, env = materialise(objs, workdir)
    # The pod's two listeners, by container port name, moved to free local ports.
    cports = {p["name"]: p["containerPort"] for p in c["ports"]}
    check(env.get("TPGATE_LISTEN") == f"0.0.0.0:{cports['http']}", "TPGATE_LISTEN is the `http` container port")
    check(env.get("TPGATE_OPS_LISTEN") == f"0.0.0.0:{cports['ops']}", "TPGATE_OPS_LISTEN is the `ops` container port")
    local = {name: free_port() for name in cports}
    env["TPGATE_LISTEN"] = f"127.0.0.1:{local['http']}"
    env["TPGATE_OPS_LISTEN"] = f"127.0.0.1:{local['ops']}"
    env["TPGATE_LOG_FORMAT"] = "text"
    log_path = os.path.join(workdir, "serve.log")
    base = f"http://127.0.0.1:{local['http']}"
    ops = f"http://127.0.0.1:{local['ops']}"

    def probe_url(probe):
        g = c[probe]["httpGet"]
        port = g["port"] if isinstance(g["port"], str) else {v: k for k, v in cports.items()}[g["port"]]
        return f"http://127.0.0.1:{local[port]}{g['path']}"

    with open(log_path, "w") as log:
        proc = subprocess.Popen([binary, *args], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 30
        while True:
            if proc.poll() is not None:
                fail(f"`tpgate {' '.join(args)}` exited with {proc.returncode}:\n{open(log_path).read()[-3000:]}")
            try:
                if http(probe_url("startupProbe"))[0] == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                fail(f"startup probe {probe_url('startupProbe')} not up after 30 s:\n{open(log_path).read()[-3000:]}")
            time.sleep(0.2)
        # The rendered probes, as the kubelet would call them.
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            status, body = http(probe_url(probe))
            check(status == 200, f"{probe} {probe_url(probe)}: {status} {body[:300]}")
        check(http(ops + "/metrics")[0] == 200, "/metrics on the ops port")
        check(http(ops + "/docs")[0] == 200 or http(ops + "/docs/")[0] == 200, "/docs on the ops port")
        check(http(base + "/healthz")[0] == 200, "/healthz on the public port")
        # What the Ingress reaches must not serve the ops endpoints.
        for path in OPS_PATHS:
            status = http(base + path)[0]
            check(status != 200, f"the public port answers {path} with 200: it belongs on the ops port only")
        probed = ", ".join(c[p]["httpGet"]["path"] for p in ("startupProbe", "livenessProbe", "readinessProbe"))
        print(f"serve (args {args[1:]}): probes 200 on the ops port ({probed}), /metrics and /docs on ops; "
              f"public port: /healthz 200, {', '.join(OPS_PATHS)} not served")
        for path in ("/wechat/component/events", "/wechat/apps/wx0123456789abcdef/events"):
            req = urllib.request.Request(base + path, data=b"<xml/>", method="POST")
            try:
                with urllib.request.urlopen(req, timeout=3) as r:
                    code = r.status
            except urllib.error.HTTPError as e:
                code = e.code
            # Both callback routes exist and refuse an unsigned push (not 404).
            check(code == 400, f"POST {path} (unsigned) answered {code}, expected 400")
            print(f"  POST {path} (unsigned): {code}")

        def token(*extra):
            out = subprocess.run([binary, "token", "--role", "platform_admin", "--subject", "check", *extra],
                                 env=env, capture_output=True, text=True, timeout=30)
            check(out.returncode == 0, f"tpgate token {' '.join(extra)}: {out.stderr}")
            return out.stdout.strip()

        kinds = [("HS256 (admin-jwt-secret)", ())]
        if os.path.isdir(fixtures):
            kinds += [("EdDSA (PEM public key file)", ("--private-key-file", os.path.join(fixtures, "ed-2.key.pem"))),
                      ("RS256 (JWKS file, kid rsa-2)", ("--private-key-file", os.path.join(fixtures, "rsa-2.key.pem"),
                                                        "--kid", "rsa-2"))]
        for what, extra in kinds:
            status, body = http(base + "/admin/v1/platform/status", token(*extra))
            check(status == 200, f"admin call with a {what} token: {status} {body[:300]}")
            print(f"admin API accepts a {what} token")
        status, _ = http(base + "/admin/v1/platform/status", "not-a-token")
        check(status == 401, f"a bad token must be refused, got {status}")
    finally:
        t0 = time.time()
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            fail("tpgate did not stop within 40 s of SIGTERM")
    check(rc == 0, f"tpgate exited {rc} after SIGTERM")
    print(f"SIGTERM: drained and exited 0 in {time.time() - t0:.1f}s")


def cmd_smoke_files(render, binary, workdir):
    """The files delivery (TPGATE_*_FILE from mounted Secret keys) works with this tpgate."""
    args, env = materialise(docs(render), workdir)
    check(any(k.endswith("_FILE") for k in env), "the files variant sets no TPGATE_*_FILE variable")
    out = subprocess.run([binary, "token", "--config", args[-1]], env=env, capture_output=True, text=True, timeout=30)
    reason = ([line for line in out.stderr.splitlines() if line.strip()] or ["?"])[-1].strip()
    check(out.returncode == 0, f"tpgate refuses the files delivery: {reason}")
    print("files delivery: tpgate reads its secrets from TPGATE_*_FILE mounts")


if __name__ == "__main__":
    cmd, *rest = sys.argv[1:]
    {"split": cmd_split, "crds": cmd_crds, "prod": cmd_prod, "env": cmd_env, "smoke": cmd_smoke,
     "smoke-files": cmd_smoke_files}[cmd](*rest)
