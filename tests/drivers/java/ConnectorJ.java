// The driver-matrix scenario with MariaDB Connector/J (Debian's libmariadb-java) through JDBC.

import java.nio.charset.StandardCharsets;
import java.sql.CallableStatement;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.sql.Types;
import java.text.SimpleDateFormat;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import org.mariadb.jdbc.MariaDbConnection;

public final class ConnectorJ {
  // Variants: the driver's defaults (a PreparedStatement is emulated client-side in 2.x), and
  // useServerPrepStmts=true (every PreparedStatement is prepared on the server).
  private static final Map<String, String> VARIANTS =
      Map.of("default", "", "server_prepare", "useServerPrepStmts=true");

  // Emoji, CJK and a character outside the BMP: anything short of real utf8mb4 loses them.
  static final String UTF8_TEXT = "h\u00e9llo \uD83D\uDE00 \u6f22\u5b57 \uD834\uDD1E";
  static final String VALUE_5MB =
      "abcdefghijklmnopqrstuvwxyz".repeat(201650).substring(0, 5 * 1024 * 1024);

  static byte[] patternBytes(int length, int modulus) {
    byte[] bytes = new byte[length];
    for (int i = 0; i < length; ++i) bytes[i] = (byte) (i % modulus);
    return bytes;
  }

  record ParamRow(int id, Long i, String s, Double d, String dt, byte[] b) {}

  // One execution per row; every column takes its turn at NULL.
  static final ParamRow[] PARAM_ROWS = {
    new ParamRow(1, 42L, "first", 3.25, "2024-02-29 13:14:15", patternBytes(1 << 20, 251)),
    new ParamRow(2, null, "second", -1.5e10, "1999-12-31 23:59:59", "abc".getBytes()),
    new ParamRow(3, -7L, null, null, null, null),
    new ParamRow(
        4, 2147483648L, "fourth \u2603", 0.1, "2038-01-19 03:14:08", patternBytes(70000, 7)),
  };

  static final String PARAMS_TABLE =
      "CREATE TABLE %s (id INT PRIMARY KEY, i BIGINT NULL, s VARCHAR(64) NULL, d DOUBLE NULL, "
          + "dt DATETIME NULL, b LONGBLOB NULL) CHARACTER SET utf8mb4";
  static final String PARAMS_INSERT = "INSERT INTO %s (id, i, s, d, dt, b) VALUES (?, ?, ?, ?, ?, ?)";
  static final String PARAMS_SELECT =
      "SELECT i, s, d, dt, b, CAST(dt AS CHAR) FROM %s WHERE id = ?";

  interface Step {
    String run() throws Exception;
  }

  // Prints `ok|FAIL|skip <step>` lines; any FAIL makes the exit status 1.
  static final class Runner {
    int failures = 0;
    String abandoned = null;

    boolean step(String name, Step body) {
      if (abandoned != null) {
        ++failures;
        System.out.println("FAIL " + name + ": not run (" + abandoned + ")");
        return false;
      }
      try {
        String note = body.run();
        System.out.println(note == null ? "ok " + name : "ok " + name + " (" + note + ")");
        return true;
      } catch (Exception | AssertionError e) {
        ++failures;
        String code = e instanceof SQLException sql ? " [errno " + sql.getErrorCode() + "]" : "";
        System.out.println(
            "FAIL " + name + ": " + String.valueOf(e.getMessage()).replaceAll("\\s+", " ") + code);
        return false;
      }
    }

    void skip(String name, String why) {
      System.out.println("skip " + name + ": " + why);
    }
  }

  static void check(boolean condition, String what) {
    if (!condition) throw new AssertionError(what);
  }

  static String env(String name) {
    String value = System.getenv(name);
    if (value == null) throw new IllegalStateException("environment variable " + name + " is not set");
    return value;
  }

  static String scalar(Connection conn, String sql) throws SQLException {
    try (Statement statement = conn.createStatement();
        ResultSet rs = statement.executeQuery(sql)) {
      check(rs.next(), sql + " returned no row");
      return rs.getString(1);
    }
  }

  static void exec(Connection conn, String... statements) throws SQLException {
    try (Statement statement = conn.createStatement()) {
      for (String sql : statements) statement.execute(sql);
    }
  }

  static void bind(PreparedStatement insert, ParamRow row) throws SQLException {
    insert.setInt(1, row.id());
    if (row.i() == null) insert.setNull(2, Types.BIGINT);
    else insert.setLong(2, row.i());
    if (row.s() == null) insert.setNull(3, Types.VARCHAR);
    else insert.setString(3, row.s());
    if (row.d() == null) insert.setNull(4, Types.DOUBLE);
    else insert.setDouble(4, row.d());
    if (row.dt() == null) insert.setNull(5, Types.TIMESTAMP);
    else insert.setTimestamp(5, Timestamp.valueOf(row.dt()));
    if (row.b() == null) insert.setNull(6, Types.BLOB);
    else insert.setBytes(6, row.b());
  }

  static void checkRow(ResultSet rs, ParamRow row) throws SQLException {
    String what = "row " + row.id() + " column ";
    check(rs.next(), "row " + row.id() + " not found");
    long i = rs.getLong(1);
    check(Objects.equals(rs.wasNull() ? null : i, row.i()), what + "i: " + i);
    check(Objects.equals(rs.getString(2), row.s()), what + "s: " + rs.getString(2));
    double d = rs.getDouble(3);
    check(Objects.equals(rs.wasNull() ? null : d, row.d()), what + "d: " + d);
    Timestamp dt = rs.getTimestamp(4);
    String dtRead = dt == null ? null : new SimpleDateFormat("yyyy-MM-dd HH:mm:ss").format(dt);
    check(Objects.equals(dtRead, row.dt()), what + "dt as read: " + dtRead);
    byte[] b = rs.getBytes(5);
    check(
        Arrays.equals(b, row.b()),
        what + "b: " + (b == null ? "NULL" : b.length + " bytes") + " differ from what was sent");
    check(Objects.equals(rs.getString(6), row.dt()), what + "dt as stored: " + rs.getString(6));
  }

  static void runParams(Connection conn, String table) throws SQLException {
    exec(conn, String.format(PARAMS_TABLE, table));
    try (PreparedStatement insert = conn.prepareStatement(String.format(PARAMS_INSERT, table))) {
      for (ParamRow row : PARAM_ROWS) {
        bind(insert, row);
        check(insert.executeUpdate() == 1, "insert of row " + row.id());
      }
    }
    try (PreparedStatement select = conn.prepareStatement(String.format(PARAMS_SELECT, table))) {
      for (ParamRow row : PARAM_ROWS) {
        select.setInt(1, row.id());
        try (ResultSet rs = select.executeQuery()) {
          checkRow(rs, row);
        }
      }
    }
  }

  static int count(Connection conn, int id) throws SQLException {
    return Integer.parseInt(scalar(conn, "SELECT COUNT(*) FROM t_tx WHERE id = " + id));
  }

  public static void main(String[] args) throws Exception {
    String variant = env("SLUICE_DRIVER_VARIANT");
    String options = VARIANTS.get(variant);
    if (options == null) {
      System.out.println("FAIL setup: unknown variant " + variant);
      System.exit(2);
    }
    String url =
        "jdbc:mariadb://"
            + env("SLUICE_DRIVER_HOST")
            + ":"
            + env("SLUICE_DRIVER_PORT")
            + "/"
            + env("SLUICE_DRIVER_DATABASE")
            + "?connectTimeout=10000&socketTimeout=60000"
            + (options.isEmpty() ? "" : "&" + options);
    String user = env("SLUICE_DRIVER_USER");
    String password = env("SLUICE_DRIVER_PASSWORD");
    boolean serverPrepare = !options.isEmpty();
    Runner run = new Runner();
    Connection[] holder = new Connection[1];

    if (!run.step(
        "login",
        () -> {
          holder[0] = DriverManager.getConnection(url, user, password);
          return null;
        })) {
      run.abandoned = "login failed";
    }
    Connection conn = holder[0];

    run.step(
        "select_1",
        () -> {
          check(scalar(conn, "SELECT 1").equals("1"), "SELECT 1");
          return null;
        });

    run.step(
        "insert_id",
        () -> {
          exec(conn, "CREATE TABLE t_ids (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10))");
          try (Statement statement = conn.createStatement()) {
            for (int want = 1; want <= 2; ++want) {
              statement.executeUpdate(
                  "INSERT INTO t_ids (v) VALUES ('" + want + "')", Statement.RETURN_GENERATED_KEYS);
              try (ResultSet keys = statement.getGeneratedKeys()) {
                check(keys.next(), "no generated key");
                check(keys.getLong(1) == want, "generated key " + keys.getLong(1) + ", want " + want);
              }
            }
          }
          check(scalar(conn, "SELECT LAST_INSERT_ID()").equals("2"), "LAST_INSERT_ID()");
          return null;
        });

    if (serverPrepare) {
      run.step(
          "prepared",
          () -> {
            runParams(conn, "t_prepared");
            return "server-side: useServerPrepStmts=true";
          });
      run.skip(
          "client_parameters",
          "useServerPrepStmts=true prepares every PreparedStatement on the server (the default"
              + " variant runs this step)");
    } else {
      run.skip(
          "prepared",
          "Connector/J 2.x emulates PreparedStatement client-side by default"
              + " (useServerPrepStmts=false); the server_prepare variant runs this step");
      run.step(
          "client_parameters",
          () -> {
            runParams(conn, "t_client_params");
            return "PreparedStatement emulated by the driver";
          });
    }

    run.step(
        "transaction_commit",
        () -> {
          exec(conn, "CREATE TABLE t_tx (id INT PRIMARY KEY) ENGINE=InnoDB");
          try (Connection observer = DriverManager.getConnection(url, user, password)) {
            conn.setAutoCommit(false);
            exec(conn, "INSERT INTO t_tx VALUES (1)");
            check(count(observer, 1) == 0, "second connection sees the row before COMMIT");
            conn.commit();
            conn.setAutoCommit(true);
            check(count(observer, 1) == 1, "second connection misses the committed row");
          }
          return null;
        });

    run.step(
        "transaction_rollback",
        () -> {
          try (Connection observer = DriverManager.getConnection(url, user, password)) {
            conn.setAutoCommit(false);
            exec(conn, "INSERT INTO t_tx VALUES (2)");
            check(count(conn, 2) == 1, "own insert not visible inside the transaction");
            check(count(observer, 2) == 0, "second connection sees an uncommitted row");
            conn.rollback();
            conn.setAutoCommit(true);
            check(count(conn, 2) == 0, "row still there after ROLLBACK");
            check(count(observer, 2) == 0, "second connection sees a rolled-back row");
          }
          return null;
        });

    run.step(
        "utf8mb4",
        () -> {
          exec(
              conn,
              "CREATE TABLE t_utf8 (id INT PRIMARY KEY, s VARCHAR(64)) CHARACTER SET utf8mb4",
              "INSERT INTO t_utf8 VALUES (1, '" + UTF8_TEXT + "')");
          try (PreparedStatement insert = conn.prepareStatement("INSERT INTO t_utf8 VALUES (?, ?)")) {
            insert.setInt(1, 2);
            insert.setString(2, UTF8_TEXT);
            insert.executeUpdate();
          }
          StringBuilder hex = new StringBuilder();
          for (byte b : UTF8_TEXT.getBytes(StandardCharsets.UTF_8)) hex.append(String.format("%02X", b));
          try (Statement statement = conn.createStatement();
              ResultSet rs = statement.executeQuery("SELECT id, s, HEX(s) FROM t_utf8 ORDER BY id")) {
            int rows = 0;
            while (rs.next()) {
              ++rows;
              check(rs.getString(3).equals(hex.toString()), "row " + rs.getInt(1) + " stored as " + rs.getString(3));
              check(rs.getString(2).equals(UTF8_TEXT), "row " + rs.getInt(1) + " read back as " + rs.getString(2));
            }
            check(rows == 2, rows + " rows");
          }
          return null;
        });

    run.step(
        "multi_statements",
        () -> {
          try (Connection multi = DriverManager.getConnection(url + "&allowMultiQueries=true", user, password);
              Statement statement = multi.createStatement()) {
            check(statement.execute("SELECT 1 AS a; SET @ms = 5; SELECT @ms AS ms, 'two' AS b"), "first result is not a result set");
            try (ResultSet rs = statement.getResultSet()) {
              check(rs.next() && rs.getInt(1) == 1, "first result");
            }
            check(!statement.getMoreResults() && statement.getUpdateCount() == 0, "second result is not the SET's");
            check(statement.getMoreResults(), "no third result");
            try (ResultSet rs = statement.getResultSet()) {
              check(rs.next() && rs.getInt(1) == 5 && rs.getString(2).equals("two"), "third result");
            }
            check(!statement.getMoreResults() && statement.getUpdateCount() == -1, "a fourth result");
            check(scalar(multi, "SELECT 3").equals("3"), "statement after the multi-statement");
          }
          return "allowMultiQueries=true";
        });

    run.step(
        "call_procedure",
        () -> {
          exec(conn, "CREATE PROCEDURE drv_double(IN x INT) SELECT x * 2 AS doubled, 'p' AS name");
          try (Statement statement = conn.createStatement();
              ResultSet rs = statement.executeQuery("CALL drv_double(21)")) {
            check(rs.next() && rs.getInt(1) == 42 && rs.getString(2).equals("p"), "CALL (text)");
          }
          try (CallableStatement call = conn.prepareCall("{call drv_double(?)}")) {
            call.setInt(1, 5);
            try (ResultSet rs = call.executeQuery()) {
              check(rs.next() && rs.getInt(1) == 10, "CALL (CallableStatement)");
            }
          }
          check(scalar(conn, "SELECT 4").equals("4"), "statement after CALL");
          return null;
        });

    run.step(
        "ping",
        () -> {
          check(conn.isValid(10), "isValid(10) returned false");
          return "Connection.isValid: COM_PING";
        });

    run.step(
        "reset_connection",
        () -> {
          // Without useResetConnection, reset() only puts back the JDBC state it tracks.
          try (Connection resettable =
              DriverManager.getConnection(url + "&useResetConnection=true", user, password)) {
            exec(resettable, "SET @r = 1");
            resettable.unwrap(MariaDbConnection.class).reset();
            check(scalar(resettable, "SELECT @r") == null, "@r survived the reset");
            check(scalar(resettable, "SELECT 1").equals("1"), "statement after the reset");
          }
          return "MariaDbConnection.reset with useResetConnection=true: COM_RESET_CONNECTION";
        });

    run.skip("change_user", "JDBC and Connector/J have no COM_CHANGE_USER");

    run.step(
        "value_5mb",
        () -> {
          exec(conn, "CREATE TABLE t_big (id INT PRIMARY KEY, v LONGTEXT)");
          try (PreparedStatement insert = conn.prepareStatement("INSERT INTO t_big VALUES (1, ?)")) {
            insert.setString(1, VALUE_5MB);
            insert.executeUpdate();
          }
          try (Statement statement = conn.createStatement();
              ResultSet rs = statement.executeQuery("SELECT v, LENGTH(v) FROM t_big WHERE id = 1")) {
            check(rs.next(), "row not found");
            check(rs.getInt(2) == VALUE_5MB.length(), "LENGTH " + rs.getInt(2));
            check(rs.getString(1).equals(VALUE_5MB), "value read back differs");
          }
          return null;
        });

    run.step(
        "error_1146",
        () -> {
          try {
            scalar(conn, "SELECT * FROM t_missing");
            throw new AssertionError("the statement succeeded; expected error 1146");
          } catch (SQLException e) {
            check(e.getErrorCode() == 1146, "expected error 1146, got " + e.getErrorCode() + ": " + e.getMessage());
          }
          check(scalar(conn, "SELECT 2").equals("2"), "statement after the error");
          return null;
        });

    run.step(
        "close",
        () -> {
          conn.close();
          check(conn.isClosed(), "still open after close()");
          return null;
        });

    System.exit(run.failures == 0 ? 0 : 1);
  }
}
