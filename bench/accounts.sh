#!/usr/bin/env bash
# Server-accounts benchmark: four MariaDB accounts, one sysbench oltp_point_select process each,
# running at once against MariaDB directly, through sluice with [auth] mode = config (every
# backend logged in as the one [backend] user) and through sluice with [auth] mode = server
# (backends logged in as each client's account, pooled per account under the one cap, switched
# with COM_CHANGE_USER), alternating within each repetition; the same two modes under a skewed
# load; and what one account switch costs (two accounts taking turns on one backend).
# What it measures and the latest result: docs/BENCHMARKS.md, "Server accounts".
# Options: bench/accounts.sh --help.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" accounts bench/accounts.sh

# ---------------------------------------------------------------------------------------------
# Options (alike in every bench script: see bench/run.sh)

time_s=20
reps=3
cap=8
threads=8
skew_threads=20,8,3,1
tables=4
table_size=10000

# The four accounts. Letters, not digits: write_sluice_ini (bench/lib.sh) takes [users] names of
# letters and underscores only.
accounts=(acct_a acct_b acct_c acct_d)

usage() {
  cat <<EOF
Usage: bench/accounts.sh [options]

Starts a throwaway MariaDB with four accounts, ${accounts[*]}
(mysql_native_password, every privilege on sbtest), and an auth account, and sluices with
transaction pooling: one in [auth] mode config (the four in [users], backends logged in as the
sluice account) and one in [auth] mode server (backends logged in as each account), both with
[backend] max_connections=$cap, and the same two with max_connections=1. Prepares the sysbench
tables once, then runs sysbench oltp_point_select as one process per account, all at once,
alternating the variants within each repetition (each repetition starts with the next one):
  direct         the four accounts straight to MariaDB, --threads=$threads each
  config         the four through the config-mode sluice, --threads=$threads each
  server         the four through the server-mode sluice, --threads=$threads each
  config_skew    as config, threads per account $skew_threads
  server_skew    as server, threads per account $skew_threads
  switch_config  ${accounts[0]} and ${accounts[1]}, one thread each, config mode, one backend
  switch_server  the same in server mode: the backend changes account for nearly every
                 statement, so the difference from switch_config is what a switch costs
Sums the processes' qps per run; reports medians, server/config and server/direct, each
account's qps and p95, the slowest statement, errors and sluice's queue timeouts, account switches
per second (SHOW STATS on sluice's admin port before and after each run), sluice's and MariaDB's
CPU per statement, and microseconds per switch. Every run goes to
bench/results/accounts-<timestamp>.csv.

  --time T              seconds per run (default $time_s)
  --reps N              repetitions (default $reps)
  --cap N               sluice [backend] max_connections, both modes (default $cap)
  --threads N           sysbench threads per account in config, server, direct (default $threads)
  --skew-threads LIST   threads of the four accounts in the skewed shape (default $skew_threads);
                        "none" leaves the skewed shape out
  --sluice BIN          use this sluice binary (not built)
  --no-build            do not build sluice; use $build_dir/daemon/sluice
  -h, --help            show this text
EOF
}

set_option() { # OPT VALUE
  local opt=$1 val=$2
  case $opt in
    --time) time_s=$val ;;
    --reps) reps=$val ;;
    --cap) cap=$val ;;
    --threads) threads=$val ;;
    --skew-threads) skew_threads=$val ;;
    --sluice)
      path_option sluice_bin --sluice "$val"
      do_build=0
      ;;
    *) usage_error "unknown option '$opt'" ;;
  esac
}
parse_options "--time --reps --cap --threads --skew-threads --sluice" "$@"
check_counts "time:$time_s" "reps:$reps" "cap:$cap" "threads:$threads"
if [[ $skew_threads != none ]] && ! { is_count_list "$skew_threads" && [[ $skew_threads =~ ^[0-9]+(,[0-9]+){3}$ ]]; }; then
  usage_error "--skew-threads must be four positive whole numbers (e.g. 20,8,3,1) or none, got '$skew_threads'"
fi

variants=(direct config server)
[[ $skew_threads != none ]] && variants+=(config_skew server_skew)
variants+=(switch_config switch_server)

# ---------------------------------------------------------------------------------------------
# Processes and servers

work=
# The sluices, by name (start_named_sluice): NAME_pid, NAME_port, NAME_admin, NAME_log. These
# and the sysbench pids are set through printf -v and read through ${!var}; clean_up
# (bench/lib.sh) stops them.
sluice_names=(config server config_cap1 server_cap1)
# shellcheck disable=SC2034
config_pid='' server_pid='' config_cap1_pid='' server_cap1_pid=''
# shellcheck disable=SC2034
sysbench_pid1='' sysbench_pid2='' sysbench_pid3='' sysbench_pid4=''
clean_up_on_exit sysbench:sysbench_pid1:5 sysbench:sysbench_pid2:5 sysbench:sysbench_pid3:5 \
  sysbench:sysbench_pid4:5 sluice:sluice_pid:10 sluice:config_pid:10 sluice:server_pid:10 \
  sluice:config_cap1_pid:10 sluice:server_cap1_pid:10 mariadbd:db_pid:60

# The four accounts (password <name>-pw) and sluice_auth, which reads their hashes.
create_accounts() {
  local a sql=
  for a in "${accounts[@]}"; do
    sql+="CREATE USER '$a'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('$a-pw');
      GRANT ALL PRIVILEGES ON sbtest.* TO '$a'@'%';"
  done
  sql+="CREATE USER 'sluice_auth'@'%' IDENTIFIED BY 'auth-pw';
    GRANT SELECT ON mysql.user TO 'sluice_auth'@'%';
    GRANT SELECT ON mysql.global_priv TO 'sluice_auth'@'%';"
  db_sql "$sql" || die "could not create the accounts"
}

# start_named_sluice NAME [SECTION.KEY=VALUE...]: launch_sluice and sluice_answers (a login as
# sbtest), then NAME_pid, NAME_port, NAME_admin and NAME_log. launch_sluice gives every sluice the
# same log file: it is renamed to NAME.log, where this sluice goes on writing.
start_named_sluice() {
  local name=$1 rc=0 log
  shift
  launch_sluice 10s "$@" || rc=$?
  if ((rc != 0)) || ! sluice_answers; then die "sluice ($name) did not start: $sluice_error"; fi
  log=$(dirname "$sluice_log")/$name.log
  mv -- "$sluice_log" "$log"
  printf -v "${name}_pid" %s "$sluice_pid"
  printf -v "${name}_port" %s "$sluice_port"
  printf -v "${name}_admin" %s "$admin_port"
  printf -v "${name}_log" %s "$log"
  note "sluice $name on :$sluice_port (admin :$admin_port, pid $sluice_pid, max_connections=$cap)"
  sluice_pid=
}

# [auth] mode server comes from the environment (SLUICE_<SECTION>_<KEY>, README.md):
# write_sluice_ini (bench/lib.sh) has no [auth] section.
start_server_mode_sluice() { # NAME
  SLUICE_AUTH_MODE=server SLUICE_AUTH_USER=sluice_auth SLUICE_AUTH_PASSWORD=auth-pw \
    start_named_sluice "$1"
}

# The four sluices: config and server mode with max_connections=$cap, then with 1 (spawn_sluice
# in bench/lib.sh reads cap). sbtest is in [users] for sluice_answers.
start_sluices() {
  local a users=(users.sbtest=sbtest-pw)
  for a in "${accounts[@]}"; do users+=("users.$a=$a-pw"); done
  start_named_sluice config "${users[@]}"
  start_server_mode_sluice server
  local cap=1
  start_named_sluice config_cap1 "${users[@]}"
  start_server_mode_sluice server_cap1
}

# admin_totals PORT: "account_switches queue_timeouts", their totals in SHOW STATS on the admin
# port PORT. Connects and writes at once, so the admin port answers without banner or prompt (as
# bench/ps.sh does).
admin_totals() {
  local fd line row=() switches='' timeouts=''
  exec {fd}<>"/dev/tcp/127.0.0.1/$1" || return 1
  printf 'SHOW STATS\nQUIT\n' >&"$fd"
  while read -r -t 5 line <&"$fd"; do
    read -ra row <<<"$line"
    case ${row[0]-} in
      account_switches) switches=${row[1]} ;;
      queue_timeouts) timeouts=${row[1]} ;;
    esac
  done
  exec {fd}>&-
  [[ -n $switches && -n $timeouts ]] && echo "$switches $timeouts"
}

# keep_sluice_logs: copies the sluices' logs to bench/results.
keep_sluice_logs() {
  local name var
  for name in "${sluice_names[@]}"; do
    var=${name}_log
    [[ -n ${!var-} ]] || continue
    cp "${!var}" "$results_dir/accounts-$run_id-$name-sluice.log" 2>/dev/null || true
  done
}

# sluice_failed WHY: keeps the sluices' logs with the results and dies.
sluice_failed() {
  keep_sluice_logs
  die "$1 (sluice logs: $results_dir/accounts-$run_id-*-sluice.log)"
}

# ---------------------------------------------------------------------------------------------
# A run: one sysbench process per account, all at once

csv_header="run,variant,rep,threads,qps,p95_max_ms,errors,account_qps,account_p95_ms,account_switches,switches_per_s,proxy_cpu_us_per_stmt,db_cpu_us_per_stmt,db_statements_per_stmt,account_max_ms,queue_timeouts"

# sysbench's options for ACCOUNT through PORT: sysbench_args with the account's login.
account_args() { # PORT ACCOUNT
  local arg args out=()
  read -ra args <<<"$(sysbench_args "$1")"
  for arg in "${args[@]}"; do
    [[ $arg == --mysql-user=* || $arg == --mysql-password=* ]] || out+=("$arg")
  done
  echo "${out[*]}" "--mysql-user=$2" "--mysql-password=$2-pw"
}

# joined VALUE...: the values separated by ';' (one CSV field).
joined() {
  local IFS=';'
  echo "$*"
}

run_variant() { # VARIANT REP
  local variant=$1 rep=$2 target='' port=$db_port pid='' admin='' per=()
  case $variant in
    direct) per=("$threads" "$threads" "$threads" "$threads") ;;
    config | server)
      target=$variant
      per=("$threads" "$threads" "$threads" "$threads")
      ;;
    config_skew | server_skew)
      target=${variant%_skew}
      IFS=, read -ra per <<<"$skew_threads"
      ;;
    switch_config | switch_server)
      target=${variant#switch_}_cap1
      per=(1 1)
      ;;
    *) die "internal: unknown variant $variant" ;;
  esac
  if [[ -n $target ]]; then
    local var=${target}_pid
    pid=${!var}
    var=${target}_port
    port=${!var}
    var=${target}_admin
    admin=${!var}
  fi
  local n=${#per[@]} i args stats_before='' proxy_before='' db_before questions_before
  [[ -n $admin ]] && { stats_before=$(admin_totals "$admin") ||
    sluice_failed "$variant rep $rep: could not read SHOW STATS on :$admin"; }
  [[ -n $pid ]] && proxy_before=$(cpu_ticks "$pid")
  db_before=$(cpu_ticks "$db_pid")
  questions_before=$(db_status Questions)
  for ((i = 0; i < n; i++)); do
    read -ra args <<<"$(account_args "$port" "${accounts[i]}")"
    timeout -k 10 $((time_s + 60)) sysbench oltp_point_select "${args[@]}" --threads="${per[i]}" \
      --time="$time_s" --db-ps-mode=disable --mysql-ignore-errors=all --percentile=95 \
      --report-interval=0 run >"$work/runs/$variant-rep$rep-${accounts[i]}.log" 2>&1 &
    printf -v "sysbench_pid$((i + 1))" %s $!
  done
  local status=() var
  for ((i = 0; i < n; i++)); do
    var=sysbench_pid$((i + 1))
    status[i]=0
    wait "${!var}" || status[i]=$?
    printf -v "$var" ''
  done
  local proxy_after='' db_after questions stats_after=''
  [[ -n $pid ]] && proxy_after=$(cpu_ticks "$pid")
  db_after=$(cpu_ticks "$db_pid")
  abort_if_dead mariadbd db_pid "$work/mariadb/err.log" MariaDB
  # Questions: what MariaDB ran, sysbench's statements and sluice's restores (not COM_CHANGE_USER).
  questions=$(($(db_status Questions) - questions_before))
  if [[ -n $pid ]] && ! proc_alive "$pid"; then
    describe_exit "$pid"
    sluice_failed "$variant rep $rep: sluice $exit_text during the run"
  fi
  [[ -n $admin ]] && { stats_after=$(admin_totals "$admin") ||
    sluice_failed "$variant rep $rep: could not read SHOW STATS on :$admin after the run"; }

  local log q qps p95 errors queries=0 total_qps=0 p95_max=0 total_errors=0 acct_qps=() acct_p95=() acct_max=()
  for ((i = 0; i < n; i++)); do
    log=$work/runs/$variant-rep$rep-${accounts[i]}.log
    sysbench_outcome "${status[i]}" "$log" $((time_s + 60))
    if [[ -n $sysbench_failure ]]; then
      tail -n 15 "$log" >&2
      cp "$log" "$results_dir/accounts-$run_id-$variant-rep$rep-${accounts[i]}.log" 2>/dev/null || true
      if [[ -n $pid ]]; then sluice_failed "$variant rep $rep, ${accounts[i]}: $sysbench_failure"; fi
      die "$variant rep $rep, ${accounts[i]}: $sysbench_failure"
    fi
    read -r q qps _ p95 errors _ <<<"$sysbench_result"
    queries=$((queries + q))
    total_errors=$((total_errors + errors))
    total_qps=$(awk -v a="$total_qps" -v b="$qps" 'BEGIN { printf "%.2f", a + b }')
    p95_max=$(awk -v a="$p95_max" -v b="$p95" 'BEGIN { print (b + 0 > a + 0) ? b : a }')
    acct_qps+=("$qps")
    acct_p95+=("$p95")
    # The slowest statement that succeeded (statements that failed, after a queue timeout say,
    # are in the errors and in no latency figure).
    acct_max+=("$(awk '$1 == "max:" { print $2 }' "$log")")
  done

  local switches='' rate='' timeouts='' proxy_us='' db_us db_per_stmt
  if [[ -n $stats_before && -n $stats_after ]]; then
    local s0 t0 s1 t1
    read -r s0 t0 <<<"$stats_before"
    read -r s1 t1 <<<"$stats_after"
    switches=$((s1 - s0))
    timeouts=$((t1 - t0))
    rate=$(awk -v n="$switches" -v t="$time_s" 'BEGIN { printf "%.1f", n / t }')
  fi
  [[ -n $proxy_before && -n $proxy_after ]] &&
    proxy_us=$(awk -v t=$((proxy_after - proxy_before)) -v hz="$clk_tck" -v q="$queries" 'BEGIN { printf "%.2f", t / hz / q * 1e6 }')
  db_us=$(awk -v t=$((db_after - db_before)) -v hz="$clk_tck" -v q="$queries" 'BEGIN { printf "%.2f", t / hz / q * 1e6 }')
  db_per_stmt=$(awk -v n="$questions" -v q="$queries" 'BEGIN { printf "%.3f", n / q }')
  echo "$run_id,$variant,$rep,$(joined "${per[@]}"),$total_qps,$p95_max,$total_errors,$(joined "${acct_qps[@]}"),$(joined "${acct_p95[@]}"),$switches,$rate,$proxy_us,$db_us,$db_per_stmt,$(joined "${acct_max[@]}"),$timeouts" >>"$csv"
  note "  $variant rep $rep: $total_qps qps (${acct_qps[*]}), p95 ${acct_p95[*]} ms, max ${acct_max[*]} ms, $total_errors errors${timeouts:+ ($timeouts queue timeouts)}${rate:+, $rate account switches/s}${proxy_us:+, sluice $proxy_us us/stmt}, MariaDB $db_us us/stmt, $db_per_stmt MariaDB statements/stmt"
}

# ---------------------------------------------------------------------------------------------
# Main

require mariadbd mariadb-install-db mariadb sysbench timeout awk getconf
((do_build)) && require cmake
if ((do_build)); then build_targets sluice; fi
[[ -x $sluice_bin ]] || die "no sluice binary at $sluice_bin (build it, or pass --sluice BIN)"

clk_tck=$(getconf CLK_TCK)
work=$(mktemp -d -t sluice-accounts.XXXXXX)
mkdir -p "$work/runs"
make_results_dir
run_id=$(date -u +%Y%m%dT%H%M%SZ)
csv=$results_dir/accounts-$run_id.csv
echo "$csv_header" >"$csv"

start_sysbench_database
create_accounts
prepare_tables
start_sluices

total=$((reps * ${#variants[@]}))
n=0
note "running $reps rep(s) x ${#variants[@]} variants x ${time_s}s (about $((total * (time_s + 3) / 60 + 1)) min)"
for ((rep = 1; rep <= reps; rep++)); do
  # Each repetition starts with another variant, so no variant always runs first or last.
  for ((i = 0; i < ${#variants[@]}; i++)); do
    n=$((n + 1))
    variant=${variants[(i + rep - 1) % ${#variants[@]}]}
    note "[$n/$total] rep $rep/$reps: $variant"
    run_variant "$variant" "$rep"
    sleep 1
  done
done

# The sluices' warn and error lines (log.level = warn), for the summary.
warnings=0
for name in "${sluice_names[@]}"; do
  var=${name}_log
  count=$(grep -c -E '^[^ ]+ (warn|error) ' "${!var}" || true)
  warnings=$((warnings + count))
done
((warnings == 0)) || keep_sluice_logs

# ---------------------------------------------------------------------------------------------
# Report: medians over the repetitions

header="Run $run_id: commit $(measured_commit), $("$sluice_bin" --version 2>/dev/null || echo "sluice ?"); $(nproc) CPUs shared by the sysbench $(sysbench --version | awk '{ print $2 }') processes, sluice and MariaDB $(db_sql 'SELECT VERSION()'); oltp_point_select, text protocol, $tables tables x $table_size rows; sluice transaction pooling, [backend] max_connections=$cap in both modes (1 for switch_*); medians of $reps alternated runs of ${time_s}s."
echo
echo "Markdown for docs/BENCHMARKS.md:"
echo
echo "$header"
awk -F, -v variants="${variants[*]}" -v cap="$cap" "$awk_table_functions"'
  function ratio(a, b) { return (a == "" || b == "" || b + 0 == 0) ? "" : a / b }
  function add(k, f, v) { if (v != "") vals[k, f] = vals[k, f] " " v }
  # per_account(RUNS, V, F): acct[V, a, F] = the median over the runs (" x;y;z" each) of account
  # a; returns how many accounts.
  function per_account(runs, v, f,   R, A, nr, n, a, r, list) {
    nr = split(substr(runs, 2), R, " ")
    n = split(R[1], A, ";")
    for (a = 1; a <= n; a++) {
      list = ""
      for (r = 1; r <= nr; r++) { split(R[r], A, ";"); list = list " " A[a] }
      acct[v, a, f] = median(list)
    }
    return n
  }
  function accounts(v, f, format,   a, text) {
    text = ""
    for (a = 1; a <= na[v]; a++) text = text (a > 1 ? " / " : "") fmt(acct[v, a, f], format)
    return text
  }
  NR == 1 { next }
  {
    runs[$2]++; shape[$2] = $4
    add($2, "qps", $5); add($2, "p95", $6); add($2, "err", $7); add($2, "sw", $11)
    add($2, "cpu", $12); add($2, "db", $13); add($2, "dbst", $14); add($2, "qt", $16)
    aq[$2] = aq[$2] " " $8; ap[$2] = ap[$2] " " $9; am[$2] = am[$2] " " $15
  }
  END {
    nv = split(variants, V, " ")
    for (i = 1; i <= nv; i++) {
      v = V[i]
      split("qps p95 err sw cpu db dbst qt", F, " ")
      for (m = 1; m <= 8; m++) med[v, F[m]] = median(vals[v, F[m]])
      # Per account: the median of its qps, p95 and max over the repetitions; the worst max.
      na[v] = per_account(aq[v], v, "qps")
      per_account(ap[v], v, "p95")
      per_account(am[v], v, "max")
      nr = split(substr(am[v], 2), R, " ")
      for (r = 1; r <= nr; r++) {
        split(R[r], A, ";")
        for (a = 1; a <= na[v]; a++) if (A[a] + 0 > worst[v] + 0) worst[v] = A[a]
      }
    }
    print ""
    print "| Variant | threads per account | qps (sum) | qps per account | p95 per account (ms) | slowest statement (ms) | errors | of which queue timeouts | account switches/s | sluice CPU (µs/stmt) | MariaDB CPU (µs/stmt) | MariaDB statements/stmt |"
    print "|---|---|--:|---|---|--:|--:|--:|--:|--:|--:|--:|"
    for (i = 1; i <= nv; i++) {
      v = V[i]
      if (!runs[v]) continue
      t = shape[v]; gsub(";", ",", t)
      d = (v == "direct")
      printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", v, t, fmt(med[v, "qps"], "%.0f"),
        accounts(v, "qps", "%.0f"), accounts(v, "p95", "%.2f"), fmt(worst[v], "%.0f"), fmt(med[v, "err"], "%g"),
        (d ? "—" : fmt(med[v, "qt"], "%g")), (d ? "—" : fmt(med[v, "sw"], "%.0f")),
        (d ? "—" : fmt(med[v, "cpu"], "%.1f")), fmt(med[v, "db"], "%.1f"), fmt(med[v, "dbst"], "%.3f")
    }
    r_sc = ratio(med["server", "qps"], med["config", "qps"])
    print ""
    printf "- qps server / config: %s (target >= 0.90: %s)\n", fmt(r_sc, "%.2f"), (r_sc != "" && r_sc >= 0.9) ? "PASS" : "FAIL"
    printf "- qps server / direct: %s; config / direct: %s\n", fmt(ratio(med["server", "qps"], med["direct", "qps"]), "%.2f"),
      fmt(ratio(med["config", "qps"], med["direct", "qps"]), "%.2f")
    if (runs["server_skew"])
      printf "- skewed load, qps server_skew / config_skew: %s\n", fmt(ratio(med["server_skew", "qps"], med["config_skew", "qps"]), "%.2f")
    # One backend, two clients: it is busy all the time, so 1/qps is its time per statement; in
    # switch_server most statements also pay a switch.
    us = ""
    qs = med["switch_server", "qps"]; qc = med["switch_config", "qps"]; sw = med["switch_server", "sw"]
    if (qs + 0 > 0 && qc + 0 > 0 && sw + 0 > 0) {
      us = (1e6 / qs - 1e6 / qc) / (sw / qs)
      printf "- one account switch (COM_CHANGE_USER and the session restore after it) takes %.0f µs of the backend: switch_server %.0f qps with %.2f switches per statement, against switch_config %.0f qps\n",
        us, qs, sw / qs, qc
    }
    if (med["server", "sw"] != "" && med["server", "qps"] + 0 > 0) {
      printf "- account switches in server mode: %.0f/s, %.1f per 1000 statements", med["server", "sw"], med["server", "sw"] / med["server", "qps"] * 1000
      if (us != "")
        printf "; x %.0f µs = %.1f ms of backend time per second, %.2f%% of the %d backends", us,
          med["server", "sw"] * us / 1000, med["server", "sw"] * us / (cap * 1e6) * 100, cap
      print ""
    }
  }
' "$csv"
echo
((warnings == 0)) || echo "The sluices logged $warnings warn/error line(s): $results_dir/accounts-$run_id-*-sluice.log"
echo "Every run: $csv"
