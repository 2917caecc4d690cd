#!/usr/bin/env bash
# Server-accounts benchmark: four MariaDB accounts, one sysbench oltp_point_select process each,
# running at once against MariaDB directly, through sluice with [auth] mode = config (every
# backend logged in as the one [backend] user) and through sluice with [auth] mode = server
# (backends logged in as each client's account, pooled per account under the one cap, switched
# with COM_CHANGE_USER), alternating within each repetition; then the same two sluices under a
# skewed load. What it measures and the latest result: docs/BENCHMARKS.md, "Server accounts".
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
(mysql_native_password, every privilege on sbtest), and an auth account, and two sluices
(transaction pooling, the same [backend] max_connections): one in [auth] mode config (the four
in [users], backends logged in as the sluice account), one in [auth] mode server (backends logged
in as each account). Prepares the sysbench tables once, then runs sysbench oltp_point_select as
four processes at once, one per account, alternating within each repetition (each repetition
starts with the next variant):
  direct       every process straight to MariaDB as its account, --threads=$threads each
  config       through the config-mode sluice, --threads=$threads each
  server       through the server-mode sluice, --threads=$threads each
  config_skew  through the config-mode sluice, threads per account $skew_threads
  server_skew  through the server-mode sluice, threads per account $skew_threads
Sums the four processes' qps per run; reports medians, server/config and server/direct, account
switches per second (SHOW STATS on sluice's admin port before and after each run), the worst
account's p95, and sluice's and MariaDB's CPU per statement. Every run goes to
bench/results/accounts-<timestamp>.csv.

  --time T              seconds per run (default $time_s)
  --reps N              repetitions (default $reps)
  --cap N               sluice [backend] max_connections, both modes (default $cap)
  --threads N           sysbench threads per account, first shape (default $threads)
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

# ---------------------------------------------------------------------------------------------
# Processes and servers

work=
config_pid= # the config-mode sluice; the server-mode one is sluice_pid (bench/lib.sh)
config_port=
config_admin_port=
config_log=
# shellcheck disable=SC2034  # set through printf -v, stopped by clean_up (bench/lib.sh)
sysbench_pid1='' sysbench_pid2='' sysbench_pid3='' sysbench_pid4=''
clean_up_on_exit sysbench:sysbench_pid1:5 sysbench:sysbench_pid2:5 sysbench:sysbench_pid3:5 \
  sysbench:sysbench_pid4:5 sluice:sluice_pid:10 sluice:config_pid:10 mariadbd:db_pid:60

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

# Both sluices, on the same cap. sbtest (in [users], and a MariaDB account) is what sluice_answers
# logs in with. Both would write $work/sluice/sluice.log: the config-mode one keeps writing to it
# under the name config.log once it is renamed.
start_sluices() {
  local a users=() rc=0
  for a in "${accounts[@]}"; do users+=("users.$a=$a-pw"); done
  launch_sluice 10s "${users[@]}" users.sbtest=sbtest-pw || rc=$?
  if ((rc != 0)) || ! sluice_answers; then die "sluice (auth mode config) did not start: $sluice_error"; fi
  config_pid=$sluice_pid config_port=$sluice_port config_admin_port=$admin_port
  config_log=$work/sluice/config.log
  mv -- "$sluice_log" "$config_log"
  sluice_pid=
  # [auth] comes from the environment (SLUICE_<SECTION>_<KEY>, README.md): write_sluice_ini has
  # no [auth] section.
  SLUICE_AUTH_MODE=server SLUICE_AUTH_USER=sluice_auth SLUICE_AUTH_PASSWORD=auth-pw \
    launch_sluice 10s || rc=$?
  if ((rc != 0)) || ! sluice_answers; then die "sluice (auth mode server) did not start: $sluice_error"; fi
  note "sluice on :$config_port ([auth] mode config, admin :$config_admin_port), :$sluice_port ([auth] mode server, admin :$admin_port), max_connections=$cap"
}

# admin_total PORT NAME: the total of NAME in SHOW STATS on the admin port PORT. Connects and
# writes at once, so the admin port answers without banner or prompt (as bench/ps.sh does).
admin_total() {
  local fd line row=() value=
  exec {fd}<>"/dev/tcp/127.0.0.1/$1" || return 1
  printf 'SHOW STATS\nQUIT\n' >&"$fd"
  while read -r -t 5 line <&"$fd"; do
    read -ra row <<<"$line"
    [[ ${row[0]-} == "$2" ]] && value=${row[1]}
  done
  exec {fd}>&-
  [[ -n $value ]] && echo "$value"
}

# sluice_failed WHY: keeps the sluices' logs with the results and dies.
sluice_failed() {
  cp "$config_log" "$results_dir/accounts-$run_id-config-sluice.log" 2>/dev/null || true
  cp "$sluice_log" "$results_dir/accounts-$run_id-server-sluice.log" 2>/dev/null || true
  die "$1 (sluice logs: $results_dir/accounts-$run_id-*-sluice.log)"
}

# ---------------------------------------------------------------------------------------------
# A run: four sysbench processes at once

csv_header="run,variant,rep,threads,qps,p95_max_ms,errors,account_qps,account_p95_ms,account_switches,switches_per_s,proxy_cpu_us_per_stmt,db_cpu_us_per_stmt,db_questions_per_stmt,db_change_users"

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
  local variant=$1 rep=$2 port=$db_port pid='' admin='' per=()
  case $variant in
    config*) port=$config_port pid=$config_pid admin=$config_admin_port ;;
    server*) port=$sluice_port pid=$sluice_pid admin=$admin_port ;;
  esac
  if [[ $variant == *_skew ]]; then
    IFS=, read -ra per <<<"$skew_threads"
  else
    per=("$threads" "$threads" "$threads" "$threads")
  fi
  local i args switches_before='' proxy_before='' db_before
  [[ -n $admin ]] && { switches_before=$(admin_total "$admin" account_switches) ||
    sluice_failed "$variant rep $rep: could not read SHOW STATS on :$admin"; }
  [[ -n $pid ]] && proxy_before=$(cpu_ticks "$pid")
  db_before=$(cpu_ticks "$db_pid")
  # What MariaDB ran: statements (Questions), and COM_CHANGE_USER, which Questions leaves out.
  local questions_before change_users_before
  questions_before=$(db_status Questions)
  change_users_before=$(db_status Com_change_user)
  for i in 0 1 2 3; do
    read -ra args <<<"$(account_args "$port" "${accounts[i]}")"
    timeout -k 10 $((time_s + 60)) sysbench oltp_point_select "${args[@]}" --threads="${per[i]}" \
      --time="$time_s" --db-ps-mode=disable --mysql-ignore-errors=all --percentile=95 \
      --report-interval=0 run >"$work/runs/$variant-rep$rep-${accounts[i]}.log" 2>&1 &
    printf -v "sysbench_pid$((i + 1))" %s $!
  done
  local status=() var
  for i in 1 2 3 4; do
    var=sysbench_pid$i
    status[i]=0
    wait "${!var}" || status[i]=$?
    printf -v "$var" ''
  done
  local proxy_after='' db_after switches_after=''
  [[ -n $pid ]] && proxy_after=$(cpu_ticks "$pid")
  db_after=$(cpu_ticks "$db_pid")
  local questions change_users
  questions=$(($(db_status Questions) - questions_before))
  change_users=$(($(db_status Com_change_user) - change_users_before))
  abort_if_dead mariadbd db_pid "$work/mariadb/err.log" MariaDB
  if [[ -n $pid ]] && ! proc_alive "$pid"; then
    describe_exit "$pid"
    sluice_failed "$variant rep $rep: sluice $exit_text during the run"
  fi
  [[ -n $admin ]] && { switches_after=$(admin_total "$admin" account_switches) ||
    sluice_failed "$variant rep $rep: could not read SHOW STATS on :$admin after the run"; }

  local log q qps p95 errors queries=0 total_qps=0 p95_max=0 total_errors=0 acct_qps=() acct_p95=()
  for i in 0 1 2 3; do
    log=$work/runs/$variant-rep$rep-${accounts[i]}.log
    sysbench_outcome "${status[i + 1]}" "$log" $((time_s + 60))
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
  done

  local switches='' rate='' proxy_us='' db_us db_per_stmt
  if [[ -n $switches_before && -n $switches_after ]]; then
    switches=$((switches_after - switches_before))
    rate=$(awk -v n="$switches" -v t="$time_s" 'BEGIN { printf "%.1f", n / t }')
  fi
  [[ -n $proxy_before && -n $proxy_after ]] &&
    proxy_us=$(awk -v t=$((proxy_after - proxy_before)) -v hz="$clk_tck" -v q="$queries" 'BEGIN { printf "%.2f", t / hz / q * 1e6 }')
  db_us=$(awk -v t=$((db_after - db_before)) -v hz="$clk_tck" -v q="$queries" 'BEGIN { printf "%.2f", t / hz / q * 1e6 }')
  db_per_stmt=$(awk -v n="$questions" -v q="$queries" 'BEGIN { printf "%.3f", n / q }')
  echo "$run_id,$variant,$rep,$(joined "${per[@]}"),$total_qps,$p95_max,$total_errors,$(joined "${acct_qps[@]}"),$(joined "${acct_p95[@]}"),$switches,$rate,$proxy_us,$db_us,$db_per_stmt,$change_users" >>"$csv"
  note "  $variant rep $rep: $total_qps qps (${acct_qps[*]}), worst p95 $p95_max ms, $total_errors errors${rate:+, $rate account switches/s}${proxy_us:+, sluice $proxy_us us/stmt}, MariaDB $db_us us/stmt, $db_per_stmt MariaDB statements/stmt, $change_users COM_CHANGE_USER"
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

# warn and error lines of the sluices (log.level = warn), for the summary.
log_lines() { grep -c -E '^[^ ]+ (warn|error) ' "$1" 2>/dev/null || true; }
config_warnings=$(log_lines "$config_log")
server_warnings=$(log_lines "$sluice_log")
if ((config_warnings + server_warnings)); then
  cp "$config_log" "$results_dir/accounts-$run_id-config-sluice.log" || true
  cp "$sluice_log" "$results_dir/accounts-$run_id-server-sluice.log" || true
fi

# ---------------------------------------------------------------------------------------------
# Report: medians over the repetitions

awk -F, -v variants="${variants[*]}" -v header="Run $run_id: commit $(measured_commit), $("$sluice_bin" --version 2>/dev/null || echo "sluice ?"); $(nproc) CPUs shared by four sysbench $(sysbench --version | awk '{ print $2 }') processes, sluice and MariaDB $(db_sql 'SELECT VERSION()'); oltp_point_select, text protocol, $tables tables x $table_size rows; sluice transaction pooling, [backend] max_connections=$cap in both modes; medians of $reps alternated runs of ${time_s}s." \
  -v time_s="$time_s" "$awk_table_functions"'
  function ratio(a, b) { return (a == "" || b == "" || b + 0 == 0) ? "" : a / b }
  function add(k, f, v) { if (v != "") vals[k, f] = vals[k, f] " " v }
  NR == 1 { next }
  {
    runs[$2]++; shape[$2] = $4
    add($2, "qps", $5); add($2, "p95", $6); add($2, "err", $7); add($2, "sw", $11)
    add($2, "cpu", $12); add($2, "db", $13); add($2, "aq", $8)
  }
  END {
    nv = split(variants, V, " ")
    for (i = 1; i <= nv; i++) {
      v = V[i]
      split("qps p95 err sw cpu db", F, " ")
      for (m = 1; m <= 6; m++) med[v, F[m]] = median(vals[v, F[m]])
      # Per account: the median of its qps over the repetitions.
      split(substr(vals[v, "aq"], 2), R, " ")
      for (a = 1; a <= 4; a++) {
        list = ""
        for (r in R) { split(R[r], A, ";"); list = list " " A[a] }
        acct[v, a] = median(list)
      }
    }
    s = "server"; c = "config"; d = "direct"
    r_sc = ratio(med[s, "qps"], med[c, "qps"])
    r_sd = ratio(med[s, "qps"], med[d, "qps"])
    r_cd = ratio(med[c, "qps"], med[d, "qps"])
    r_skew = ratio(med["server_skew", "qps"], med["config_skew", "qps"])

    print ""
    print "Markdown for docs/BENCHMARKS.md:"
    print ""
    print header
    print ""
    print "| Variant | threads per account | qps (sum of 4) | qps per account | p95 (ms, worst account) | errors | account switches/s | sluice CPU (µs/stmt) | MariaDB CPU (µs/stmt) |"
    print "|---|---|--:|---|--:|--:|--:|--:|--:|"
    for (i = 1; i <= nv; i++) {
      v = V[i]
      if (!runs[v]) continue
      t = shape[v]; gsub(";", ",", t)
      per = fmt(acct[v, 1], "%.0f") " / " fmt(acct[v, 2], "%.0f") " / " fmt(acct[v, 3], "%.0f") " / " fmt(acct[v, 4], "%.0f")
      printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", v, t, fmt(med[v, "qps"], "%.0f"), per,
        fmt(med[v, "p95"], "%.2f"), fmt(med[v, "err"], "%g"), (v == d ? "—" : fmt(med[v, "sw"], "%.0f")),
        (v == d ? "—" : fmt(med[v, "cpu"], "%.1f")), fmt(med[v, "db"], "%.1f")
    }
    print ""
    printf "- qps server / config: %s (target >= 0.90: %s)\n", fmt(r_sc, "%.2f"), (r_sc != "" && r_sc >= 0.9) ? "PASS" : "FAIL"
    printf "- qps server / direct: %s; config / direct: %s\n", fmt(r_sd, "%.2f"), fmt(r_cd, "%.2f")
    if (r_skew != "") printf "- skewed load, qps server_skew / config_skew: %s\n", fmt(r_skew, "%.2f")
    if (med[s, "sw"] != "" && med[s, "qps"] + 0 > 0)
      printf "- account switches in server mode: %.0f/s, %.1f per 1000 statements\n", med[s, "sw"], med[s, "sw"] / med[s, "qps"] * 1000
    # What server mode costs per statement beyond config mode, spread over the switches: an upper
    # bound on the CPU one switch costs (it includes any other per-account work).
    if (med[s, "sw"] + 0 > 0 && med[s, "cpu"] != "" && med[c, "cpu"] != "")
      printf "- extra CPU of server mode per account switch: sluice %.1f µs, MariaDB %.1f µs (CPU/stmt difference x qps / switches/s)\n",
        (med[s, "cpu"] - med[c, "cpu"]) * med[s, "qps"] / med[s, "sw"], (med[s, "db"] - med[c, "db"]) * med[s, "qps"] / med[s, "sw"]
  }
' "$csv"
echo
if ((config_warnings + server_warnings)); then
  echo "sluice logged $config_warnings warn/error line(s) in config mode and $server_warnings in server mode: $results_dir/accounts-$run_id-*-sluice.log"
fi
echo "Every run: $csv"
