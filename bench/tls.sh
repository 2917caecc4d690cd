#!/usr/bin/env bash
# TLS benchmark: sysbench oltp_point_select with TLS on the client side against MariaDB directly,
# through HAProxy (mode tcp, TLS passed through to MariaDB) and through sluice (terminating TLS),
# next to sluice in plaintext and sluice with TLS towards the backend only; then TLS handshakes per
# second for new connections, and one running client's p99 during storms of new TLS connections.
# What it measures and the latest result: docs/BENCHMARKS.md, "TLS". Options: bench/tls.sh --help.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" tls bench/tls.sh

# ---------------------------------------------------------------------------------------------
# Options (alike in every bench script: see bench/run.sh)

time_s=20
reps=3
cap=16
threads=32
tables=4
table_size=10000
storm_clients=500
storm_time_s=20
to_build=(sluice storm_client)
storm_bin=$build_dir/bench/storm_client

usage() {
  cat <<EOF
Usage: bench/tls.sh [options]

Starts a throwaway MariaDB that offers TLS (a certificate made for the run), HAProxy (mode tcp)
and two sluices (transaction pooling; one with [tls] towards clients, one with [backend]
tls = required) on free loopback ports, then:
 1. sysbench oltp_point_select, --threads=$threads, alternating within each repetition:
    direct_tls, direct_plain (what TLS costs sysbench and MariaDB themselves), haproxy_tls (TLS
    passed through to MariaDB), sluice_tls (sluice terminates TLS),
    sluice_plain (the same sluice, no TLS), sluice_backend_tls (plain client, TLS to MariaDB);
 2. storms of $storm_clients new TLS connections (connect, SELECT 1, quit): handshakes per second,
    direct and through sluice;
 3. one sysbench client (--threads=1, TLS) through sluice for ${storm_time_s}s, alone and then while
    storms of $storm_clients new TLS connections follow each other: its p99.

  --time T            seconds per sysbench run (default $time_s)
  --reps N            repetitions (default $reps)
  --cap N             sluice [backend] max_connections (default $cap)
  --threads N         sysbench threads of step 1 (default $threads)
  --storm-clients N   new connections per storm (default $storm_clients)
  --storm-time T      seconds of the running client in step 3 (default $storm_time_s)
  --sluice BIN        use this sluice binary (not built)
  --storm-client BIN  use this storm_client binary (not built)
  --no-build          do not build; use $build_dir/{daemon/sluice,bench/storm_client}
  -h, --help          show this text
EOF
}

set_option() { # OPT VALUE
  local opt=$1 val=$2
  case $opt in
    --time) time_s=$val ;;
    --reps) reps=$val ;;
    --cap) cap=$val ;;
    --threads) threads=$val ;;
    --storm-clients) storm_clients=$val ;;
    --storm-time) storm_time_s=$val ;;
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
parse_options "--time --reps --cap --threads --storm-clients --storm-time --sluice --storm-client" "$@"
check_counts "time:$time_s" "reps:$reps" "cap:$cap" "threads:$threads" \
  "storm-clients:$storm_clients" "storm-time:$storm_time_s"

# ---------------------------------------------------------------------------------------------
# Processes and servers

work=
haproxy_pid=
backend_tls_pid= # the second sluice (TLS towards MariaDB)
backend_tls_port=
clean_up_on_exit sluice:sluice_pid:10 sluice:backend_tls_pid:10 \
  haproxy:haproxy_pid:10 mariadbd:db_pid:60

# A CA, and a certificate for 127.0.0.1 that MariaDB and sluice both serve. sysbench 1.0 reads
# cacert.pem, client-cert.pem and client-key.pem from its working directory for --mysql-ssl=on.
make_certificates() {
  local dir=$work/pki
  mkdir -p "$dir"
  (
    cd "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
      -out cacert.pem -days 2 -subj "/CN=sluice bench CA"
    for name in server client; do
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$name-key.pem" \
        -out "$name.csr" -subj "/CN=127.0.0.1"
      printf 'subjectAltName=IP:127.0.0.1\n' >"$name.ext"
      openssl x509 -req -in "$name.csr" -CA cacert.pem -CAkey ca.key -CAcreateserial \
        -out "$name-cert.pem" -days 2 -extfile "$name.ext"
    done
  ) >"$work/pki.log" 2>&1 || {
    cat "$work/pki.log" >&2
    die "openssl could not make the certificates"
  }
  pki=$dir
}

spawn_haproxy() {
  local dir=$1
  haproxy_port=$(free_port)
  cat >"$dir/haproxy.cfg" <<EOF
global
    maxconn 4096
defaults
    mode tcp
    timeout connect 10s
    timeout client 1h
    timeout server 1h
frontend mysql_in
    bind 127.0.0.1:$haproxy_port
    default_backend mariadb
backend mariadb
    server db1 127.0.0.1:$db_port maxconn 4096
EOF
  haproxy -db -f "$dir/haproxy.cfg" >"$dir/haproxy.log" 2>&1 &
  haproxy_pid=$!
  wait_port_or_stop haproxy haproxy_pid "$haproxy_port" 30 "$dir/haproxy.log" 5
}

start_haproxy() {
  mkdir -p "$work/haproxy"
  with_retries HAProxy spawn_haproxy "$work/haproxy" || die "HAProxy did not start"
}

# Both sluices; the second keeps its pid and port in backend_tls_*.
start_sluices() {
  local rc=0
  launch_sluice 10s users.sbtest=sbtest-pw limits.max_client_connections=10000 \
    backend.tls=required || rc=$?
  if ((rc != 0)) || ! sluice_answers; then die "sluice (backend TLS) did not start: $sluice_error"; fi
  backend_tls_pid=$sluice_pid
  backend_tls_port=$sluice_port
  sluice_pid=
  launch_sluice 10s users.sbtest=sbtest-pw limits.max_client_connections=10000 \
    "tls.cert_file=$pki/server-cert.pem" "tls.key_file=$pki/server-key.pem" || rc=$?
  if ((rc != 0)) || ! sluice_answers; then die "sluice (client TLS) did not start: $sluice_error"; fi
  note "sluice on :$sluice_port (TLS to clients), :$backend_tls_port (TLS to MariaDB)"
}

# ---------------------------------------------------------------------------------------------
# Step 1: throughput

csv_header="run,target,rep,qps,p95_ms,errors,proxy_cpu_us_per_stmt"

run_sysbench() { # TARGET REP
  local target=$1 rep=$2 port pid='' ssl=off log rc=0
  case $target in
    direct_tls) port=$db_port ssl=on ;;
    direct_plain) port=$db_port ;;
    haproxy_tls) port=$haproxy_port pid=$haproxy_pid ssl=on ;;
    sluice_tls) port=$sluice_port pid=$sluice_pid ssl=on ;;
    sluice_plain) port=$sluice_port pid=$sluice_pid ;;
    sluice_backend_tls) port=$backend_tls_port pid=$backend_tls_pid ;;
  esac
  log=$work/runs/$target-rep$rep.log
  local args before='' after=''
  read -ra args <<<"$(sysbench_args "$port")"
  [[ -n $pid ]] && before=$(cpu_ticks "$pid")
  (cd "$pki" && timeout -k 10 $((time_s + 60)) sysbench oltp_point_select "${args[@]}" \
    --threads="$threads" --time="$time_s" --db-ps-mode=disable --mysql-ssl="$ssl" \
    --mysql-ignore-errors=all --percentile=95 --report-interval=0 run) >"$log" 2>&1 || rc=$?
  [[ -n $pid ]] && after=$(cpu_ticks "$pid")
  sysbench_outcome "$rc" "$log" $((time_s + 60))
  if [[ -n $sysbench_failure ]]; then
    tail -n 15 "$log" >&2
    die "$target rep $rep: $sysbench_failure"
  fi
  local q qps p95 errors cpu=''
  read -r q qps _ p95 errors _ <<<"$sysbench_result"
  [[ -n $before && -n $after ]] &&
    cpu=$(awk -v t=$((after - before)) -v hz="$clk_tck" -v q="$q" 'BEGIN { printf "%.2f", t / hz / q * 1e6 }')
  echo "$run_id,$target,$rep,$qps,$p95,$errors,$cpu" >>"$csv"
  note "  $target rep $rep: $qps qps, p95 $p95 ms, $errors errors${cpu:+, proxy $cpu us/stmt}"
}

# ---------------------------------------------------------------------------------------------
# Step 2 and 3: storms of new TLS connections

# storm PORT LABEL: one storm of new TLS connections; prints "clients ok wall_s".
storm() {
  local out=$work/storm-$2.out line ok wall
  timeout -k 10 300 "$storm_bin" --port "$1" --user sbtest --password sbtest-pw --database sbtest \
    --clients "$storm_clients" --statements 1 --statement "SELECT 1" --ssl-ca "$pki/cacert.pem" \
    --label "$2" >"$out" 2>&1 || die "storm_client failed ($2): $(tail -n 3 "$out")"
  line=$(grep '^RESULT ' "$out") || die "no RESULT line from storm_client ($2)"
  ok=$(sed -E 's/.* ok=([0-9]+).*/\1/' <<<"$line")
  wall=$(sed -E 's/.* wall_s=([0-9.]+).*/\1/' <<<"$line")
  echo "$ok $wall"
}

# p99 of one TLS sysbench client through sluice; with "storm", while storms follow each other.
running_client_p99() { # MODE
  local log=$work/runs/p99-$1.log storm_loop='' rc=0 args
  if [[ $1 == storm ]]; then
    (while :; do storm "$sluice_port" loop >/dev/null || exit 1; done) &
    storm_loop=$!
    sleep 1
  fi
  read -ra args <<<"$(sysbench_args "$sluice_port")"
  (cd "$pki" && timeout -k 10 $((storm_time_s + 60)) sysbench oltp_point_select \
    "${args[@]}" --threads=1 --time="$storm_time_s" --db-ps-mode=disable \
    --mysql-ssl=on --percentile=99 --report-interval=0 run) >"$log" 2>&1 || rc=$?
  if [[ -n $storm_loop ]]; then
    kill "$storm_loop" 2>/dev/null || true
    wait "$storm_loop" 2>/dev/null || true
  fi
  ((rc == 0)) || die "the running client failed ($1): $(tail -n 3 "$log")"
  awk '$1 == "99th" && $2 == "percentile:" { print $3 }' "$log"
}

median() { tr ' ' '\n' | sort -g | awk 'NF { v[++n] = $1 } END { print (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }'; }

# ---------------------------------------------------------------------------------------------
# Main

require mariadbd mariadb-install-db mariadb sysbench haproxy openssl timeout awk
read -ra to_build <<<"${to_build[*]}"
((${#to_build[@]})) || do_build=0
if ((do_build)); then build_targets "${to_build[@]}"; fi
[[ -x $sluice_bin ]] || die "no sluice binary at $sluice_bin"
[[ -x $storm_bin ]] || die "no storm_client at $storm_bin"
wanted_files=$((storm_clients * 2 + 1024))
(($(ulimit -n) >= wanted_files)) || ulimit -n "$wanted_files" ||
  die "cannot raise the open-files limit to $wanted_files"

clk_tck=$(getconf CLK_TCK)
work=$(mktemp -d -t sluice-tls.XXXXXX)
mkdir -p "$work/runs"
make_results_dir
run_id=$(date -u +%Y%m%dT%H%M%SZ)
csv=$results_dir/tls-$run_id.csv
echo "$csv_header" >"$csv"

make_certificates
# sysbench 1.0 always offers client-cert.pem: MariaDB needs the CA to accept it.
db_extra_opts=("--ssl-cert=$pki/server-cert.pem" "--ssl-key=$pki/server-key.pem" "--ssl-ca=$pki/cacert.pem")
start_sysbench_database
[[ $(db_sql "SHOW GLOBAL VARIABLES LIKE 'have_ssl'" | awk '{ print $2 }') == YES ]] ||
  die "MariaDB does not offer TLS (have_ssl is not YES)"
prepare_tables
start_haproxy
start_sluices

targets=(direct_tls direct_plain haproxy_tls sluice_tls sluice_plain sluice_backend_tls)
ssl_before=$(db_status Ssl_accepts)
for ((rep = 1; rep <= reps; rep++)); do
  # Each repetition starts with another target, so no target always runs first or last.
  for ((i = 0; i < ${#targets[@]}; i++)); do
    run_sysbench "${targets[(i + rep - 1) % ${#targets[@]}]}" "$rep"
  done
done
ssl_accepts=$(($(db_status Ssl_accepts) - ssl_before))

note "storms of $storm_clients new TLS connections"
declare -A rate=()
for label in direct sluice; do
  rates=()
  for ((rep = 1; rep <= reps; rep++)); do
    port=$db_port
    [[ $label == sluice ]] && port=$sluice_port
    read -r ok wall <<<"$(storm "$port" "$label")"
    ((ok == storm_clients)) || die "$((storm_clients - ok)) of $storm_clients TLS clients failed ($label)"
    [[ $wall != 0.0 ]] || die "a storm of $storm_clients took under 0.05 s ($label): too short to time; raise --storm-clients"
    rates+=("$(awk -v n="$ok" -v w="$wall" 'BEGIN { printf "%.0f", n / w }')")
  done
  rate[$label]=$(echo "${rates[*]}" | median)
  note "  $label: ${rates[*]} new TLS connections/s (connect + SELECT 1 + quit)"
done

p99_alone=$(running_client_p99 alone)
p99_storm=$(running_client_p99 storm)
note "running client p99: ${p99_alone} ms alone, ${p99_storm} ms during storms"
proc_alive "$sluice_pid" || die "sluice died during the storms"

# ---------------------------------------------------------------------------------------------
# Report

declare -A med_qps=() med_p95=() med_cpu=()
for t in "${targets[@]}"; do
  med_qps[$t]=$(awk -F, -v t="$t" '$2 == t { printf "%s ", $4 }' "$csv" | median)
  med_p95[$t]=$(awk -F, -v t="$t" '$2 == t { printf "%s ", $5 }' "$csv" | median)
  cpu=$(awk -F, -v t="$t" '$2 == t && $7 != "" { printf "%s ", $7 }' "$csv")
  med_cpu[$t]=-
  [[ -n $cpu ]] && med_cpu[$t]=$(echo "$cpu" | median)
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo
echo "Markdown for docs/BENCHMARKS.md:"
echo
echo "Run $(date -u +%Y-%m-%dT%H:%MZ): commit $(measured_commit); $(nproc) CPUs shared by sysbench, the proxies and MariaDB $(db_sql 'SELECT VERSION()'); oltp_point_select, $threads threads, ${time_s}s x $reps alternated repetitions (medians), $tables tables x $table_size rows; sluice max_connections=$cap; TLS: ECDSA P-256 certificates, sysbench --mysql-ssl=on (MariaDB counted $ssl_accepts TLS handshakes for direct_tls and haproxy_tls)."
echo
echo "| Target | qps | p95 (ms) | proxy CPU (µs/statement) |"
echo "|---|--:|--:|--:|"
for t in "${targets[@]}"; do
  echo "| $t | ${med_qps[$t]} | ${med_p95[$t]} | ${med_cpu[$t]} |"
done
echo
echo "- qps sluice_tls / sluice_plain: $(ratio "${med_qps[sluice_tls]}" "${med_qps[sluice_plain]}") (target ≥ 0.8)"
echo "- qps direct_tls / direct_plain: $(ratio "${med_qps[direct_tls]}" "${med_qps[direct_plain]}") (TLS without a proxy)"
echo "- qps sluice_tls / direct_tls: $(ratio "${med_qps[sluice_tls]}" "${med_qps[direct_tls]}"); sluice_tls / haproxy_tls: $(ratio "${med_qps[sluice_tls]}" "${med_qps[haproxy_tls]}")"
echo "- qps sluice_backend_tls / sluice_plain: $(ratio "${med_qps[sluice_backend_tls]}" "${med_qps[sluice_plain]}") (what [backend] tls = preferred would cost against a server that offers TLS)"
echo "- new TLS connections per second (connect + SELECT 1 + quit, $storm_clients at once, median of $reps): direct ${rate[direct]}, through sluice ${rate[sluice]}"
echo "- p99 of one running TLS client through sluice: ${p99_alone} ms alone, ${p99_storm} ms while storms of $storm_clients new TLS connections follow each other (target < 50 ms)"
echo
echo "Every run: $csv"
