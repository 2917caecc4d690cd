# Shell functions shared by the benchmark scripts (bench/run.sh, bench/ps.sh, bench/storm.sh):
# paths, options, messages, child processes, free loopback ports, a throwaway MariaDB, sluice in
# front of it (and a second sluice running another binary, for --compare), sysbench and the
# end-of-run checks. Sourced, not run, before the script's option defaults (they use build_dir),
# as `source .../lib.sh NAME SCRIPT`: NAME prefixes the script's messages, SCRIPT is how --help is
# spelt in usage errors. The script defines `usage` and `set_option` for parse_options, and sets
# `work` (its temporary directory) before starting anything. It may define `on_kill_after_grace
# NAME GRACE`, called when stop_pid has to SIGKILL a process.
# shellcheck shell=bash disable=SC2154,SC2034  # variables set by, or for, the sourcing script

bench_name=$1
bench_script=$2

# ---------------------------------------------------------------------------------------------
# Paths

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=$repo/build-bench # where the scripts build what they measure
results_dir=$repo/bench/results
sluice_bin=$build_dir/daemon/sluice # --sluice BIN measures another binary
do_build=1                          # --no-build clears it

# ---------------------------------------------------------------------------------------------
# Messages and option checks

# die TEXT: the script's error message; exit status 1.
die() {
  echo "$bench_name: error: $*" >&2
  exit 1
}
# usage_error TEXT: a bad option; exit status 2.
usage_error() {
  echo "$bench_name: $*" >&2
  echo "Try '$bench_script --help'." >&2
  exit 2
}
# note TEXT: progress on stderr (stdout carries the results).
note() { echo "$bench_name: $*" >&2; }

# A positive whole number; a comma-separated list of them.
is_count() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }
is_count_list() { [[ $1 =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]]; }

# check_counts OPTION:VALUE...: a usage error unless every VALUE is a positive whole number.
check_counts() {
  local pair
  for pair in "$@"; do
    is_count "${pair#*:}" || usage_error "--${pair%%:*} must be a positive whole number, got '${pair#*:}'"
  done
}

# parse_options "VALUED_OPTIONS" ARG...: the scripts' option syntax (--opt VALUE, --opt=VALUE,
# --no-build, -h/--help). Hands every option with its value to the script's set_option OPT VALUE.
parse_options() {
  local valued=" $1 " opt val
  shift
  while (($#)); do
    opt=$1
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
      --*)
        [[ $valued == *" $opt "* ]] || usage_error "unknown option '$opt'"
        (($# >= 2)) || usage_error "$opt needs a value"
        val=$2
        shift 2
        ;;
      *) usage_error "unexpected argument '$opt'" ;;
    esac
    set_option "$opt" "$val"
  done
}

# path_option VAR OPTION VALUE: sets VAR to VALUE as an absolute path (a usage error if empty).
path_option() {
  [[ -n $3 ]] || usage_error "$2 needs a path"
  printf -v "$1" %s "$(realpath -m -- "$3")"
}

# require COMMAND...: dies naming the first one that is not installed.
require() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null || die "'$c' is not installed (scripts/install-deps.sh installs the benchmark tools)"
  done
}

# build_targets TARGET...: builds the cmake TARGETs (RelWithDebInfo, no tests) in $build_dir; dies
# with the build's errors if that fails.
build_targets() {
  local log
  note "building $* (RelWithDebInfo) in $build_dir"
  log=$(mktemp -t "sluice-$bench_name-build.XXXXXX")
  if ! { cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_BUILD_TESTS=OFF &&
    cmake --build "$build_dir" --target "$@" -j"$(nproc)"; } >"$log" 2>&1; then
    grep -E 'error|Error' "$log" | head -n 20 >&2 || tail -n 40 "$log" >&2
    rm -f -- "$log"
    die "building $* failed (output above)"
  fi
  rm -f -- "$log"
}

# The commit measured, with "+ uncommitted changes" if the tree differs from it.
measured_commit() {
  local commit
  commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
  [[ -n $(git -C "$repo" status --porcelain 2>/dev/null) ]] && commit+=" + uncommitted changes"
  echo "$commit"
}

# bench/results/ for the CSVs and logs, kept out of git.
make_results_dir() {
  mkdir -p "$results_dir"
  [[ -f $results_dir/.gitignore ]] || printf '*.csv\n*.log\n' >"$results_dir/.gitignore"
}

# ---------------------------------------------------------------------------------------------
# Processes

# True while PID exists and is not a zombie.
proc_alive() {
  local stat
  [[ -n $1 ]] || return 1
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

# utime+stime of PID (all its threads), in clock ticks.
cpu_ticks() {
  local stat fields
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  read -ra fields <<<"$stat"
  echo $((fields[11] + fields[12]))
}

# exit_status_text STATUS: "exited with status N", or "was killed by signal SIGNAME" above 128.
exit_status_text() {
  if (($1 > 128)); then
    echo "was killed by signal SIG$(kill -l $(($1 - 128)) 2>/dev/null || echo $(($1 - 128)))"
  else
    echo "exited with status $1"
  fi
}

# Reaps the dead child PID and sets exit_text to "exited with status N" or "was killed by
# signal SIGSEGV". (Not a $(...) function: a subshell cannot wait for our children.)
exit_text=
describe_exit() {
  local st=0
  wait "$1" 2>/dev/null || st=$?
  exit_text=$(exit_status_text "$st")
}

# stop_pid NAME PID GRACE_SECONDS: SIGTERM, then SIGKILL after the grace period.
stop_pid() {
  local name=$1 pid=$2 grace=$3 waited=0
  [[ -n $pid ]] || return 0
  if proc_alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    while proc_alive "$pid" && ((waited < grace * 10)); do
      sleep 0.1
      waited=$((waited + 1))
    done
    if proc_alive "$pid"; then
      note "$name (pid $pid) did not exit within ${grace}s of SIGTERM; killing it"
      if declare -F on_kill_after_grace >/dev/null; then
        on_kill_after_grace "$name" "$grace"
      fi
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
}

# clean_up_on_exit NAME:PID_VAR:GRACE...: when the script ends (or is interrupted), stop_pid each
# of these processes in this order, then remove $work.
exit_stops=()
clean_up_on_exit() {
  exit_stops=("$@")
  trap clean_up EXIT
  trap 'note "interrupted; cleaning up"; exit 130' INT
  trap 'note "terminated; cleaning up"; exit 143' TERM
}

# shellcheck disable=SC2317  # invoked by the EXIT trap
clean_up() {
  local rc=$? entry name var grace
  set +e
  trap - EXIT INT TERM
  for entry in "${exit_stops[@]}"; do
    IFS=: read -r name var grace <<<"$entry"
    stop_pid "$name" "${!var}" "$grace"
  done
  [[ -n $work && -d $work ]] && rm -rf -- "$work"
  exit "$rc"
}

# abort_if_dead NAME PID_VAR LOG WHAT: a dead MariaDB or HAProxy voids the measurements; if the
# process in PID_VAR has ended, shows the end of LOG and dies ("WHAT died; aborting ...").
abort_if_dead() {
  local name=$1 var=$2 log=$3 what=$4
  proc_alive "${!var}" && return 0
  describe_exit "${!var}"
  note "$name $exit_text; last lines of its log:"
  tail -n 20 "$log" >&2 || true
  printf -v "$var" ''
  die "$what died; aborting (runs so far are in $csv)"
}

# ---------------------------------------------------------------------------------------------
# Loopback ports

# A loopback port nobody listens on (the server we start may still lose a race for it; the
# start functions then retry with another port). Taken below the kernel's ephemeral range
# (32768-60999 by default), where thousands of client connections would otherwise hold ports.
taken_ports=" "
free_port() {
  local p i
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
    [[ $taken_ports == *" $p "* ]] && continue
    if command -v ss >/dev/null; then
      [[ -n $(ss -Htln "sport = :$p" 2>/dev/null) ]] && continue
    elif (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      continue
    fi
    taken_ports+="$p "
    echo "$p"
    return 0
  done
  die "found no free loopback port"
}

# True if something accepts connections on loopback PORT.
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# wait_port_or_stop NAME PID_VAR PORT TIMEOUT LOG GRACE: 0 once the server in PID_VAR accepts
# connections on PORT. If it died or the timeout passed: a report, stop_pid with GRACE, PID_VAR
# cleared, 1 (the caller retries on another port).
wait_port_or_stop() {
  local name=$1 var=$2 port=$3 limit=$4 log=$5 grace=$6 start=$SECONDS pid=${!2}
  while true; do
    if ((SECONDS - start >= limit)); then
      note "$name did not accept connections on 127.0.0.1:$port within ${limit}s; last lines of $log:"
      tail -n 20 "$log" >&2 || true
      break
    fi
    if ! proc_alive "$pid"; then
      describe_exit "$pid"
      note "$name $exit_text during start-up; last lines of $log:"
      tail -n 20 "$log" >&2 || true
      break
    fi
    port_open "$port" && return 0
    sleep 0.2
  done
  stop_pid "$name" "$pid" "$grace"
  printf -v "$var" ''
  return 1
}

# with_retries WHAT SPAWN [ARG...]: SPAWN ARG... starts a server on fresh free ports and returns 0
# once it listens, 1 if it did not (another free port may do: up to three attempts in all), or any
# other status to give up at once. Returns SPAWN's last status.
with_retries() {
  local what=$1 attempt rc
  shift
  for attempt in 1 2 3; do
    rc=0
    "$@" || rc=$?
    ((rc == 1 && attempt < 3)) || return "$rc"
    note "retrying $what on another port"
  done
}

# ---------------------------------------------------------------------------------------------
# A throwaway MariaDB

db_pid=
db_port=
db_sock=

# db_sql SQL: as root over the socket; tab-separated rows, no column names.
db_sql() { mariadb --no-defaults --socket="$db_sock" -uroot --batch --skip-column-names -e "$1"; }

# db_status NAME: the value of one of MariaDB's global status variables.
db_status() { db_sql "SHOW GLOBAL STATUS LIKE '$1'" | awk '{ print $2 }'; }

# Options the script adds to mariadbd's command line (bench/tls.sh: its certificate).
db_extra_opts=()

# mariadbd refuses to run as root unless told to.
mariadb_root_opt=()
((EUID == 0)) && mariadb_root_opt=(--user=root)

# spawn_mariadbd DIR MAX_CONNECTIONS: one attempt of start_mariadb (see with_retries).
spawn_mariadbd() {
  local dir=$1
  db_port=$(free_port)
  : >"$dir/err.log"
  mariadbd --no-defaults --datadir="$dir/data" --port="$db_port" --bind-address=127.0.0.1 \
    --socket="$db_sock" --pid-file="$dir/mariadbd.pid" --log-error="$dir/err.log" \
    --skip-name-resolve --max-connections="$2" --innodb-buffer-pool-size=256M \
    --innodb-flush-log-at-trx-commit=2 "${db_extra_opts[@]}" "${mariadb_root_opt[@]}" >"$dir/out.log" 2>&1 &
  db_pid=$!
  wait_port_or_stop mariadbd db_pid "$db_port" 90 "$dir/err.log" 10
}

# start_mariadb MAX_CONNECTIONS: a fresh datadir in $work/mariadb and mariadbd on a free loopback
# port (db_port, db_sock, db_pid), root over the socket without a password; dies if it fails.
start_mariadb() {
  local max_connections=$1 dir=$work/mariadb
  mkdir -p "$dir"
  db_sock=$dir/sock
  note "initialising MariaDB in $dir/data"
  mariadb-install-db --no-defaults --datadir="$dir/data" --auth-root-authentication-method=normal \
    --skip-test-db "${mariadb_root_opt[@]}" >"$dir/install.log" 2>&1 || {
    tail -n 30 "$dir/install.log" >&2
    die "mariadb-install-db failed (log above)"
  }
  with_retries MariaDB spawn_mariadbd "$dir" "$max_connections" || die "MariaDB did not start (see above)"
  local i
  for ((i = 0; i < 50; i++)); do
    db_sql "SELECT 1" >/dev/null 2>&1 && break
    sleep 0.2
  done
  note "MariaDB $(db_sql 'SELECT VERSION()') on 127.0.0.1:$db_port (pid $db_pid, max_connections=$max_connections)"
}

# create_bench_database NAME PASSWORD: database NAME, the clients' account NAME with PASSWORD, and
# sluice's backend account (sluice / backend-pw), both with every privilege on NAME.
create_bench_database() {
  db_sql "CREATE DATABASE $1;
    CREATE USER '$1'@'%' IDENTIFIED BY '$2';
    GRANT ALL PRIVILEGES ON $1.* TO '$1'@'%';" ||
    die "could not create the $1 database and users"
  create_backend_account sluice "$1"
}

# create_backend_account USER DATABASE: a backend account for a sluice (password backend-pw) with
# every privilege on DATABASE.
create_backend_account() {
  db_sql "CREATE USER '$1'@'%' IDENTIFIED BY 'backend-pw';
    GRANT ALL PRIVILEGES ON $2.* TO '$1'@'%';" ||
    die "could not create the backend account $1"
}

# MariaDB for sysbench: room for every thread count, the sbtest database and accounts.
start_sysbench_database() {
  start_mariadb 1000
  create_bench_database sbtest sbtest-pw
}

# ---------------------------------------------------------------------------------------------
# sluice in front of the MariaDB

sluice_pid=
sluice_port=
metrics_port=
admin_port=
sluice_log=
sluice_error= # why launch_sluice or sluice_answers failed
sluice_name=sluice         # in messages and file names; sluice_before for --compare's binary
sluice_backend_user=sluice # its account on MariaDB

# write_sluice_ini FILE SECTION.KEY=VALUE...: an INI file with these settings, the sections in a
# fixed order and the keys of each in the order given.
write_sluice_ini() {
  local file=$1 section setting key text=
  shift
  for setting in "$@"; do
    [[ $setting =~ ^(sluice|backend|queue|limits|users|tls|log|metrics|admin)\.[a-z_]+= ]] ||
      die "internal: bad sluice setting '$setting'"
  done
  for section in sluice backend queue limits users tls log metrics admin; do
    local lines=
    for setting in "$@"; do
      [[ ${setting%%.*} == "$section" ]] || continue
      key=${setting#*.}
      lines+="${key%%=*} = ${key#*=}"$'\n'
    done
    [[ -n $lines ]] && text+="[$section]"$'\n'$lines
  done
  printf '%s' "$text" >"$file"
}

# launch_sluice QUEUE_TIMEOUT [SECTION.KEY=VALUE...]: sluice ($sluice_bin) with transaction
# pooling in front of the MariaDB (backend account $sluice_backend_user, [backend]
# max_connections=$cap), plus the given settings, on fresh free ports (sluice_port, metrics_port,
# admin_port); three attempts. Its files go to $work/$sluice_name. Sets sluice_pid and sluice_log.
# Returns 1 if it did not start, 2 if it rejected its configuration (sluice_error).
launch_sluice() {
  local rc=0
  mkdir -p "$work/$sluice_name"
  sluice_log=$work/$sluice_name/sluice.log
  with_retries "$sluice_name" spawn_sluice "$work/$sluice_name/sluice.ini" "$@" || rc=$?
  ((rc != 1)) || sluice_error="$sluice_name did not start"
  return "$rc"
}

# spawn_sluice INI QUEUE_TIMEOUT [SECTION.KEY=VALUE...]: one attempt of launch_sluice (see
# with_retries).
spawn_sluice() {
  local ini=$1 queue_timeout=$2
  shift 2
  sluice_port=$(free_port)
  metrics_port=$(free_port)
  admin_port=$(free_port)
  write_sluice_ini "$ini" "sluice.listen=127.0.0.1:$sluice_port" sluice.pool_mode=transaction \
    "backend.address=127.0.0.1:$db_port" "backend.user=$sluice_backend_user" backend.password=backend-pw \
    "backend.max_connections=$cap" "queue.timeout=$queue_timeout" queue.max_waiting=10000 \
    log.level=warn "metrics.listen=127.0.0.1:$metrics_port" "admin.listen=127.0.0.1:$admin_port" "$@"
  if ! sluice_error=$("$sluice_bin" --check-config "$ini" 2>&1); then
    sluice_error="$sluice_name rejected its configuration: $sluice_error"
    return 2
  fi
  "$sluice_bin" --config "$ini" >>"$sluice_log" 2>&1 &
  sluice_pid=$!
  wait_port_or_stop "$sluice_name" sluice_pid "$sluice_port" 30 "$sluice_log" 5
}

# sluice_answers: one login and SELECT 1 through sluice; if that fails, stops sluice and says why
# in sluice_error.
sluice_answers() {
  local err
  err=$(check_login "$sluice_port") && return 0
  sluice_error="login + SELECT 1 through $sluice_name failed: $err"
  stop_pid "$sluice_name" "$sluice_pid" 5
  sluice_pid=
  return 1
}

# shutdown_sluice CONTEXT: the check that shutdown works: SIGTERM must end sluice within 15 s with
# status 0. Clears sluice_pid. Returns 1 if it had to be killed, 2 if it ended with another status;
# shutdown_problem then says so ("... within 15s of SIGTERM CONTEXT ...").
shutdown_problem=
shutdown_sluice() {
  local i
  shutdown_problem=
  kill -TERM "$sluice_pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    proc_alive "$sluice_pid" || break
    sleep 0.1
  done
  if proc_alive "$sluice_pid"; then
    shutdown_problem="$sluice_name did not exit within 15s of SIGTERM $1; killed it"
    kill -KILL "$sluice_pid" 2>/dev/null || true
    wait "$sluice_pid" 2>/dev/null || true
    sluice_pid=
    return 1
  fi
  describe_exit "$sluice_pid"
  sluice_pid=
  [[ $exit_text == "exited with status 0" ]] && return 0
  shutdown_problem="$sluice_name $exit_text after SIGTERM"
  return 2
}

# ---------------------------------------------------------------------------------------------
# A second sluice (--compare BIN in bench/run.sh and bench/ps.sh): the same configuration, another
# binary, its own backend account

# The variables above describe one sluice, the current one. With a second one, the other's values
# sit in the same names prefixed with other_ (other_sluice_pid ...), and use_sluice NAME swaps the
# two sets so that NAME's is current. A script appends its own variables that belong to one sluice
# (sluice_restarts ...) to sluice_state_vars before it calls add_sluice_before.
sluice_state_vars=(sluice_name sluice_bin sluice_backend_user sluice_pid sluice_port metrics_port
  admin_port sluice_log sluice_error)
other_sluice_pid= # for clean_up_on_exit
sluices=(sluice)  # the names of the sluices, the current binary's first

# add_sluice_before BIN: declares the second sluice, sluice_before, running BIN and logging in to
# MariaDB as sluice_before (create_backend_account makes the account). Its variables start as
# copies of the first's, before either is started.
add_sluice_before() {
  local v
  for v in "${sluice_state_vars[@]}"; do printf -v "other_$v" %s "${!v}"; done
  other_sluice_name=sluice_before
  other_sluice_bin=$1
  other_sluice_backend_user=sluice_before
  sluices+=(sluice_before)
}

# use_sluice NAME: makes NAME (one of sluices) the current sluice.
use_sluice() {
  local v t o
  [[ $sluice_name == "$1" ]] && return 0
  for v in "${sluice_state_vars[@]}"; do
    o=other_$v
    t=${!v}
    printf -v "$v" %s "${!o}"
    printf -v "$o" %s "$t"
  done
}

# ---------------------------------------------------------------------------------------------
# sysbench (the caller sets tables, table_size, db_port and work)

# sysbench's connection and table options for PORT.
sysbench_args() { # PORT
  echo --db-driver=mysql --mysql-host=127.0.0.1 "--mysql-port=$1" --mysql-user=sbtest \
    --mysql-password=sbtest-pw --mysql-db=sbtest "--tables=$tables" "--table-size=$table_size"
}

# Creates and fills the sysbench tables, once per benchmark, directly on MariaDB.
prepare_tables() {
  local args
  read -ra args <<<"$(sysbench_args "$db_port")"
  note "sysbench prepare: $tables tables x $table_size rows"
  sysbench oltp_read_write "${args[@]}" --threads="$tables" prepare >"$work/prepare.log" 2>&1 || {
    tail -n 30 "$work/prepare.log" >&2
    die "sysbench prepare failed (log above)"
  }
}

# Pulls "queries qps tps p95 errors reconnects seconds" out of a sysbench run log.
parse_sysbench() {
  awk '
    $1 == "queries:"      { q = $2; qps = $3; sub(/^\(/, "", qps) }
    $1 == "transactions:" { tps = $3; sub(/^\(/, "", tps) }
    $1 == "95th" && $2 == "percentile:" { p95 = $3 }
    $1 == "ignored" && $2 == "errors:"  { err = $3 }
    $1 == "reconnects:"   { rec = $2 }
    $1 == "total" && $2 == "time:" { dur = $3; sub(/s$/, "", dur) }
    END { if (q != "" && qps != "" && tps != "" && p95 != "" && err != "")
            print q, qps, tps, p95, err, (rec == "" ? 0 : rec), dur
          else exit 1 }' "$1"
}

# sysbench_outcome STATUS LOG LIMIT_S: after a sysbench run under `timeout LIMIT_S` that ended with
# STATUS, sets sysbench_result to parse_sysbench's fields, or sysbench_failure to why there are none.
sysbench_result=
sysbench_failure=
sysbench_outcome() {
  local rc=$1 log=$2 limit=$3
  sysbench_result=
  sysbench_failure=
  if ((rc == 124 || rc == 137)); then
    sysbench_failure="sysbench did not finish within ${limit}s (hung statements?)"
  elif ((rc > 128)); then
    sysbench_failure="sysbench $(exit_status_text "$rc")"
  elif ((rc != 0)); then
    sysbench_failure="sysbench exited with status $rc: $({ grep -m1 -E 'FATAL|error' "$log" || true; } | cut -c1-300)"
  elif ! sysbench_result=$(parse_sysbench "$log"); then
    sysbench_failure="could not parse the sysbench output"
  fi
}

# awk functions for the result tables: median of a space-separated list, and a value in a printf
# format ("-" when there is none).
awk_table_functions='
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    if (n == 0) return ""
    for (i = 2; i <= n; i++) {
      t = a[i] + 0
      for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]
      a[j + 1] = t
    }
    return (n % 2) ? a[(n + 1) / 2] + 0 : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  function fmt(v, f) { return (v == "" || v == "-") ? "-" : sprintf(f, v) }
'

# ---------------------------------------------------------------------------------------------
# Checks and problem reports (the caller keeps a sluice_problems array)

# One login and SELECT 1 as sbtest through PORT; prints the client's error on failure.
check_login() {
  local out
  if out=$(timeout 20 mariadb --no-defaults --host=127.0.0.1 --port="$1" --user=sbtest \
    --password=sbtest-pw --batch --skip-column-names sbtest -e "SELECT 1" 2>&1) && [[ $out == 1 ]]; then
    return 0
  fi
  if [[ $out == *ERROR* ]]; then
    grep -m1 ERROR <<<"$out"
  else
    echo "${out:-no answer within 20s}" | tr '\n' ' '
  fi
  return 1
}

# sluice_problem TEXT: reports a sluice failure; it is repeated in the final summary.
sluice_problem() {
  note "SLUICE PROBLEM: $1"
  sluice_problems+=("$1")
}
