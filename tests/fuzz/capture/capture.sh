#!/usr/bin/env bash
# Records real client <-> MariaDB traffic and turns it into fuzz seeds: starts a throwaway
# mariadbd on a loopback port, relays drive.cpp's connections through record.py, and splits what
# was recorded into tests/fuzz/corpus/<target>/ (split.py). Run from anywhere; needs mariadbd,
# mariadb-install-db, libmariadb-dev, g++ and python3.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
corpus="$here/../corpus"
work="$(mktemp -d "${TMPDIR:-/tmp}/sluice-capture-XXXXXX")"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

user=()
[[ $(id -u) == 0 ]] && user=(--user=root)
mariadb-install-db --no-defaults --datadir="$work/data" --auth-root-authentication-method=normal \
  --skip-test-db "${user[@]}" >"$work/install.log" 2>&1
db_port="$(free_port)"
mariadbd --no-defaults --datadir="$work/data" --port="$db_port" --bind-address=127.0.0.1 \
  --socket="$work/sock" --pid-file="$work/pid" --log-error="$work/err.log" --skip-name-resolve \
  --innodb-buffer-pool-size=32M --local-infile=1 "${user[@]}" &
pids+=($!)
for _ in $(seq 100); do
  mariadb-admin --no-defaults -h127.0.0.1 -P"$db_port" -uroot ping >/dev/null 2>&1 && break
  sleep 0.2
done

relay_port="$(free_port)"
python3 "$here/record.py" "$relay_port" "$db_port" "$work/recorded" &
pids+=($!)
sleep 0.5

g++ -std=c++20 -O1 -o "$work/drive" "$here/drive.cpp" $(pkg-config --cflags --libs libmariadb)
"$work/drive" "$relay_port" "$work/data.csv"
sleep 1  # record.py writes a connection's file once both directions are closed

python3 "$here/split.py" "$work/recorded" "$corpus"
echo "server: $(mariadbd --version)"
