// The driver-matrix scenario's data, checks and step runner, shared by the node driver programs.
'use strict';

const assert = require('node:assert/strict');

// Where to connect: the GoogleTest harness (tests/drivers) sets these for each run.
function target() {
  const need = (name) => {
    const value = process.env[name];
    if (value === undefined) throw new Error(`environment variable ${name} is not set`);
    return value;
  };
  return {
    host: need('SLUICE_DRIVER_HOST'),
    port: Number(need('SLUICE_DRIVER_PORT')),
    user: need('SLUICE_DRIVER_USER'),
    password: need('SLUICE_DRIVER_PASSWORD'),
    database: need('SLUICE_DRIVER_DATABASE'),
    otherUser: need('SLUICE_DRIVER_OTHER_USER'),
    otherPassword: need('SLUICE_DRIVER_OTHER_PASSWORD'),
    variant: need('SLUICE_DRIVER_VARIANT'),
  };
}

// Emoji, CJK and a character outside the BMP: anything short of real utf8mb4 loses them.
const UTF8_TEXT = 'h\u00e9llo \u{1F600} \u6f22\u5b57 \u{1D11E}';
const UTF8_HEX = Buffer.from(UTF8_TEXT, 'utf8').toString('hex').toUpperCase();

function patternBytes(length, modulus) {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; ++i) bytes[i] = i % modulus;
  return bytes;
}

const BLOB_1MB = patternBytes(1 << 20, 251);
// 5 MiB of text, longer than the 4 MiB some drivers and servers default to for one packet.
const VALUE_5MB = 'abcdefghijklmnopqrstuvwxyz'.repeat(201650).slice(0, 5 * 1024 * 1024);

// The rows the parameter steps insert, one execution each: every column type takes its turn at
// NULL so that a driver (or sluice) that rebinds parameter types is exercised.
const PARAM_ROWS = [
  { id: 1, i: 42, s: 'first', d: 3.25, dt: '2024-02-29 13:14:15', b: BLOB_1MB },
  { id: 2, i: null, s: 'second', d: -1.5e10, dt: '1999-12-31 23:59:59', b: Buffer.from('abc') },
  { id: 3, i: -7, s: null, d: null, dt: null, b: null },
  { id: 4, i: 2147483648, s: 'fourth \u2603', d: 0.1, dt: '2038-01-19 03:14:08', b: patternBytes(70000, 7) },
];

const PARAMS_TABLE =
  'CREATE TABLE %T (id INT PRIMARY KEY, i BIGINT NULL, s VARCHAR(64) NULL, d DOUBLE NULL, ' +
  'dt DATETIME NULL, b LONGBLOB NULL) CHARACTER SET utf8mb4';
const PARAMS_INSERT = 'INSERT INTO %T (id, i, s, d, dt, b) VALUES (?, ?, ?, ?, ?, ?)';
const PARAMS_SELECT = 'SELECT i, s, d, dt, b, CAST(dt AS CHAR) AS dt_text FROM %T WHERE id = ?';

function sql(template, table) {
  return template.replaceAll('%T', table);
}

// A DATETIME string as the local-time Date that node drivers send and return.
function localDate(text) {
  if (text === null) return null;
  const [date, time] = text.split(' ');
  const [y, mo, d] = date.split('-').map(Number);
  const [h, mi, s] = time.split(':').map(Number);
  return new Date(y, mo - 1, d, h, mi, s);
}

function formatLocal(value) {
  if (value === null) return null;
  if (typeof value === 'string') return value;
  const pad = (n) => String(n).padStart(2, '0');
  return (
    `${value.getFullYear()}-${pad(value.getMonth() + 1)}-${pad(value.getDate())} ` +
    `${pad(value.getHours())}:${pad(value.getMinutes())}:${pad(value.getSeconds())}`
  );
}

function paramValues(row) {
  return [row.id, row.i, row.s, row.d, localDate(row.dt), row.b];
}

function asNumber(value) {
  return value === null || value === undefined ? null : Number(value);
}

function asBuffer(value) {
  if (value === null || value === undefined) return null;
  return Buffer.isBuffer(value) ? value : Buffer.from(value);
}

// Checks one row read back (as an object with i, s, d, dt, b, dt_text) against what was sent.
function checkParamRow(got, row) {
  assert.ok(got, `row ${row.id} not found`);
  assert.equal(asNumber(got.i), row.i, `row ${row.id} column i`);
  assert.equal(got.s, row.s, `row ${row.id} column s`);
  assert.equal(asNumber(got.d), row.d, `row ${row.id} column d`);
  assert.equal(got.dt_text, row.dt, `row ${row.id} column dt as stored by the server`);
  assert.equal(formatLocal(got.dt), row.dt, `row ${row.id} column dt as the driver reads it`);
  const b = asBuffer(got.b);
  if (row.b === null) {
    assert.equal(b, null, `row ${row.id} column b`);
  } else {
    assert.ok(b !== null && b.equals(row.b), `row ${row.id} column b differs (${b ? b.length : 'NULL'} bytes read, ${row.b.length} sent)`);
  }
}

// Runs named steps in order, printing `ok|FAIL|skip <step>` for each; exit status 1 on any FAIL.
// step() returns whether the step passed.
class Runner {
  constructor() {
    this.failures = 0;
    this.abandoned = null;
  }

  async step(name, body) {
    if (this.abandoned) {
      this.failures += 1;
      console.log(`FAIL ${name}: not run (${this.abandoned})`);
      return false;
    }
    try {
      const note = await body();
      console.log(note ? `ok ${name} (${note})` : `ok ${name}`);
      return true;
    } catch (error) {
      this.failures += 1;
      const code = error && error.errno !== undefined ? ` [errno ${error.errno}]` : '';
      const text = (error && error.message ? error.message : String(error)).replace(/\s+/g, ' ');
      console.log(`FAIL ${name}: ${text}${code}`);
      return false;
    }
  }

  // After a failure that leaves nothing to run the rest on (no login), later steps fail at once.
  abandon(reason) {
    this.abandoned = reason;
  }

  skip(name, why) {
    console.log(`skip ${name}: ${why}`);
  }

  finish() {
    process.exitCode = this.failures === 0 ? 0 : 1;
  }
}

// Awaits a statement that must fail with MySQL error `errno`.
async function expectError(statement, errno) {
  let error = null;
  try {
    await statement;
  } catch (e) {
    error = e;
  }
  assert.ok(error !== null, `the statement succeeded; expected error ${errno}`);
  assert.equal(error.errno, errno, `expected error ${errno}, got: ${error.message}`);
}

module.exports = {
  assert,
  target,
  Runner,
  UTF8_TEXT,
  UTF8_HEX,
  VALUE_5MB,
  PARAM_ROWS,
  PARAMS_TABLE,
  PARAMS_INSERT,
  PARAMS_SELECT,
  sql,
  paramValues,
  checkParamRow,
  asNumber,
  expectError,
};
