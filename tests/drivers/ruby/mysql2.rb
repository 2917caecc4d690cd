# The driver-matrix scenario with Ruby's mysql2 gem (Debian's ruby-mysql2): query is text,
# prepare binary.
require 'mysql2'
require 'time'

$stdout.sync = true

# Variants: the driver's defaults (encoding utf8, i.e. 3-byte utf8mb3), and encoding utf8mb4.
VARIANTS = { 'default' => {}, 'utf8mb4' => { encoding: 'utf8mb4' } }.freeze

T = %w[HOST PORT USER PASSWORD DATABASE OTHER_USER OTHER_PASSWORD VARIANT].to_h do |name|
  value = ENV["SLUICE_DRIVER_#{name}"]
  if value.nil?
    puts "FAIL setup: environment variable SLUICE_DRIVER_#{name} is not set"
    exit 2
  end
  [name.downcase.to_sym, value]
end
unless VARIANTS.key?(T[:variant])
  puts "FAIL setup: unknown variant #{T[:variant]}"
  exit 2
end

# Emoji, CJK and a character outside the BMP: anything short of real utf8mb4 loses them.
UTF8_TEXT = "h\u00e9llo \u{1F600} \u6f22\u5b57 \u{1D11E}".freeze
UTF8_HEX = UTF8_TEXT.unpack1('H*').upcase
# 5 MiB of text, longer than the 4 MiB some drivers and servers default to for one packet.
VALUE_5MB = ('abcdefghijklmnopqrstuvwxyz' * 201_650)[0, 5 * 1024 * 1024]

def pattern_bytes(length, modulus)
  Array.new(length) { |i| i % modulus }.pack('C*')
end

# One execution per row; every column takes its turn at NULL.
PARAM_ROWS = [
  [1, 42, 'first', 3.25, '2024-02-29 13:14:15', pattern_bytes(1 << 20, 251)],
  [2, nil, 'second', -1.5e10, '1999-12-31 23:59:59', 'abc'.b],
  [3, -7, nil, nil, nil, nil],
  [4, 2_147_483_648, "fourth \u2603", 0.1, '2038-01-19 03:14:08', pattern_bytes(70_000, 7)]
].freeze
PARAMS_TABLE = 'CREATE TABLE %s (id INT PRIMARY KEY, i BIGINT NULL, s VARCHAR(64) NULL, d DOUBLE NULL, ' \
               'dt DATETIME NULL, b LONGBLOB NULL) CHARACTER SET utf8mb4'.freeze
PARAMS_INSERT = 'INSERT INTO %s (id, i, s, d, dt, b) VALUES (?, ?, ?, ?, ?, ?)'.freeze
PARAMS_SELECT = 'SELECT i, s, d, dt, b, CAST(dt AS CHAR) AS dt_text FROM %s WHERE id = ?'.freeze

class StepFailed < StandardError; end

def check(condition, what)
  raise StepFailed, what unless condition
end

def connect(extra = {})
  Mysql2::Client.new(host: T[:host], port: T[:port].to_i, username: T[:user], password: T[:password],
                     database: T[:database], connect_timeout: 10, read_timeout: 60,
                     **VARIANTS[T[:variant]], **extra)
end

def scalar(client, sql)
  client.query(sql, as: :array).first&.first
end

def count_rows(client, id)
  scalar(client, "SELECT COUNT(*) FROM t_tx WHERE id = #{id}")
end

def dt_text(value)
  value&.strftime('%Y-%m-%d %H:%M:%S')
end

# Reads the results a CALL leaves behind after its result set.
def drain(client)
  client.store_result while client.next_result
end

def check_param_row(got, row)
  id, i, s, d, dt, b = row
  check(!got.nil?, "row #{id} not found")
  check(got['i'] == i, "row #{id} column i: #{got['i'].inspect}")
  check(got['s'] == s, "row #{id} column s: #{got['s'].inspect}")
  check(got['d'] == d, "row #{id} column d: #{got['d'].inspect}")
  check(got['dt_text'] == dt, "row #{id} column dt as stored: #{got['dt_text'].inspect}")
  check(dt_text(got['dt']) == dt, "row #{id} column dt as read: #{got['dt'].inspect}")
  check(got['b'] == b, "row #{id} column b: #{got['b'].nil? ? 'NULL' : "#{got['b'].bytesize} bytes"} differ from what was sent")
end

# Prints `ok|FAIL|skip <step>` lines; any FAIL makes the exit status 1.
class Runner
  attr_accessor :failures, :abandoned

  def initialize
    @failures = 0
    @abandoned = nil
  end

  def step(name)
    if @abandoned
      @failures += 1
      puts "FAIL #{name}: not run (#{@abandoned})"
      return false
    end
    note = yield
    puts note ? "ok #{name} (#{note})" : "ok #{name}"
    true
  rescue StandardError => e
    @failures += 1
    code = e.respond_to?(:error_number) ? " [errno #{e.error_number}]" : ''
    puts "FAIL #{name}: #{e.message.split.join(' ')}#{code}"
    false
  end

  def skip(name, why)
    puts "skip #{name}: #{why}"
  end
end

run = Runner.new
client = nil

run.abandoned = 'login failed' unless run.step('login') { client = connect; nil }

run.step('select_1') do
  check(scalar(client, 'SELECT 1') == 1, 'SELECT 1')
  nil
end

run.step('insert_id') do
  client.query('CREATE TABLE t_ids (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10))')
  [1, 2].each do |want|
    client.query("INSERT INTO t_ids (v) VALUES ('v#{want}')")
    check(client.last_id == want, "last_id #{client.last_id}, want #{want}")
  end
  check(scalar(client, 'SELECT LAST_INSERT_ID()') == 2, 'LAST_INSERT_ID()')
  nil
end

run.step('prepared') do
  client.query(format(PARAMS_TABLE, 't_prepared'))
  insert = client.prepare(format(PARAMS_INSERT, 't_prepared'))
  PARAM_ROWS.each do |id, i, s, d, dt, b|
    insert.execute(id, i, s, d, dt && Time.parse(dt), b)
  end
  insert.close
  select = client.prepare(format(PARAMS_SELECT, 't_prepared'))
  PARAM_ROWS.each do |row|
    check_param_row(select.execute(row[0]).first, row)
  end
  select.close
  'server-side: Client#prepare / Statement#execute'
end

run.skip('client_parameters', 'mysql2 (Ruby) has no client-side placeholders (applications use Client#escape)')

run.step('transaction_commit') do
  client.query('CREATE TABLE t_tx (id INT PRIMARY KEY) ENGINE=InnoDB')
  observer = connect
  begin
    client.query('BEGIN')
    client.query('INSERT INTO t_tx VALUES (1)')
    check(count_rows(observer, 1).zero?, 'second connection sees the row before COMMIT')
    client.query('COMMIT')
    check(count_rows(observer, 1) == 1, 'second connection misses the committed row')
  ensure
    observer.close
  end
  nil
end

run.step('transaction_rollback') do
  observer = connect
  begin
    client.query('BEGIN')
    client.query('INSERT INTO t_tx VALUES (2)')
    check(count_rows(client, 2) == 1, 'own insert not visible inside the transaction')
    check(count_rows(observer, 2).zero?, 'second connection sees an uncommitted row')
    client.query('ROLLBACK')
    check(count_rows(client, 2).zero?, 'row still there after ROLLBACK')
    check(count_rows(observer, 2).zero?, 'second connection sees a rolled-back row')
  ensure
    observer.close
  end
  nil
end

run.step('utf8mb4') do
  charset = scalar(client, 'SELECT @@character_set_client')
  note = nil
  if charset != 'utf8mb4'
    client.query('SET NAMES utf8mb4')
    note = "after SET NAMES utf8mb4: the connection had #{charset}"
  end
  client.query('CREATE TABLE t_utf8 (id INT PRIMARY KEY, s VARCHAR(64)) CHARACTER SET utf8mb4')
  client.query("INSERT INTO t_utf8 VALUES (1, '#{client.escape(UTF8_TEXT)}')")
  insert = client.prepare('INSERT INTO t_utf8 VALUES (2, ?)')
  insert.execute(UTF8_TEXT)
  insert.close
  rows = client.query('SELECT id, s, HEX(s) AS h FROM t_utf8 ORDER BY id').to_a
  check(rows.size == 2, "#{rows.size} rows")
  rows.each do |row|
    check(row['h'] == UTF8_HEX, "row #{row['id']} stored as #{row['h']}")
    check(row['s'] == UTF8_TEXT, "row #{row['id']} read back as #{row['s'].inspect}")
  end
  note
end

run.step('multi_statements') do
  multi = connect(flags: Mysql2::Client::MULTI_STATEMENTS)
  begin
    results = [multi.query("SELECT 1 AS a; SET @ms = 5; SELECT @ms AS ms, 'two' AS b", as: :array).to_a]
    while multi.next_result
      result = multi.store_result
      results << (result ? result.to_a : :ok)
    end
    check(results.size == 3, "#{results.size} results")
    check(results[0] == [[1]], 'first result')
    check(results[1] == :ok, 'second result is not the SET')
    check(results[2] == [[5, 'two']], 'third result')
    check(scalar(multi, 'SELECT 3') == 3, 'statement after the multi-statement')
  ensure
    multi.close
  end
  'flags: Mysql2::Client::MULTI_STATEMENTS'
end

run.step('call_procedure') do
  client.query("CREATE PROCEDURE drv_double(IN x INT) SELECT x * 2 AS doubled, 'p' AS name")
  check(client.query('CALL drv_double(21)', as: :array).to_a == [[42, 'p']], 'CALL (text)')
  drain(client)
  call = client.prepare('CALL drv_double(?)')
  check(call.execute(5, as: :array).to_a == [[10, 'p']], 'CALL (prepared)')
  drain(client)
  call.close
  check(scalar(client, 'SELECT 4') == 4, 'statement after CALL')
  nil
end

run.step('ping') do
  check(client.ping, 'ping returned false')
  nil
end

run.skip('reset_connection', 'mysql2 (Ruby) 0.5 has no COM_RESET_CONNECTION call')
run.skip('change_user', 'mysql2 (Ruby) has no COM_CHANGE_USER call')

run.step('value_5mb') do
  client.query('CREATE TABLE t_big (id INT PRIMARY KEY, v LONGTEXT)')
  insert = client.prepare('INSERT INTO t_big VALUES (1, ?)')
  insert.execute(VALUE_5MB)
  insert.close
  v, n = client.query('SELECT v, LENGTH(v) FROM t_big WHERE id = 1', as: :array).first
  check(n == VALUE_5MB.bytesize, "LENGTH #{n}")
  check(v == VALUE_5MB, 'value read back differs')
  nil
end

run.step('error_1146') do
  begin
    client.query('SELECT * FROM t_missing')
    raise StepFailed, 'the statement succeeded; expected error 1146'
  rescue Mysql2::Error => e
    check(e.error_number == 1146, "expected error 1146, got #{e.error_number}: #{e.message}")
  end
  check(scalar(client, 'SELECT 2') == 2, 'statement after the error')
  nil
end

run.step('close') do
  client.close
  check(client.closed?, 'still open after close')
  nil
end

exit(run.failures.zero? ? 0 : 1)
