<?php
// The driver-matrix scenario with PHP's mysqli (mysqlnd): query() is text, prepare() binary.

declare(strict_types=1);

require __DIR__ . '/common.php';

// Errors as mysqli_sql_exception (PHP 8.1's default too, said here so the program does not
// depend on php.ini).
mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);

$t = target();
if ($t['variant'] !== 'default') {
    echo "FAIL setup: unknown variant {$t['variant']}\n";
    exit(2);
}

function connect(array $t): mysqli
{
    return new mysqli($t['host'], $t['user'], $t['password'], $t['database'], $t['port']);
}

function scalar(mysqli $conn, string $sql)
{
    $row = $conn->query($sql)->fetch_row();
    check($row !== null, "$sql returned no row");
    return $row[0];
}

function count_rows(mysqli $conn, int $id): int
{
    return (int) scalar($conn, "SELECT COUNT(*) FROM t_tx WHERE id = $id");
}

// Reads every remaining result of the last statement, as a CALL leaves one behind.
function drain(mysqli $conn): void
{
    while ($conn->more_results()) {
        $conn->next_result();
        if ($result = $conn->store_result()) $result->free();
    }
}

$run = new Runner();
$conn = null;

if (!$run->step('login', function () use ($t, &$conn) {
    $conn = connect($t);
})) {
    $run->abandoned = 'login failed';
}

$run->step('select_1', function () use (&$conn) {
    check((int) scalar($conn, 'SELECT 1') === 1, 'SELECT 1');
});

$run->step('insert_id', function () use (&$conn) {
    $conn->query('CREATE TABLE t_ids (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10))');
    foreach ([1, 2] as $want) {
        $conn->query("INSERT INTO t_ids (v) VALUES ('v$want')");
        check($conn->insert_id === $want, "insert_id {$conn->insert_id}, want $want");
    }
    check((int) scalar($conn, 'SELECT LAST_INSERT_ID()') === 2, 'LAST_INSERT_ID()');
});

$run->step('prepared', function () use (&$conn) {
    $conn->query(sprintf(PARAMS_TABLE, 't_prepared'));
    $insert = $conn->prepare(sprintf(PARAMS_INSERT, 't_prepared'));
    $id = $i = $s = $d = $dt = $b = null;
    $insert->bind_param('iisdsb', $id, $i, $s, $d, $dt, $b);
    foreach (param_rows() as $row) {
        ['id' => $id, 'i' => $i, 's' => $s, 'd' => $d, 'dt' => $dt] = $row;
        // A blob parameter ('b') travels as COM_STMT_SEND_LONG_DATA chunks; NULL stays NULL.
        $b = $row['b'] === null ? null : '';
        if ($row['b'] !== null) {
            foreach (str_split($row['b'], 256 * 1024) as $chunk) $insert->send_long_data(5, $chunk);
        }
        $insert->execute();
    }
    $insert->close();
    $select = $conn->prepare(sprintf(PARAMS_SELECT, 't_prepared'));
    $select->bind_param('i', $id);
    foreach (param_rows() as $row) {
        $id = $row['id'];
        $select->execute();
        check_param_row($select->get_result()->fetch_assoc(), $row);
    }
    $select->close();
    return 'server-side: bind_param, blobs as COM_STMT_SEND_LONG_DATA';
});

$run->skip('client_parameters', 'mysqli binds parameters only to server-side prepared statements');

$run->step('transaction_commit', function () use ($t, &$conn) {
    $conn->query('CREATE TABLE t_tx (id INT PRIMARY KEY) ENGINE=InnoDB');
    $observer = connect($t);
    try {
        $conn->begin_transaction();
        $conn->query('INSERT INTO t_tx VALUES (1)');
        check(count_rows($observer, 1) === 0, 'second connection sees the row before COMMIT');
        $conn->commit();
        check(count_rows($observer, 1) === 1, 'second connection misses the committed row');
    } finally {
        $observer->close();
    }
});

$run->step('transaction_rollback', function () use ($t, &$conn) {
    $observer = connect($t);
    try {
        $conn->begin_transaction();
        $conn->query('INSERT INTO t_tx VALUES (2)');
        check(count_rows($conn, 2) === 1, 'own insert not visible inside the transaction');
        check(count_rows($observer, 2) === 0, 'second connection sees an uncommitted row');
        $conn->rollback();
        check(count_rows($conn, 2) === 0, 'row still there after ROLLBACK');
        check(count_rows($observer, 2) === 0, 'second connection sees a rolled-back row');
    } finally {
        $observer->close();
    }
});

$run->step('utf8mb4', function () use (&$conn) {
    $charset = scalar($conn, 'SELECT @@character_set_client');
    $note = null;
    if ($charset !== 'utf8mb4') {
        $conn->set_charset('utf8mb4');
        $note = "after set_charset('utf8mb4'): the connection had $charset";
    }
    $conn->query('CREATE TABLE t_utf8 (id INT PRIMARY KEY, s VARCHAR(64)) CHARACTER SET utf8mb4');
    $conn->query("INSERT INTO t_utf8 VALUES (1, '" . $conn->real_escape_string(UTF8_TEXT) . "')");
    $insert = $conn->prepare('INSERT INTO t_utf8 VALUES (2, ?)');
    $text = UTF8_TEXT;
    $insert->bind_param('s', $text);
    $insert->execute();
    $insert->close();
    $rows = $conn->query('SELECT id, s, HEX(s) AS h FROM t_utf8 ORDER BY id')->fetch_all(MYSQLI_ASSOC);
    check(count($rows) === 2, count($rows) . ' rows');
    foreach ($rows as $row) {
        check($row['h'] === utf8_hex(), "row {$row['id']} stored as {$row['h']}");
        check($row['s'] === UTF8_TEXT, "row {$row['id']} read back as {$row['s']}");
    }
    return $note;
});

$run->step('multi_statements', function () use (&$conn) {
    // multi_query turns multi-statements on for its one call (COM_SET_OPTION).
    $conn->multi_query("SELECT 1 AS a; SET @ms = 5; SELECT @ms AS ms, 'two' AS b");
    $results = [];
    do {
        $result = $conn->store_result();
        $results[] = $result ? $result->fetch_all(MYSQLI_NUM) : 'ok';
        if ($result) $result->free();
    } while ($conn->more_results() && $conn->next_result());
    check(count($results) === 3, count($results) . ' results');
    check($results[0] == [['1']], 'first result');
    check($results[1] === 'ok', 'second result is not the SET');
    check($results[2] == [['5', 'two']], 'third result');
    check((int) scalar($conn, 'SELECT 3') === 3, 'statement after the multi-statement');
    return 'multi_query';
});

$run->step('call_procedure', function () use (&$conn) {
    $conn->query("CREATE PROCEDURE drv_double(IN x INT) SELECT x * 2 AS doubled, 'p' AS name");
    $result = $conn->query('CALL drv_double(21)');
    check($result->fetch_row() == ['42', 'p'], 'CALL (text)');
    $result->free();
    drain($conn);
    $call = $conn->prepare('CALL drv_double(?)');
    $x = 5;
    $call->bind_param('i', $x);
    $call->execute();
    check($call->get_result()->fetch_row() == [10, 'p'], 'CALL (prepared)');
    while ($call->more_results()) $call->next_result();
    $call->close();
    check((int) scalar($conn, 'SELECT 4') === 4, 'statement after CALL');
});

$run->step('ping', function () use (&$conn) {
    check($conn->ping(), 'ping returned false');
});

$run->skip('reset_connection', 'mysqli has no COM_RESET_CONNECTION call');

$run->step('change_user', function () use ($t, &$conn) {
    $conn->query('SET @cu = 1');
    check($conn->change_user($t['other_user'], $t['other_password'], $t['database']), 'change_user returned false');
    $row = $conn->query('SELECT @cu, 1')->fetch_row();
    check($row[0] === null, '@cu survived COM_CHANGE_USER');
    check((int) $row[1] === 1, 'SELECT after change_user');
});

$run->step('value_5mb', function () use (&$conn) {
    $conn->query('CREATE TABLE t_big (id INT PRIMARY KEY, v LONGTEXT)');
    $insert = $conn->prepare('INSERT INTO t_big VALUES (1, ?)');
    $value = value_5mb();
    $insert->bind_param('s', $value);
    $insert->execute();
    $insert->close();
    $row = $conn->query('SELECT v, LENGTH(v) FROM t_big WHERE id = 1')->fetch_row();
    check((int) $row[1] === strlen($value), "LENGTH {$row[1]}");
    check($row[0] === $value, 'value read back differs');
});

$run->step('error_1146', function () use (&$conn) {
    try {
        $conn->query('SELECT * FROM t_missing');
        throw new StepFailed('the statement succeeded; expected error 1146');
    } catch (mysqli_sql_exception $e) {
        check($e->getCode() === 1146, "expected error 1146, got {$e->getCode()}: {$e->getMessage()}");
    }
    check((int) scalar($conn, 'SELECT 2') === 2, 'statement after the error');
});

$run->step('close', function () use (&$conn) {
    check($conn->close(), 'close returned false');
});

$run->finish();
