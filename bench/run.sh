#!/usr/bin/env bash
# sluice benchmark: sysbench against MariaDB directly, through HAProxy (mode tcp) and through
# sluice (transaction pooling), alternating the three targets within each repetition; with
# --compare BIN, also through a second sluice running BIN (sluice_before).
# What it measures and why: docs/BENCHMARKS.md. Options: bench/run.sh --help.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" bench bench/run.sh

# ---------------------------------------------------------------------------------------------
# Options. The defaults, usage and set_option read like those of the other bench scripts because
# the options are alike (--time, --reps, --cap, --sluice ...), not because logic is copied: they
# stay here, whole, as this script's interface. The parsing is parse_options in bench/lib.sh.

time_s=20
reps=3
cap=16
point_select_threads=1,32
read_write_threads=32,256
scenarios_arg=
tables=4
table_size=10000
haproxy_threads=
compare_bin=

usage() {
  cat <<EOF
Usage: bench/run.sh [options]

Starts a throwaway MariaDB, HAProxy (mode tcp) and sluice (transaction pooling) on free loopback
ports, prepares the sysbench tables once, then runs every scenario against the three targets
(direct, haproxy, sluice), alternating them within each repetition. Prints median tables (text
and markdown for docs/BENCHMARKS.md) and writes every run to bench/results/<timestamp>.csv.

  --time T              seconds per run (default $time_s)
  --reps N              repetitions per scenario and target (default $reps)
  --scenarios LIST      comma-separated subset of the scenarios, in the order to run them
                        (default: point_select_1,point_select_32,read_write_32,read_write_256)
  --threads-list LIST   thread counts, e.g. 8,64, for both workloads; or per workload:
                        point_select=1,32 / read_write=32,256 (repeat the option for both).
                        Scenario names are <workload>_<threads>.
  --cap N               sluice [backend] max_connections (default $cap)
  --tables N            sysbench --tables (default $tables)
  --table-size N        sysbench --table-size (default $table_size)
  --haproxy-threads N   HAProxy nbthread (default: HAProxy's own, one per CPU)
  --sluice BIN          benchmark this sluice binary (implies --no-build)
  --compare BIN         a fourth target, sluice_before: a second sluice with the same
                        configuration running BIN (e.g. an older build; its own backend account
                        sluice_before), alternated with the others; the ratios then include
                        sluice / sluice_before
  --no-build            do not build sluice; use $build_dir/daemon/sluice
  -h, --help            show this text

Exit status: 0 when every run succeeded, 1 when any run failed (the tables are still printed),
2 on bad usage; a failure of MariaDB or HAProxy aborts the benchmark.
EOF
}

# parse_options (bench/lib.sh) hands over every option with its value. Alike in every bench
# script on purpose: see "Options" above.
set_option() { # OPT VALUE
  local opt=$1 val=$2
  case $opt in
    --time) time_s=$val ;;
    --reps) reps=$val ;;
    --cap) cap=$val ;;
    --tables) tables=$val ;;
    --table-size) table_size=$val ;;
    --haproxy-threads) haproxy_threads=$val ;;
    --scenarios) scenarios_arg=$val ;;
    --sluice)
      path_option sluice_bin --sluice "$val"
      do_build=0
      ;;
    --compare) path_option compare_bin --compare "$val" ;;
    --threads-list)
      case $val in
        point_select=*) point_select_threads=${val#*=} ;;
        read_write=*) read_write_threads=${val#*=} ;;
        *)
          point_select_threads=$val
          read_write_threads=$val
          ;;
      esac
      ;;
    *) usage_error "unknown option '$opt'" ;;
  esac
}
parse_options "--time --reps --cap --tables --table-size --haproxy-threads --scenarios --sluice --compare --threads-list" "$@"

check_counts "time:$time_s" "reps:$reps" "cap:$cap" "tables:$tables" "table-size:$table_size"
[[ -z $haproxy_threads ]] || is_count "$haproxy_threads" ||
  usage_error "--haproxy-threads must be a positive whole number, got '$haproxy_threads'"
is_count_list "$point_select_threads" ||
  usage_error "--threads-list: bad point_select list '$point_select_threads' (want e.g. 1,32)"
is_count_list "$read_write_threads" ||
  usage_error "--threads-list: bad read_write list '$read_write_threads' (want e.g. 32,256)"

available=()
IFS=, read -ra list <<<"$point_select_threads"
for t in "${list[@]}"; do available+=("point_select_$t"); done
IFS=, read -ra list <<<"$read_write_threads"
for t in "${list[@]}"; do available+=("read_write_$t"); done

scenarios=()
if [[ -n $scenarios_arg ]]; then
  IFS=, read -ra list <<<"$scenarios_arg"
  for s in "${list[@]}"; do
    found=0
    for a in "${available[@]}"; do [[ $s == "$a" ]] && found=1; done
    ((found)) || usage_error "unknown scenario '$s' (available: $(
      IFS=,
      echo "${available[*]}"
    ))"
    for a in "${scenarios[@]}"; do [[ $s == "$a" ]] && usage_error "scenario '$s' listed twice"; done
    scenarios+=("$s")
  done
else
  scenarios=("${available[@]}")
fi
((${#scenarios[@]})) || usage_error "no scenarios to run"

targets=(direct haproxy sluice)
[[ -z $compare_bin ]] || targets+=(sluice_before)

# ---------------------------------------------------------------------------------------------
# Process helpers

work=
haproxy_pid=
sysbench_pid=

sluice_problems=()  # sluice failures, repeated in the final summary
sluice_sigterm_reported=''

# stop_pid (bench/lib.sh) had to SIGKILL NAME: for a sluice, that is a problem to report.
on_kill_after_grace() {
  if [[ $1 == sluice* && -z $sluice_sigterm_reported ]]; then
    sluice_sigterm_reported=1
    sluice_problems+=("$1 did not exit within ${2}s of SIGTERM; it was killed")
  fi
}

clean_up_on_exit sysbench:sysbench_pid:5 sluice:sluice_pid:10 sluice:other_sluice_pid:10 \
  haproxy:haproxy_pid:10 mariadbd:db_pid:60

# ---------------------------------------------------------------------------------------------
# Servers

haproxy_port=

# spawn_haproxy DIR: one attempt of start_haproxy (see with_retries in bench/lib.sh).
# shellcheck disable=SC2317  # called through with_retries
spawn_haproxy() {
  local dir=$1
  haproxy_port=$(free_port)
  {
    echo "global"
    echo "    maxconn 4096"
    [[ -n $haproxy_threads ]] && echo "    nbthread $haproxy_threads"
    echo "defaults"
    echo "    mode tcp"
    echo "    timeout connect 10s"
    echo "    timeout client 1h"
    echo "    timeout server 1h"
    echo "frontend mysql_in"
    echo "    bind 127.0.0.1:$haproxy_port"
    echo "    default_backend mariadb"
    echo "backend mariadb"
    echo "    server db1 127.0.0.1:$db_port maxconn 4096"
  } >"$dir/haproxy.cfg"
  haproxy -c -q -f "$dir/haproxy.cfg" >"$dir/check.log" 2>&1 || {
    cat "$dir/check.log" >&2
    die "HAProxy rejected the generated configuration $dir/haproxy.cfg"
  }
  haproxy -db -f "$dir/haproxy.cfg" >"$dir/haproxy.log" 2>&1 &
  haproxy_pid=$!
  wait_port_or_stop haproxy haproxy_pid "$haproxy_port" 30 "$dir/haproxy.log" 5
}

# HAProxy in mode tcp in front of the MariaDB; dies if it does not serve a client.
start_haproxy() {
  local dir=$work/haproxy
  mkdir -p "$dir"
  with_retries HAProxy spawn_haproxy "$dir" || die "HAProxy did not start (see above)"
  local err
  err=$(check_login "$haproxy_port") || die "cannot query MariaDB through HAProxy: $err"
  note "HAProxy on 127.0.0.1:$haproxy_port (pid $haproxy_pid)"
}


sluice_broken=     # why sluice is out of the benchmark, once it is
sluice_restarts=0
max_sluice_restarts=3
# These belong to one sluice (use_sluice in bench/lib.sh swaps them with --compare's).
sluice_state_vars+=(sluice_broken sluice_restarts sluice_sigterm_reported)
[[ -z $compare_bin ]] || add_sluice_before "$compare_bin"

# Starts the current sluice; on failure sets sluice_broken and returns 1 (the benchmark carries
# on without it).
start_sluice() {
  local rc=0
  launch_sluice 10s users.sbtest=sbtest-pw || rc=$?
  ((rc != 1)) || sluice_error+=" (its log is saved with the results)"
  if ((rc != 0)) || ! sluice_answers; then
    sluice_broken=$sluice_error
    return 1
  fi
  note "$sluice_name on 127.0.0.1:$sluice_port (pid $sluice_pid, $sluice_bin, max_connections=$cap)"
}


# recover_sluice CONTEXT [check]: if the current sluice died (or, with "check", stopped
# answering), reports it and restarts it, at most max_sluice_restarts times; then leaves it out
# (sluice_broken).
recover_sluice() {
  local context=$1 mode=${2-} why=''
  [[ -z $sluice_broken && -n $sluice_pid ]] || return 0
  if ! proc_alive "$sluice_pid"; then
    describe_exit "$sluice_pid"
    why="$sluice_name $exit_text $context"
  elif [[ $mode == check ]] && ! why=$(check_login "$sluice_port"); then
    why="$sluice_name stopped answering $context ($why)"
    stop_pid "$sluice_name" "$sluice_pid" 5
  else
    return 0
  fi
  sluice_pid=
  sluice_problem "$why"
  if [[ -s $sluice_log ]]; then
    note "last lines of $sluice_name's log:"
    tail -n 20 "$sluice_log" >&2 || true
  fi
  if ((sluice_restarts >= max_sluice_restarts)); then
    sluice_broken="$why (after $sluice_restarts restarts; no more)"
  else
    sluice_restarts=$((sluice_restarts + 1))
    note "restarting $sluice_name (restart $sluice_restarts of at most $max_sluice_restarts)"
    start_sluice || true
  fi
  if [[ -n $sluice_broken ]]; then
    sluice_problem "$sluice_broken; the remaining $sluice_name runs are skipped"
  fi
}

# recover_sluices CONTEXT: recover_sluice CONTEXT for each sluice (--compare runs two).
recover_sluices() {
  local s
  for s in "${sluices[@]}"; do
    use_sluice "$s"
    recover_sluice "$1"
  done
}

# MariaDB or HAProxy dying invalidates the baseline: abort.
check_infrastructure() {
  abort_if_dead mariadbd db_pid "$work/mariadb/err.log" MariaDB
  abort_if_dead haproxy haproxy_pid "$work/haproxy/haproxy.log" HAProxy
}

# ---------------------------------------------------------------------------------------------
# sysbench


csv_header="run,scenario,workload,threads,rep,target,status,qps,tps,p95_ms,errors,reconnects,queries,seconds,proxy_cpu_s,proxy_cpu_us_per_stmt,db_cpu_s,db_cpu_us_per_stmt,note"

# record SCENARIO REP TARGET STATUS NOTE [queries qps tps p95 errors reconnects seconds proxy_ticks db_ticks]
record() {
  local scenario=$1 rep=$2 target=$3 status=$4 note_text=${5//,/;}
  local queries=${6-} qps=${7-} tps=${8-} p95=${9-} errors=${10-} reconnects=${11-} secs=${12-}
  local proxy_ticks=${13-} db_ticks=${14-}
  local proxy_s='' proxy_us='' db_s='' db_us=''
  if [[ -n $queries && $queries -gt 0 ]]; then
    if [[ -n $proxy_ticks ]]; then
      proxy_s=$(awk -v t="$proxy_ticks" -v hz="$clk_tck" 'BEGIN { printf "%.2f", t / hz }')
      proxy_us=$(awk -v t="$proxy_ticks" -v hz="$clk_tck" -v q="$queries" 'BEGIN { printf "%.2f", t / hz / q * 1e6 }')
    fi
    if [[ -n $db_ticks ]]; then
      db_s=$(awk -v t="$db_ticks" -v hz="$clk_tck" 'BEGIN { printf "%.2f", t / hz }')
      db_us=$(awk -v t="$db_ticks" -v hz="$clk_tck" -v q="$queries" 'BEGIN { printf "%.2f", t / hz / q * 1e6 }')
    fi
  fi
  echo "$run_id,$scenario,${scenario%_*},${scenario##*_},$rep,$target,$status,$qps,$tps,$p95,$errors,$reconnects,$queries,$secs,$proxy_s,$proxy_us,$db_s,$db_us,$note_text" >>"$csv"
  if [[ $status == ok ]]; then
    local cpu_text=''
    [[ -n $proxy_us ]] && cpu_text=", proxy ${proxy_us} us/stmt"
    note "  $qps qps, p95 $p95 ms, $errors errors$cpu_text"
  else
    note "  FAILED: $note_text"
  fi
}

failed_runs=0

run_one() { # SCENARIO REP TARGET
  local scenario=$1 rep=$2 target=$3
  local workload=${scenario%_*} threads=${scenario##*_}
  local script port pid='' log args
  case $workload in
    point_select) script=oltp_point_select ;;
    read_write) script=oltp_read_write ;;
    *) die "internal: unknown workload $workload" ;;
  esac
  case $target in
    direct) port=$db_port ;;
    haproxy)
      port=$haproxy_port
      pid=$haproxy_pid
      ;;
    sluice | sluice_before)
      use_sluice "$target"
      if [[ -n $sluice_broken ]]; then
        failed_runs=$((failed_runs + 1))
        record "$scenario" "$rep" "$target" failed "not run: $sluice_broken"
        return
      fi
      port=$sluice_port
      pid=$sluice_pid
      ;;
  esac
  log=$work/runs/$scenario-$target-rep$rep.log
  read -ra args <<<"$(sysbench_args "$port")"

  local proxy_before='' db_before rc=0
  db_before=$(cpu_ticks "$db_pid") || die "cannot read /proc/$db_pid/stat"
  [[ -n $pid ]] && { proxy_before=$(cpu_ticks "$pid") || proxy_before=; }
  # The grace period covers statements queued when the run ends (sluice's queue timeout is 10s).
  timeout -k 10 $((time_s + 60)) sysbench "$script" "${args[@]}" --threads="$threads" \
    --time="$time_s" --db-ps-mode=disable --mysql-ignore-errors=all --percentile=95 \
    --report-interval=0 run >"$log" 2>&1 &
  sysbench_pid=$!
  wait "$sysbench_pid" || rc=$?
  sysbench_pid=
  local proxy_after='' db_after proxy_ticks='' db_ticks=''
  db_after=$(cpu_ticks "$db_pid") || db_after=
  [[ -n $pid ]] && { proxy_after=$(cpu_ticks "$pid") || proxy_after=; }
  [[ -n $db_after ]] && db_ticks=$((db_after - db_before))
  [[ -n $proxy_before && -n $proxy_after ]] && proxy_ticks=$((proxy_after - proxy_before))

  check_infrastructure

  sysbench_outcome "$rc" "$log" $((time_s + 60))
  local why=$sysbench_failure
  if [[ $target == sluice* ]]; then
    if ! proc_alive "$sluice_pid"; then
      why="$target died during the run${why:+; $why}"
    elif [[ -z $proxy_ticks ]]; then
      why="could not read $target's CPU time${why:+; $why}"
    fi
  elif [[ $target == haproxy && -z $proxy_ticks && -z $why ]]; then
    why="could not read HAProxy's CPU time"
  fi

  if [[ -n $why ]]; then
    failed_runs=$((failed_runs + 1))
    note "  last lines of the sysbench log:"
    tail -n 8 "$log" | sed 's/^/    /' >&2 || true
    cp "$log" "$results_dir/$run_id-$scenario-$target-rep$rep.log" 2>/dev/null || true
    record "$scenario" "$rep" "$target" failed "$why"
    if [[ $target == sluice* ]]; then
      use_sluice "$target"
      recover_sluice "during the $scenario run (rep $rep)" check
    fi
    recover_sluices "while the $target $scenario run (rep $rep) was going on"
    return
  fi
  recover_sluices "while the $target $scenario run (rep $rep) was going on"
  local q qps tps p95 errors reconnects secs
  read -r q qps tps p95 errors reconnects secs <<<"$sysbench_result"
  record "$scenario" "$rep" "$target" ok "" "$q" "$qps" "$tps" "$p95" "$errors" "$reconnects" \
    "$secs" "$proxy_ticks" "$db_ticks"
}

# ---------------------------------------------------------------------------------------------
# Report: medians over the successful repetitions of each (scenario, target)

report() {
  awk -F, -v scen="$(
    IFS=,
    echo "${scenarios[*]}"
  )" -v targets="${targets[*]}" -v header="$1" "$awk_table_functions"'
    function ratio(a, b) { return (a == "" || b == "" || b + 0 == 0) ? "" : a / b }
    function add(k, f, v) { if (v != "") vals[k, f] = vals[k, f] " " v }
    NR == 1 { next }
    {
      k = $2 SUBSEP $6
      runs[k]++
      if ($7 != "ok") { why[k] = $19; next }
      ok[k]++
      add(k, "qps", $8); add(k, "tps", $9); add(k, "p95", $10); add(k, "err", $11)
      add(k, "cpu", $16); add(k, "db", $18)
      if ($11 + 0 > maxerr[k] + 0) maxerr[k] = $11
    }
    END {
      ns = split(scen, S, ",")
      nt = split(targets, T, " ")
      before = (T[nt] == "sluice_before") # --compare: ratios of sluice to sluice_before too
      tw = 8
      for (j = 1; j <= nt; j++) if (length(T[j]) > tw) tw = length(T[j])
      row = "%-16s %-" tw "s %5s %10s %9s %9s %7s %16s %16s\n"
      for (i = 1; i <= ns; i++) for (j = 1; j <= nt; j++) {
        k = S[i] SUBSEP T[j]
        split("qps tps p95 err cpu db", F, " ")
        for (m = 1; m <= 6; m++) med[k, F[m]] = median(vals[k, F[m]])
      }

      print ""
      print "Medians over the successful repetitions (CPU = utime+stime per statement):"
      printf row, "scenario", "target", "ok", "qps", "tps", "p95 ms", "errors", "proxy CPU us/st", "MariaDB CPU us/st"
      for (i = 1; i <= ns; i++) for (j = 1; j <= nt; j++) {
        k = S[i] SUBSEP T[j]
        if (!ok[k]) {
          printf "%-16s %-" tw "s %5s  FAILED: %s\n", S[i], T[j], ok[k] + 0 "/" runs[k] + 0, why[k]
          continue
        }
        printf row, S[i], T[j], ok[k] "/" runs[k],
          fmt(med[k, "qps"], "%.1f"), fmt(med[k, "tps"], "%.1f"), fmt(med[k, "p95"], "%.2f"),
          fmt(med[k, "err"], "%g"), fmt(med[k, "cpu"], "%.2f"), fmt(med[k, "db"], "%.2f")
      }

      print ""
      print "Ratios of the medians:"
      printf "%-16s %18s %19s %19s %18s", "scenario", "qps sluice/direct", "qps sluice/haproxy", "CPU sluice/haproxy", "p95 sluice/direct"
      if (before) printf " %25s %25s %25s", "qps sluice/sluice_before", "p95 sluice/sluice_before", "CPU sluice/sluice_before"
      print ""
      for (i = 1; i <= ns; i++) {
        d = S[i] SUBSEP "direct"; h = S[i] SUBSEP "haproxy"; s = S[i] SUBSEP "sluice"; b = S[i] SUBSEP "sluice_before"
        r_qd[i] = ratio(med[s, "qps"], med[d, "qps"])
        r_qh[i] = ratio(med[s, "qps"], med[h, "qps"])
        r_ch[i] = ratio(med[s, "cpu"], med[h, "cpu"])
        r_pd[i] = ratio(med[s, "p95"], med[d, "p95"])
        r_qb[i] = ratio(med[s, "qps"], med[b, "qps"])
        r_pb[i] = ratio(med[s, "p95"], med[b, "p95"])
        r_cb[i] = ratio(med[s, "cpu"], med[b, "cpu"])
        printf "%-16s %18s %19s %19s %18s", S[i], fmt(r_qd[i], "%.2f"), fmt(r_qh[i], "%.2f"), fmt(r_ch[i], "%.2f"), fmt(r_pd[i], "%.2f")
        if (before) printf " %25s %25s %25s", fmt(r_qb[i], "%.2f"), fmt(r_pb[i], "%.2f"), fmt(r_cb[i], "%.2f")
        print ""
      }

      print ""
      print "Targets (docs/BENCHMARKS.md):"
      checks = 0
      for (i = 1; i <= ns; i++) {
        s = S[i] SUBSEP "sluice"
        if (S[i] == "point_select_32") {
          checks++
          verdict(r_qh[i] != "" && r_qh[i] >= 1.0, "point_select_32: qps sluice/haproxy = " fmt(r_qh[i], "%.2f") " (>= 1.00)")
          verdict(r_ch[i] != "" && r_ch[i] <= 1.0, "point_select_32: CPU/statement sluice/haproxy = " fmt(r_ch[i], "%.2f") " (<= 1.00)")
        }
        if (S[i] == "read_write_256") {
          checks++
          verdict(ok[s] && maxerr[s] + 0 == 0, "read_write_256: sluice errors, worst repetition = " (ok[s] ? maxerr[s] + 0 : "-") " (0)")
          verdict(r_qd[i] != "" && r_qd[i] >= 1.0, "read_write_256: qps sluice/direct = " fmt(r_qd[i], "%.2f") " (>= 1.00)")
          verdict(r_pd[i] != "" && r_pd[i] < 1.0, "read_write_256: p95 sluice/direct = " fmt(r_pd[i], "%.2f") " (well below 1.00)")
        }
      }
      if (!checks) print "  (neither point_select_32 nor read_write_256 was run)"

      print ""
      print "Markdown for docs/BENCHMARKS.md:"
      print ""
      print header
      print ""
      print "| Scenario | Target | OK runs | qps | tps | p95 (ms) | Errors | Proxy CPU µs/stmt | MariaDB CPU µs/stmt |"
      print "|---|---|--:|--:|--:|--:|--:|--:|--:|"
      for (i = 1; i <= ns; i++) for (j = 1; j <= nt; j++) {
        k = S[i] SUBSEP T[j]
        if (!ok[k]) { printf "| %s | %s | 0/%d | failed | | | | | |\n", S[i], T[j], runs[k]; continue }
        printf "| %s | %s | %d/%d | %s | %s | %s | %s | %s | %s |\n", S[i], T[j], ok[k], runs[k],
          fmt(med[k, "qps"], "%.0f"), fmt(med[k, "tps"], "%.0f"), fmt(med[k, "p95"], "%.2f"),
          fmt(med[k, "err"], "%g"), (T[j] == "direct" ? "—" : fmt(med[k, "cpu"], "%.1f")), fmt(med[k, "db"], "%.1f")
      }
      print ""
      printf "| Scenario | qps sluice/direct | qps sluice/HAProxy | CPU/stmt sluice/HAProxy | p95 sluice/direct |"
      print before ? " qps sluice/sluice_before | p95 sluice/sluice_before | CPU/stmt sluice/sluice_before |" : ""
      print "|---|--:|--:|--:|--:|" (before ? "--:|--:|--:|" : "")
      for (i = 1; i <= ns; i++) {
        printf "| %s | %s | %s | %s | %s |", S[i], fmt(r_qd[i], "%.2f"), fmt(r_qh[i], "%.2f"), fmt(r_ch[i], "%.2f"), fmt(r_pd[i], "%.2f")
        print before ? sprintf(" %s | %s | %s |", fmt(r_qb[i], "%.2f"), fmt(r_pb[i], "%.2f"), fmt(r_cb[i], "%.2f")) : ""
      }
    }
    function verdict(pass, text) { printf "  %-4s %s\n", pass ? "PASS" : "FAIL", text }
  ' "$csv"
}

# ---------------------------------------------------------------------------------------------
# Main

require sysbench haproxy mariadbd mariadb-install-db mariadb timeout awk getconf
((do_build)) && require cmake
clk_tck=$(getconf CLK_TCK)
run_id=$(date -u +%Y%m%dT%H%M%SZ)
make_results_dir
csv=$results_dir/$run_id.csv

if ((do_build)); then build_targets sluice; fi
[[ -x $sluice_bin ]] || die "no sluice binary at $sluice_bin (build it, or pass --sluice BIN)"
[[ -z $compare_bin || -x $compare_bin ]] || die "no sluice binary at $compare_bin (--compare)"

work=$(mktemp -d -t sluice-bench.XXXXXX)
mkdir -p "$work/runs"

start_sysbench_database
start_haproxy
if ! start_sluice; then
  sluice_problem "$sluice_broken"
  note "continuing with direct and HAProxy only; every sluice run is recorded as failed"
fi
if [[ -n $compare_bin ]]; then
  create_backend_account sluice_before sbtest
  use_sluice sluice_before
  if ! start_sluice; then
    sluice_problem "$sluice_broken"
    note "continuing without sluice_before; every sluice_before run is recorded as failed"
  fi
  use_sluice sluice
fi
prepare_tables

commit=$(measured_commit)
sluice_version=$("$sluice_bin" --version 2>/dev/null || echo "sluice ?")
before_text=
if [[ -n $compare_bin ]]; then
  before_text=", sluice_before: $("$compare_bin" --version 2>/dev/null || echo "sluice ?") ($compare_bin, $(date -u -r "$compare_bin" +%Y-%m-%dT%H:%MZ) binary)"
fi
md_header="Run $run_id: commit $commit, $sluice_version$before_text, sluice max_connections=$cap; $(nproc) CPUs shared by sysbench, proxy and MariaDB $(db_sql 'SELECT VERSION()'); HAProxy $(haproxy -v | awk 'NR == 1 { print $3 }'); sysbench $(sysbench --version | awk '{ print $2 }'), text protocol, $tables tables x $table_size rows; medians of $reps alternated runs of ${time_s}s."

echo "$csv_header" >"$csv"
total=$((${#scenarios[@]} * reps * ${#targets[@]}))
n=0
note "running ${#scenarios[@]} scenario(s) x $reps rep(s) x ${#targets[@]} targets x ${time_s}s (about $((total * (time_s + 2) / 60 + 1)) min)"
for scenario in "${scenarios[@]}"; do
  for ((rep = 1; rep <= reps; rep++)); do
    for target in "${targets[@]}"; do
      n=$((n + 1))
      note "[$n/$total] $scenario rep $rep/$reps: $target"
      run_one "$scenario" "$rep" "$target"
      sleep 1
    done
  done
done

# Graceful shutdown is part of the check: SIGTERM with no clients must end sluice promptly, with 0.
for s in "${sluices[@]}"; do
  use_sluice "$s"
  if [[ -n $sluice_pid ]] && proc_alive "$sluice_pid"; then
    shutdown_status=0
    shutdown_sluice "with no clients connected" || shutdown_status=$?
    # A sluice killed after SIGTERM was already reported then (on_kill_after_grace).
    if ((shutdown_status == 2)) || { ((shutdown_status == 1)) && [[ -z $sluice_sigterm_reported ]]; }; then
      sluice_problem "$shutdown_problem"
    fi
  fi

  if ((${#sluice_problems[@]})) && [[ -s $sluice_log ]]; then
    cp "$sluice_log" "$results_dir/$run_id-$s.log" || true
  fi
done
use_sluice sluice

report "$md_header"
echo
echo "Raw runs: $csv"
status=0
if ((failed_runs)); then
  echo
  echo "WARNING: $failed_runs of $total runs failed (see the FAILED lines above and $csv)."
  status=1
fi
if ((${#sluice_problems[@]})); then
  echo
  echo "SLUICE PROBLEMS:"
  printf '  - %s\n' "${sluice_problems[@]}"
  for s in "${sluices[@]}"; do
    use_sluice "$s"
    ((sluice_restarts)) && echo "  ($s was restarted $sluice_restarts time(s))"
    [[ -f $results_dir/$run_id-$s.log ]] && echo "  $s's log: $results_dir/$run_id-$s.log"
  done
  status=1
fi
exit "$status"
