#!/usr/bin/env bash
# The demo: builds sluice, starts a throwaway MariaDB on 127.0.0.1:3307 with a `demo` database,
# and runs sluice in front of it on 127.0.0.1:6033 until Ctrl-C. With --no-wait it runs one
# query through sluice, prints the result and stops everything (for scripted checks).
set -euo pipefail

usage() {
  echo "usage: $0 [--no-wait]"
  echo "  Starts MariaDB (port 3307) and sluice (port 6033) under /tmp/sluice-demo."
  echo "  --no-wait  run one query through sluice, print it, stop everything and exit"
}

wait_mode=1
for arg in "$@"; do
  case "$arg" in
    --no-wait) wait_mode=0 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$(pwd)"
demo=/tmp/sluice-demo
mariadb_port=3307
sluice_port=6033

port_open() { nc -z 127.0.0.1 "$1" 2>/dev/null; }

bash scripts/install-deps.sh --demo

echo "==> building sluice"
# Configure only a fresh tree: an existing build/ keeps the build type its owner chose.
if [[ ! -f "$root/build/CMakeCache.txt" ]]; then
  cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$root/build" -j2 --target sluice
sluice_bin="$root/build/daemon/sluice"
if [[ ! -x "$sluice_bin" ]]; then
  sluice_bin="$(find "$root/build" -maxdepth 3 -type f -name sluice -perm -u+x | head -n 1)"
fi
[[ -x "$sluice_bin" ]] || { echo "demo: sluice binary not found under build/" >&2; exit 1; }

# Stop what an earlier demo left running (only processes recorded in our own pid files).
for pidfile in "$demo/sluice.pid" "$demo/mariadbd.pid"; do
  if [[ -f "$pidfile" ]]; then
    old_pid="$(cat "$pidfile")"
    if [[ "$old_pid" =~ ^[0-9]+$ ]] && kill -0 "$old_pid" 2>/dev/null; then
      echo "demo: stopping process $old_pid left by an earlier demo"
      kill "$old_pid" 2>/dev/null || true
      for _ in $(seq 100); do kill -0 "$old_pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$old_pid" 2>/dev/null || true
    fi
  fi
done
for port in "$mariadb_port" "$sluice_port"; do
  if port_open "$port"; then
    echo "demo: port $port is in use by another program; stop it first" >&2
    exit 1
  fi
done
rm -rf "$demo"
mkdir -p "$demo"

mariadbd_pid=""
sluice_pid=""
cleanup() {
  trap - EXIT INT TERM
  echo
  echo "==> stopping"
  if [[ -n "$sluice_pid" ]] && kill -0 "$sluice_pid" 2>/dev/null; then
    kill -TERM "$sluice_pid" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$sluice_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$sluice_pid" 2>/dev/null || true
  fi
  if [[ -n "$mariadbd_pid" ]] && kill -0 "$mariadbd_pid" 2>/dev/null; then
    kill -TERM "$mariadbd_pid" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$mariadbd_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$mariadbd_pid" 2>/dev/null || true
  fi
  echo "stopped sluice and MariaDB (logs in $demo)"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

user_args=()
if ((EUID == 0)); then user_args=(--user=root); fi

echo "==> starting MariaDB on 127.0.0.1:$mariadb_port (datadir $demo/data)"
mariadb-install-db --no-defaults --datadir="$demo/data" --auth-root-authentication-method=normal \
  --skip-test-db "${user_args[@]}" >"$demo/install.log" 2>&1 ||
  { cat "$demo/install.log" >&2; exit 1; }
mariadbd_bin="$(command -v mariadbd || echo /usr/sbin/mariadbd)"
"$mariadbd_bin" --no-defaults --datadir="$demo/data" --port="$mariadb_port" \
  --bind-address=127.0.0.1 --socket="$demo/mariadb.sock" --pid-file="$demo/mariadbd.pid" \
  --log-error="$demo/mariadb.err" --skip-name-resolve --innodb-buffer-pool-size=64M \
  "${user_args[@]}" >"$demo/mariadbd.out" 2>&1 &
mariadbd_pid=$!

root_sql() { mariadb --no-defaults -h127.0.0.1 -P"$mariadb_port" -uroot "$@"; }
for _ in $(seq 600); do
  root_sql -e 'SELECT 1' >/dev/null 2>&1 && break
  kill -0 "$mariadbd_pid" 2>/dev/null || { tail -n 30 "$demo/mariadb.err" >&2; exit 1; }
  sleep 0.1
done
root_sql -e 'SELECT 1' >/dev/null || { echo "demo: MariaDB did not start" >&2; exit 1; }

root_sql <<'SQL'
CREATE USER 'sluice'@'%' IDENTIFIED BY 'sluice-backend-pw';
GRANT ALL ON *.* TO 'sluice'@'%';
CREATE DATABASE demo;
CREATE TABLE demo.fruit (id INT PRIMARY KEY, name VARCHAR(32) NOT NULL, stock INT NOT NULL);
INSERT INTO demo.fruit VALUES (1, 'apple', 12), (2, 'pear', 7), (3, 'plum', 30);
SQL

cat >"$demo/sluice.ini" <<EOF
[sluice]
listen = 127.0.0.1:$sluice_port
pool_mode = transaction
shutdown_timeout = 10s

[backend]
address = 127.0.0.1:$mariadb_port
user = sluice
password = sluice-backend-pw
max_connections = 16
min_idle = 0
connect_timeout = 5s
idle_timeout = 300s
max_lifetime = 3600s

[queue]
timeout = 10s
max_waiting = 10000

[users]
app = app-pw

[log]
level = info
EOF

echo "==> starting sluice on 127.0.0.1:$sluice_port (config $demo/sluice.ini)"
"$sluice_bin" --config "$demo/sluice.ini" >"$demo/sluice.log" 2>&1 &
sluice_pid=$!
echo "$sluice_pid" >"$demo/sluice.pid"
for _ in $(seq 200); do
  port_open "$sluice_port" && break
  if ! kill -0 "$sluice_pid" 2>/dev/null; then
    echo "demo: sluice exited; its log:" >&2
    cat "$demo/sluice.log" >&2
    exit 1
  fi
  sleep 0.1
done
port_open "$sluice_port" || { echo "demo: sluice did not listen within 20 s" >&2; exit 1; }

if ((wait_mode == 0)); then
  echo "==> one query through sluice"
  mariadb --no-defaults -h127.0.0.1 -P"$sluice_port" -uapp -papp-pw demo \
    -e 'SELECT id, name, stock FROM fruit ORDER BY id'
  exit 0
fi

cat <<EOF

sluice is running. Connect with:

    mariadb -h127.0.0.1 -P$sluice_port -uapp -papp-pw demo

sluice log: $demo/sluice.log    MariaDB log: $demo/mariadb.err
Press Ctrl-C to stop sluice and MariaDB.
EOF
wait "$sluice_pid" || true
echo "demo: sluice exited; last lines of its log:"
tail -n 20 "$demo/sluice.log"
