#!/usr/bin/env bash
# Binary prepared statements through sluice: sysbench oltp_read_write --db-ps-mode=auto with 64
# threads, directly on MariaDB and through sluice (transaction pooling, 8 backend connections),
# alternating the two (with --compare BIN, also through a second sluice running BIN). Samples the
# backend connections every 100 ms while sluice runs.
# What it shows and the latest result: docs/BENCHMARKS.md, "Prepared statements".
# Options: bench/ps.sh --help.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" ps bench/ps.sh

# ---------------------------------------------------------------------------------------------
# Options. The defaults, usage and set_option read like those of the other bench scripts because
# the options are alike (--time, --reps, --cap, --sluice ...), not because logic is copied: they
# stay here, whole, as this script's interface. The parsing is parse_options in bench/lib.sh.

time_s=30
reps=3
threads=64
cap=8
queue_timeout=20s
tables=4
table_size=10000
targets_arg=direct,sluice
compare_bin=

usage() {
  cat <<EOF
Usage: bench/ps.sh [options]

Starts a throwaway MariaDB and sluice (pool_mode transaction, [backend] max_connections=$cap) on
free loopback ports, prepares the sysbench tables once, then runs sysbench oltp_read_write with
binary prepared statements (--db-ps-mode=auto) and $threads threads, alternating direct and sluice
runs. While a run goes on it samples, every 100 ms, the connections MariaDB sees per user
(information_schema.PROCESSLIST: 'sluice' is sluice's backend account), the prepared statements
MariaDB holds, and sluice's own SHOW POOLS; it scrapes /metrics before, near the end of and after
each sluice run. Prints a table per run and the medians (text and markdown for
docs/BENCHMARKS.md), the errors sysbench saw (texts and counts), and writes every run to
bench/results/ps-<timestamp>.csv (the sysbench logs, samples and scrapes of the sluice runs and
the uncommitted changes measured go next to it).

  --time T              seconds per run (default $time_s)
  --reps N              repetitions per target (default $reps)
  --threads N           sysbench threads = client connections (default $threads)
  --cap N               sluice [backend] max_connections (default $cap)
  --queue-timeout T     sluice [queue] timeout, e.g. 20s or 500ms (default $queue_timeout;
                        keep it below sysbench's 30 s for thread start-up, so that a client that
                        cannot get a backend fails with sluice's error rather than sysbench's)
  --tables N            sysbench --tables (default $tables)
  --table-size N        sysbench --table-size (default $table_size)
  --targets LIST        direct,sluice (default) or sluice alone (a quick check of a new build)
  --sluice BIN          benchmark this sluice binary (implies --no-build)
  --compare BIN         one more target, sluice_before: a second sluice with the same
                        configuration running BIN (e.g. an older build; its own backend account
                        sluice_before), alternated with the others; the medians then include
                        qps and p95 sluice / sluice_before
  --no-build            do not build sluice; use $build_dir/daemon/sluice
  -h, --help            show this text

Exit status: 0 when every sluice run finished with 0 errors (sysbench ignored errors and
reconnects) and never more than --cap backend connections; 1 otherwise (the tables are still
printed); 2 on bad usage. Errors of the direct and sluice_before runs are reported, not judged.
EOF
}

# parse_options (bench/lib.sh) hands over every option with its value. Alike in every bench
# script on purpose: see "Options" above.
set_option() { # OPT VALUE
  local opt=$1 val=$2
  case $opt in
    --time) time_s=$val ;;
    --reps) reps=$val ;;
    --threads) threads=$val ;;
    --cap) cap=$val ;;
    --queue-timeout) queue_timeout=$val ;;
    --tables) tables=$val ;;
    --table-size) table_size=$val ;;
    --targets) targets_arg=$val ;;
    --sluice)
      path_option sluice_bin --sluice "$val"
      do_build=0
      ;;
    --compare) path_option compare_bin --compare "$val" ;;
    *) usage_error "unknown option '$opt'" ;;
  esac
}
parse_options "--time --reps --threads --cap --queue-timeout --tables --table-size --targets --sluice --compare" "$@"

check_counts "time:$time_s" "reps:$reps" "threads:$threads" "cap:$cap" "tables:$tables" \
  "table-size:$table_size"
[[ $queue_timeout =~ ^([0-9]+)(ms|s|m)?$ ]] ||
  usage_error "--queue-timeout must be a whole duration such as 30s or 500ms, got '$queue_timeout'"
case ${BASH_REMATCH[2]} in
  ms) queue_timeout_s=$(((BASH_REMATCH[1] + 999) / 1000)) ;;
  m) queue_timeout_s=$((BASH_REMATCH[1] * 60)) ;;
  *) queue_timeout_s=${BASH_REMATCH[1]} ;;
esac
case $targets_arg in
  direct,sluice) targets=(direct sluice) ;;
  sluice,direct) targets=(sluice direct) ;;
  sluice) targets=(sluice) ;;
  *) usage_error "--targets must be direct,sluice or sluice, got '$targets_arg'" ;;
esac
[[ -z $compare_bin ]] || targets+=(sluice_before)

# A run may overrun --time by the statements still queued in sluice when it ends.
run_limit=$((time_s + queue_timeout_s + 30))

# ---------------------------------------------------------------------------------------------
# Processes

work=
sysbench_pid=
sampler_pid=
sluice_problems=()

# stop_pid (bench/lib.sh) had to SIGKILL NAME.
on_kill_after_grace() {
  [[ $1 == sluice* ]] && sluice_problems+=("$1 did not exit within ${2}s of SIGTERM; it was killed")
}

clean_up_on_exit sampler:sampler_pid:2 sysbench:sysbench_pid:5 sluice:sluice_pid:10 \
  sluice:other_sluice_pid:10 mariadbd:db_pid:60

# ---------------------------------------------------------------------------------------------
# Servers

# Starts the current sluice (bench/lib.sh) and checks that it serves a client; returns 1 if not.
start_sluice() {
  local rc=0
  launch_sluice "$queue_timeout" backend.reserve_connections=0 users.sbtest=sbtest-pw || rc=$?
  ((rc != 2)) || die "$sluice_error"
  ((rc == 0)) || return 1
  if ! sluice_answers; then
    sluice_problem "$sluice_error"
    return 1
  fi
  note "$sluice_name on 127.0.0.1:$sluice_port (pid $sluice_pid, max_connections=$cap, queue timeout $queue_timeout, metrics :$metrics_port, admin :$admin_port)"
}

# Restarts the current sluice if it died or was stopped after a hang, at most 3 times; returns 1
# if it is not running (the sluice run is then recorded as failed).
sluice_restarts=0
sluice_state_vars+=(sluice_restarts) # one count per sluice (use_sluice in bench/lib.sh)
[[ -z $compare_bin ]] || add_sluice_before "$compare_bin"
ensure_sluice() {
  if [[ -n $sluice_pid ]] && proc_alive "$sluice_pid"; then return 0; fi
  if [[ -n $sluice_pid ]]; then
    describe_exit "$sluice_pid"
    sluice_problem "$sluice_name $exit_text"
    tail -n 20 "$sluice_log" >&2 || true
    sluice_pid=
  fi
  ((sluice_restarts < 3)) || return 1
  sluice_restarts=$((sluice_restarts + 1))
  note "restarting $sluice_name (restart $sluice_restarts of at most 3)"
  start_sluice
}

# The backend connections of the sluice that is not current (0 without --compare): they stay
# open while it idles, and count in MariaDB's Max_used_connections.
other_sluice_backends() {
  if ((${#sluices[@]} < 2)); then
    echo 0
  else
    db_sql "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = '$other_sluice_backend_user'"
  fi
}

# GET /metrics from sluice into FILE (empty file if sluice does not answer).
scrape() {
  curl -s --max-time 5 "http://127.0.0.1:$metrics_port/metrics" >"$1" 2>/dev/null || : >"$1"
}

# Waits until no sysbench client is connected to MariaDB any more (the previous run's
# disconnections may still be in progress), then resets MariaDB's status counters so that
# Max_used_connections is this run's own.
settle_database() {
  local i n
  # Not Threads_connected, as bench/storm.sh waits for: sluice's idle backends stay connected.
  for ((i = 0; i < 300; i++)); do
    n=$(db_sql "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'sbtest'") || n=1
    ((n == 0)) && break
    sleep 0.1
  done
  db_sql "FLUSH STATUS"
}

# ---------------------------------------------------------------------------------------------
# The sampler: a background loop that, every 100 ms, asks MariaDB (one persistent root session)
# how many connections each user has and, with an admin port, sluice's SHOW POOLS (one persistent
# admin connection). One line per sample in OUT (sluice conns: the current sluice's backend
# account's):
#   <epoch s> <sluice conns> <sbtest conns> <prepared statements on the server>
#     [<cl_active> <cl_waiting> <sv_active> <sv_idle> <sv_opening> <sv_pinned>]
# It stops when STOPFILE exists. Its own MariaDB session is one connection more than the run's.

start_sampler() { # OUT STOPFILE [ADMIN_PORT]
  local out=$1 stopfile=$2 admin=${3-}
  (
    set +e
    exec 2>>"$work/sampler.err" </dev/null
    coproc DB { exec mariadb --no-defaults --socket="$db_sock" -uroot --batch --skip-column-names --unbuffered; }
    local q="SELECT COUNT(IF(USER = '$sluice_backend_user', 1, NULL)), COUNT(IF(USER = 'sbtest', 1, NULL)),
      (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'PREPARED_STMT_COUNT')
      FROM information_schema.PROCESSLIST;"
    local line db pool row f admin_open=
    while [[ ! -e $stopfile ]]; do
      echo "$q" >&"${DB[1]}" || break
      read -r -t 5 db <&"${DB[0]}" || break
      pool=
      if [[ -n $admin && -z $admin_open ]]; then
        # Connect and write at once: the admin port takes a client that stays silent for
        # 150 ms for a person and answers it with a banner and prompts.
        if exec 4<>"/dev/tcp/127.0.0.1/$admin"; then admin_open=1; else admin=; fi
      fi
      if [[ -n $admin ]]; then
        if echo "SHOW POOLS" >&4; then
          row=
          while read -r -t 5 line <&4; do
            [[ -z $line ]] && break
            [[ $line == default\ * ]] && row=$line
          done
          if [[ -n $row ]]; then
            read -ra f <<<"$row"
            pool=" ${f[1]} ${f[2]} ${f[3]} ${f[4]} ${f[5]} ${f[6]}"
          fi
        else
          admin=
        fi
      fi
      echo "$EPOCHREALTIME ${db//$'\t'/ }$pool" >>"$out"
      sleep 0.1
    done
    [[ -n $admin_open ]] && exec 4>&-
    eval "exec ${DB[1]}>&-"
    wait
  ) &
  sampler_pid=$!
}

stop_sampler() { # STOPFILE
  : >"$1"
  local i
  for ((i = 0; i < 100; i++)); do
    proc_alive "$sampler_pid" || break
    sleep 0.1
  done
  stop_pid sampler "$sampler_pid" 2
  sampler_pid=
}

# ---------------------------------------------------------------------------------------------
# sysbench


# The distinct errors in a sysbench log, with counts. sysbench writes an ignored error only at
# debug verbosity ("Ignoring error 1213 ..."), hence --verbosity=5 below, and folds repeats into
# "(last message repeated N times)", which is counted back in. Thread numbers and milliseconds in
# the texts are replaced by N so that equal errors count together.
error_summary() { # LOG
  awk '
    /\(last message repeated [0-9]+ times\)/ {
      if (last != "") { n = $0; sub(/.*repeated /, "", n); cnt[last] += n + 0 }
      next
    }
    { last = "" }
    /Worker thread .* failed to initialize/ { $0 = "Worker thread (#N) failed to initialize!" }
    /Ignoring error|FATAL|ALERT|WARNING|error [0-9]+|Lost connection|failed/ {
      t = $0
      sub(/^(DEBUG|WARNING): /, "", t); sub(/, *$/, "", t); gsub(/[0-9]+ ms/, "N ms", t)
      cnt[t]++; last = t
    }
    END { for (t in cnt) printf "%7d %s\n", cnt[t], t }
  ' "$1" 2>/dev/null | sort -rn | head -n 20 || true
}

# ---------------------------------------------------------------------------------------------
# Metrics

metric_families() { # FILE: the families /metrics exposes
  awk '$1 == "#" && $2 == "TYPE" { print $3 " (" $4 ")" }' "$1"
}

# Series of the interesting counters that changed between two scrapes, "name{labels} delta".
counter_deltas() { # BEFORE AFTER
  awk '
    FNR == 1 { file++ }
    /^#/ || NF < 2 { next }
    { name = $1; sub(/\{.*/, "", name) }
    name !~ /_total$/ && name !~ /restore|replay|reprepar|prepar|stmt/ { next }
    name ~ /_bucket$|_sum$/ { next }
    name !~ /restore|replay|reprepar|prepar|stmt|pinned|statements_total|transactions_total|queue_timeouts|queue_overflows|rejections|backend_connects|backend_resets|backend_closed|client_timeouts/ { next }
    file == 1 { before[$1] = $2; next }
    { d = $2 - before[$1]; if (d != 0) printf "%s %g\n", $1, d }
  ' "$1" "$2"
}

# Gauges worth a look near the end of a run (clients still connected): sluice_clients_pinned by
# reason (non-zero ones), sluice_clients, sluice_backends, and any gauge about prepared statements.
gauge_snapshot() { # FILE
  awk '
    /^#/ || NF < 2 { next }
    { name = $1; sub(/\{.*/, "", name) }
    name == "sluice_clients_pinned" && $2 + 0 != 0 { print; next }
    name == "sluice_clients" || name == "sluice_backends" { print; next }
    name !~ /_total$|_bucket$|_sum$|_count$/ && name ~ /restore|replay|reprepar|prepar|stmt/ { print }
  ' "$1"
}

metric_value() { # FILE SERIES (exact "name{labels}" or bare name): the value, or empty
  awk -v s="$2" '$1 == s { print $2; exit }' "$1"
}

# ---------------------------------------------------------------------------------------------
# Other load on the machine. The benchmark shares 2 cores with whatever else runs; a run is only
# clean if nothing else took CPU. cpu_snapshot sets snapshot to "<wall s> <busy ticks of all
# CPUs> <ticks of mariadbd> <ticks of sluice (both, with --compare)> <ticks of this script's
# reaped children>" (not a
# $(...) function: `times` must run in this shell), and other_cpu_pct turns two snapshots into
# the share of the machine (all CPUs) that processes other than the benchmark's used in between,
# in %.

snapshot=
cpu_snapshot() {
  local busy children db sl other=0
  busy=$(awk '$1 == "cpu" { print $2 + $3 + $4; exit }' /proc/stat)
  db=$(cpu_ticks "$db_pid" 2>/dev/null) || db=0
  sl=0
  [[ -n $sluice_pid ]] && { sl=$(cpu_ticks "$sluice_pid" 2>/dev/null) || sl=0; }
  [[ -n $other_sluice_pid ]] && { other=$(cpu_ticks "$other_sluice_pid" 2>/dev/null) || other=0; }
  sl=$((sl + other))
  # `times`, second line: user and system time of the reaped children (sysbench, the sampler,
  # mariadb and curl clients), e.g. "0m12.345s 0m3.210s".
  times >"$work/times"
  children=$(awk -v hz="$clk_tck" 'NR == 2 {
    t = 0
    for (i = 1; i <= 2; i++) { split($i, a, "m"); sub(/s$/, "", a[2]); t += a[1] * 60 + a[2] }
    printf "%d", t * hz }' "$work/times")
  snapshot="$EPOCHREALTIME $busy $db $sl $children"
}

other_cpu_pct() { # BEFORE AFTER (cpu_snapshot lines); sluice restarts in between spoil it
  awk -v b="$1" -v a="$2" -v hz="$clk_tck" -v n="$(nproc)" 'BEGIN {
    split(b, x, " "); split(a, y, " ")
    wall = (y[1] - x[1]) * hz * n
    other = (y[2] - x[2]) - (y[3] - x[3]) - (y[4] - x[4]) - (y[5] - x[5])
    if (wall <= 0 || y[4] < x[4]) exit
    if (other < 0) other = 0
    printf "%.0f", 100 * other / wall }'
}

# ---------------------------------------------------------------------------------------------
# Runs

# Columns of the CSV, one row per run. See docs/BENCHMARKS.md, "Prepared statements".
csv_columns=(run rep target status qps tps p95_ms errors reconnects queries seconds clients
  backends_max backends_peak_db backends_max_sluice_view ratio_backends_clients
  pinned_backends_max waiting_clients_max server_stmts_max server_prepares server_executes
  server_reprepares server_closes samples other_cpu_pct note)
csv_header=$(
  IFS=,
  echo "${csv_columns[*]}"
)
failed_runs=0
bad_sluice_runs=0
bad_before_runs=0

# count_bad_run TARGET: a sluice run failed, had errors or exceeded the cap. Those of sluice count
# against the exit status; those of sluice_before (--compare) are reported only.
count_bad_run() {
  case $1 in
    sluice) bad_sluice_runs=$((bad_sluice_runs + 1)) ;;
    sluice_before) bad_before_runs=$((bad_before_runs + 1)) ;;
  esac
}
metric_list_file=
declare -A R=() # the current run's columns

record() {
  local c line=''
  R[run]=$run_id
  R[note]=${R[note]-}
  R[note]=${R[note]//,/;}
  for c in "${csv_columns[@]}"; do line+="${line:+,}${R[$c]-}"; done
  echo "$line" >>"$csv"
}

# MariaDB's prepared-statement counters, "prepare execute reprepare close".
db_stmt_counters() {
  db_sql "SHOW GLOBAL STATUS WHERE Variable_name IN
    ('Com_stmt_prepare', 'Com_stmt_execute', 'Com_stmt_reprepare', 'Com_stmt_close')" |
    awk '{ v[$1] = $2 } END { print v["Com_stmt_prepare"] + 0, v["Com_stmt_execute"] + 0, v["Com_stmt_reprepare"] + 0, v["Com_stmt_close"] + 0 }'
}

run_one() { # REP TARGET
  local rep=$1 target=$2 port log args rc=0
  local dir=$work/runs/$target-rep$rep
  mkdir -p "$dir"
  log=$dir/sysbench.log
  R=([rep]=$rep [target]=$target)
  # via_sluice: through either sluice (sluice, or --compare's sluice_before).
  local via_sluice=''
  [[ $target == sluice* ]] && via_sluice=1
  case $target in
    direct) port=$db_port ;;
    sluice | sluice_before)
      use_sluice "$target"
      if ! ensure_sluice; then
        failed_runs=$((failed_runs + 1))
        count_bad_run "$target"
        R[status]=failed
        R[note]="$target is not running and could not be restarted"
        record
        note "  FAILED: ${R[note]}"
        return
      fi
      port=$sluice_port
      ;;
  esac
  read -ra args <<<"$(sysbench_args "$port")"

  settle_database
  [[ -n $via_sluice ]] && scrape "$dir/before.prom"
  local stmt_before cpu_before other_before other_after
  other_before=$(other_sluice_backends) || other_before=
  stmt_before=$(db_stmt_counters)
  cpu_snapshot
  cpu_before=$snapshot
  local stopfile=$dir/stop samples=$dir/samples
  : >"$samples"
  start_sampler "$samples" "$stopfile" "$([[ -n $via_sluice ]] && echo "$admin_port")"

  timeout -k 10 "$run_limit" sysbench oltp_read_write "${args[@]}" --threads="$threads" \
    --time="$time_s" --db-ps-mode=auto --mysql-ignore-errors=all --percentile=95 \
    --report-interval=0 --verbosity=5 run >"$log" 2>&1 &
  sysbench_pid=$!
  # Near the end of the run, while every client is still connected: a scrape for the gauges.
  if [[ -n $via_sluice ]]; then
    local t0=$SECONDS
    while proc_alive "$sysbench_pid" && ((SECONDS - t0 < time_s - 2)); do sleep 0.5; done
    scrape "$dir/end.prom"
  fi
  wait "$sysbench_pid" || rc=$?
  sysbench_pid=
  stop_sampler "$stopfile"
  cpu_snapshot
  R[other_cpu_pct]=$(other_cpu_pct "$cpu_before" "$snapshot")
  [[ -n $via_sluice ]] && scrape "$dir/after.prom"

  abort_if_dead mariadbd db_pid "$work/mariadb/err.log" MariaDB

  # What MariaDB did with prepared statements during the run.
  local -a sb sa
  read -ra sb <<<"$stmt_before"
  read -ra sa <<<"$(db_stmt_counters)"
  R[server_prepares]=$((sa[0] - sb[0]))
  R[server_executes]=$((sa[1] - sb[1]))
  R[server_reprepares]=$((sa[2] - sb[2]))
  R[server_closes]=$((sa[3] - sb[3]))

  # The peak of connections MariaDB saw during the run (exact, no sampling gap), less the
  # sampler's own session: an upper bound of the backends sluice held (nothing else connects).
  # With --compare, less the other sluice's idle backends too, if their number did not change.
  local max_used
  max_used=$(db_status Max_used_connections) || max_used=
  other_after=$(other_sluice_backends) || other_after=
  [[ -n $max_used && -n $via_sluice && -n $other_before && $other_before == "$other_after" ]] &&
    R[backends_peak_db]=$((max_used - 1 - other_before))

  # Sampled maxima: columns of the sampler's lines (see start_sampler).
  local smax
  smax=$(awk '
    { n++; if ($2 > s) s = $2; if ($3 > c) c = $3; if ($4 > st) st = $4
      if (NF >= 10) { v = $7 + $8 + $9; if (v > view) view = v; if ($10 > pin) pin = $10; if ($6 > w) w = $6; has = 1 } }
    END { printf "%d %d %d %d %s %s %s\n", n, s, c, st, has ? view + 0 : "-", has ? pin + 0 : "-", has ? w + 0 : "-" }' "$samples")
  local nsamples bmax cmax stmax bview pinmax waitmax
  read -r nsamples bmax cmax stmax bview pinmax waitmax <<<"$smax"
  R[samples]=$nsamples
  R[server_stmts_max]=$stmax
  if [[ -n $via_sluice ]]; then
    R[backends_max]=$bmax
    R[backends_max_sluice_view]=$bview
    R[pinned_backends_max]=$pinmax
    R[waiting_clients_max]=$waitmax
    R[clients]=$(metric_value "$dir/end.prom" 'sluice_clients{state="connected"}')
    R[clients]=${R[clients]%.*}
  else
    R[backends_max]=$cmax # directly, every client is a backend connection
    R[clients]=$cmax
  fi
  R[ratio_backends_clients]=$(awk -v b="${R[backends_max]}" -v c="$threads" 'BEGIN { printf "%.3f", b / c }')

  sysbench_outcome "$rc" "$log" "$run_limit"
  local why=$sysbench_failure
  if [[ -n $via_sluice ]] && ! proc_alive "$sluice_pid"; then
    describe_exit "$sluice_pid"
    sluice_problem "$target $exit_text during the run (rep $rep)"
    tail -n 20 "$sluice_log" >&2 || true
    sluice_pid=
    why="$target died during the run${why:+; $why}"
  elif [[ -n $via_sluice && -n $why ]]; then
    # A failed run may have left sluice wedged: it must still serve a new client.
    local answer
    if ! answer=$(check_login "$sluice_port"); then
      sluice_problem "$target stopped answering after the run (rep $rep): $answer; restarting it"
      stop_pid "$target" "$sluice_pid" 5
      sluice_pid=
    fi
  fi

  # Keep the evidence of every sluice run and of every failed run.
  local keep=$results_dir/ps-$run_id-$target-rep$rep
  if [[ -n $via_sluice || -n $why ]]; then
    cp "$log" "$keep-sysbench.log" 2>/dev/null || true
    cp "$samples" "$keep-samples.log" 2>/dev/null || true
    if [[ -n $via_sluice ]]; then
      for f in before end after; do
        [[ -s $dir/$f.prom ]] && cp "$dir/$f.prom" "$keep-$f.prom.log"
      done
    fi
  fi

  local errs
  errs=$(error_summary "$log")
  local facts="backends max ${R[backends_max]} (sampled $nsamples x) for ${R[clients]:-?} clients = ${R[ratio_backends_clients]}${R[backends_peak_db]:+, MariaDB peak ${R[backends_peak_db]}}; MariaDB prepared ${R[server_prepares]}, held at most $stmax statements; other processes ${R[other_cpu_pct]:-?} % CPU"
  if [[ -n $why ]]; then
    failed_runs=$((failed_runs + 1))
    count_bad_run "$target"
    R[status]=failed
    R[note]=$why
    record
    note "  FAILED: $why"
    note "  $facts"
    note "  last lines of the sysbench log ($keep-sysbench.log):"
    grep -v 'Ignoring error' "$log" | tail -n 8 | sed 's/^/    /' >&2 || true
  else
    read -r 'R[queries]' 'R[qps]' 'R[tps]' 'R[p95_ms]' 'R[errors]' 'R[reconnects]' 'R[seconds]' <<<"$sysbench_result"
    R[status]=ok
    record
    local verdict=''
    if [[ -n $via_sluice ]] && ((R[errors] > 0 || R[reconnects] > 0 || R[backends_max] > cap ||
      ${R[backends_peak_db]:-0} > cap)); then
      count_bad_run "$target"
      verdict=" -- FAIL"
    fi
    note "  ${R[qps]} qps, ${R[tps]} tps, p95 ${R[p95_ms]} ms, ${R[errors]} errors, ${R[reconnects]} reconnects$verdict"
    note "  $facts"
  fi
  if [[ -n $errs ]]; then
    note "  errors in the sysbench log (count, text):"
    local lines
    mapfile -t lines <<<"$errs"
    printf '    %s\n' "${lines[@]}" >&2
    {
      echo "== $target rep $rep"
      echo "$errs"
    } >>"$work/errors.txt"
  fi
  if [[ -n $via_sluice ]]; then
    [[ $target == sluice && -z $metric_list_file && -s $dir/end.prom ]] && {
      metric_list_file=$work/metric-families.txt
      metric_families "$dir/end.prom" >"$metric_list_file"
    }
    {
      echo "== $target rep $rep: counters that changed during the run (after - before)"
      if [[ -s $dir/before.prom && -s $dir/after.prom ]]; then
        counter_deltas "$dir/before.prom" "$dir/after.prom"
      else
        echo "(no scrape)"
      fi
      echo "== $target rep $rep: gauges $((time_s - 2))s into the run"
      if [[ -s $dir/end.prom ]]; then gauge_snapshot "$dir/end.prom"; else echo "(no scrape)"; fi
    } >>"$work/metrics.txt"
  fi
}

# ---------------------------------------------------------------------------------------------
# Report

report() { # HEADER
  awk -F, -v header="$1" -v cap="$cap" -v targets="${targets[*]}" "$awk_table_functions"'
    function dash(v) { return (v == "" || v == "-") ? "—" : v }
    function add(t, k) { if (F(k) != "" && F(k) != "-") vals[t, k] = vals[t, k] " " F(k) }
    function F(name) { return $(col[name]) }
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    {
      n++; row[n] = $0
      t = F("target"); runs[t]++
      if (F("other_cpu_pct") + 0 > maxother + 0) maxother = F("other_cpu_pct")
      # Backend connections count in every run, failed ones too.
      if (F("backends_max") != "" && F("backends_max") + 0 > maxb[t] + 0) maxb[t] = F("backends_max")
      if (F("backends_peak_db") != "" && F("backends_peak_db") + 0 > maxpeak[t] + 0) maxpeak[t] = F("backends_peak_db")
      if (F("status") != "ok") { why[t] = F("note"); next }
      ok[t]++
      split("qps tps p95_ms errors reconnects clients backends_max ratio_backends_clients server_prepares server_stmts_max", K, " ")
      for (m = 1; m <= 10; m++) add(t, K[m])
      if (F("errors") + 0 > maxerr[t] + 0) maxerr[t] = F("errors")
      if (F("reconnects") + 0 > maxrec[t] + 0) maxrec[t] = F("reconnects")
    }
    END {
      nt = split(targets, T, " ")
      tw = 7 # the target column: wider for sluice_before (--compare)
      for (j = 1; j <= nt; j++) if (length(T[j]) > tw) tw = length(T[j])
      print ""
      print "Per run:"
      printf "%-4s %-" tw "s %-7s %9s %8s %8s %6s %6s %7s %9s %8s %6s %7s %7s %9s %9s %6s\n", "rep", "target", "status", "qps", "tps", "p95 ms", "errors", "recon", "clients", "backends", "MariaDB", "ratio", "pinned", "waiting", "prepares", "stmts", "other"
      printf "%-4s %-" tw "s %-7s %9s %8s %8s %6s %6s %7s %9s %8s %6s %7s %7s %9s %9s %6s\n", "", "", "", "", "", "", "", "", "", "max", "peak", "", "max", "max", "(server)", "max (srv)", "CPU %"
      for (i = 1; i <= n; i++) {
        $0 = row[i]
        if (F("status") != "ok")
          printf "%-4s %-" tw "s %-7s %9s %8s %8s %6s %6s %7s %9s %8s %6s %7s %7s %9s %9s %6s  %s\n", F("rep"), F("target"), F("status"), "-", "-", "-", "-", "-",
            fmt(F("clients"), "%d"), fmt(F("backends_max"), "%d"), fmt(F("backends_peak_db"), "%d"), fmt(F("ratio_backends_clients"), "%.3f"),
            fmt(F("pinned_backends_max"), "%d"), fmt(F("waiting_clients_max"), "%d"), fmt(F("server_prepares"), "%d"), fmt(F("server_stmts_max"), "%d"), fmt(F("other_cpu_pct"), "%d"), F("note")
        else
          printf "%-4s %-" tw "s %-7s %9.1f %8.1f %8.2f %6d %6d %7s %9s %8s %6s %7s %7s %9s %9s %6s\n", F("rep"), F("target"), F("status"), F("qps"), F("tps"), F("p95_ms"), F("errors"), F("reconnects"),
            fmt(F("clients"), "%d"), fmt(F("backends_max"), "%d"), fmt(F("backends_peak_db"), "%d"), fmt(F("ratio_backends_clients"), "%.3f"),
            fmt(F("pinned_backends_max"), "%d"), fmt(F("waiting_clients_max"), "%d"), fmt(F("server_prepares"), "%d"), fmt(F("server_stmts_max"), "%d"), fmt(F("other_cpu_pct"), "%d")
      }
      print ""
      print "Medians over the successful runs:"
      printf "%-" tw "s %5s %9s %8s %8s %6s %6s %7s %9s %7s %9s %9s\n", "target", "ok", "qps", "tps", "p95 ms", "errors", "recon", "clients", "backends", "ratio", "prepares", "stmts"
      for (j = 1; j <= nt; j++) {
        t = T[j]
        if (!ok[t]) { printf "%-" tw "s %5s  FAILED: %s\n", t, "0/" runs[t] + 0, why[t]; continue }
        for (m = 1; m <= 10; m++) M[K[m]] = median(vals[t, K[m]])
        med[t] = M["qps"]
        p95[t] = M["p95_ms"]
        printf "%-" tw "s %5s %9.1f %8.1f %8.2f %6g %6g %7g %9g %7.3f %9g %9g\n", t, ok[t] "/" runs[t], M["qps"], M["tps"], M["p95_ms"], M["errors"], M["reconnects"],
          M["clients"], M["backends_max"], M["ratio_backends_clients"], M["server_prepares"], M["server_stmts_max"]
        md[t] = sprintf("| %s | %d/%d | %.0f | %.0f | %.2f | %g | %g | %g | %g | %.3f | %g | %g |", t, ok[t], runs[t], M["qps"], M["tps"], M["p95_ms"], M["errors"], M["reconnects"],
          M["clients"], M["backends_max"], M["ratio_backends_clients"], M["server_prepares"], M["server_stmts_max"])
      }
      if (("direct" in med) && ("sluice" in med) && med["direct"] > 0)
        printf "qps sluice/direct: %.2f\n", med["sluice"] / med["direct"]
      if (("sluice" in med) && ("sluice_before" in med) && med["sluice_before"] > 0 && p95["sluice_before"] > 0) {
        before = sprintf("qps sluice/sluice_before: %.2f, p95 sluice/sluice_before: %.2f", med["sluice"] / med["sluice_before"], p95["sluice"] / p95["sluice_before"])
        print before
      }
      if (maxother + 0 > 10)
        printf "WARNING: processes other than the benchmark used up to %d %% of the machine CPU during a run: the numbers are not clean.\n", maxother

      print ""
      print "Target (docs/BENCHMARKS.md): every sluice run finishes with 0 errors and never more than " cap " backends"
      if (!runs["sluice"]) print "  (no sluice run)"
      else {
        printf "  %-4s sluice runs finished: %d/%d\n", ok["sluice"] == runs["sluice"] ? "PASS" : "FAIL", ok["sluice"], runs["sluice"]
        if (ok["sluice"])
          printf "  %-4s errors, worst finished run: %d ignored errors, %d reconnects (0)\n", (maxerr["sluice"] + 0 == 0 && maxrec["sluice"] + 0 == 0) ? "PASS" : "FAIL", maxerr["sluice"], maxrec["sluice"]
        else
          printf "  %-4s errors: no sluice run finished\n", "FAIL"
        printf "  %-4s backend connections, worst run: %d sampled every 100 ms, %s by MariaDB Max_used_connections - 1 (<= %d)\n", (maxb["sluice"] + 0 <= cap && maxpeak["sluice"] + 0 <= cap) ? "PASS" : "FAIL", maxb["sluice"], (maxpeak["sluice"] == "" ? "-" : maxpeak["sluice"]), cap
      }

      print ""
      print "Markdown for docs/BENCHMARKS.md:"
      print ""
      print header
      print ""
      print "| Target | OK runs | qps | tps | p95 (ms) | Errors | Reconnects | Clients | Backends (max) | Backends / clients | MariaDB prepares | MariaDB statements (max) |"
      print "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
      for (j = 1; j <= nt; j++) {
        t = T[j]
        if (!ok[t]) printf "| %s | 0/%d | failed | | | | | | | | | |\n", t, runs[t]
        else print md[t]
      }
      if (before != "") { print ""; print before }
      print ""
      print "| Rep | Target | qps | tps | p95 (ms) | Errors | Reconnects | Backends max (sampled) | MariaDB peak | Pinned backends max | Waiting clients max | MariaDB prepares | Other CPU (%) |"
      print "|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
      for (i = 1; i <= n; i++) {
        $0 = row[i]
        if (F("status") != "ok")
          printf "| %s | %s | failed: %s | | | | | %s | %s | %s | %s | %s | %s |\n", F("rep"), F("target"), F("note"), dash(F("backends_max")), dash(F("backends_peak_db")),
            dash(F("pinned_backends_max")), dash(F("waiting_clients_max")), dash(F("server_prepares")), dash(F("other_cpu_pct"))
        else
          printf "| %s | %s | %.0f | %.0f | %.2f | %d | %d | %s | %s | %s | %s | %s | %s |\n", F("rep"), F("target"), F("qps"), F("tps"), F("p95_ms"), F("errors"), F("reconnects"),
            dash(F("backends_max")), dash(F("backends_peak_db")), dash(F("pinned_backends_max")), dash(F("waiting_clients_max")), dash(F("server_prepares")), dash(F("other_cpu_pct"))
      }
    }
  ' "$csv"
}

# ---------------------------------------------------------------------------------------------
# Main

require sysbench mariadbd mariadb-install-db mariadb timeout awk curl getconf
clk_tck=$(getconf CLK_TCK)
((do_build)) && require cmake
run_id=$(date -u +%Y%m%dT%H%M%SZ)
make_results_dir
csv=$results_dir/ps-$run_id.csv

if ((do_build)); then build_targets sluice; fi
[[ -x $sluice_bin ]] || die "no sluice binary at $sluice_bin (build it, or pass --sluice BIN)"
[[ -z $compare_bin || -x $compare_bin ]] || die "no sluice binary at $compare_bin (--compare)"

# Which code was measured: the commit, plus the uncommitted changes (tracked and untracked
# files outside bench/ and docs/), saved as one patch next to the results; taken right after the
# build, since other people may be editing the tree while the benchmark runs.
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
tree_patch=$results_dir/ps-$run_id-tree.patch.log
{
  git -C "$repo" diff HEAD -- . ':!bench' ':!docs'
  git -C "$repo" ls-files --others --exclude-standard -- . ':!bench' ':!docs' | while read -r f; do
    git -C "$repo" diff --no-index -- /dev/null "$f" || true
  done
} >"$tree_patch" 2>/dev/null || true
if [[ -s $tree_patch ]]; then
  dirty=$(git -C "$repo" diff --shortstat HEAD -- . ':!bench' ':!docs' | sed 's/^ *//')
  untracked=$(git -C "$repo" ls-files --others --exclude-standard -- . ':!bench' ':!docs' | wc -l)
  commit+=" + uncommitted changes (${dirty:-no tracked file changed}; $untracked new files; patch sha256 $(sha256sum <"$tree_patch" | cut -c1-12))"
else
  rm -f -- "$tree_patch"
fi
((do_build)) || commit+=" (binary not built by this run: $sluice_bin)"

work=$(mktemp -d -t sluice-ps.XXXXXX)
mkdir -p "$work/runs"

start_sysbench_database
start_sluice || die "sluice did not start (see above)"
if [[ -n $compare_bin ]]; then
  create_backend_account sluice_before sbtest
  use_sluice sluice_before
  start_sluice || die "sluice_before did not start (see above)"
  use_sluice sluice
fi
prepare_tables

sluice_version=$("$sluice_bin" --version 2>/dev/null || echo "sluice ?")
before_text=
if [[ -n $compare_bin ]]; then
  before_text=", sluice_before: $("$compare_bin" --version 2>/dev/null || echo "sluice ?") ($compare_bin, $(date -u -r "$compare_bin" +%Y-%m-%dT%H:%MZ) binary; backend account sluice_before)"
fi
md_header="Run $run_id: commit $commit, $sluice_version ($(date -u -r "$sluice_bin" +%Y-%m-%dT%H:%MZ) binary)$before_text, sluice pool_mode transaction, max_connections=$cap, queue timeout $queue_timeout; $(nproc) CPUs shared by sysbench, sluice and MariaDB $(db_sql 'SELECT VERSION()'); sysbench $(sysbench --version | awk '{ print $2 }') oltp_read_write --db-ps-mode=auto, $threads threads, $tables tables x $table_size rows; medians of $reps alternated runs of ${time_s}s."

echo "$csv_header" >"$csv"
: >"$work/errors.txt"
: >"$work/metrics.txt"
total=$((reps * ${#targets[@]}))
n=0
note "running $reps rep(s) x ${#targets[@]} target(s) x ${time_s}s, $threads threads (about $((total * (time_s + 5) / 60 + 1)) min)"
for ((rep = 1; rep <= reps; rep++)); do
  for target in "${targets[@]}"; do
    n=$((n + 1))
    note "[$n/$total] rep $rep/$reps: $target"
    run_one "$rep" "$target"
    sleep 1
  done
done

# SIGTERM with no clients must end sluice promptly, with status 0.
for s in "${sluices[@]}"; do
  use_sluice "$s"
  if [[ -n $sluice_pid ]] && proc_alive "$sluice_pid"; then
    shutdown_sluice "with no clients connected" || sluice_problem "$shutdown_problem"
  fi
done
use_sluice sluice

report "$md_header"
echo
echo "Raw runs: $csv (sysbench logs, samples and scrapes of the sluice runs next to it: ps-$run_id-*)"
[[ -f $tree_patch ]] && echo "Uncommitted changes measured: $tree_patch"
if [[ -n $metric_list_file && -s $metric_list_file ]]; then
  echo
  echo "Metric families on sluice's /metrics:"
  sed 's/^/  /' "$metric_list_file"
fi
if [[ -s $work/metrics.txt ]]; then
  echo
  echo "sluice metrics per run:"
  sed 's/^/  /' "$work/metrics.txt"
fi
if [[ -s $work/errors.txt ]]; then
  echo
  echo "Errors in the sysbench logs (count, text; numbers in texts replaced by N):"
  sed 's/^/  /' "$work/errors.txt"
fi
for s in "${sluices[@]}"; do
  use_sluice "$s"
  if [[ -s $sluice_log ]]; then
    cp "$sluice_log" "$results_dir/ps-$run_id-$s.log" || true
    echo
    echo "$s's log (level warn): $(wc -l <"$sluice_log") lines, $results_dir/ps-$run_id-$s.log"
    tail -n 10 "$sluice_log" | sed 's/^/  /'
  fi
done

status=0
if ((bad_sluice_runs)); then
  echo
  echo "FAIL: $bad_sluice_runs sluice run(s) failed, had errors, or exceeded $cap backend connections."
  status=1
fi
if ((bad_before_runs)); then
  echo
  echo "WARNING: $bad_before_runs sluice_before run(s) failed, had errors, or exceeded $cap backend connections (reported, not judged)."
fi
if ((failed_runs - bad_sluice_runs - bad_before_runs > 0)); then
  echo
  echo "WARNING: $((failed_runs - bad_sluice_runs - bad_before_runs)) direct run(s) failed (see above)."
fi
if ((${#sluice_problems[@]})); then
  echo
  echo "SLUICE PROBLEMS:"
  printf '  - %s\n' "${sluice_problems[@]}"
  status=1
fi
exit "$status"
