#!/usr/bin/perl
# The driver-matrix scenario with Perl DBI and DBD::MariaDB (Debian's libdbd-mariadb-perl).
use strict;
use warnings;
use utf8;

use DBI qw(:sql_types);

binmode(STDOUT, ':encoding(UTF-8)');
$| = 1;

# Variants: the driver's defaults (placeholders filled in by the driver), and
# mariadb_server_prepare=1 (server-side prepared statements).
my %variants = (default => '', server_prepare => ';mariadb_server_prepare=1');

my %t;
for my $name (qw(HOST PORT USER PASSWORD DATABASE OTHER_USER OTHER_PASSWORD VARIANT)) {
  my $value = $ENV{"SLUICE_DRIVER_$name"};
  if (!defined $value) { print "FAIL setup: environment variable SLUICE_DRIVER_$name is not set\n"; exit 2 }
  $t{lc $name} = $value;
}
if (!exists $variants{$t{variant}}) { print "FAIL setup: unknown variant $t{variant}\n"; exit 2 }
my $server_prepare = $t{variant} eq 'server_prepare';

# Emoji, CJK and a character outside the BMP: anything short of real utf8mb4 loses them.
my $utf8_text = "h\x{e9}llo \x{1F600} \x{6f22}\x{5b57} \x{1D11E}";
my $utf8_hex = do { my $bytes = $utf8_text; utf8::encode($bytes); uc unpack('H*', $bytes) };
# 5 MiB of text, longer than the 4 MiB some drivers and servers default to for one packet.
my $value_5mb = substr('abcdefghijklmnopqrstuvwxyz' x 201650, 0, 5 * 1024 * 1024);

sub pattern_bytes {
  my ($length, $modulus) = @_;
  my $unit = join '', map { chr } 0 .. $modulus - 1;
  return substr($unit x (int($length / $modulus) + 1), 0, $length);
}

# One execution per row; every column takes its turn at NULL.
my @param_rows = (
  [1, 42, 'first', 3.25, '2024-02-29 13:14:15', pattern_bytes(1 << 20, 251)],
  [2, undef, 'second', -1.5e10, '1999-12-31 23:59:59', 'abc'],
  [3, -7, undef, undef, undef, undef],
  [4, 2147483648, "fourth \x{2603}", 0.1, '2038-01-19 03:14:08', pattern_bytes(70000, 7)],
);
my $params_table = 'CREATE TABLE %s (id INT PRIMARY KEY, i BIGINT NULL, s VARCHAR(64) NULL, d DOUBLE NULL, '
  . 'dt DATETIME NULL, b LONGBLOB NULL) CHARACTER SET utf8mb4';
my $params_insert = 'INSERT INTO %s (id, i, s, d, dt, b) VALUES (?, ?, ?, ?, ?, ?)';
my $params_select = 'SELECT i, s, d, dt, b, CAST(dt AS CHAR) AS dt_text FROM %s WHERE id = ?';
my @param_types = (SQL_INTEGER, SQL_BIGINT, SQL_VARCHAR, SQL_DOUBLE, SQL_DATETIME, SQL_BLOB);

my $dsn = "DBI:MariaDB:database=$t{database};host=$t{host};port=$t{port};mariadb_connect_timeout=10"
  . $variants{$t{variant}};

sub connect_target {
  my ($extra) = @_;
  return DBI->connect($dsn . ($extra // ''), $t{user}, $t{password},
    {RaiseError => 1, PrintError => 0, AutoCommit => 1});
}

sub check {
  my ($condition, $what) = @_;
  die "$what\n" unless $condition;
}

sub same {
  my ($a, $b) = @_;
  return !defined $a && !defined $b if !defined $a || !defined $b;
  return $a eq $b;
}

sub check_param_row {
  my ($got, $row) = @_;
  my ($id, $i, $s, $d, $dt, $b) = @$row;
  check(defined $got, "row $id not found");
  check(defined $got->{i} ? defined $i && $got->{i} == $i : !defined $i, "row $id column i: " . ($got->{i} // 'NULL'));
  check(same($got->{s}, $s), "row $id column s: " . ($got->{s} // 'NULL'));
  check(defined $got->{d} ? defined $d && $got->{d} == $d : !defined $d, "row $id column d: " . ($got->{d} // 'NULL'));
  check(same($got->{dt_text}, $dt), "row $id column dt as stored: " . ($got->{dt_text} // 'NULL'));
  check(same($got->{dt}, $dt), "row $id column dt as read: " . ($got->{dt} // 'NULL'));
  check(same($got->{b}, $b), "row $id column b: " . (defined $got->{b} ? length($got->{b}) . ' bytes' : 'NULL') . ' differ from what was sent');
}

sub run_params {
  my ($dbh, $table) = @_;
  $dbh->do(sprintf($params_table, $table));
  my $insert = $dbh->prepare(sprintf($params_insert, $table));
  for my $row (@param_rows) {
    $insert->bind_param($_ + 1, $row->[$_], $param_types[$_]) for 0 .. $#param_types;
    $insert->execute;
  }
  my $select = $dbh->prepare(sprintf($params_select, $table));
  for my $row (@param_rows) {
    $select->bind_param(1, $row->[0], SQL_INTEGER);
    $select->execute;
    check_param_row($select->fetchrow_hashref, $row);
    $select->finish;
  }
}

sub count_rows {
  my ($dbh, $id) = @_;
  return ($dbh->selectrow_array('SELECT COUNT(*) FROM t_tx WHERE id = ?', undef, $id))[0];
}

# Prints `ok|FAIL|skip <step>` lines; any FAIL makes the exit status 1.
my $failures = 0;
my $abandoned;

sub step {
  my ($name, $body) = @_;
  if (defined $abandoned) { ++$failures; print "FAIL $name: not run ($abandoned)\n"; return 0 }
  my $note = eval { $body->() };
  if (my $error = $@) {
    ++$failures;
    (my $text = $error) =~ s/\s+/ /g;
    $text =~ s/ $//;
    my $code = $DBI::err ? " [errno $DBI::err]" : '';
    print "FAIL $name: $text$code\n";
    return 0;
  }
  print defined $note ? "ok $name ($note)\n" : "ok $name\n";
  return 1;
}

sub skip_step {
  my ($name, $why) = @_;
  print "skip $name: $why\n";
}

my $dbh;

$abandoned = 'login failed' unless step('login', sub { $dbh = connect_target(); undef });

step('select_1', sub {
  check(($dbh->selectrow_array('SELECT 1'))[0] == 1, 'SELECT 1');
  undef;
});

step('insert_id', sub {
  $dbh->do('CREATE TABLE t_ids (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10))');
  for my $want (1, 2) {
    $dbh->do("INSERT INTO t_ids (v) VALUES ('v$want')");
    my $id = $dbh->last_insert_id(undef, undef, undef, undef);
    check($id == $want, "last_insert_id $id, want $want");
  }
  check(($dbh->selectrow_array('SELECT LAST_INSERT_ID()'))[0] == 2, 'LAST_INSERT_ID()');
  undef;
});

if ($server_prepare) {
  step('prepared', sub { run_params($dbh, 't_prepared'); 'server-side: mariadb_server_prepare=1' });
  skip_step('client_parameters',
    'mariadb_server_prepare=1 prepares every statement on the server (the default variant runs this step)');
} else {
  skip_step('prepared',
    'DBD::MariaDB fills placeholders in client-side by default; the server_prepare variant runs this step');
  step('client_parameters', sub { run_params($dbh, 't_client_params'); 'placeholders filled in by the driver' });
}

step('transaction_commit', sub {
  $dbh->do('CREATE TABLE t_tx (id INT PRIMARY KEY) ENGINE=InnoDB');
  my $observer = connect_target();
  $dbh->begin_work;
  $dbh->do('INSERT INTO t_tx VALUES (1)');
  check(count_rows($observer, 1) == 0, 'second connection sees the row before COMMIT');
  $dbh->commit;
  check(count_rows($observer, 1) == 1, 'second connection misses the committed row');
  $observer->disconnect;
  undef;
});

step('transaction_rollback', sub {
  my $observer = connect_target();
  $dbh->begin_work;
  $dbh->do('INSERT INTO t_tx VALUES (2)');
  check(count_rows($dbh, 2) == 1, 'own insert not visible inside the transaction');
  check(count_rows($observer, 2) == 0, 'second connection sees an uncommitted row');
  $dbh->rollback;
  check(count_rows($dbh, 2) == 0, 'row still there after ROLLBACK');
  check(count_rows($observer, 2) == 0, 'second connection sees a rolled-back row');
  $observer->disconnect;
  undef;
});

step('utf8mb4', sub {
  $dbh->do('CREATE TABLE t_utf8 (id INT PRIMARY KEY, s VARCHAR(64)) CHARACTER SET utf8mb4');
  $dbh->do('INSERT INTO t_utf8 VALUES (1, ' . $dbh->quote($utf8_text) . ')');
  $dbh->do('INSERT INTO t_utf8 VALUES (2, ?)', undef, $utf8_text);
  my $rows = $dbh->selectall_arrayref('SELECT id, s, HEX(s) FROM t_utf8 ORDER BY id');
  check(@$rows == 2, scalar(@$rows) . ' rows');
  for my $row (@$rows) {
    check($row->[2] eq $utf8_hex, "row $row->[0] stored as $row->[2]");
    check($row->[1] eq $utf8_text, "row $row->[0] read back differently");
  }
  undef;
});

step('multi_statements', sub {
  my $multi = connect_target(';mariadb_multi_statements=1');
  # A multi-statement runs as text: it cannot be prepared on the server.
  my $sth = $multi->prepare("SELECT 1 AS a; SET \@ms = 5; SELECT \@ms AS ms, 'two' AS b",
    {mariadb_server_prepare => 0});
  $sth->execute;
  my @results;
  do {
    push @results, $sth->{NUM_OF_FIELDS} ? $sth->fetchall_arrayref : 'ok';
  } while ($sth->more_results);
  check(@results == 3, scalar(@results) . ' results');
  check($results[0][0][0] == 1, 'first result');
  check($results[1] eq 'ok', 'second result is not the SET');
  check($results[2][0][0] == 5 && $results[2][0][1] eq 'two', 'third result');
  check(($multi->selectrow_array('SELECT 3'))[0] == 3, 'statement after the multi-statement');
  $multi->disconnect;
  'mariadb_multi_statements=1';
});

step('call_procedure', sub {
  $dbh->do("CREATE PROCEDURE drv_double(IN x INT) SELECT x * 2 AS doubled, 'p' AS name");
  for my $call (['CALL drv_double(21)', [], 42], ['CALL drv_double(?)', [5], 10]) {
    my ($sql, $args, $want) = @$call;
    # DBD::MariaDB cannot read several results of a server-side prepared statement.
    my $sth = $dbh->prepare($sql, {mariadb_server_prepare => 0});
    $sth->execute(@$args);
    my @row = $sth->fetchrow_array;
    check(@row == 2 && $row[0] == $want && $row[1] eq 'p', "$sql: @row");
    1 while $sth->more_results;
  }
  check(($dbh->selectrow_array('SELECT 4'))[0] == 4, 'statement after CALL');
  $server_prepare ? 'CALL prepared client-side: the driver reads no multiple results of a server-side one' : undef;
});

step('ping', sub { check($dbh->ping, 'ping returned false'); undef });

skip_step('reset_connection', 'DBD::MariaDB has no COM_RESET_CONNECTION call');
skip_step('change_user', 'DBD::MariaDB has no COM_CHANGE_USER call');

step('value_5mb', sub {
  $dbh->do('CREATE TABLE t_big (id INT PRIMARY KEY, v LONGTEXT)');
  $dbh->do('INSERT INTO t_big VALUES (1, ?)', undef, $value_5mb);
  my ($v, $n) = $dbh->selectrow_array('SELECT v, LENGTH(v) FROM t_big WHERE id = 1');
  check($n == length($value_5mb), "LENGTH $n");
  check($v eq $value_5mb, 'value read back differs');
  undef;
});

step('error_1146', sub {
  my $ok = eval { $dbh->do('SELECT * FROM t_missing'); 1 };
  check(!$ok, 'the statement succeeded; expected error 1146');
  check(($dbh->err // 0) == 1146, 'expected error 1146, got ' . ($dbh->err // 'none') . ': ' . ($dbh->errstr // ''));
  check(($dbh->selectrow_array('SELECT 2'))[0] == 2, 'statement after the error');
  undef;
});

step('close', sub { check($dbh->disconnect, 'disconnect returned false'); undef });

exit($failures == 0 ? 0 : 1);
