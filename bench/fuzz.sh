#!/usr/bin/env bash
# Long fuzzing runs: builds the libFuzzer targets of tests/fuzz (clang, SLUICE_FUZZ=ON) and runs
# each in turn, niced, from its committed seed corpus, for a time or a number of executions.
# Prints one line per target (executions, coverage, features, corpus size, findings) as a
# markdown table for docs/TESTING.md. Options: bench/fuzz.sh --help.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# shellcheck source=bench/lib.sh
source "$script_dir/lib.sh" fuzz bench/fuzz.sh
# After lib.sh, which sets the benchmarks' build directory: the fuzz targets have their own.
build_dir=$repo/build-fuzz

all_targets=(fuzz_frame fuzz_handshake_v10 fuzz_handshake_response fuzz_change_user
  fuzz_auth_switch fuzz_generic_response fuzz_stmt_command fuzz_response_scanner
  fuzz_session_state fuzz_sql fuzz_admin_command fuzz_config fuzz_http_request)

seconds=
runs=
do_build=1
targets=()

usage() {
  cat <<EOF
Usage: bench/fuzz.sh [options] SECONDS [TARGET...]
       bench/fuzz.sh [options] --runs N [TARGET...]

Builds the fuzz targets in $build_dir (CXX=clang++-16, -DSLUICE_FUZZ=ON), then runs each TARGET
(default: all of them) for SECONDS, or for N executions, one after the other under nice -n 10,
starting from tests/fuzz/corpus/TARGET. What a run discovers goes to a corpus of its own in
build-fuzz/runs/<timestamp>/TARGET/ (the committed corpus is only read), with its log and any
crashing input (crash-*, timeout-*, oom-*, leak-*).

Targets: ${all_targets[*]}

  --runs N       stop each target after N executions instead of after SECONDS
  --no-build     use the targets already built in $build_dir
  -h, --help     show this text

Exit status: 0 when no target found anything; 1 when one did (the table says which); 2 on bad
usage.
EOF
}

while (($#)); do
  case $1 in
    --runs)
      [[ $# -ge 2 ]] && is_count "$2" || usage_error "--runs needs a count"
      runs=$2
      shift 2
      ;;
    --no-build)
      do_build=0
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    -*) usage_error "unknown option $1" ;;
    *)
      if [[ -z $seconds && -z $runs ]] && is_count "$1"; then
        seconds=$1
      else
        printf '%s\n' "${all_targets[@]}" | grep -qx -- "$1" || usage_error "unknown target $1"
        targets+=("$1")
      fi
      shift
      ;;
  esac
done
[[ -n $seconds || -n $runs ]] || usage_error "give SECONDS per target or --runs N"
((${#targets[@]})) || targets=("${all_targets[@]}")

if ((do_build)); then
  require clang++-16 cmake
  [[ -n $(find /usr/lib/llvm-16 -name 'libclang_rt.fuzzer-x86_64.a' 2>/dev/null) ]] ||
    die "libFuzzer is not installed (apt-get install libfuzzer-16-dev)"
  CXX=clang++-16 cmake -S "$repo" -B "$build_dir" -DSLUICE_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build_dir" -j2 --target "${targets[@]}"
fi

out=$build_dir/runs/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
note "logs and corpora in $out"

limit=(-max_total_time="$seconds")
[[ -n $runs ]] && limit=(-runs="$runs")

rows=()
found=0
for target in "${targets[@]}"; do
  binary=$build_dir/tests/fuzz/$target
  [[ -x $binary ]] || die "$binary is not built"
  mkdir -p "$out/$target"
  note "$target: running (${runs:+$runs executions}${seconds:+$seconds s})"
  start=$SECONDS
  status=0
  # -timeout: a single input taking 10 s is a finding; -rss_limit_mb: so is 4 GiB of memory.
  nice -n 10 "$binary" "${limit[@]}" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$out/$target/" "$out/$target" "$repo/tests/fuzz/corpus/$target" \
    >"$out/$target.log" 2>&1 || status=$?
  elapsed=$((SECONDS - start))
  # The last status line: "#N DONE cov: C ft: F corp: U/Sb ...", or the last "#N ..." if it died.
  last=$(grep -E '^#[0-9]+' "$out/$target.log" | tail -n 1 || true)
  execs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$out/$target.log" | grep -oE '[0-9]+$' || true)
  [[ -n $execs ]] || execs=$(sed -E 's/^#([0-9]+).*/\1/' <<<"$last")
  cov=$(grep -oE 'cov: [0-9]+' <<<"$last" | grep -oE '[0-9]+' || echo '?')
  ft=$(grep -oE 'ft: [0-9]+' <<<"$last" | grep -oE '[0-9]+' || echo '?')
  corp=$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' <<<"$last" | sed 's/corp: //' || echo '?')
  artifacts=$(find "$out/$target" -maxdepth 1 \( -name 'crash-*' -o -name 'timeout-*' \
    -o -name 'oom-*' -o -name 'leak-*' \) | wc -l)
  verdict=none
  if ((status != 0 || artifacts > 0)); then
    verdict="exit $status, $artifacts input(s) saved"
    found=1
  fi
  rows+=("| $target | $execs | $elapsed s | $cov | $ft | $corp | $verdict |")
  note "$target: $execs executions in $elapsed s, cov $cov, ft $ft, corpus $corp, findings: $verdict"
done

echo
echo "| target | executions | time | cov | ft | corpus (inputs/bytes) | findings |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | --- |"
printf '%s\n' "${rows[@]}"
exit "$found"
