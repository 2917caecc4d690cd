#!/usr/bin/env bash
# deploy/docker/Dockerfile cannot be built here (no Docker engine), so this checks what would
# break it silently: the runtime stage installs every shared library the built sluice needs
# (as dpkg-shlibdeps computes it), the build stage only packages scripts/install-deps.sh knows,
# and the exec-form instructions are valid JSON.
set -euo pipefail

usage="usage: dockerfile_test.sh DOCKERFILE INSTALL_DEPS_SCRIPT SLUICE_BINARY"
dockerfile=${1:?$usage}
install_deps=${2:?$usage}
binary=$(realpath "${3:?$usage}")

command -v dpkg-shlibdeps >/dev/null || { echo "SKIP: dpkg-shlibdeps is missing (package dpkg-dev)"; exit 77; }
scratch=$(mktemp -d "${TMPDIR:-/tmp}/sluice-docker-XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# dpkg-shlibdeps wants a source tree with a control file.
mkdir -p "$scratch/debian"
printf 'Source: sluice\n\nPackage: sluice\nArchitecture: any\n' >"$scratch/debian/control"
substvars=$(cd "$scratch" && dpkg-shlibdeps -O -e "$binary" 2>/dev/null)
# shlibs:Depends=libc6 (>= 2.34), libssl3 (>= 3.0.0), ... -> one package name a line
needed=$(sed -e 's/^shlibs:Depends=//' -e 's/([^)]*)//g' -e 's/|/,/g' <<<"$substvars" | tr ',' '\n' |
  tr -d ' ' | sed '/^$/d' | sort -u)

python=/usr/bin/python3
[[ -x "$python" ]] || python=python3
"$python" - "$dockerfile" "$install_deps" "$needed" <<'PY'
import json
import re
import sys

dockerfile, install_deps, needed = sys.argv[1], sys.argv[2], sys.argv[3].split()
text = open(dockerfile).read().replace("\\\n", " ")
stages = re.split(r"(?m)^FROM\s+", text)[1:]
failures = []

def packages(stage):
    found = set()
    for match in re.finditer(r"apt-get install ([^&]*)", stage):
        found |= {w for w in match.group(1).split() if not w.startswith("-")}
    return found

build, runtime = packages(stages[0]), packages(stages[-1])
# Present in every Debian image: the C and C++ runtimes. The sanitizer runtimes are linked only
# by the ASan/UBSan test build, never by the image's release build.
base = {"libc6", "libgcc-s1", "libstdc++6", "libasan8", "libubsan1", "liblsan0", "libtsan2"}
for package in needed:
    if package not in base and package not in runtime:
        failures.append(f"the runtime stage does not install {package}, which sluice links")
known = set(re.search(r"packages=\(([^)]*)\)", open(install_deps).read()).group(1).split())
for package in sorted(build - known):
    failures.append(f"the build stage installs {package}, which scripts/install-deps.sh does not list")
for package in ("netcat-openbsd",):
    if package not in runtime:
        failures.append(f"the runtime stage lacks {package} (the health check uses it)")

for line in text.splitlines():
    m = re.match(r"\s*(ENTRYPOINT|CMD|HEALTHCHECK\b.*?CMD)\s+(\[.*\])\s*$", line)
    if m:
        try:
            json.loads(m.group(2))
        except ValueError as e:
            failures.append(f"{m.group(1).split()[0]}: not a JSON array: {e}")
exposed = set(re.findall(r"(?m)^EXPOSE\s+(.*)$", stages[-1])[0].split()) if "EXPOSE" in stages[-1] else set()
if not {"6033", "6034", "9033"} <= exposed:
    failures.append(f"EXPOSE lists {sorted(exposed)}")
user = re.findall(r"(?m)^USER\s+(\S+)", stages[-1])
if not user or user[-1].split(":")[0] in ("0", "root") or not user[-1].split(":")[0].isdigit():
    failures.append(f"the runtime stage's USER is not a numeric non-root id: {user}")

for failure in failures:
    print("FAIL:", failure)
if failures:
    sys.exit(1)
print("runtime stage covers:", ", ".join(p for p in needed if p not in base))
PY
echo "PASS"
