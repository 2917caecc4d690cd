// The driver-matrix scenario with node-mysql2 (promise API): query() is text, prepare()/execute() binary.
'use strict';

const mysql = require('mysql2/promise');
const c = require('./common.js');

const { assert } = c;

// Variants: the driver's defaults (it logs in with collation 224, utf8mb4_unicode_ci), the
// common utf8mb4_general_ci setting (collation 45), and compression asked for (sluice does not
// offer CLIENT_COMPRESS, so the driver goes on uncompressed; MariaDB directly compresses).
const VARIANTS = {
  default: {},
  utf8mb4_general_ci: { charset: 'UTF8MB4_GENERAL_CI' },
  compress: { compress: true },
};

async function count(conn, table, id) {
  const [rows] = await conn.query(`SELECT COUNT(*) AS n FROM ${table} WHERE id = ?`, [id]);
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
    ...variant,
  };
  const run = new c.Runner();
  let conn;

  const loggedIn = await run.step('login', async () => {
    conn = await mysql.createConnection(options);
  });
  if (!loggedIn) run.abandon('login failed');

  await run.step('select_1', async () => {
    const [rows] = await conn.query('SELECT 1 AS one');
    assert.equal(rows[0].one, 1);
  });

  await run.step('insert_id', async () => {
    await conn.query('CREATE TABLE t_ids (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10))');
    const [first] = await conn.query("INSERT INTO t_ids (v) VALUES ('a')");
    assert.equal(first.insertId, 1, 'insertId of the first insert');
    const [second] = await conn.query("INSERT INTO t_ids (v) VALUES ('b')");
    assert.equal(second.insertId, 2, 'insertId of the second insert');
    const [rows] = await conn.query('SELECT LAST_INSERT_ID() AS id');
    assert.equal(Number(rows[0].id), 2, 'LAST_INSERT_ID()');
  });

  await run.step('prepared', async () => {
    await conn.query(c.sql(c.PARAMS_TABLE, 't_prepared'));
    const insert = await conn.prepare(c.sql(c.PARAMS_INSERT, 't_prepared'));
    for (const row of c.PARAM_ROWS) await insert.execute(c.paramValues(row));
    insert.close();
    const select = await conn.prepare(c.sql(c.PARAMS_SELECT, 't_prepared'));
    for (const row of c.PARAM_ROWS) {
      const [rows] = await select.execute([row.id]);
      c.checkParamRow(rows[0], row);
    }
    select.close();
    return 'server-side: COM_STMT_PREPARE / COM_STMT_EXECUTE';
  });

  await run.step('client_parameters', async () => {
    await conn.query(c.sql(c.PARAMS_TABLE, 't_client_params'));
    for (const row of c.PARAM_ROWS) {
      await conn.query(c.sql(c.PARAMS_INSERT, 't_client_params'), c.paramValues(row));
    }
    for (const row of c.PARAM_ROWS) {
      const [rows] = await conn.query(c.sql(c.PARAMS_SELECT, 't_client_params'), [row.id]);
      c.checkParamRow(rows[0], row);
    }
    return 'query() with values: escaped by the driver';
  });

  await run.step('transaction_commit', async () => {
    await conn.query('CREATE TABLE t_tx (id INT PRIMARY KEY) ENGINE=InnoDB');
    const observer = await mysql.createConnection(options);
    try {
      await conn.beginTransaction();
      await conn.query('INSERT INTO t_tx VALUES (1)');
      assert.equal(await count(observer, 't_tx', 1), 0, 'second connection sees the row before COMMIT');
      await conn.commit();
      assert.equal(await count(observer, 't_tx', 1), 1, 'second connection misses the committed row');
    } finally {
      await observer.end();
    }
  });

  await run.step('transaction_rollback', async () => {
    const observer = await mysql.createConnection(options);
    try {
      await conn.beginTransaction();
      await conn.query('INSERT INTO t_tx VALUES (2)');
      assert.equal(await count(conn, 't_tx', 2), 1, 'own insert not visible inside the transaction');
      assert.equal(await count(observer, 't_tx', 2), 0, 'second connection sees an uncommitted row');
      await conn.rollback();
      assert.equal(await count(conn, 't_tx', 2), 0, 'row still there after ROLLBACK');
      assert.equal(await count(observer, 't_tx', 2), 0, 'second connection sees a rolled-back row');
    } finally {
      await observer.end();
    }
  });

  await run.step('utf8mb4', async () => {
    await conn.query('CREATE TABLE t_utf8 (id INT PRIMARY KEY, s VARCHAR(64)) CHARACTER SET utf8mb4');
    await conn.query(`INSERT INTO t_utf8 VALUES (1, ${conn.escape(c.UTF8_TEXT)})`);
    await conn.execute('INSERT INTO t_utf8 VALUES (?, ?)', [2, c.UTF8_TEXT]);
    const [rows] = await conn.query('SELECT id, s, HEX(s) AS h FROM t_utf8 ORDER BY id');
    assert.equal(rows.length, 2);
    for (const row of rows) {
      assert.equal(row.h, c.UTF8_HEX, `row ${row.id} stored as other bytes`);
      assert.equal(row.s, c.UTF8_TEXT, `row ${row.id} read back differently`);
    }
  });

  await run.step('multi_statements', async () => {
    const multi = await mysql.createConnection({ ...options, multipleStatements: true });
    try {
      const [results] = await multi.query("SELECT 1 AS a; SET @ms = 5; SELECT @ms AS ms, 'two' AS b");
      assert.equal(results.length, 3, 'three results');
      assert.equal(results[0][0].a, 1);
      assert.equal(Number(results[2][0].ms), 5);
      assert.equal(results[2][0].b, 'two');
      const [rows] = await multi.query('SELECT 3 AS c');
      assert.equal(rows[0].c, 3, 'statement after the multi-statement');
    } finally {
      await multi.end();
    }
    return 'multipleStatements: true';
  });

  await run.step('call_procedure', async () => {
    await conn.query("CREATE PROCEDURE drv_double(IN x INT) SELECT x * 2 AS doubled, 'p' AS name");
    const [text] = await conn.query('CALL drv_double(21)');
    assert.equal(Number(text[0][0].doubled), 42, 'CALL (text)');
    assert.equal(text[0][0].name, 'p');
    const [binary] = await conn.execute('CALL drv_double(?)', [5]);
    assert.equal(Number(binary[0][0].doubled), 10, 'CALL (prepared)');
    const [rows] = await conn.query('SELECT 4 AS d');
    assert.equal(rows[0].d, 4, 'statement after CALL');
  });

  await run.step('ping', async () => {
    await conn.ping();
  });

  await run.step('reset_connection', async () => {
    await conn.query('SET @r = 1');
    await conn.reset();
    const [rows] = await conn.query('SELECT @r AS r');
    assert.equal(rows[0].r, null, '@r survived COM_RESET_CONNECTION');
  });

  await run.step('change_user', async () => {
    await conn.query('SET @cu = 1');
    await conn.changeUser({ user: t.otherUser, password: t.otherPassword, database: t.database });
    const [rows] = await conn.query('SELECT @cu AS cu, 1 AS one');
    assert.equal(rows[0].cu, null, '@cu survived COM_CHANGE_USER');
    assert.equal(rows[0].one, 1);
  });

  await run.step('value_5mb', async () => {
    await conn.query('CREATE TABLE t_big (id INT PRIMARY KEY, v LONGTEXT)');
    await conn.execute('INSERT INTO t_big VALUES (?, ?)', [1, c.VALUE_5MB]);
    const [rows] = await conn.query('SELECT v, LENGTH(v) AS n FROM t_big WHERE id = 1');
    assert.equal(Number(rows[0].n), c.VALUE_5MB.length, 'length stored');
    assert.ok(rows[0].v === c.VALUE_5MB, 'value read back differs');
  });

  await run.step('error_1146', async () => {
    await c.expectError(conn.query('SELECT * FROM t_missing'), 1146);
    const [rows] = await conn.query('SELECT 2 AS two');
    assert.equal(rows[0].two, 2, 'statement after the error');
  });

  await run.step('close', async () => {
    await conn.end();
  });

  run.finish();
}

main().catch((error) => {
  console.log(`FAIL setup: ${error.message}`);
  process.exitCode = 2;
});
