# Shell functions shared by the benchmark scripts (bench/run.sh, bench/storm.sh): messages, child
# processes, free loopback ports and a throwaway MariaDB. Sourced, not run. Before using them the
# script sets `bench_name` (the prefix of its messages), `bench_script` (how --help is spelt in
# usage errors) and, before start_mariadb, `work` (its temporary directory). It may define
# `on_kill_after_grace NAME GRACE`, called when stop_pid has to SIGKILL a process.
# shellcheck shell=bash disable=SC2154  # bench_name, bench_script, work: the sourcing script's

# ---------------------------------------------------------------------------------------------
# Messages and option checks

die() {
  echo "$bench_name: error: $*" >&2
  exit 1
}
usage_error() {
  echo "$bench_name: $*" >&2
  echo "Try '$bench_script --help'." >&2
  exit 2
}
note() { echo "$bench_name: $*" >&2; }

is_count() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }
is_count_list() { [[ $1 =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]]; }

require() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null || die "'$c' is not installed (scripts/install-deps.sh installs the benchmark tools)"
  done
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

# Reaps the dead child PID and sets exit_text to "exited with status N" or "was killed by
# signal SIGSEGV". (Not a $(...) function: a subshell cannot wait for our children.)
exit_text=
describe_exit() {
  local st=0
  wait "$1" 2>/dev/null || st=$?
  if ((st > 128)); then
    exit_text="was killed by signal SIG$(kill -l $((st - 128)) 2>/dev/null || echo $((st - 128)))"
  else
    exit_text="exited with status $st"
  fi
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

port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# wait_port NAME PID PORT TIMEOUT LOG: 0 once PORT accepts connections, 1 (with a report) if the
# process died or the timeout passed.
wait_port() {
  local name=$1 pid=$2 port=$3 limit=$4 log=$5 start=$SECONDS
  while ((SECONDS - start < limit)); do
    if ! proc_alive "$pid"; then
      describe_exit "$pid"
      note "$name $exit_text during start-up; last lines of $log:"
      tail -n 20 "$log" >&2 || true
      return 1
    fi
    port_open "$port" && return 0
    sleep 0.2
  done
  note "$name did not accept connections on 127.0.0.1:$port within ${limit}s; last lines of $log:"
  tail -n 20 "$log" >&2 || true
  return 1
}

# ---------------------------------------------------------------------------------------------
# A throwaway MariaDB

db_pid=
db_port=
db_sock=

db_sql() { mariadb --no-defaults --socket="$db_sock" -uroot --batch --skip-column-names -e "$1"; }

# start_mariadb MAX_CONNECTIONS: a fresh datadir in $work/mariadb and mariadbd on a free loopback
# port (db_port, db_sock, db_pid), root over the socket without a password; dies if it fails.
start_mariadb() {
  local max_connections=$1 dir=$work/mariadb attempt
  mkdir -p "$dir"
  db_sock=$dir/sock
  local root_opt=()
  ((EUID == 0)) && root_opt=(--user=root)
  note "initialising MariaDB in $dir/data"
  mariadb-install-db --no-defaults --datadir="$dir/data" --auth-root-authentication-method=normal \
    --skip-test-db "${root_opt[@]}" >"$dir/install.log" 2>&1 || {
    tail -n 30 "$dir/install.log" >&2
    die "mariadb-install-db failed (log above)"
  }
  for attempt in 1 2 3; do
    db_port=$(free_port)
    : >"$dir/err.log"
    mariadbd --no-defaults --datadir="$dir/data" --port="$db_port" --bind-address=127.0.0.1 \
      --socket="$db_sock" --pid-file="$dir/mariadbd.pid" --log-error="$dir/err.log" \
      --skip-name-resolve --max-connections="$max_connections" --innodb-buffer-pool-size=256M \
      --innodb-flush-log-at-trx-commit=2 "${root_opt[@]}" >"$dir/out.log" 2>&1 &
    db_pid=$!
    if wait_port mariadbd "$db_pid" "$db_port" 90 "$dir/err.log"; then
      break
    fi
    stop_pid mariadbd "$db_pid" 10
    db_pid=
    ((attempt < 3)) || die "MariaDB did not start (see above)"
    note "retrying MariaDB on another port"
  done
  local i
  for ((i = 0; i < 50; i++)); do
    db_sql "SELECT 1" >/dev/null 2>&1 && break
    sleep 0.2
  done
  note "MariaDB $(db_sql 'SELECT VERSION()') on 127.0.0.1:$db_port (pid $db_pid, max_connections=$max_connections)"
}

# ---------------------------------------------------------------------------------------------
# sysbench (the caller sets tables, table_size, db_port and work)

sysbench_args() { # PORT
  echo --db-driver=mysql --mysql-host=127.0.0.1 "--mysql-port=$1" --mysql-user=sbtest \
    --mysql-password=sbtest-pw --mysql-db=sbtest "--tables=$tables" "--table-size=$table_size"
}

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
