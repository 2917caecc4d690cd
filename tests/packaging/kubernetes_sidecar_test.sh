#!/usr/bin/env bash
# deploy/kubernetes/sidecar.yaml parses, has the parts the deployment relies on, and its
# ConfigMap's sluice.ini passes `sluice --check-config` with the Secret's values in the
# environment.
set -euo pipefail

usage="usage: kubernetes_sidecar_test.sh MANIFEST SAMPLE_CONFIG SLUICE_BINARY"
manifest=${1:?$usage}
sample_config=${2:?$usage}
binary=${3:?$usage}

# python3-yaml is a Debian package: prefer the system interpreter it belongs to.
python=/usr/bin/python3
[[ -x "$python" ]] || python=python3
if ! "$python" -c 'import yaml' 2>/dev/null; then
  echo "SKIP: no YAML parser for $python (package python3-yaml)"
  exit 77
fi
scratch=$(mktemp -d "${TMPDIR:-/tmp}/sluice-k8s-XXXXXX")
trap 'rm -rf "$scratch"' EXIT

"$python" - "$manifest" "$sample_config" "$scratch" <<'PY'
import configparser
import shlex
import sys
import yaml

manifest, sample_config, scratch = sys.argv[1:4]
with open(manifest) as f:
    docs = [d for d in yaml.safe_load_all(f) if d is not None]
by_kind = {d["kind"]: d for d in docs}
failures = []

def check(condition, what):
    if not condition:
        failures.append(what)

def ini(text):
    parser = configparser.ConfigParser(inline_comment_prefixes=(";",), interpolation=None)
    parser.read_string(text)
    return parser

for kind in ("ConfigMap", "Secret", "Deployment"):
    check(kind in by_kind, f"no {kind}")
config_map, secret, deployment = (by_kind.get(k, {}) for k in ("ConfigMap", "Secret", "Deployment"))
pod = deployment.get("spec", {}).get("template", {})
spec = pod.get("spec", {})
containers = {c["name"]: c for c in spec.get("containers", []) + spec.get("initContainers", [])}
check("app" in containers, "no app container")
sluice = containers.get("sluice", {})
check(bool(sluice), "no sluice container")

annotations = pod.get("metadata", {}).get("annotations", {})
check(annotations.get("prometheus.io/scrape") == "true", "prometheus.io/scrape is not \"true\"")
check(annotations.get("prometheus.io/port") == "9033", "prometheus.io/port is not \"9033\"")
check(annotations.get("prometheus.io/path") == "/metrics", "prometheus.io/path is not /metrics")

ports = {p["name"]: p["containerPort"] for p in sluice.get("ports", [])}
def http_probe(name):
    probe = sluice.get(name, {}).get("httpGet", {})
    return probe.get("path"), ports.get(probe.get("port"), probe.get("port"))
check(http_probe("readinessProbe") == ("/ready", 9033), "readinessProbe is not httpGet /ready on 9033")
check(http_probe("livenessProbe") == ("/live", 9033), "livenessProbe is not httpGet /live on 9033")
resources = sluice.get("resources", {})
check("requests" in resources and "limits" in resources, "sluice lacks resource requests and limits")
security = sluice.get("securityContext", {})
check(security.get("runAsNonRoot") is True, "sluice: runAsNonRoot is not true")
check(security.get("readOnlyRootFilesystem") is True, "sluice: readOnlyRootFilesystem is not true")
check(security.get("allowPrivilegeEscalation") is False, "sluice: allowPrivilegeEscalation is not false")
check(security.get("capabilities", {}).get("drop") == ["ALL"], "sluice: capabilities do not drop ALL")

mounts = {m["name"]: m["mountPath"] for m in sluice.get("volumeMounts", [])}
config_volumes = [v["name"] for v in spec.get("volumes", [])
                  if v.get("configMap", {}).get("name") == config_map.get("metadata", {}).get("name")]
check(any(mounts.get(n) == "/etc/sluice" for n in config_volumes),
      "the ConfigMap is not mounted at /etc/sluice in the sluice container")
args = sluice.get("args", [])
check(args == ["--config", "/etc/sluice/sluice.ini"], f"sluice args are {args}")

# SLUICE_<SECTION>_<KEY> overrides a key; sluice ignores names it does not know, so each must
# name a key of the sample configuration, which lists them all.
with open(sample_config) as f:
    sample = ini(f.read())
known = {f"SLUICE_{s}_{k}".upper() for s in sample.sections() for k in sample[s]}
secret_data = secret.get("stringData", {})
environment = {}
env = {e["name"]: e for e in sluice.get("env", [])}
check("SLUICE_BACKEND_PASSWORD" in env, "no SLUICE_BACKEND_PASSWORD")
for name, entry in env.items():
    if not name.startswith("SLUICE_"):
        continue
    check(name in known, f"{name} names no key of {sample_config}")
    ref = entry.get("valueFrom", {}).get("secretKeyRef")
    if ref is None:
        environment[name] = entry.get("value", "")
        continue
    check(ref.get("name") == secret.get("metadata", {}).get("name") and ref.get("key") in secret_data,
          f"{name} refers to a key the Secret does not have")
    environment[name] = secret_data.get(ref.get("key"), "")

text = config_map.get("data", {}).get("sluice.ini", "")
check(bool(text), "the ConfigMap has no sluice.ini")
settings = ini(text)
def listen(section, default):
    return settings.get(section, "listen", fallback=default).split(":")[0]
check(listen("metrics", "127.0.0.1") not in ("127.0.0.1", "::1"),
      "[metrics] listen is loopback: the kubelet and Prometheus connect to the pod IP")
check(listen("admin", "127.0.0.1") in ("127.0.0.1", "::1"),
      "[admin] listen is not loopback: other pods could reach the admin port")

with open(f"{scratch}/sluice.ini", "w") as f:
    f.write(text)
with open(f"{scratch}/environment", "w") as f:
    f.writelines(f"export {name}={shlex.quote(value)}\n" for name, value in environment.items())

for failure in failures:
    print("FAIL:", failure)
if failures:
    sys.exit(1)
print(f"{manifest}: {', '.join(d['kind'] for d in docs)} parsed and checked")
PY

# The container's view: the ConfigMap's file plus the Secret's values in the environment.
(
  # shellcheck disable=SC1091
  source "$scratch/environment"
  "$binary" --check-config "$scratch/sluice.ini"
)
echo "PASS"
