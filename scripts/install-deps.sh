#!/usr/bin/env bash
# Installs the Debian packages sluice needs to build, test and demo, and the node.js drivers of the
# driver matrix (npm ci in tests/drivers/node). Idempotent and fast when everything is present;
# never starts or enables the system MariaDB service.
#   install-deps.sh          everything the test command needs
#   install-deps.sh --demo   only what building and running the demo needs
set -euo pipefail

demo_only=0
[[ "${1:-}" == "--demo" ]] && demo_only=1

packages=(
  build-essential cmake pkg-config
  libboost1.81-dev libmariadb-dev prometheus-cpp-dev libgtest-dev libgmock-dev libssl-dev
  nlohmann-json3-dev mariadb-server mariadb-client netcat-openbsd curl ca-certificates
)
((demo_only)) || packages+=(
  clang-format sysbench haproxy systemd dpkg-dev python3-yaml prometheus
  # The TLS tests and bench/tls.sh make their certificates with the openssl command.
  openssl
  # bench/compression.sh times its clients with GNU time.
  time
  # The second compiler and libFuzzer (the clang-16 stage, tests/fuzz).
  clang-16 libfuzzer-16-dev
  # The driver matrix (tests/drivers): each client driver and its runtime.
  python3 python3-pymysql python3-mysqldb php-cli php-mysql libdbd-mariadb-perl
  libmariadb-java default-jdk-headless golang-go golang-github-go-sql-driver-mysql-dev
  ruby ruby-mysql2
)
# Node.js and npm: Debian's, unless the machine already has them (Debian's npm package conflicts
# with a nodejs package from elsewhere). The mariadb driver wants Node.js 20 or later.
if ((!demo_only)); then
  command -v node >/dev/null || packages+=(nodejs)
  command -v npm >/dev/null || packages+=(npm)
fi

installed() {
  [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" == "installed" ]]
}

# The node.js drivers of tests/drivers/node, exactly as package-lock.json pins them, as the
# invoking user. npm ci starts from an empty node_modules, so a copy of the lock file it installed
# from says whether it must run again.
install_node_modules() {
  local dir
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../tests/drivers/node" && pwd)"
  if cmp -s "$dir/package-lock.json" "$dir/node_modules/.sluice-installed-lock.json"; then
    echo "install-deps: node modules of tests/drivers/node present"
    return 0
  fi
  echo "install-deps: npm ci in tests/drivers/node"
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund)
  cp "$dir/package-lock.json" "$dir/node_modules/.sluice-installed-lock.json"
}

missing=()
for package in "${packages[@]}"; do
  installed "$package" || missing+=("$package")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  ((demo_only)) || install_node_modules
  exit 0
fi
echo "install-deps: installing ${missing[*]}"

as_root=()
if ((EUID != 0)); then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo" >&2; exit 1; }
  as_root=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive

# invoke-rc.d asks policy-rc.d whether a package may start its service; 101 means "no". Put
# ours in place for the duration of the install and restore whatever was there before.
policy=/usr/sbin/policy-rc.d
policy_backup=""
restore_policy() {
  if [[ -n "$policy_backup" ]]; then
    "${as_root[@]}" mv -f "$policy_backup" "$policy"
  else
    "${as_root[@]}" rm -f "$policy"
  fi
}
if [[ -e "$policy" ]]; then
  policy_backup="$("${as_root[@]}" mktemp /usr/sbin/policy-rc.d.sluice-XXXXXX)"
  "${as_root[@]}" cp -p "$policy" "$policy_backup"
fi
trap restore_policy EXIT
printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee "$policy" >/dev/null
"${as_root[@]}" chmod 755 "$policy"

# Refresh the package lists only when they are empty or do not know a missing package.
needs_update=0
if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
  needs_update=1
else
  for package in "${missing[@]}"; do
    candidate="$(apt-cache policy "$package" 2>/dev/null | awk '/Candidate:/ {print $2}')"
    if [[ -z "$candidate" || "$candidate" == "(none)" ]]; then
      needs_update=1
      break
    fi
  done
fi
if ((needs_update)); then
  "${as_root[@]}" apt-get update
fi

install=("${as_root[@]}" apt-get install -y --no-install-recommends "${missing[@]}")
if ! "${install[@]}"; then
  # Stale lists point at versions the mirror no longer has: refresh once and retry.
  "${as_root[@]}" apt-get update
  "${install[@]}"
fi

# Where systemd runs, keep the packaged MariaDB from starting at boot or running now.
if [[ " ${missing[*]} " == *" mariadb-server "* ]] && [[ -d /run/systemd/system ]]; then
  "${as_root[@]}" systemctl disable --now mariadb.service >/dev/null 2>&1 || true
fi
((demo_only)) || install_node_modules
echo "install-deps: done"
