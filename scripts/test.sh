#!/usr/bin/env bash
# The test command: dependencies, formatting and lint, an optimised build with every test, an
# AddressSanitizer + UndefinedBehaviorSanitizer build with every test, and a build with a second
# compiler (clang-16) with every test, so that a compiler's coroutine bug shows as a difference,
# and the fuzz targets for a short budget each.
# Exits non-zero if any stage fails; always runs every stage it can and prints a summary.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$(pwd)"
jobs=2
logs="$(mktemp -d "${TMPDIR:-/tmp}/sluice-test-logs-XXXXXX")"
trap 'rm -rf "$logs"' EXIT

summary=()
failed_stages=0
tests_passed=0
tests_failed=0
# Named at the end of the run, where a CI log's tail shows them.
failures=()

# stage NAME COMMAND...: runs one stage, records PASS/FAIL and its duration.
stage() {
  local name=$1
  shift
  local start=$SECONDS
  echo
  echo "==> $name"
  if "$@"; then
    summary+=("PASS  $name ($((SECONDS - start)) s)")
    return 0
  fi
  summary+=("FAIL  $name ($((SECONDS - start)) s)")
  failed_stages=$((failed_stages + 1))
  return 1
}

check_format() {
  local dirs=() dir
  for dir in protocol pool sql session config metrics proxy admin daemon tests bench; do
    [[ -d "$dir" ]] && dirs+=("$dir")
  done
  local files=()
  if ((${#dirs[@]} > 0)); then
    mapfile -d '' files < <(find "${dirs[@]}" -type f \( -name '*.h' -o -name '*.cpp' \) -print0 | sort -z)
  fi
  if ((${#files[@]} == 0)); then
    echo "no C++ files to check"
    return 0
  fi
  echo "checking ${#files[@]} files"
  clang-format --dry-run --Werror "${files[@]}"
}

build() {
  local dir=$1
  shift
  cmake -S "$root" -B "$dir" "$@" && cmake --build "$dir" -j"$jobs"
}

# run_ctest DIR: runs every test in DIR and adds its counts to the totals. A test that fails is
# run once more (2 cores shared by the clients, sluice and MariaDB make timing tests wobble): one
# that then passes is listed as "flaky", one that fails twice fails the stage; both are named in
# the summary with their first failed assertions.
run_ctest() {
  local dir=$1 log
  log="$logs/$(basename "$dir").ctest.log"
  # --timeout only applies to tests that set no TIMEOUT of their own.
  {
    local rc=0
    ctest --test-dir "$dir" --output-on-failure --timeout 600 --repeat until-pass:2 2>&1 || rc=$?
    echo "$rc" >"$log.status"
  } | tee "$log"
  local status
  status="$(cat "$log.status")"
  local line
  line="$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)"
  if [[ -n "$line" ]]; then
    local failed total
    failed="$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")"
    total="$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$line")"
    tests_failed=$((tests_failed + failed))
    tests_passed=$((tests_passed + total - failed))
    local name
    while read -r name; do
      [[ -n "$name" ]] || continue
      if sed -n '/The following tests FAILED:/,$p' "$log" | grep -qF -- " - $name "; then
        failures+=("FAILED $(basename "$dir"): $name")
      else
        failures+=("flaky  $(basename "$dir"): $name (failed once, passed when run again)")
      fi
    done < <(grep -E 'Test +#[0-9]+: .*\*\*\*(Failed|Timeout|Exception)' "$log" |
      sed -E 's/.*Test +#[0-9]+: ([^ ]+) .*/\1/' | sort -u)
    while read -r name; do
      failures+=("       $name")
    done < <(grep -E '^[^ ]+:[0-9]+: Failure$' "$log" | sort -u | head -n 10)
  elif grep -q 'No tests were found' "$log"; then
    echo "ctest found no tests in $dir"
    return 1
  fi
  return "$status"
}

stage "install dependencies" bash scripts/install-deps.sh || true
stage "clang-format" check_format || true
stage "lint (co_await temporaries)" python3 tests/lint/co_await_temporaries.py "$root" || true

if stage "build (RelWithDebInfo)" build "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo; then
  stage "tests (RelWithDebInfo)" run_ctest "$root/build" || true
else
  summary+=("SKIP  tests (RelWithDebInfo): build failed")
fi

export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1
if stage "build (ASan+UBSan)" build "$root/build-asan" -DCMAKE_BUILD_TYPE=Debug -DSLUICE_SANITIZE=ON; then
  stage "tests (ASan+UBSan)" run_ctest "$root/build-asan" || true
else
  summary+=("SKIP  tests (ASan+UBSan): build failed")
fi

unset ASAN_OPTIONS UBSAN_OPTIONS
# The compilers are cmake arguments, not environment: `build` is a shell function, which `env`
# cannot run.
clang=(-DCMAKE_CXX_COMPILER=clang++-16 -DCMAKE_C_COMPILER=clang-16)
if stage "build (clang-16)" build "$root/build-clang" "${clang[@]}" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo; then
  stage "tests (clang-16)" run_ctest "$root/build-clang" || true
else
  summary+=("SKIP  tests (clang-16): build failed")
fi

# The fuzz targets (libFuzzer, clang-16, ASan+UBSan), each for a short fixed budget over its
# corpus; bench/fuzz.sh runs them for long.
if stage "build (fuzz targets)" build "$root/build-fuzz" "${clang[@]}" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_FUZZ=ON; then
  stage "fuzz (short)" run_ctest "$root/build-fuzz" || true
else
  summary+=("SKIP  fuzz (short): build failed")
fi

echo
echo "================ sluice test summary ================"
printf '%s\n' "${summary[@]}"
if ((${#failures[@]} > 0)); then
  echo "tests that failed:"
  printf '  %s\n' "${failures[@]}"
fi
echo "total time: $((SECONDS / 60)) min $((SECONDS % 60)) s"
if ((failed_stages > 0)); then
  echo "RESULT: FAILED ($failed_stages stage(s) failed)"
else
  echo "RESULT: OK"
fi
echo "tests: $tests_passed passed, $tests_failed failed"
((failed_stages == 0))
