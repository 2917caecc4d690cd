"""The driver-matrix scenario on a DB-API 2 connection, shared by the PyMySQL and mysqlclient programs."""

import datetime
import os
import sys

# Emoji, CJK and a character outside the BMP: anything short of real utf8mb4 loses them.
UTF8_TEXT = "h\u00e9llo \U0001F600 \u6f22\u5b57 \U0001D11E"
UTF8_HEX = UTF8_TEXT.encode("utf-8").hex().upper()
# 5 MiB of text, longer than the 4 MiB some drivers and servers default to for one packet.
VALUE_5MB = ("abcdefghijklmnopqrstuvwxyz" * 201650)[: 5 * 1024 * 1024]


def pattern_bytes(length, modulus):
    return bytes(i % modulus for i in range(length))


# One execution per row; every column takes its turn at NULL.
PARAM_ROWS = [
    (1, 42, "first", 3.25, "2024-02-29 13:14:15", pattern_bytes(1 << 20, 251)),
    (2, None, "second", -1.5e10, "1999-12-31 23:59:59", b"abc"),
    (3, -7, None, None, None, None),
    (4, 2147483648, "fourth \u2603", 0.1, "2038-01-19 03:14:08", pattern_bytes(70000, 7)),
]
PARAMS_TABLE = (
    "CREATE TABLE {} (id INT PRIMARY KEY, i BIGINT NULL, s VARCHAR(64) NULL, d DOUBLE NULL, "
    "dt DATETIME NULL, b LONGBLOB NULL) CHARACTER SET utf8mb4"
)
PARAMS_INSERT = "INSERT INTO {} (id, i, s, d, dt, b) VALUES (%s, %s, %s, %s, %s, %s)"
PARAMS_SELECT = "SELECT i, s, d, dt, b, CAST(dt AS CHAR) FROM {} WHERE id = %s"


def target():
    """Where to connect: the GoogleTest harness (tests/drivers) sets these for each run."""
    names = ["HOST", "PORT", "USER", "PASSWORD", "DATABASE", "OTHER_USER", "OTHER_PASSWORD", "VARIANT"]
    values = {}
    for name in names:
        key = "SLUICE_DRIVER_" + name
        if key not in os.environ:
            raise RuntimeError("environment variable %s is not set" % key)
        values[name.lower()] = os.environ[key]
    values["port"] = int(values["port"])
    return values


class StepFailed(Exception):
    pass


def check(condition, what):
    if not condition:
        raise StepFailed(what)


class Runner:
    """Prints `ok|FAIL|skip <step>` lines; any FAIL makes the exit status 1."""

    def __init__(self, error_number):
        self.failures = 0
        self.abandoned = None
        self.error_number = error_number

    def step(self, name, body):
        if self.abandoned:
            self.failures += 1
            print("FAIL %s: not run (%s)" % (name, self.abandoned), flush=True)
            return False
        try:
            note = body()
        except Exception as error:  # every failure is reported, the scenario goes on
            self.failures += 1
            number = self.error_number(error)
            code = " [errno %s]" % number if number is not None else ""
            print("FAIL %s: %s%s" % (name, " ".join(str(error).split()) or type(error).__name__, code), flush=True)
            return False
        print("ok %s (%s)" % (name, note) if note else "ok %s" % name, flush=True)
        return True

    def skip(self, name, why):
        print("skip %s: %s" % (name, why), flush=True)

    def finish(self):
        sys.exit(0 if self.failures == 0 else 1)


def dt_value(text):
    return None if text is None else datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S")


def check_param_row(got, row):
    ident, i, s, d, dt, b = row
    check(got is not None, "row %d not found" % ident)
    got_i, got_s, got_d, got_dt, got_b, got_dt_text = got
    check(got_i == i, "row %d column i: %r" % (ident, got_i))
    check(got_s == s, "row %d column s: %r" % (ident, got_s))
    check(got_d == d, "row %d column d: %r" % (ident, got_d))
    check(got_dt_text == dt, "row %d column dt as stored: %r" % (ident, got_dt_text))
    check(got_dt == dt_value(dt), "row %d column dt as read: %r" % (ident, got_dt))
    got_b = None if got_b is None else bytes(got_b)
    check(got_b == b, "row %d column b: %s differ from what was sent" % (ident, "NULL" if got_b is None else "%d bytes" % len(got_b)))


def scalar(conn, sql, args=None):
    with conn.cursor() as cursor:
        cursor.execute(sql, args)
        row = cursor.fetchone()
        check(row is not None, sql + " returned no row")
        return row[0]


def execute(conn, *statements):
    with conn.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


class Driver:
    """What differs between the DB-API drivers; each program fills one in."""

    name = ""
    connect = None  # connect(**extra) -> a connection to the target with the variant's options
    connect_observer = None  # the same, with autocommit on: it only reads other transactions' results
    multi_statements_option = ""  # how multi-statements are enabled, or "" if they are by default
    connect_multi = None
    error_number = None  # error -> MySQL error number or None
    ping = None
    change_user = None  # (conn, user, password, database) or None when the driver has none
    change_user_missing = ""
    reset_missing = ""


def run(driver, t):
    runner = Runner(driver.error_number)
    state = {}

    def login():
        state["conn"] = driver.connect()

    if not runner.step("login", login):
        runner.abandoned = "login failed"
    conn = state.get("conn")

    def select_1():
        check(scalar(conn, "SELECT 1") == 1, "SELECT 1")

    runner.step("select_1", select_1)

    def insert_id():
        execute(conn, "CREATE TABLE t_ids (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10))")
        with conn.cursor() as cursor:
            for want in (1, 2):
                cursor.execute("INSERT INTO t_ids (v) VALUES (%s)", ("v%d" % want,))
                check(cursor.lastrowid == want, "cursor.lastrowid %r, want %d" % (cursor.lastrowid, want))
                check(conn.insert_id() == want, "insert_id() %r, want %d" % (conn.insert_id(), want))
        check(scalar(conn, "SELECT LAST_INSERT_ID()") == 2, "LAST_INSERT_ID()")

    runner.step("insert_id", insert_id)

    runner.skip("prepared", "%s has no server-side prepared statements" % driver.name)

    def client_parameters():
        execute(conn, PARAMS_TABLE.format("t_client_params"))
        with conn.cursor() as cursor:
            for row in PARAM_ROWS:
                ident, i, s, d, dt, b = row
                cursor.execute(PARAMS_INSERT.format("t_client_params"), (ident, i, s, d, dt_value(dt), b))
            for row in PARAM_ROWS:
                cursor.execute(PARAMS_SELECT.format("t_client_params"), (row[0],))
                check_param_row(cursor.fetchone(), row)
        conn.commit()
        return "cursor.execute with parameters: escaped by the driver"

    runner.step("client_parameters", client_parameters)

    def count(connection, ident):
        return scalar(connection, "SELECT COUNT(*) FROM t_tx WHERE id = %s", (ident,))

    def transaction_commit():
        execute(conn, "CREATE TABLE t_tx (id INT PRIMARY KEY) ENGINE=InnoDB")
        observer = driver.connect_observer()
        try:
            conn.begin()
            execute(conn, "INSERT INTO t_tx VALUES (1)")
            check(count(observer, 1) == 0, "second connection sees the row before COMMIT")
            conn.commit()
            check(count(observer, 1) == 1, "second connection misses the committed row")
        finally:
            observer.close()

    runner.step("transaction_commit", transaction_commit)

    def transaction_rollback():
        observer = driver.connect_observer()
        try:
            conn.begin()
            execute(conn, "INSERT INTO t_tx VALUES (2)")
            check(count(conn, 2) == 1, "own insert not visible inside the transaction")
            check(count(observer, 2) == 0, "second connection sees an uncommitted row")
            conn.rollback()
            check(count(conn, 2) == 0, "row still there after ROLLBACK")
            check(count(observer, 2) == 0, "second connection sees a rolled-back row")
        finally:
            observer.close()

    runner.step("transaction_rollback", transaction_rollback)

    def utf8mb4():
        charset = scalar(conn, "SELECT @@character_set_client")
        note = None
        if charset != "utf8mb4":
            # A driver that did not ask for utf8mb4 cannot carry emoji: say so and switch.
            execute(conn, "SET NAMES utf8mb4")
            note = "after SET NAMES utf8mb4: the connection had %s" % charset
        execute(conn, "CREATE TABLE t_utf8 (id INT PRIMARY KEY, s VARCHAR(64)) CHARACTER SET utf8mb4")
        with conn.cursor() as cursor:
            cursor.execute("INSERT INTO t_utf8 VALUES (1, %s)", (UTF8_TEXT,))
            cursor.execute("SELECT s, HEX(s) FROM t_utf8 WHERE id = 1")
            s, hexed = cursor.fetchone()
        check(hexed == UTF8_HEX, "stored as %s, want %s" % (hexed, UTF8_HEX))
        check(s == UTF8_TEXT, "read back as %r" % s)
        conn.commit()
        return note

    runner.step("utf8mb4", utf8mb4)

    def multi_statements():
        multi = driver.connect_multi()
        try:
            with multi.cursor() as cursor:
                cursor.execute("SELECT 1 AS a; SET @ms = 5; SELECT @ms AS ms, 'two' AS b")
                check(cursor.fetchall() == ((1,),), "first result")
                check(cursor.nextset(), "no second result")
                check(cursor.description is None, "second result is not the SET's")
                check(cursor.nextset(), "no third result")
                check(tuple(cursor.fetchall()) == ((5, "two"),), "third result")
                check(not cursor.nextset(), "a fourth result")
            check(scalar(multi, "SELECT 3") == 3, "statement after the multi-statement")
        finally:
            multi.close()
        return driver.multi_statements_option

    runner.step("multi_statements", multi_statements)

    def call_procedure():
        execute(conn, "CREATE PROCEDURE drv_double(IN x INT) SELECT x * 2 AS doubled, 'p' AS name")
        with conn.cursor() as cursor:
            cursor.execute("CALL drv_double(21)")
            check(tuple(cursor.fetchall()) == ((42, "p"),), "CALL")
            while cursor.nextset():
                pass
            cursor.callproc("drv_double", (5,))
            check(tuple(cursor.fetchall()) == ((10, "p"),), "callproc")
            while cursor.nextset():
                pass
        check(scalar(conn, "SELECT 4") == 4, "statement after CALL")

    runner.step("call_procedure", call_procedure)

    runner.step("ping", lambda: driver.ping(conn))

    runner.skip("reset_connection", driver.reset_missing)

    def change_user():
        execute(conn, "SET @cu = 1")
        driver.change_user(conn, t["other_user"], t["other_password"], t["database"])
        with conn.cursor() as cursor:
            cursor.execute("SELECT @cu, 1")
            check(cursor.fetchone() == (None, 1), "@cu survived COM_CHANGE_USER")

    if driver.change_user:
        runner.step("change_user", change_user)
    else:
        runner.skip("change_user", driver.change_user_missing)

    def value_5mb():
        execute(conn, "CREATE TABLE t_big (id INT PRIMARY KEY, v LONGTEXT)")
        with conn.cursor() as cursor:
            cursor.execute("INSERT INTO t_big VALUES (%s, %s)", (1, VALUE_5MB))
            cursor.execute("SELECT v, LENGTH(v) FROM t_big WHERE id = 1")
            v, n = cursor.fetchone()
        conn.commit()
        check(n == len(VALUE_5MB), "LENGTH %d" % n)
        check(v == VALUE_5MB, "value read back differs")

    runner.step("value_5mb", value_5mb)

    def error_1146():
        try:
            scalar(conn, "SELECT * FROM t_missing")
        except StepFailed:
            raise
        except Exception as error:
            number = driver.error_number(error)
            check(number == 1146, "expected error 1146, got %r: %s" % (number, error))
        else:
            raise StepFailed("the statement succeeded; expected error 1146")
        check(scalar(conn, "SELECT 2") == 2, "statement after the error")

    runner.step("error_1146", error_1146)

    runner.step("close", conn.close if conn is not None else lambda: None)
    runner.finish()
