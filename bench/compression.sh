#!/usr/bin/env bash
# Compression benchmark: what the compressed protocol (CLIENT_COMPRESS, zlib) costs and buys on the
# link sluice serves, loopback between an application and its sidecar. Measured against MariaDB
# directly, which implements it: the same clients with and without --compress. sluice does not
# offer CLIENT_COMPRESS, so these clients go on uncompressed through it (the driver matrix's
# "compress" variants); this script is the measurement behind that decision. What it measures and
# the latest result: docs/BENCHMARKS.md, "Compression". Options: bench/compression.sh --help.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" compression bench/compression.sh

# ---------------------------------------------------------------------------------------------
# Options

reps=3
queries=100000
concurrency=8
rows=200000

usage() {
  cat <<EOF
Usage: bench/compression.sh [options]

Starts a throwaway MariaDB on a free loopback port, then alternates, within each repetition,
the same client with and without --compress:
 1. mariadb-slap: $queries point selects from $concurrency connections: statements per second and
    CPU (client + MariaDB) per statement;
 2. the mariadb client reading a $rows-row result set (about $((rows * 140 / 1000000)) MB of text):
    wall time, CPU (client + MariaDB) and the bytes that crossed the loopback interface.

  --reps N          repetitions (default $reps)
  --queries N       point selects per mariadb-slap run (default $queries)
  --concurrency N   mariadb-slap connections (default $concurrency)
  --rows N          rows of the bulk result set (default $rows)
  -h, --help        show this text
EOF
}

set_option() { # OPT VALUE
  local opt=$1 val=$2
  case $opt in
    --reps) reps=$val ;;
    --queries) queries=$val ;;
    --concurrency) concurrency=$val ;;
    --rows) rows=$val ;;
    *) usage_error "unknown option '$opt'" ;;
  esac
}
parse_options "--reps --queries --concurrency --rows" "$@"
check_counts "reps:$reps" "queries:$queries" "concurrency:$concurrency" "rows:$rows"
require mariadbd mariadb-install-db mariadb mariadb-slap
[[ -x /usr/bin/time ]] || die "'/usr/bin/time' is not installed (Debian package 'time')"

work=
clean_up_on_exit mariadbd:db_pid:60

# lo_bytes: bytes received on the loopback interface so far (every byte sent on it is received).
lo_bytes() { awk -F'[: ]+' '$2 == "lo" { print $3 }' /proc/net/dev; }

# timed OUT COMMAND...: runs COMMAND with GNU time; OUT gets "wall user+sys" in seconds.
timed() {
  local out=$1
  shift
  /usr/bin/time -f '%e %U %S' -o "$out.time" "$@" >"$out" 2>"$out.err" || {
    tail -n 5 "$out.err" >&2
    die "$1 failed"
  }
  awk '{ printf "%s %.3f\n", $1, $2 + $3 }' "$out.time"
}

client=(--no-defaults --protocol=TCP --host=127.0.0.1 "--port=PORT" --user=bench --password=bench-pw)

# slap MODE REP: one mariadb-slap run; appends to the CSV.
slap() {
  local mode=$1 rep=$2 opts=() out db_before db_after wall cpu
  [[ $mode == compressed ]] && opts=(--compress)
  out=$work/runs/slap-$mode-$rep
  db_before=$(cpu_ticks "$db_pid")
  read -r wall cpu <<<"$(timed "$out" mariadb-slap "${client[@]/PORT/$db_port}" "${opts[@]}" \
    --create-schema=bench --concurrency="$concurrency" --number-of-queries="$queries" \
    --iterations=1 --query="SELECT v FROM t WHERE id = 42")"
  db_after=$(cpu_ticks "$db_pid")
  awk -v m="$mode" -v r="$rep" -v q="$queries" -v w="$wall" -v c="$cpu" \
    -v d=$((db_after - db_before)) -v hz="$clk_tck" \
    'BEGIN { printf "slap,%s,%s,%.0f,%.1f,%.1f,\n", m, r, q / w, c / q * 1e6, d / hz / q * 1e6 }' >>"$csv"
  note "  slap $mode rep $rep: $(tail -n 1 "$csv")"
}

# bulk MODE REP: reads the bulk result set once; appends to the CSV.
bulk() {
  local mode=$1 rep=$2 opts=() out db_before db_after lo_before lo_after wall cpu
  [[ $mode == compressed ]] && opts=(--compress)
  out=$work/runs/bulk-$mode-$rep
  db_before=$(cpu_ticks "$db_pid")
  lo_before=$(lo_bytes)
  read -r wall cpu <<<"$(timed "$out" mariadb "${client[@]/PORT/$db_port}" "${opts[@]}" \
    --batch --skip-column-names bench -e "SELECT id, v, pad FROM bulk")"
  lo_after=$(lo_bytes)
  db_after=$(cpu_ticks "$db_pid")
  local got
  got=$(wc -l <"$out")
  ((got == rows)) || die "bulk $mode: $got rows, want $rows"
  awk -v m="$mode" -v r="$rep" -v w="$wall" -v c="$cpu" -v d=$((db_after - db_before)) \
    -v hz="$clk_tck" -v b=$((lo_after - lo_before)) \
    'BEGIN { printf "bulk,%s,%s,%.3f,%.3f,%.3f,%.1f\n", m, r, w, c, d / hz, b / 1e6 }' >>"$csv"
  note "  bulk $mode rep $rep: $(tail -n 1 "$csv")"
}

clk_tck=$(getconf CLK_TCK)
work=$(mktemp -d -t sluice-compression.XXXXXX)
mkdir -p "$work/runs"
make_results_dir
run_id=$(date -u +%Y%m%dT%H%M%SZ)
csv=$results_dir/compression-$run_id.csv
# slap rows: statements/s, client µs/stmt, MariaDB µs/stmt; bulk rows: wall s, client CPU s,
# MariaDB CPU s, MB over loopback.
echo "step,mode,rep,a,b,c,d" >"$csv"

start_mariadb 100
# Text as applications store it: words and numbers that repeat, the kind zlib shrinks.
db_sql "CREATE DATABASE bench;
  CREATE USER 'bench'@'%' IDENTIFIED BY 'bench-pw';
  GRANT ALL PRIVILEGES ON bench.* TO 'bench'@'%';
  USE bench;
  CREATE TABLE bench.t (id INT PRIMARY KEY, v VARCHAR(64));
  INSERT INTO bench.t SELECT seq, CONCAT('value-', seq) FROM seq_1_to_1000;
  CREATE TABLE bench.bulk (id INT PRIMARY KEY, v VARCHAR(64), pad VARCHAR(120));
  INSERT INTO bench.bulk SELECT seq, CONCAT('customer-', seq % 5000, '@example.com'),
    CONCAT('order ', seq, ' status shipped warehouse ', seq % 17, ' notes none ', MD5(seq % 100))
    FROM seq_1_to_$rows;" || die "could not create the bench tables"

for ((rep = 1; rep <= reps; rep++)); do
  # Alternated, each repetition starting with the other mode.
  modes=(plain compressed)
  ((rep % 2 == 0)) && modes=(compressed plain)
  for mode in "${modes[@]}"; do slap "$mode" "$rep"; done
  for mode in "${modes[@]}"; do bulk "$mode" "$rep"; done
done

# ---------------------------------------------------------------------------------------------
# Report

median_of() { # STEP MODE COLUMN
  awk -F, -v s="$1" -v m="$2" -v c="$3" "$awk_table_functions"'
    $1 == s && $2 == m { list = list " " $c }
    END { print median(list) }' "$csv"
}
echo
echo "Compression, MariaDB directly over loopback, $reps alternated repetitions (medians)"
echo "commit $(measured_commit), $(date -u +%Y-%m-%d), $(nproc) cores shared by client and server"
echo
printf '%-28s %12s %12s\n' "" plain compressed
printf '%-28s %12s %12s\n' "point selects/s" "$(median_of slap plain 4)" "$(median_of slap compressed 4)"
printf '%-28s %12s %12s\n' "client CPU µs/statement" "$(median_of slap plain 5)" "$(median_of slap compressed 5)"
printf '%-28s %12s %12s\n' "MariaDB CPU µs/statement" "$(median_of slap plain 6)" "$(median_of slap compressed 6)"
printf '%-28s %12s %12s\n' "bulk read, wall s" "$(median_of bulk plain 4)" "$(median_of bulk compressed 4)"
printf '%-28s %12s %12s\n' "bulk read, client CPU s" "$(median_of bulk plain 5)" "$(median_of bulk compressed 5)"
printf '%-28s %12s %12s\n' "bulk read, MariaDB CPU s" "$(median_of bulk plain 6)" "$(median_of bulk compressed 6)"
printf '%-28s %12s %12s\n' "bulk read, MB over loopback" "$(median_of bulk plain 7)" "$(median_of bulk compressed 7)"
echo
echo "raw figures: $csv"
