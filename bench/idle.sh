#!/usr/bin/env bash
# Idle memory: what one idle logged-in client costs sluice. Logs N clients in through sluice (each
# runs one SELECT 1, as an application's pooled connection has), holds them silent, and reports
# sluice's resident set per idle client: (RSS with N clients - RSS with none) / N.
# Options: bench/idle.sh --help.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" idle bench/idle.sh

# ---------------------------------------------------------------------------------------------
# Options (parsed by parse_options in bench/lib.sh, like the other bench scripts' options).

clients=10000
settle=3
threads=8
sources=0 # 0: as many loopback source addresses as the ephemeral port range needs
login_only=0
heap=0
target_bytes=8192
cap=8
to_build=(sluice idle_client) # what --sluice / --idle-client leave to build
idle_bin=$build_dir/bench/idle_client

usage() {
  cat <<EOF
Usage: bench/idle.sh [options]

Starts a throwaway MariaDB and sluice in front of it (max_connections=$cap) on free loopback
ports, measures sluice's resident set (VmRSS) after one client came and went, then logs in
$clients clients through sluice (idle_client: Connector/C, each runs one SELECT 1), waits ${settle} s
(sluice gives an idle client's read buffer back after 1 s) and measures again. Prints the RSS per
idle client, (RSS with N - RSS with 0) / N, then the RSS once the clients have left.

  --clients N           idle clients (default $clients)
  --settle S            seconds between the last login and the measurement (default $settle)
  --threads N           idle_client threads logging clients in (default $threads)
  --sources N           loopback source addresses 127.0.0.1 .. 127.0.0.N (default: enough
                        for the ephemeral port range, ip_local_port_range)
  --login-only          the clients only log in (no SELECT 1)
  --heap                where the RSS goes (needs gdb, which briefly stops sluice): malloc's
                        bytes in use and free per client (mallinfo2), and the RSS after
                        malloc_trim(0) gives free heap pages back; after the measurement
  --target BYTES        the per-client target (default $target_bytes)
  --sluice BIN          use this sluice binary (not built)
  --idle-client BIN     use this idle_client binary (not built)
  --no-build            do not build; use $build_dir/{daemon/sluice,bench/idle_client}
  -h, --help            show this text

Results: stdout, and a row in bench/results/idle.csv. Exit status: 0 when every client logged in,
the RSS per idle client is at most the target and sluice exited cleanly on SIGTERM; 1 otherwise;
2 on bad usage.
EOF
}

set_option() { # OPT VALUE
  local opt=$1 val=$2
  case $opt in
    --clients) clients=$val ;;
    --settle) settle=$val ;;
    --threads) threads=$val ;;
    --sources) sources=$val ;;
    --target) target_bytes=$val ;;
    --sluice)
      path_option sluice_bin --sluice "$val"
      to_build=("${to_build[@]/sluice/}")
      ;;
    --idle-client)
      path_option idle_bin --idle-client "$val"
      to_build=("${to_build[@]/idle_client/}")
      ;;
    *) usage_error "unknown option '$opt'" ;;
  esac
}
# --login-only and --heap take no value: taken out before parse_options sees the rest.
args=()
for arg in "$@"; do
  case $arg in
    --login-only) login_only=1 ;;
    --heap) heap=1 ;;
    *) args+=("$arg") ;;
  esac
done
parse_options "--clients --settle --threads --sources --target --sluice --idle-client" "${args[@]+"${args[@]}"}"

check_counts "clients:$clients" "settle:$settle" "threads:$threads" "target:$target_bytes"
[[ $sources == 0 ]] || check_counts "sources:$sources"
((sources <= 254)) || usage_error "--sources must be at most 254, got $sources"

# ---------------------------------------------------------------------------------------------
# Processes

work=
idle_pid=
clean_up_on_exit idle_client:idle_pid:10 sluice:sluice_pid:10 mariadbd:db_pid:60

# ---------------------------------------------------------------------------------------------
# Measurements

# VmRSS of PID, in KiB.
rss_kib() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"; }

# The open descriptors of PID.
open_fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# sluice_clients{state="connected"} on sluice's /metrics ("?" if it cannot be read).
connected_clients() {
  curl -s --max-time 5 "http://127.0.0.1:$metrics_port/metrics" |
    awk '/^sluice_clients\{state="connected"\}/ { printf "%d", $2; found = 1 } END { if (!found) print "?" }'
}

# malloc's counters of PID (gdb calls mallinfo2 in it): "IN_USE FREE" bytes of the main arena.
malloc_counters() {
  gdb -p "$1" -batch -ex 'print mallinfo2()' 2>/dev/null |
    sed -nE 's/.*uordblks = ([0-9]+), fordblks = ([0-9]+).*/\1 \2/p' | tail -n 1
}

# Loopback source addresses for $clients connections to one port: the ephemeral range less a
# quarter of it (other connections, TIME_WAIT), per address.
sources_needed() {
  local first last per
  read -r first last </proc/sys/net/ipv4/ip_local_port_range
  per=$(((last - first + 1) * 3 / 4))
  echo $(((clients + per - 1) / per))
}

# ---------------------------------------------------------------------------------------------
# Main

require mariadbd mariadb-install-db mariadb timeout awk curl mkfifo
((do_build)) && require cmake
((heap)) && require gdb

read -ra to_build <<<"${to_build[*]}" # drop the emptied entries
((${#to_build[@]})) || do_build=0
if ((do_build)); then build_targets "${to_build[@]}"; fi
[[ -x $sluice_bin ]] || die "no sluice binary at $sluice_bin (build it, or pass --sluice BIN)"
[[ -x $idle_bin ]] || die "no idle_client at $idle_bin (build it, or pass --idle-client BIN)"
((sources > 0)) || sources=$(sources_needed)
((sources <= 254)) || die "$clients clients need $sources loopback source addresses (at most 254)"

# Every client is a socket in idle_client and another in sluice.
wanted_files=$((clients + 1024))
if (($(ulimit -n) < wanted_files)); then
  ulimit -n "$wanted_files" 2>/dev/null ||
    die "the open-files limit $(ulimit -n) is below $wanted_files and cannot be raised (ulimit -Hn: $(ulimit -Hn))"
fi

work=$(mktemp -d -t sluice-idle.XXXXXX)
start_mariadb 200
create_bench_database idle idle-pw
rc=0
launch_sluice 10s "limits.max_client_connections=$((clients + 100))" users.idle=idle-pw || rc=$?
((rc != 2)) || die "$sluice_error"
((rc == 0)) || die "sluice did not start (see above)"
note "sluice on 127.0.0.1:$sluice_port (pid $sluice_pid); $clients clients from $sources source address(es)"

client_args=(--port "$sluice_port" --user idle --password idle-pw --threads "$threads" --sources "$sources")
((login_only)) && client_args+=(--login-only)

# One client comes and goes first: what the first login, statement and backend connection set up
# once is in the reference, not in the per-client figure.
"$idle_bin" "${client_args[@]}" --clients 1 </dev/null >"$work/warmup.out" ||
  die "the warm-up client failed: $(cat "$work/warmup.out")"
sleep "$settle"
rss_none=$(rss_kib "$sluice_pid")
fds_none=$(open_fds "$sluice_pid")
((heap)) && read -r heap_used_none heap_free_none <<<"$(malloc_counters "$sluice_pid")"

# The idle clients hold their connections until their standard input (a FIFO) closes.
mkfifo "$work/hold"
"$idle_bin" "${client_args[@]}" --clients "$clients" <"$work/hold" >"$work/idle.out" 2>&1 &
idle_pid=$!
exec 3>"$work/hold"
started=$SECONDS
until grep -q '^READY ' "$work/idle.out"; do
  proc_alive "$idle_pid" || die "idle_client ended before its clients were in: $(cat "$work/idle.out")"
  ((SECONDS - started < 900)) || die "idle_client did not log its clients in within 900 s"
  sleep 0.5
done
ready=$(grep '^READY ' "$work/idle.out")
note "logged in after $((SECONDS - started)) s: ${ready#READY }"
sleep "$settle"
rss_clients=$(rss_kib "$sluice_pid")
fds_clients=$(open_fds "$sluice_pid")
connected=$(connected_clients)
if ((heap)); then
  read -r heap_used heap_free <<<"$(malloc_counters "$sluice_pid")"
  gdb -p "$sluice_pid" -batch -ex 'call (int) malloc_trim(0)' >/dev/null 2>&1
  rss_trimmed=$(rss_kib "$sluice_pid")
fi

exec 3>&-
wait "$idle_pid" || true
idle_pid=
sleep "$settle"
rss_after=$(rss_kib "$sluice_pid")

logged_in=$(sed -E 's/.*clients=([0-9]+).*/\1/' <<<"$ready")
per_client=$(((rss_clients - rss_none) * 1024 / clients))
echo
echo "sluice RSS with 0 clients:            $rss_none KiB ($fds_none open descriptors)"
echo "sluice RSS with $clients idle clients: $rss_clients KiB ($fds_clients open descriptors, $connected clients connected on /metrics)"
echo "sluice RSS once they left:            $rss_after KiB$( ((heap)) && echo " (after malloc_trim)")"
echo "RSS per idle client:                  $per_client bytes ($(awk -v b="$per_client" 'BEGIN { printf "%.2f", b / 1024 }') KiB; target $target_bytes bytes)"
if ((heap)); then
  echo "malloc in use per client:             $(((heap_used - heap_used_none) / clients)) bytes (mallinfo2 uordblks)"
  echo "malloc free, kept resident, per client: $(((heap_free - heap_free_none) / clients)) bytes (fordblks: freed blocks between live ones)"
  echo "RSS per client after malloc_trim(0):  $(((rss_trimmed - rss_none) * 1024 / clients)) bytes"
fi
echo "RESULT clients=$clients logged_in=$logged_in rss_none_kib=$rss_none rss_clients_kib=$rss_clients rss_after_kib=$rss_after per_client_bytes=$per_client"

make_results_dir
csv=$results_dir/idle.csv
[[ -s $csv ]] || echo "date,commit,clients,login_only,rss_none_kib,rss_clients_kib,rss_after_kib,per_client_bytes" >"$csv"
echo "$(date -u +%Y-%m-%dT%H:%MZ),$(measured_commit),$clients,$login_only,$rss_none,$rss_clients,$rss_after,$per_client" >>"$csv"

status=0
problems=()
((logged_in == clients)) || problems+=("only $logged_in of $clients clients logged in (${ready#READY })")
((per_client <= target_bytes)) || problems+=("$per_client bytes per idle client, above the target of $target_bytes")
if proc_alive "$sluice_pid"; then
  shutdown_sluice "with no clients left" || problems+=("$shutdown_problem")
else
  describe_exit "$sluice_pid"
  problems+=("sluice $exit_text during the run")
  sluice_pid=
fi
if ((${#problems[@]})); then
  echo
  echo "PROBLEMS:"
  printf '  - %s\n' "${problems[@]}"
  status=1
fi
exit "$status"
