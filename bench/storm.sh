#!/usr/bin/env bash
# Connection storm: 2,000 clients at once, each connecting, running a few short statements and
# disconnecting, against a MariaDB that allows 50 connections: once directly, once through sluice.
# What it shows and the latest result: docs/BENCHMARKS.md, "Storm". Options: bench/storm.sh --help.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$script_dir/.." && pwd)
build_dir=$repo/build-bench

# ---------------------------------------------------------------------------------------------
# Options

clients=2000
statements=3
statement_sleep=0.05
db_max_connections=50
cap=40
clients_per_thread=50
queue_timeout=10s
do_build=1
build_targets=(sluice storm_client)  # what --sluice / --storm-client leave to build
sluice_bin=$build_dir/daemon/sluice
storm_bin=$build_dir/bench/storm_client

usage() {
  cat <<EOF
Usage: bench/storm.sh [options]

Starts a throwaway MariaDB with --max-connections=$db_max_connections and sluice in front of it
(max_connections=$cap) on free loopback ports, then lets $clients clients loose at once, first
directly on MariaDB, then through sluice. Each client connects, runs $statements x
"SELECT SLEEP($statement_sleep), 1" and disconnects. Prints, per target, the clients that made it,
the failures by MySQL error code, the client-side times and, through sluice, the queue wait
(sluice_queue_wait_seconds on /metrics); then a markdown table for docs/BENCHMARKS.md.

  --clients N             concurrent clients (default $clients)
  --statements N          statements per client (default $statements)
  --sleep S               SLEEP() of each statement, seconds (default $statement_sleep)
  --db-max-connections N  MariaDB --max-connections (default $db_max_connections)
  --cap N                 sluice [backend] max_connections (default $cap)
  --queue-timeout T       sluice [queue] timeout (default $queue_timeout)
  --clients-per-thread N  clients one driver thread runs (default $clients_per_thread)
  --sluice BIN            use this sluice binary (not built)
  --storm-client BIN      use this storm_client binary (not built)
  --no-build              do not build; use $build_dir/{daemon/sluice,bench/storm_client}
  -h, --help              show this text

Exit status: 0 when every client got through sluice and sluice exited cleanly on SIGTERM (the
direct run is expected to fail), 1 otherwise, 2 on bad usage.
EOF
}

bench_name=storm
bench_script=bench/storm.sh
# shellcheck source=bench/lib.sh
source "$script_dir/lib.sh"

while (($#)); do
  opt=$1
  val=
  case $opt in
    -h | --help)
      usage
      exit 0
      ;;
    --no-build)
      do_build=0
      shift
      continue
      ;;
    --*=*)
      val=${opt#*=}
      opt=${opt%%=*}
      shift
      ;;
    --clients | --statements | --sleep | --db-max-connections | --cap | --queue-timeout | --clients-per-thread | --sluice | --storm-client)
      (($# >= 2)) || usage_error "$opt needs a value"
      val=$2
      shift 2
      ;;
    --*) usage_error "unknown option '$opt'" ;;
    *) usage_error "unexpected argument '$opt'" ;;
  esac
  case $opt in
    --clients) clients=$val ;;
    --statements) statements=$val ;;
    --sleep) statement_sleep=$val ;;
    --db-max-connections) db_max_connections=$val ;;
    --cap) cap=$val ;;
    --queue-timeout) queue_timeout=$val ;;
    --clients-per-thread) clients_per_thread=$val ;;
    --sluice)
      [[ -n $val ]] || usage_error "--sluice needs a path"
      sluice_bin=$(realpath -m -- "$val")
      build_targets=("${build_targets[@]/sluice/}")
      ;;
    --storm-client)
      [[ -n $val ]] || usage_error "--storm-client needs a path"
      storm_bin=$(realpath -m -- "$val")
      build_targets=("${build_targets[@]/storm_client/}")
      ;;
    *) usage_error "unknown option '$opt'" ;;
  esac
done

for pair in "clients:$clients" "statements:$statements" "db-max-connections:$db_max_connections" \
  "cap:$cap" "clients-per-thread:$clients_per_thread"; do
  is_count "${pair#*:}" || usage_error "--${pair%%:*} must be a positive whole number, got '${pair#*:}'"
done
[[ $statement_sleep =~ ^[0-9]+(\.[0-9]+)?$ ]] ||
  usage_error "--sleep must be a number of seconds such as 0.05, got '$statement_sleep'"
[[ $queue_timeout =~ ^[0-9]+(\.[0-9]+)?(ms|s|m)?$ ]] ||
  usage_error "--queue-timeout must be a duration such as 10s or 500ms, got '$queue_timeout'"
((cap < db_max_connections)) ||
  usage_error "--cap ($cap) must stay below --db-max-connections ($db_max_connections)"

# ---------------------------------------------------------------------------------------------
# Processes

work=
sluice_pid=
sluice_log=

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  stop_pid sluice "$sluice_pid" 10
  stop_pid mariadbd "$db_pid" 60
  [[ -n $work && -d $work ]] && rm -rf -- "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'note "interrupted; cleaning up"; exit 130' INT
trap 'note "terminated; cleaning up"; exit 143' TERM

# ---------------------------------------------------------------------------------------------
# Servers

sluice_port=
metrics_port=

# MariaDB with a small connection limit, the storm database, the storm account (clients, direct
# and through sluice) and sluice's backend account.
start_database() {
  start_mariadb "$db_max_connections"
  db_sql "CREATE DATABASE storm;
    CREATE USER 'storm'@'%' IDENTIFIED BY 'storm-pw';
    GRANT ALL PRIVILEGES ON storm.* TO 'storm'@'%';
    CREATE USER 'sluice'@'%' IDENTIFIED BY 'backend-pw';
    GRANT ALL PRIVILEGES ON storm.* TO 'sluice'@'%';" ||
    die "could not create the storm database and users"
}

start_sluice() {
  local dir=$work/sluice attempt err
  mkdir -p "$dir"
  sluice_log=$dir/sluice.log
  for attempt in 1 2 3; do
    sluice_port=$(free_port)
    metrics_port=$(free_port)
    cat >"$dir/sluice.ini" <<EOF
[sluice]
listen = 127.0.0.1:$sluice_port
pool_mode = transaction
[backend]
address = 127.0.0.1:$db_port
user = sluice
password = backend-pw
max_connections = $cap
[queue]
timeout = $queue_timeout
max_waiting = 10000
[limits]
max_client_connections = 10000
[users]
storm = storm-pw
[log]
level = warn
[metrics]
listen = 127.0.0.1:$metrics_port
[admin]
listen = 127.0.0.1:$(free_port)
EOF
    err=$("$sluice_bin" --check-config "$dir/sluice.ini" 2>&1) ||
      die "sluice rejected its configuration: $err"
    "$sluice_bin" --config "$dir/sluice.ini" >>"$sluice_log" 2>&1 &
    sluice_pid=$!
    if wait_port sluice "$sluice_pid" "$sluice_port" 30 "$sluice_log"; then
      break
    fi
    stop_pid sluice "$sluice_pid" 5
    sluice_pid=
    ((attempt < 3)) || die "sluice did not start (see above)"
    note "retrying sluice on another port"
  done
  note "sluice on 127.0.0.1:$sluice_port (pid $sluice_pid, max_connections=$cap, queue timeout $queue_timeout)"
}

# Waits until only our own root session is connected to MariaDB, then resets its counters, so
# that each run starts from an idle server and its Max_used_connections is its own.
settle_database() {
  local i connected
  for ((i = 0; i < 300; i++)); do
    connected=$(db_sql "SHOW GLOBAL STATUS LIKE 'Threads_connected'" | awk '{ print $2 }')
    ((connected <= 1)) && break
    sleep 0.1
  done
  db_sql "FLUSH STATUS"
}

db_status() { db_sql "SHOW GLOBAL STATUS LIKE '$1'" | awk '{ print $2 }'; }

# ---------------------------------------------------------------------------------------------
# Runs

declare -A result=()  # "<label>.<key>" -> value, from storm_client's RESULT line

# run_storm LABEL PORT [METRICS_PORT]: one storm against PORT; its report goes to stdout.
run_storm() {
  local label=$1 port=$2 metrics=${3-}
  local out=$work/$label.out line field fields
  local args=(--port "$port" --user storm --password storm-pw --database storm
    --clients "$clients" --clients-per-thread "$clients_per_thread" --statements "$statements"
    --statement "SELECT SLEEP($statement_sleep), 1" --label "$label")
  [[ -n $metrics ]] && args+=(--metrics-port "$metrics")
  settle_database
  note "storm of $clients clients: $label"
  echo
  timeout -k 10 600 "$storm_bin" "${args[@]}" | tee "$out" || die "storm_client failed on the $label run"
  line=$(grep '^RESULT ' "$out") || die "no RESULT line from storm_client ($label)"
  read -ra fields <<<"${line#RESULT }"
  for field in "${fields[@]}"; do result[$label.${field%%=*}]=${field#*=}; done
  result[$label.db_max_used]=$(db_status Max_used_connections)
  result[$label.db_refused]=$(db_status Connection_errors_max_connections)
  echo "  MariaDB: Max_used_connections ${result[$label.db_max_used]}, connections refused for max_connections ${result[$label.db_refused]}"
}

# ---------------------------------------------------------------------------------------------
# Main

require mariadbd mariadb-install-db mariadb timeout awk
((do_build)) && require cmake

read -ra build_targets <<<"${build_targets[*]}"  # drop the emptied entries
((${#build_targets[@]})) || do_build=0
if ((do_build)); then
  note "building ${build_targets[*]} (RelWithDebInfo) in $build_dir"
  build_log=$(mktemp -t sluice-storm-build.XXXXXX)
  if ! { cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_BUILD_TESTS=OFF &&
    cmake --build "$build_dir" --target "${build_targets[@]}" -j"$(nproc)"; } >"$build_log" 2>&1; then
    tail -n 40 "$build_log" >&2
    rm -f -- "$build_log"
    die "building failed (output above)"
  fi
  rm -f -- "$build_log"
fi
[[ -x $sluice_bin ]] || die "no sluice binary at $sluice_bin (build it, or pass --sluice BIN)"
[[ -x $storm_bin ]] || die "no storm_client at $storm_bin (build it, or pass --storm-client BIN)"

# Every client is a socket in storm_client and, through sluice, another in sluice.
wanted_files=$((clients + 1024))
if (($(ulimit -n) < wanted_files)); then
  ulimit -n "$wanted_files" 2>/dev/null ||
    die "the open-files limit $(ulimit -n) is below $wanted_files and cannot be raised (ulimit -Hn: $(ulimit -Hn))"
fi

work=$(mktemp -d -t sluice-storm.XXXXXX)
start_database
run_storm direct "$db_port"
start_sluice
run_storm sluice "$sluice_port" "$metrics_port"

status=0
problems=()
if ! proc_alive "$sluice_pid"; then
  describe_exit "$sluice_pid"
  problems+=("sluice $exit_text during the storm")
  sluice_pid=
else
  kill -TERM "$sluice_pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    proc_alive "$sluice_pid" || break
    sleep 0.1
  done
  if proc_alive "$sluice_pid"; then
    problems+=("sluice did not exit within 15s of SIGTERM after the storm; killed it")
    stop_pid sluice "$sluice_pid" 1
  else
    describe_exit "$sluice_pid"
    [[ $exit_text == "exited with status 0" ]] || problems+=("sluice $exit_text after SIGTERM")
  fi
  sluice_pid=
fi
[[ ${result[sluice.failed]} == 0 ]] ||
  problems+=("${result[sluice.failed]} of $clients clients failed through sluice (errors ${result[sluice.errors]})")

commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n $(git -C "$repo" status --porcelain 2>/dev/null) ]] && commit+=" + uncommitted changes"
sluice_version=$("$sluice_bin" --version 2>/dev/null || echo "sluice ?")
echo
echo "Markdown for docs/BENCHMARKS.md:"
echo
echo "Run $(date -u +%Y-%m-%dT%H:%MZ): commit $commit, $sluice_version; $(nproc) CPUs shared by storm_client, sluice and MariaDB $(db_sql 'SELECT VERSION()') (--max-connections=$db_max_connections); $clients clients x $statements x \`SELECT SLEEP($statement_sleep), 1\`; sluice max_connections=$cap, queue timeout $queue_timeout."
echo
echo "| Target | Clients OK | Clients failed | Errors (code × count) | Wall time (s) | Client time p50 / p99 (s) | Statement latency p50 / p99 (ms) | Queue wait p50 / p99, histogram bucket (ms) | MariaDB max used connections |"
echo "|---|--:|--:|---|--:|--:|--:|--:|--:|"
for label in direct sluice; do
  errors="—"
  if [[ ${result[$label.errors]} != none ]]; then
    errors=$(sed 's/:/ × /g; s/,/, /g' <<<"${result[$label.errors]}")
  fi
  queue="—"
  [[ -n ${result[$label.queue_wait_p50_bucket_ms]-} ]] &&
    queue="${result[$label.queue_wait_p50_bucket_ms]} / ${result[$label.queue_wait_p99_bucket_ms]}"
  client_times="—"
  statement_times="—"
  if ((${result[$label.ok]} > 0)); then
    client_times="${result[$label.client_p50_s]} / ${result[$label.client_p99_s]}"
    statement_times="${result[$label.statement_p50_ms]} / ${result[$label.statement_p99_ms]}"
  fi
  echo "| $label | ${result[$label.ok]} | ${result[$label.failed]} | $errors | ${result[$label.wall_s]} | $client_times | $statement_times | ${queue//-/–} | ${result[$label.db_max_used]} |"
done

if ((${#problems[@]})); then
  echo
  echo "SLUICE PROBLEMS:"
  printf '  - %s\n' "${problems[@]}"
  if [[ -s $sluice_log ]] && mkdir -p "$repo/bench/results" &&
    cp "$sluice_log" "$repo/bench/results/storm-sluice.log"; then
    echo "  sluice's log: bench/results/storm-sluice.log"
  fi
  status=1
fi
exit "$status"
