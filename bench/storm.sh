#!/usr/bin/env bash
# Connection storm: 2,000 clients at once, each connecting, running a few short statements and
# disconnecting, against a MariaDB that allows 50 connections: once directly, once through sluice.
# What it shows and the latest result: docs/BENCHMARKS.md, "Storm". Options: bench/storm.sh --help.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" storm bench/storm.sh

# ---------------------------------------------------------------------------------------------
# Options. The defaults, usage and set_option read like those of the other bench scripts because
# the options are alike (--time, --reps, --cap, --sluice ...), not because logic is copied: they
# stay here, whole, as this script's interface. The parsing is parse_options in bench/lib.sh.

clients=2000
statements=3
statement_sleep=0.05
db_max_connections=50
cap=40
clients_per_thread=50
queue_timeout=10s
to_build=(sluice storm_client) # what --sluice / --storm-client leave to build
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

# parse_options (bench/lib.sh) hands over every option with its value. Alike in every bench
# script on purpose: see "Options" above.
set_option() { # OPT VALUE
  local opt=$1 val=$2
  case $opt in
    --clients) clients=$val ;;
    --statements) statements=$val ;;
    --sleep) statement_sleep=$val ;;
    --db-max-connections) db_max_connections=$val ;;
    --cap) cap=$val ;;
    --queue-timeout) queue_timeout=$val ;;
    --clients-per-thread) clients_per_thread=$val ;;
    --sluice)
      path_option sluice_bin --sluice "$val"
      to_build=("${to_build[@]/sluice/}")
      ;;
    --storm-client)
      path_option storm_bin --storm-client "$val"
      to_build=("${to_build[@]/storm_client/}")
      ;;
    *) usage_error "unknown option '$opt'" ;;
  esac
}
parse_options "--clients --statements --sleep --db-max-connections --cap --queue-timeout --clients-per-thread --sluice --storm-client" "$@"

check_counts "clients:$clients" "statements:$statements" "db-max-connections:$db_max_connections" \
  "cap:$cap" "clients-per-thread:$clients_per_thread"
[[ $statement_sleep =~ ^[0-9]+(\.[0-9]+)?$ ]] ||
  usage_error "--sleep must be a number of seconds such as 0.05, got '$statement_sleep'"
[[ $queue_timeout =~ ^[0-9]+(\.[0-9]+)?(ms|s|m)?$ ]] ||
  usage_error "--queue-timeout must be a duration such as 10s or 500ms, got '$queue_timeout'"
((cap < db_max_connections)) ||
  usage_error "--cap ($cap) must stay below --db-max-connections ($db_max_connections)"

# ---------------------------------------------------------------------------------------------
# Processes

work=

clean_up_on_exit sluice:sluice_pid:10 mariadbd:db_pid:60

# ---------------------------------------------------------------------------------------------
# Servers

# MariaDB with a small connection limit, the storm database, the storm account (clients, direct
# and through sluice) and sluice's backend account.
start_database() {
  start_mariadb "$db_max_connections"
  create_bench_database storm storm-pw
}

# sluice (bench/lib.sh) that lets every client of the storm in; dies if it does not start.
start_sluice() {
  local rc=0
  launch_sluice "$queue_timeout" limits.max_client_connections=10000 users.storm=storm-pw || rc=$?
  ((rc != 2)) || die "$sluice_error"
  ((rc == 0)) || die "sluice did not start (see above)"
  note "sluice on 127.0.0.1:$sluice_port (pid $sluice_pid, max_connections=$cap, queue timeout $queue_timeout)"
}

# Waits until only our own root session is connected to MariaDB, then resets its counters, so
# that each run starts from an idle server and its Max_used_connections is its own.
settle_database() {
  local i connected
  for ((i = 0; i < 300; i++)); do
    connected=$(db_status Threads_connected)
    ((connected <= 1)) && break
    sleep 0.1
  done
  db_sql "FLUSH STATUS"
}

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

read -ra to_build <<<"${to_build[*]}" # drop the emptied entries
((${#to_build[@]})) || do_build=0
if ((do_build)); then build_targets "${to_build[@]}"; fi
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
  shutdown_sluice "after the storm" || problems+=("$shutdown_problem")
fi
[[ ${result[sluice.failed]} == 0 ]] ||
  problems+=("${result[sluice.failed]} of $clients clients failed through sluice (errors ${result[sluice.errors]})")

commit=$(measured_commit)
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
  if [[ -s $sluice_log ]] && mkdir -p "$results_dir" &&
    cp "$sluice_log" "$results_dir/storm-sluice.log"; then
    echo "  sluice's log: bench/results/storm-sluice.log"
  fi
  status=1
fi
exit "$status"
