// The driver-matrix scenario with go-sql-driver/mysql through database/sql (built offline in
// GOPATH mode against Debian's golang-github-go-sql-driver-mysql-dev).
package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Variants: the driver's defaults (arguments go to server-side prepared statements), and
// interpolateParams=true (the driver escapes them into the text itself).
var variants = map[string]string{
	"default":            "",
	"interpolate_params": "&interpolateParams=true",
}

type target struct {
	host, port, user, password, database, otherUser, otherPassword, variant string
}

func need(name string) string {
	value, ok := os.LookupEnv(name)
	if !ok {
		fmt.Printf("FAIL setup: environment variable %s is not set\n", name)
		os.Exit(2)
	}
	return value
}

func readTarget() target {
	return target{
		host: need("SLUICE_DRIVER_HOST"), port: need("SLUICE_DRIVER_PORT"),
		user: need("SLUICE_DRIVER_USER"), password: need("SLUICE_DRIVER_PASSWORD"),
		database: need("SLUICE_DRIVER_DATABASE"), otherUser: need("SLUICE_DRIVER_OTHER_USER"),
		otherPassword: need("SLUICE_DRIVER_OTHER_PASSWORD"), variant: need("SLUICE_DRIVER_VARIANT"),
	}
}

// Emoji, CJK and a character outside the BMP: anything short of real utf8mb4 loses them.
const utf8Text = "h\u00e9llo \U0001F600 \u6f22\u5b57 \U0001D11E"

func patternBytes(length, modulus int) []byte {
	b := make([]byte, length)
	for i := range b {
		b[i] = byte(i % modulus)
	}
	return b
}

// 5 MiB of text, more than the driver's default maxAllowedPacket of 4 MiB.
var value5MB = strings.Repeat("abcdefghijklmnopqrstuvwxyz", 201650)[:5*1024*1024]

type paramRow struct {
	id int
	i  interface{} // int64 or nil
	s  interface{} // string or nil
	d  interface{} // float64 or nil
	dt string      // "" for NULL
	b  []byte      // nil for NULL
}

// One execution per row; every column takes its turn at NULL.
var paramRows = []paramRow{
	{1, int64(42), "first", 3.25, "2024-02-29 13:14:15", patternBytes(1<<20, 251)},
	{2, nil, "second", -1.5e10, "1999-12-31 23:59:59", []byte("abc")},
	{3, int64(-7), nil, nil, "", nil},
	{4, int64(2147483648), "fourth \u2603", 0.1, "2038-01-19 03:14:08", patternBytes(70000, 7)},
}

const paramsTable = "CREATE TABLE %s (id INT PRIMARY KEY, i BIGINT NULL, s VARCHAR(64) NULL, " +
	"d DOUBLE NULL, dt DATETIME NULL, b LONGBLOB NULL) CHARACTER SET utf8mb4"
const paramsInsert = "INSERT INTO %s (id, i, s, d, dt, b) VALUES (?, ?, ?, ?, ?, ?)"
const paramsSelect = "SELECT i, s, d, dt, b, CAST(dt AS CHAR) FROM %s WHERE id = ?"

func (row paramRow) args() []interface{} {
	var dt interface{}
	if row.dt != "" {
		parsed, err := time.Parse("2006-01-02 15:04:05", row.dt)
		if err != nil {
			panic(err)
		}
		dt = parsed
	}
	var b interface{}
	if row.b != nil {
		b = row.b
	}
	return []interface{}{row.id, row.i, row.s, row.d, dt, b}
}

type scanner interface {
	Scan(dest ...interface{}) error
}

// Reads one row of paramsSelect and compares it with what was sent.
func checkParamRow(result scanner, row paramRow) error {
	var i sql.NullInt64
	var s, dt, dtText sql.NullString
	var d sql.NullFloat64
	var b []byte
	if err := result.Scan(&i, &s, &d, &dt, &b, &dtText); err != nil {
		return fmt.Errorf("row %d: %w", row.id, err)
	}
	if got := nullable(i.Valid, i.Int64); got != row.i {
		return fmt.Errorf("row %d column i: got %v, sent %v", row.id, got, row.i)
	}
	if got := nullable(s.Valid, s.String); got != row.s {
		return fmt.Errorf("row %d column s: got %v, sent %v", row.id, got, row.s)
	}
	if got := nullable(d.Valid, d.Float64); got != row.d {
		return fmt.Errorf("row %d column d: got %v, sent %v", row.id, got, row.d)
	}
	if dtText.String != row.dt || dtText.Valid != (row.dt != "") {
		return fmt.Errorf("row %d column dt as stored: got %q, sent %q", row.id, dtText.String, row.dt)
	}
	if dt.String != row.dt {
		return fmt.Errorf("row %d column dt as read: got %q, sent %q", row.id, dt.String, row.dt)
	}
	if (b == nil) != (row.b == nil) || !bytes.Equal(b, row.b) {
		return fmt.Errorf("row %d column b: %d bytes read differ from the %d sent", row.id, len(b), len(row.b))
	}
	return nil
}

func nullable(valid bool, value interface{}) interface{} {
	if !valid {
		return nil
	}
	return value
}

// runner prints `ok|FAIL|skip <step>` lines; failures makes the exit status 1.
type runner struct {
	failures  int
	abandoned string
}

func (r *runner) step(name string, body func() (string, error)) bool {
	if r.abandoned != "" {
		r.failures++
		fmt.Printf("FAIL %s: not run (%s)\n", name, r.abandoned)
		return false
	}
	note, err := body()
	if err != nil {
		r.failures++
		fmt.Printf("FAIL %s: %s\n", name, strings.Join(strings.Fields(err.Error()), " "))
		return false
	}
	if note != "" {
		fmt.Printf("ok %s (%s)\n", name, note)
	} else {
		fmt.Printf("ok %s\n", name)
	}
	return true
}

func (r *runner) skip(name, why string) {
	fmt.Printf("skip %s: %s\n", name, why)
}

func scalar(ctx context.Context, conn *sql.Conn, query string, args ...interface{}) (string, error) {
	var value sql.NullString
	if err := conn.QueryRowContext(ctx, query, args...).Scan(&value); err != nil {
		return "", fmt.Errorf("%s: %w", query, err)
	}
	if !value.Valid {
		return "NULL", nil
	}
	return value.String, nil
}

func expect(ctx context.Context, conn *sql.Conn, query, want string, args ...interface{}) error {
	got, err := scalar(ctx, conn, query, args...)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("%s: got %q, want %q", query, got, want)
	}
	return nil
}

func exec(ctx context.Context, conn *sql.Conn, statements ...string) error {
	for _, statement := range statements {
		if _, err := conn.ExecContext(ctx, statement); err != nil {
			return fmt.Errorf("%s: %w", statement, err)
		}
	}
	return nil
}

func main() {
	t := readTarget()
	extra, known := variants[t.variant]
	if !known {
		fmt.Printf("FAIL setup: unknown variant %s\n", t.variant)
		os.Exit(2)
	}
	dsn := func(user, password, options string) string {
		return fmt.Sprintf("%s:%s@tcp(%s:%s)/%s?timeout=10s&readTimeout=60s%s%s",
			user, password, t.host, t.port, t.database, extra, options)
	}
	ctx := context.Background()
	r := &runner{}
	db, err := sql.Open("mysql", dsn(t.user, t.password, ""))
	if err != nil {
		fmt.Printf("FAIL setup: %v\n", err)
		os.Exit(2)
	}
	var conn *sql.Conn

	if !r.step("login", func() (string, error) {
		var err error
		conn, err = db.Conn(ctx)
		return "", err
	}) {
		r.abandoned = "login failed"
	}

	r.step("select_1", func() (string, error) {
		return "", expect(ctx, conn, "SELECT 1", "1")
	})

	r.step("insert_id", func() (string, error) {
		if err := exec(ctx, conn, "CREATE TABLE t_ids (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10))"); err != nil {
			return "", err
		}
		for want, value := range []string{"a", "b"} {
			result, err := conn.ExecContext(ctx, "INSERT INTO t_ids (v) VALUES ('"+value+"')")
			if err != nil {
				return "", err
			}
			id, err := result.LastInsertId()
			if err != nil {
				return "", err
			}
			if id != int64(want+1) {
				return "", fmt.Errorf("LastInsertId of insert %d: got %d", want+1, id)
			}
		}
		return "", expect(ctx, conn, "SELECT LAST_INSERT_ID()", "2")
	})

	r.step("prepared", func() (string, error) {
		if err := exec(ctx, conn, fmt.Sprintf(paramsTable, "t_prepared")); err != nil {
			return "", err
		}
		insert, err := conn.PrepareContext(ctx, fmt.Sprintf(paramsInsert, "t_prepared"))
		if err != nil {
			return "", err
		}
		defer insert.Close()
		for _, row := range paramRows {
			if _, err := insert.ExecContext(ctx, row.args()...); err != nil {
				return "", fmt.Errorf("insert row %d: %w", row.id, err)
			}
		}
		selectRow, err := conn.PrepareContext(ctx, fmt.Sprintf(paramsSelect, "t_prepared"))
		if err != nil {
			return "", err
		}
		defer selectRow.Close()
		for _, row := range paramRows {
			if err := checkParamRow(selectRow.QueryRowContext(ctx, row.id), row); err != nil {
				return "", err
			}
		}
		return "server-side: Prepare, then Exec/Query on the statement; 1 MiB goes as COM_STMT_SEND_LONG_DATA", nil
	})

	r.step("client_parameters", func() (string, error) {
		if err := exec(ctx, conn, fmt.Sprintf(paramsTable, "t_client_params")); err != nil {
			return "", err
		}
		for _, row := range paramRows {
			if _, err := conn.ExecContext(ctx, fmt.Sprintf(paramsInsert, "t_client_params"), row.args()...); err != nil {
				return "", fmt.Errorf("insert row %d: %w", row.id, err)
			}
		}
		for _, row := range paramRows {
			if err := checkParamRow(conn.QueryRowContext(ctx, fmt.Sprintf(paramsSelect, "t_client_params"), row.id), row); err != nil {
				return "", err
			}
		}
		if extra == "" {
			return "Exec with arguments: the driver prepares, executes and closes on the server", nil
		}
		return "interpolateParams: escaped by the driver (the 1 MiB row too big for that is prepared on the server)", nil
	})

	count := func(c *sql.Conn, id int) (string, error) {
		return scalar(ctx, c, "SELECT COUNT(*) FROM t_tx WHERE id = ?", id)
	}
	checkCount := func(c *sql.Conn, id int, want, what string) error {
		got, err := count(c, id)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("%s (COUNT = %s)", what, got)
		}
		return nil
	}

	r.step("transaction_commit", func() (string, error) {
		if err := exec(ctx, conn, "CREATE TABLE t_tx (id INT PRIMARY KEY) ENGINE=InnoDB"); err != nil {
			return "", err
		}
		observer, err := db.Conn(ctx)
		if err != nil {
			return "", err
		}
		defer observer.Close()
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return "", err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO t_tx VALUES (1)"); err != nil {
			tx.Rollback()
			return "", err
		}
		if err := checkCount(observer, 1, "0", "second connection sees the row before COMMIT"); err != nil {
			tx.Rollback()
			return "", err
		}
		if err := tx.Commit(); err != nil {
			return "", err
		}
		return "", checkCount(observer, 1, "1", "second connection misses the committed row")
	})

	r.step("transaction_rollback", func() (string, error) {
		observer, err := db.Conn(ctx)
		if err != nil {
			return "", err
		}
		defer observer.Close()
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return "", err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO t_tx VALUES (2)"); err != nil {
			tx.Rollback()
			return "", err
		}
		var inside string
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM t_tx WHERE id = 2").Scan(&inside); err != nil || inside != "1" {
			tx.Rollback()
			return "", fmt.Errorf("own insert not visible inside the transaction (%s, %v)", inside, err)
		}
		if err := checkCount(observer, 2, "0", "second connection sees an uncommitted row"); err != nil {
			tx.Rollback()
			return "", err
		}
		if err := tx.Rollback(); err != nil {
			return "", err
		}
		if err := checkCount(conn, 2, "0", "row still there after ROLLBACK"); err != nil {
			return "", err
		}
		return "", checkCount(observer, 2, "0", "second connection sees a rolled-back row")
	})

	r.step("utf8mb4", func() (string, error) {
		if err := exec(ctx, conn,
			"CREATE TABLE t_utf8 (id INT PRIMARY KEY, s VARCHAR(64)) CHARACTER SET utf8mb4",
			"INSERT INTO t_utf8 VALUES (1, '"+utf8Text+"')"); err != nil {
			return "", err
		}
		if _, err := conn.ExecContext(ctx, "INSERT INTO t_utf8 VALUES (?, ?)", 2, utf8Text); err != nil {
			return "", err
		}
		wantHex := strings.ToUpper(fmt.Sprintf("%x", utf8Text))
		for id := 1; id <= 2; id++ {
			var s, hex string
			if err := conn.QueryRowContext(ctx, "SELECT s, HEX(s) FROM t_utf8 WHERE id = ?", id).Scan(&s, &hex); err != nil {
				return "", err
			}
			if hex != wantHex {
				return "", fmt.Errorf("row %d stored as %s, want %s", id, hex, wantHex)
			}
			if s != utf8Text {
				return "", fmt.Errorf("row %d read back as %q", id, s)
			}
		}
		return "", nil
	})

	r.step("multi_statements", func() (string, error) {
		multiDB, err := sql.Open("mysql", dsn(t.user, t.password, "&multiStatements=true"))
		if err != nil {
			return "", err
		}
		defer multiDB.Close()
		multi, err := multiDB.Conn(ctx)
		if err != nil {
			return "", err
		}
		defer multi.Close()
		rows, err := multi.QueryContext(ctx, "SELECT 1 AS a; SET @ms = 5; SELECT @ms AS ms, 'two' AS b")
		if err != nil {
			return "", err
		}
		defer rows.Close()
		var a string
		if !rows.Next() {
			return "", fmt.Errorf("first result set empty: %v", rows.Err())
		}
		if err := rows.Scan(&a); err != nil || a != "1" {
			return "", fmt.Errorf("first result: %q %v", a, err)
		}
		if !rows.NextResultSet() || !rows.Next() {
			return "", fmt.Errorf("no second result set: %v", rows.Err())
		}
		var ms, b string
		if err := rows.Scan(&ms, &b); err != nil || ms != "5" || b != "two" {
			return "", fmt.Errorf("second result: %q %q %v", ms, b, err)
		}
		if rows.NextResultSet() {
			return "", errors.New("a third result set")
		}
		rows.Close()
		if err := expect(ctx, multi, "SELECT 3", "3"); err != nil {
			return "", fmt.Errorf("statement after the multi-statement: %w", err)
		}
		return "multiStatements=true", nil
	})

	r.step("call_procedure", func() (string, error) {
		if err := exec(ctx, conn, "CREATE PROCEDURE drv_double(IN x INT) SELECT x * 2 AS doubled, 'p' AS name"); err != nil {
			return "", err
		}
		for _, call := range []struct {
			query string
			args  []interface{}
			want  string
		}{{"CALL drv_double(21)", nil, "42"}, {"CALL drv_double(?)", []interface{}{5}, "10"}} {
			var doubled, name string
			if err := conn.QueryRowContext(ctx, call.query, call.args...).Scan(&doubled, &name); err != nil {
				return "", fmt.Errorf("%s: %w", call.query, err)
			}
			if doubled != call.want || name != "p" {
				return "", fmt.Errorf("%s: got %s %s", call.query, doubled, name)
			}
		}
		return "", expect(ctx, conn, "SELECT 4", "4")
	})

	r.step("ping", func() (string, error) {
		return "", conn.PingContext(ctx)
	})

	r.skip("reset_connection", "go-sql-driver 1.5 never sends COM_RESET_CONNECTION (ResetSession only checks the connection)")
	r.skip("change_user", "go-sql-driver has no COM_CHANGE_USER")

	r.step("value_5mb", func() (string, error) {
		if err := exec(ctx, conn, "CREATE TABLE t_big (id INT PRIMARY KEY, v LONGTEXT)"); err != nil {
			return "", err
		}
		if _, err := conn.ExecContext(ctx, "INSERT INTO t_big VALUES (?, ?)", 1, value5MB); err != nil {
			return "", err
		}
		var v string
		var n int
		if err := conn.QueryRowContext(ctx, "SELECT v, LENGTH(v) FROM t_big WHERE id = 1").Scan(&v, &n); err != nil {
			return "", err
		}
		if n != len(value5MB) || v != value5MB {
			return "", fmt.Errorf("read back %d bytes (LENGTH %d), sent %d", len(v), n, len(value5MB))
		}
		return "", nil
	})

	r.step("error_1146", func() (string, error) {
		_, err := scalar(ctx, conn, "SELECT * FROM t_missing")
		var mysqlErr *mysql.MySQLError
		if !errors.As(err, &mysqlErr) || mysqlErr.Number != 1146 {
			return "", fmt.Errorf("expected error 1146, got %v", err)
		}
		return "", expect(ctx, conn, "SELECT 2", "2")
	})

	r.step("close", func() (string, error) {
		if err := conn.Close(); err != nil {
			return "", err
		}
		return "", db.Close()
	})

	if r.failures > 0 {
		os.Exit(1)
	}
}
