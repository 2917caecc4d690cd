// The driver-matrix scenario with mysqljs/mysql (callback API, text protocol only).
'use strict';

const mysql = require('mysql');
const c = require('./common.js');

const { assert } = c;

// Variants: the driver's defaults (charset UTF8_GENERAL_CI, i.e. 3-byte utf8), and the
// utf8mb4_unicode_ci charset option that emoji need.
const VARIANTS = {
  default: {},
  utf8mb4_unicode_ci: { charset: 'UTF8MB4_UNICODE_CI' },
};

// The callback API as promises: query resolves with the results, the others with nothing.
function query(conn, sql, values) {
  return new Promise((resolve, reject) => {
    conn.query(sql, values, (error, results) => (error ? reject(error) : resolve(results)));
  });
}

function call(conn, method, ...args) {
  return new Promise((resolve, reject) => {
    conn[method](...args, (error) => (error ? reject(error) : resolve()));
  });
}

async function connect(options) {
  const conn = mysql.createConnection(options);
  await call(conn, 'connect');
  return conn;
}

async function count(conn, table, id) {
  const rows = await query(conn, `SELECT COUNT(*) AS n FROM ${table} WHERE id = ?`, [id]);
  return Number(rows[0].n);
}

async function main() {
  const t = c.target();
  const variant = VARIANTS[t.variant];
  if (!variant) throw new Error(`unknown variant ${t.variant}`);
  const options = {
    host: t.host,
    port: t.port,
    user: t.user,
    password: t.password,
    database: t.database,
    connectTimeout: 10000,
    ...variant,
  };
  const run = new c.Runner();
  let conn;

  const loggedIn = await run.step('login', async () => {
    conn = await connect(options);
  });
  if (!loggedIn) run.abandon('login failed');

  await run.step('select_1', async () => {
    const rows = await query(conn, 'SELECT 1 AS one');
    assert.equal(rows[0].one, 1);
  });

  await run.step('insert_id', async () => {
    await query(conn, 'CREATE TABLE t_ids (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10))');
    const first = await query(conn, "INSERT INTO t_ids (v) VALUES ('a')");
    assert.equal(first.insertId, 1, 'insertId of the first insert');
    const second = await query(conn, "INSERT INTO t_ids (v) VALUES ('b')");
    assert.equal(second.insertId, 2, 'insertId of the second insert');
    const rows = await query(conn, 'SELECT LAST_INSERT_ID() AS id');
    assert.equal(Number(rows[0].id), 2, 'LAST_INSERT_ID()');
  });

  run.skip('prepared', 'mysqljs/mysql has no server-side prepared statements');

  await run.step('client_parameters', async () => {
    await query(conn, c.sql(c.PARAMS_TABLE, 't_client_params'));
    for (const row of c.PARAM_ROWS) {
      await query(conn, c.sql(c.PARAMS_INSERT, 't_client_params'), c.paramValues(row));
    }
    for (const row of c.PARAM_ROWS) {
      const rows = await query(conn, c.sql(c.PARAMS_SELECT, 't_client_params'), [row.id]);
      c.checkParamRow(rows[0], row);
    }
    return 'query() with values: escaped by the driver';
  });

  await run.step('transaction_commit', async () => {
    await query(conn, 'CREATE TABLE t_tx (id INT PRIMARY KEY) ENGINE=InnoDB');
    const observer = await connect(options);
    try {
      await call(conn, 'beginTransaction');
      await query(conn, 'INSERT INTO t_tx VALUES (1)');
      assert.equal(await count(observer, 't_tx', 1), 0, 'second connection sees the row before COMMIT');
      await call(conn, 'commit');
      assert.equal(await count(observer, 't_tx', 1), 1, 'second connection misses the committed row');
    } finally {
      await call(observer, 'end');
    }
  });

  await run.step('transaction_rollback', async () => {
    const observer = await connect(options);
    try {
      await call(conn, 'beginTransaction');
      await query(conn, 'INSERT INTO t_tx VALUES (2)');
      assert.equal(await count(conn, 't_tx', 2), 1, 'own insert not visible inside the transaction');
      assert.equal(await count(observer, 't_tx', 2), 0, 'second connection sees an uncommitted row');
      await call(conn, 'rollback');
      assert.equal(await count(conn, 't_tx', 2), 0, 'row still there after ROLLBACK');
      assert.equal(await count(observer, 't_tx', 2), 0, 'second connection sees a rolled-back row');
    } finally {
      await call(observer, 'end');
    }
  });

  await run.step('utf8mb4', async () => {
    // The default charset is 3-byte utf8: emoji need utf8mb4 on the connection first.
    const [names] = await query(conn, 'SELECT @@character_set_client AS cs');
    const setNames = names.cs !== 'utf8mb4';
    if (setNames) await query(conn, 'SET NAMES utf8mb4');
    await query(conn, 'CREATE TABLE t_utf8 (id INT PRIMARY KEY, s VARCHAR(64)) CHARACTER SET utf8mb4');
    await query(conn, `INSERT INTO t_utf8 VALUES (1, ${conn.escape(c.UTF8_TEXT)})`);
    await query(conn, 'INSERT INTO t_utf8 VALUES (?, ?)', [2, c.UTF8_TEXT]);
    const rows = await query(conn, 'SELECT id, s, HEX(s) AS h FROM t_utf8 ORDER BY id');
    assert.equal(rows.length, 2);
    for (const row of rows) {
      assert.equal(row.h, c.UTF8_HEX, `row ${row.id} stored as other bytes`);
      assert.equal(row.s, c.UTF8_TEXT, `row ${row.id} read back differently`);
    }
    return setNames ? `after SET NAMES utf8mb4: the connection had ${names.cs}` : undefined;
  });

  await run.step('multi_statements', async () => {
    const multi = await connect({ ...options, multipleStatements: true });
    try {
      const results = await query(multi, "SELECT 1 AS a; SET @ms = 5; SELECT @ms AS ms, 'two' AS b");
      assert.equal(results.length, 3, 'three results');
      assert.equal(results[0][0].a, 1);
      assert.equal(Number(results[2][0].ms), 5);
      assert.equal(results[2][0].b, 'two');
      const rows = await query(multi, 'SELECT 3 AS c');
      assert.equal(rows[0].c, 3, 'statement after the multi-statement');
    } finally {
      await call(multi, 'end');
    }
    return 'multipleStatements: true';
  });

  await run.step('call_procedure', async () => {
    await query(conn, "CREATE PROCEDURE drv_double(IN x INT) SELECT x * 2 AS doubled, 'p' AS name");
    const text = await query(conn, 'CALL drv_double(21)');
    assert.equal(Number(text[0][0].doubled), 42, 'CALL');
    assert.equal(text[0][0].name, 'p');
    const withValue = await query(conn, 'CALL drv_double(?)', [5]);
    assert.equal(Number(withValue[0][0].doubled), 10, 'CALL with a value');
    const rows = await query(conn, 'SELECT 4 AS d');
    assert.equal(rows[0].d, 4, 'statement after CALL');
  });

  await run.step('ping', async () => {
    await call(conn, 'ping');
  });

  run.skip('reset_connection', 'mysqljs/mysql has no COM_RESET_CONNECTION');

  await run.step('change_user', async () => {
    await query(conn, 'SET @cu = 1');
    await call(conn, 'changeUser', { user: t.otherUser, password: t.otherPassword, database: t.database });
    const rows = await query(conn, 'SELECT @cu AS cu, 1 AS one');
    assert.equal(rows[0].cu, null, '@cu survived COM_CHANGE_USER');
    assert.equal(rows[0].one, 1);
  });

  await run.step('value_5mb', async () => {
    await query(conn, 'CREATE TABLE t_big (id INT PRIMARY KEY, v LONGTEXT)');
    await query(conn, 'INSERT INTO t_big VALUES (?, ?)', [1, c.VALUE_5MB]);
    const rows = await query(conn, 'SELECT v, LENGTH(v) AS n FROM t_big WHERE id = 1');
    assert.equal(Number(rows[0].n), c.VALUE_5MB.length, 'length stored');
    assert.ok(rows[0].v === c.VALUE_5MB, 'value read back differs');
  });

  await run.step('error_1146', async () => {
    await c.expectError(query(conn, 'SELECT * FROM t_missing'), 1146);
    const rows = await query(conn, 'SELECT 2 AS two');
    assert.equal(rows[0].two, 2, 'statement after the error');
  });

  await run.step('close', async () => {
    await call(conn, 'end');
  });

  run.finish();
}

main().catch((error) => {
  console.log(`FAIL setup: ${error.message}`);
  process.exitCode = 2;
});
