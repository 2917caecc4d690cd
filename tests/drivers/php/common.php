<?php
// The driver-matrix scenario's data, checks and step runner, shared by the mysqli and PDO programs.

declare(strict_types=1);

// Emoji, CJK and a character outside the BMP: anything short of real utf8mb4 loses them.
const UTF8_TEXT = "h\u{e9}llo \u{1F600} \u{6f22}\u{5b57} \u{1D11E}";

function utf8_hex(): string
{
    return strtoupper(bin2hex(UTF8_TEXT));
}

// 5 MiB of text, longer than the 4 MiB some drivers and servers default to for one packet.
function value_5mb(): string
{
    return substr(str_repeat('abcdefghijklmnopqrstuvwxyz', 201650), 0, 5 * 1024 * 1024);
}

function pattern_bytes(int $length, int $modulus): string
{
    $bytes = '';
    for ($i = 0; $i < $modulus; ++$i) $bytes .= chr($i);
    return substr(str_repeat($bytes, intdiv($length, $modulus) + 1), 0, $length);
}

// One execution per row; every column takes its turn at NULL.
function param_rows(): array
{
    return [
        ['id' => 1, 'i' => 42, 's' => 'first', 'd' => 3.25, 'dt' => '2024-02-29 13:14:15', 'b' => pattern_bytes(1 << 20, 251)],
        ['id' => 2, 'i' => null, 's' => 'second', 'd' => -1.5e10, 'dt' => '1999-12-31 23:59:59', 'b' => 'abc'],
        ['id' => 3, 'i' => -7, 's' => null, 'd' => null, 'dt' => null, 'b' => null],
        ['id' => 4, 'i' => 2147483648, 's' => "fourth \u{2603}", 'd' => 0.1, 'dt' => '2038-01-19 03:14:08', 'b' => pattern_bytes(70000, 7)],
    ];
}

const PARAMS_TABLE = 'CREATE TABLE %s (id INT PRIMARY KEY, i BIGINT NULL, s VARCHAR(64) NULL, d DOUBLE NULL, '
    . 'dt DATETIME NULL, b LONGBLOB NULL) CHARACTER SET utf8mb4';
const PARAMS_INSERT = 'INSERT INTO %s (id, i, s, d, dt, b) VALUES (?, ?, ?, ?, ?, ?)';
const PARAMS_SELECT = 'SELECT i, s, d, dt, b, CAST(dt AS CHAR) AS dt_text FROM %s WHERE id = ?';

// Where to connect: the GoogleTest harness (tests/drivers) sets these for each run.
function target(): array
{
    $t = [];
    foreach (['HOST', 'PORT', 'USER', 'PASSWORD', 'DATABASE', 'OTHER_USER', 'OTHER_PASSWORD', 'VARIANT'] as $name) {
        $value = getenv('SLUICE_DRIVER_' . $name);
        if ($value === false) throw new RuntimeException("environment variable SLUICE_DRIVER_$name is not set");
        $t[strtolower($name)] = $value;
    }
    $t['port'] = (int) $t['port'];
    return $t;
}

final class StepFailed extends Exception
{
}

function check(bool $condition, string $what): void
{
    if (!$condition) throw new StepFailed($what);
}

// Compares a row read back (an array with i, s, d, dt, b, dt_text) with what was sent. Drivers
// return numbers as ints, floats or strings depending on the protocol: compare the values.
function check_param_row($got, array $row): void
{
    $id = $row['id'];
    check(is_array($got), "row $id not found");
    check(($got['i'] === null ? null : (int) $got['i']) === $row['i'], "row $id column i: " . var_export($got['i'], true));
    check($got['s'] === $row['s'], "row $id column s: " . var_export($got['s'], true));
    check(($got['d'] === null ? null : (float) $got['d']) === ($row['d'] === null ? null : (float) $row['d']), "row $id column d: " . var_export($got['d'], true));
    check($got['dt_text'] === $row['dt'], "row $id column dt as stored: " . var_export($got['dt_text'], true));
    check($got['dt'] === $row['dt'], "row $id column dt as read: " . var_export($got['dt'], true));
    $b = $got['b'];
    check($b === $row['b'], "row $id column b: " . ($b === null ? 'NULL' : strlen((string) $b) . ' bytes') . ' differ from what was sent');
}

// Prints `ok|FAIL|skip <step>` lines; any FAIL makes the exit status 1.
final class Runner
{
    public int $failures = 0;
    public ?string $abandoned = null;

    public function step(string $name, callable $body): bool
    {
        if ($this->abandoned !== null) {
            ++$this->failures;
            echo "FAIL $name: not run ({$this->abandoned})\n";
            return false;
        }
        try {
            $note = $body();
        } catch (Throwable $e) {
            ++$this->failures;
            $code = $e->getCode() ? ' [errno ' . (is_array($e->errorInfo ?? null) ? $e->errorInfo[1] : $e->getCode()) . ']' : '';
            echo "FAIL $name: " . preg_replace('/\s+/', ' ', $e->getMessage()) . "$code\n";
            return false;
        }
        echo $note ? "ok $name ($note)\n" : "ok $name\n";
        return true;
    }

    public function skip(string $name, string $why): void
    {
        echo "skip $name: $why\n";
    }

    public function finish(): never
    {
        exit($this->failures === 0 ? 0 : 1);
    }
}
