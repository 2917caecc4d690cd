#!/usr/bin/env bash
# The driver-matrix scenario with the mariadb command-line client (and mariadb-admin for ping).
# Each step runs its own mariadb session(s); the CLI speaks the text protocol only.
set -uo pipefail

for name in HOST PORT USER PASSWORD DATABASE OTHER_USER OTHER_PASSWORD VARIANT; do
  var="SLUICE_DRIVER_$name"
  if [[ -z "${!var+set}" ]]; then
    echo "FAIL setup: environment variable $var is not set"
    exit 2
  fi
done
# Variants: the defaults, and --compress (sluice does not offer CLIENT_COMPRESS, so the client goes
# on uncompressed; MariaDB directly compresses).
case "$SLUICE_DRIVER_VARIANT" in
  default) variant_options=() ;;
  compress) variant_options=(--compress) ;;
  *)
    echo "FAIL setup: unknown variant $SLUICE_DRIVER_VARIANT"
    exit 2
    ;;
esac

# --no-defaults: the client's built-in defaults, not whatever /etc/mysql holds on this machine.
connection=(--no-defaults --protocol=TCP "--host=$SLUICE_DRIVER_HOST" "--port=$SLUICE_DRIVER_PORT"
  "--user=$SLUICE_DRIVER_USER" --connect-timeout=10 "${variant_options[@]}")
export MYSQL_PWD="$SLUICE_DRIVER_PASSWORD"
work="$(mktemp -d "${TMPDIR:-/tmp}/sluice-cli-XXXXXX")"
trap 'rm -rf "$work"' EXIT

# mariadb_sql [OPTION...] SQL: one session, tab-separated rows without column names on stdout.
mariadb_sql() {
  local sql="${*: -1}"
  mariadb "${connection[@]}" "--database=$SLUICE_DRIVER_DATABASE" --batch --skip-column-names \
    "${@:1:$#-1}" -e "$sql"
}

# `system` command line of a second session that writes its answer to the file $2: the system
# command's output would not come in order with the session's own (which the CLI buffers).
observer_command() {
  printf '%q ' mariadb "${connection[@]}" "--database=$SLUICE_DRIVER_DATABASE" --batch \
    --skip-column-names -e "$1"
  printf '> %q' "$2"
}

failures=0

# step NAME FUNCTION: runs FUNCTION, which prints a note on success or the reason on failure.
step() {
  local name=$1 body=$2 out
  if out="$($body 2>&1)"; then
    if [[ -n "$out" ]]; then echo "ok $name ($out)"; else echo "ok $name"; fi
  else
    failures=$((failures + 1))
    echo "FAIL $name: $(tr -s '\n\t ' ' ' <<<"$out" | sed 's/ $//')"
  fi
}

skip() {
  echo "skip $1: $2"
}

# expect WHAT WANT GOT: fails with a message naming WHAT unless GOT is WANT.
expect() {
  if [[ "$3" != "$2" ]]; then
    printf '%s: got %q, want %q\n' "$1" "$3" "$2"
    return 1
  fi
}

login() {
  mariadb_sql 'DO 1'
}

select_1() {
  local got
  got="$(mariadb_sql 'SELECT 1')" || { echo "$got"; return 1; }
  expect 'SELECT 1' 1 "$got"
}

insert_id() {
  local got
  got="$(mariadb_sql "CREATE TABLE t_ids (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10));
    INSERT INTO t_ids (v) VALUES ('a'); SELECT LAST_INSERT_ID();
    INSERT INTO t_ids (v) VALUES ('b'); SELECT LAST_INSERT_ID();")" || { echo "$got"; return 1; }
  expect 'LAST_INSERT_ID() after each insert' $'1\n2' "$got" || return 1
  echo "LAST_INSERT_ID(): the CLI has no insert-id call"
}

# A second session's view of t_tx, taken from inside the first session's transaction.
transaction_commit() {
  local got count='SELECT COUNT(*) FROM t_tx WHERE id = 1'
  got="$(mariadb_sql "CREATE TABLE t_tx (id INT PRIMARY KEY) ENGINE=InnoDB;
    BEGIN; INSERT INTO t_tx VALUES (1);
    system $(observer_command "$count" "$work/before")
    COMMIT;
    system $(observer_command "$count" "$work/after")")" || { echo "$got"; return 1; }
  expect 'second session before COMMIT' 0 "$(cat "$work/before")" || return 1
  expect 'second session after COMMIT' 1 "$(cat "$work/after")"
}

transaction_rollback() {
  local got count='SELECT COUNT(*) FROM t_tx WHERE id = 2'
  got="$(mariadb_sql "BEGIN; INSERT INTO t_tx VALUES (2); $count;
    system $(observer_command "$count" "$work/before")
    ROLLBACK; $count;
    system $(observer_command "$count" "$work/after")")" || { echo "$got"; return 1; }
  expect 'own count before and after ROLLBACK' $'1\n0' "$got" || return 1
  expect 'second session before ROLLBACK' 0 "$(cat "$work/before")" || return 1
  expect 'second session after ROLLBACK' 0 "$(cat "$work/after")"
}

utf8mb4() {
  local text=$'h\u00e9llo \U0001F600 \u6f22\u5b57 \U0001D11E' default got hex
  default="$(mariadb_sql 'SELECT @@character_set_client')" || { echo "$default"; return 1; }
  hex="$(printf '%s' "$text" | od -An -tx1 | tr -d ' \n' | tr a-f A-F)"
  got="$(mariadb_sql --default-character-set=utf8mb4 "
    CREATE TABLE t_utf8 (id INT PRIMARY KEY, s VARCHAR(64)) CHARACTER SET utf8mb4;
    INSERT INTO t_utf8 VALUES (1, '$text'); SELECT HEX(s) FROM t_utf8; SELECT s FROM t_utf8")" ||
    { echo "$got"; return 1; }
  expect 'HEX(s) and s' "$hex"$'\n'"$text" "$got" || return 1
  [[ "$default" == utf8mb4 ]] || echo "with --default-character-set=utf8mb4: the default was $default"
}

# DELIMITER makes the CLI send the three statements as one COM_QUERY.
multi_statements() {
  local got
  got="$(mariadb_sql "DELIMITER //
    SELECT 1 AS a; SET @ms = 5; SELECT @ms AS ms, 'two' AS b //
    DELIMITER ;
    SELECT 3;")" || { echo "$got"; return 1; }
  expect 'results' $'1\n5\ttwo\n3' "$got" || return 1
  echo "one COM_QUERY through DELIMITER; the CLI sets CLIENT_MULTI_STATEMENTS"
}

call_procedure() {
  local got
  got="$(mariadb_sql "CREATE PROCEDURE drv_double(IN x INT) SELECT x * 2 AS doubled, 'p' AS name;
    CALL drv_double(21); SELECT 4;")" || { echo "$got"; return 1; }
  expect 'CALL and the statement after it' $'42\tp\n4' "$got"
}

ping() {
  local got
  got="$(mariadb-admin "${connection[@]}" ping 2>&1)" || { echo "$got"; return 1; }
  expect 'mariadb-admin ping' 'mysqld is alive' "$got" || return 1
  echo "mariadb-admin ping"
}

value_5mb() {
  local size=$((5 * 1024 * 1024)) got
  yes abcdefghijklmnopqrstuvwxyz | tr -d '\n' | head -c "$size" >"$work/value"
  {
    echo "CREATE TABLE t_big (id INT PRIMARY KEY, v LONGTEXT);"
    printf "INSERT INTO t_big VALUES (1, '"
    cat "$work/value"
    echo "');"
  } >"$work/insert.sql"
  mariadb "${connection[@]}" "--database=$SLUICE_DRIVER_DATABASE" <"$work/insert.sql" || return 1
  got="$(mariadb_sql 'SELECT LENGTH(v) FROM t_big WHERE id = 1')" || { echo "$got"; return 1; }
  expect 'LENGTH(v)' "$size" "$got" || return 1
  mariadb_sql 'SELECT v FROM t_big WHERE id = 1' >"$work/read" || return 1
  printf '\n' >>"$work/value"
  cmp -s "$work/value" "$work/read" || { echo "value read back differs"; return 1; }
}

# --force goes on after an error, in the same session; the statements come on stdin, as a script's
# would (given with -e, nothing after the error was printed).
error_1146() {
  local got
  got="$(printf 'SELECT * FROM t_missing;\nSELECT 2;\n' | mariadb "${connection[@]}" --force \
    "--database=$SLUICE_DRIVER_DATABASE" --batch --skip-column-names 2>"$work/errors")"
  grep -q '^ERROR 1146 ' "$work/errors" || { echo "expected ERROR 1146, got: $(cat "$work/errors")"; return 1; }
  expect 'statement after the error' 2 "$got"
}

# \q ends the session with COM_QUIT, as the end of input does.
close() {
  local got
  got="$(printf 'SELECT 5;\n\\q\n' | mariadb "${connection[@]}" "--database=$SLUICE_DRIVER_DATABASE" \
    --batch --skip-column-names)" || { echo "$got"; return 1; }
  expect 'SELECT before \q' 5 "$got"
}

step login login
if ((failures > 0)); then
  for name in select_1 insert_id prepared client_parameters transaction_commit transaction_rollback \
    utf8mb4 multi_statements call_procedure ping reset_connection change_user value_5mb error_1146 \
    close; do
    echo "FAIL $name: not run (login failed)"
  done
  exit 1
fi
step select_1 select_1
step insert_id insert_id
skip prepared "the mariadb CLI sends text statements only (no binary protocol)"
skip client_parameters "the mariadb CLI has no placeholders"
step transaction_commit transaction_commit
step transaction_rollback transaction_rollback
step utf8mb4 utf8mb4
step multi_statements multi_statements
step call_procedure call_procedure
step ping ping
skip reset_connection "the mariadb CLI has no COM_RESET_CONNECTION command"
skip change_user "the mariadb CLI has no COM_CHANGE_USER command (connect opens a new session)"
step value_5mb value_5mb
step error_1146 error_1146
step close close
exit $((failures == 0 ? 0 : 1))
