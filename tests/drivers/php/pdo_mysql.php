<?php
// The driver-matrix scenario with PHP's PDO_mysql (mysqlnd).

declare(strict_types=1);

require __DIR__ . '/common.php';

// Variants: the driver's defaults (prepares emulated: parameters escaped into the text), and
// ATTR_EMULATE_PREPARES=false (server-side prepared statements).
const VARIANTS = [
    'default' => [],
    'server_prepares' => [PDO::ATTR_EMULATE_PREPARES => false],
];

$t = target();
if (!array_key_exists($t['variant'], VARIANTS)) {
    echo "FAIL setup: unknown variant {$t['variant']}\n";
    exit(2);
}
$server_prepares = $t['variant'] === 'server_prepares';

function connect(array $t, array $extra = []): PDO
{
    $dsn = "mysql:host={$t['host']};port={$t['port']};dbname={$t['database']}";
    return new PDO($dsn, $t['user'], $t['password'],
        [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION] + $extra + VARIANTS[$t['variant']]);
}

function scalar(PDO $pdo, string $sql)
{
    $statement = $pdo->query($sql);
    $value = $statement->fetchColumn();
    $statement->closeCursor();
    return $value;
}

function count_rows(PDO $pdo, int $id): int
{
    return (int) scalar($pdo, "SELECT COUNT(*) FROM t_tx WHERE id = $id");
}

function run_params(PDO $pdo, string $table): void
{
    $pdo->exec(sprintf(PARAMS_TABLE, $table));
    $insert = $pdo->prepare(sprintf(PARAMS_INSERT, $table));
    foreach (param_rows() as $row) {
        $insert->bindValue(1, $row['id'], PDO::PARAM_INT);
        $insert->bindValue(2, $row['i'], $row['i'] === null ? PDO::PARAM_NULL : PDO::PARAM_INT);
        $insert->bindValue(3, $row['s'], $row['s'] === null ? PDO::PARAM_NULL : PDO::PARAM_STR);
        // PDO has no float type: a double goes as its decimal text.
        $insert->bindValue(4, $row['d'] === null ? null : var_export($row['d'], true), $row['d'] === null ? PDO::PARAM_NULL : PDO::PARAM_STR);
        $insert->bindValue(5, $row['dt'], $row['dt'] === null ? PDO::PARAM_NULL : PDO::PARAM_STR);
        $insert->bindValue(6, $row['b'], $row['b'] === null ? PDO::PARAM_NULL : PDO::PARAM_LOB);
        $insert->execute();
    }
    $select = $pdo->prepare(sprintf(PARAMS_SELECT, $table));
    foreach (param_rows() as $row) {
        $select->bindValue(1, $row['id'], PDO::PARAM_INT);
        $select->execute();
        check_param_row($select->fetch(PDO::FETCH_ASSOC), $row);
        $select->closeCursor();
    }
}

$run = new Runner();
$pdo = null;

if (!$run->step('login', function () use ($t, &$pdo) {
    $pdo = connect($t);
})) {
    $run->abandoned = 'login failed';
}

$run->step('select_1', function () use (&$pdo) {
    check((int) scalar($pdo, 'SELECT 1') === 1, 'SELECT 1');
});

$run->step('insert_id', function () use (&$pdo) {
    $pdo->exec('CREATE TABLE t_ids (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10))');
    foreach (['1', '2'] as $want) {
        $pdo->exec("INSERT INTO t_ids (v) VALUES ('v$want')");
        check($pdo->lastInsertId() === $want, "lastInsertId {$pdo->lastInsertId()}, want $want");
    }
    check((int) scalar($pdo, 'SELECT LAST_INSERT_ID()') === 2, 'LAST_INSERT_ID()');
});

if ($server_prepares) {
    $run->step('prepared', function () use (&$pdo) {
        run_params($pdo, 't_prepared');
        return 'server-side: ATTR_EMULATE_PREPARES=false';
    });
    $run->skip('client_parameters', 'ATTR_EMULATE_PREPARES=false prepares every statement on the server (the default variant runs this step)');
} else {
    $run->skip('prepared', 'PDO_mysql emulates prepares by default (ATTR_EMULATE_PREPARES); the server_prepares variant runs this step');
    $run->step('client_parameters', function () use (&$pdo) {
        run_params($pdo, 't_client_params');
        return 'prepares emulated by the driver';
    });
}

$run->step('transaction_commit', function () use ($t, &$pdo) {
    $pdo->exec('CREATE TABLE t_tx (id INT PRIMARY KEY) ENGINE=InnoDB');
    $observer = connect($t);
    $pdo->beginTransaction();
    $pdo->exec('INSERT INTO t_tx VALUES (1)');
    check(count_rows($observer, 1) === 0, 'second connection sees the row before COMMIT');
    $pdo->commit();
    check(count_rows($observer, 1) === 1, 'second connection misses the committed row');
});

$run->step('transaction_rollback', function () use ($t, &$pdo) {
    $observer = connect($t);
    $pdo->beginTransaction();
    $pdo->exec('INSERT INTO t_tx VALUES (2)');
    check(count_rows($pdo, 2) === 1, 'own insert not visible inside the transaction');
    check(count_rows($observer, 2) === 0, 'second connection sees an uncommitted row');
    $pdo->rollBack();
    check(count_rows($pdo, 2) === 0, 'row still there after ROLLBACK');
    check(count_rows($observer, 2) === 0, 'second connection sees a rolled-back row');
});

$run->step('utf8mb4', function () use (&$pdo) {
    $charset = scalar($pdo, 'SELECT @@character_set_client');
    $note = null;
    if ($charset !== 'utf8mb4') {
        $pdo->exec('SET NAMES utf8mb4');
        $note = "after SET NAMES utf8mb4: the connection had $charset (charset=utf8mb4 in the DSN avoids it)";
    }
    $pdo->exec('CREATE TABLE t_utf8 (id INT PRIMARY KEY, s VARCHAR(64)) CHARACTER SET utf8mb4');
    $pdo->exec('INSERT INTO t_utf8 VALUES (1, ' . $pdo->quote(UTF8_TEXT) . ')');
    $pdo->prepare('INSERT INTO t_utf8 VALUES (2, ?)')->execute([UTF8_TEXT]);
    $rows = $pdo->query('SELECT id, s, HEX(s) AS h FROM t_utf8 ORDER BY id')->fetchAll(PDO::FETCH_ASSOC);
    check(count($rows) === 2, count($rows) . ' rows');
    foreach ($rows as $row) {
        check($row['h'] === utf8_hex(), "row {$row['id']} stored as {$row['h']}");
        check($row['s'] === UTF8_TEXT, "row {$row['id']} read back as {$row['s']}");
    }
    return $note;
});

$run->step('multi_statements', function () use ($t, $server_prepares) {
    // PDO_mysql allows multi-statements by default (MYSQL_ATTR_MULTI_STATEMENTS), but a server-side
    // prepared statement holds one statement: this connection emulates.
    $multi = connect($t, [PDO::ATTR_EMULATE_PREPARES => true]);
    $statement = $multi->query("SELECT 1 AS a; SET @ms = 5; SELECT @ms AS ms, 'two' AS b");
    check($statement->fetchAll(PDO::FETCH_NUM) == [[1]], 'first result');
    check($statement->nextRowset(), 'no second result');
    check($statement->columnCount() === 0, 'second result is not the SET');
    check($statement->nextRowset(), 'no third result');
    check($statement->fetchAll(PDO::FETCH_NUM) == [[5, 'two']], 'third result');
    check(!$statement->nextRowset(), 'a fourth result');
    check((int) scalar($multi, 'SELECT 3') === 3, 'statement after the multi-statement');
    return $server_prepares ? 'MYSQL_ATTR_MULTI_STATEMENTS (on by default), on an emulating connection' : 'MYSQL_ATTR_MULTI_STATEMENTS, on by default';
});

$run->step('call_procedure', function () use (&$pdo) {
    $pdo->exec("CREATE PROCEDURE drv_double(IN x INT) SELECT x * 2 AS doubled, 'p' AS name");
    $statement = $pdo->query('CALL drv_double(21)');
    check($statement->fetch(PDO::FETCH_NUM) == [42, 'p'], 'CALL');
    $statement->closeCursor();
    $call = $pdo->prepare('CALL drv_double(?)');
    $call->execute([5]);
    check($call->fetch(PDO::FETCH_NUM) == [10, 'p'], 'CALL with a parameter');
    $call->closeCursor();
    check((int) scalar($pdo, 'SELECT 4') === 4, 'statement after CALL');
});

$run->skip('ping', 'PDO has no ping (applications run a statement instead)');
$run->skip('reset_connection', 'PDO has no COM_RESET_CONNECTION call');
$run->skip('change_user', 'PDO has no COM_CHANGE_USER call');

$run->step('value_5mb', function () use (&$pdo) {
    $pdo->exec('CREATE TABLE t_big (id INT PRIMARY KEY, v LONGTEXT)');
    $value = value_5mb();
    $pdo->prepare('INSERT INTO t_big VALUES (1, ?)')->execute([$value]);
    $statement = $pdo->query('SELECT v, LENGTH(v) FROM t_big WHERE id = 1');
    $row = $statement->fetch(PDO::FETCH_NUM);
    $statement->closeCursor();
    check((int) $row[1] === strlen($value), "LENGTH {$row[1]}");
    check($row[0] === $value, 'value read back differs');
});

$run->step('error_1146', function () use (&$pdo) {
    try {
        $pdo->query('SELECT * FROM t_missing');
        throw new StepFailed('the statement succeeded; expected error 1146');
    } catch (PDOException $e) {
        check(($e->errorInfo[1] ?? null) === 1146, 'expected error 1146, got ' . var_export($e->errorInfo, true));
    }
    check((int) scalar($pdo, 'SELECT 2') === 2, 'statement after the error');
});

$run->step('close', function () use (&$pdo) {
    // PDO closes the connection (COM_QUIT) when the last reference goes.
    $pdo = null;
});

$run->finish();
