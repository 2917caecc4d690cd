#!/usr/bin/env python3
"""Turns record.py's recordings into fuzz seeds, one small file per input, per target.

Usage: split.py RECORDED_DIR CORPUS_DIR
Also writes the hand-made seeds: the malformed inputs of the unit tests (tests/protocol) and
structured scanner inputs for 16 MiB packets, which no recording is small enough to hold.
"""
import hashlib
import os
import re
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)  # "\%" in the test sources
import struct
import sys

MAX_SEED = 16 * 1024
SHAPE = {0x03: 0, 0x17: 0, 0x04: 1, 0x16: 2, 0x1C: 3}  # the rest are `single` (4)
SINGLE = 4
TRACKING_CAPS = 0x07  # fuzz_generic_response: protocol_41 | transactions | session_track
CHANGE_USER_CAPS = 0x07  # fuzz_change_user: secure_connection | plugin_auth | connect_attrs


class Corpus:
    def __init__(self, root):
        self.root = root
        self.count = {}

    def add(self, target, name, data):
        if not data or len(data) > MAX_SEED:
            return
        d = os.path.join(self.root, target)
        os.makedirs(d, exist_ok=True)
        digest = hashlib.sha1(data).hexdigest()[:8]
        for existing in os.listdir(d):
            if existing.endswith(digest):
                return
        with open(os.path.join(d, f"{name}-{digest}"), "wb") as f:
            f.write(data)
        self.count[target] = self.count.get(target, 0) + 1


def read_records(path):
    with open(path, "rb") as f:
        blob = f.read()
    at, records = 0, []
    while at < len(blob):
        tag, length = blob[at:at + 1], struct.unpack_from("<I", blob, at + 1)[0]
        records.append((tag.decode(), blob[at + 5:at + 5 + length]))
        at += 5 + length
    return records


def packets_in_order(records):
    """Packets of both directions in the order their last byte arrived: (dir, seq, payload)."""
    buffers = {"C": b"", "S": b""}
    events = []
    for tag, data in records:
        buffers[tag] += data
        buf = buffers[tag]
        while len(buf) >= 4:
            length = buf[0] | buf[1] << 8 | buf[2] << 16
            if len(buf) < 4 + length:
                break
            events.append((tag, buf[3], buf[4:4 + length], buf[:4 + length]))
            buf = buf[4 + length:]
        buffers[tag] = buf
    return events


def lenenc(data, at):
    first = data[at]
    if first < 0xFB:
        return first, at + 1
    width = {0xFC: 2, 0xFD: 3, 0xFE: 8}[first]
    return int.from_bytes(data[at + 1:at + 1 + width], "little"), at + 1 + width


def state_info(ok):
    """The session_state_info of an OK packet with SERVER_SESSION_STATE_CHANGED, else None."""
    try:
        _, at = lenenc(ok, 1)
        _, at = lenenc(ok, at)
        status = ok[at] | ok[at + 1] << 8
        at += 4
        if not status & 0x4000:
            return None
        info_length, at = lenenc(ok, at)
        at += info_length
        state_length, at = lenenc(ok, at)
        return ok[at:at + state_length]
    except (IndexError, KeyError):
        return None


def split_connection(corpus, name, records):
    client = b"".join(d for t, d in records if t == "C")
    server = b"".join(d for t, d in records if t == "S")
    corpus.add("fuzz_frame", f"{name}-client", client[:2048])
    corpus.add("fuzz_frame", f"{name}-server", server[:2048])

    phase, first_client = "greeting", True
    exchange = None
    params = {}  # statement id -> parameter count, from the prepare responses

    def finish(ex):
        if ex is None or not ex["response"]:
            return
        cmd = ex["command"]
        shape = SHAPE.get(cmd, SINGLE)
        response = b"".join(ex["response"])
        label = f"{name}-{ex['index']:03d}-cmd{cmd:02x}"
        corpus.add("fuzz_response_scanner", label, bytes([shape, 0]) + response)
        corpus.add("fuzz_response_scanner", label + "-pieces", bytes([shape, 3, 0, 2, 6]) + response)
        for payload in ex["payloads"]:
            if payload[:1] in (b"\x00", b"\xfe", b"\xff") and len(payload) < 512:
                corpus.add("fuzz_generic_response", label, bytes([TRACKING_CAPS]) + payload)
            if payload[:1] == b"\x00":
                blob = state_info(payload)
                if blob:
                    corpus.add("fuzz_session_state", label, blob)
        if cmd == 0x16 and ex["payloads"] and ex["payloads"][0][:1] == b"\x00":
            ok = ex["payloads"][0]
            params[int.from_bytes(ok[1:5], "little")] = int.from_bytes(ok[7:9], "little")

    for index, (tag, seq, payload, raw) in enumerate(packets_in_order(records)):
        if phase == "greeting":
            corpus.add("fuzz_handshake_v10", f"{name}-greeting", payload)
            phase = "auth"
        elif phase == "auth":
            if tag == "C":
                if first_client:
                    corpus.add("fuzz_handshake_response", f"{name}-response", payload)
                    first_client = False
            elif payload[:1] in (b"\xfe", b"\x01"):
                corpus.add("fuzz_auth_switch", f"{name}-auth", payload)
            else:
                corpus.add("fuzz_generic_response", f"{name}-auth-end", bytes([TRACKING_CAPS]) + payload)
                phase = "command"
        elif tag == "C" and seq == 0:
            finish(exchange)
            exchange = None
            cmd = payload[0] if payload else 0
            if cmd == 0x11:
                corpus.add("fuzz_change_user", f"{name}-change-user", bytes([CHANGE_USER_CAPS]) + payload)
                phase = "auth"
                continue
            if cmd == 0x03:
                corpus.add("fuzz_sql", f"{name}-query", payload[1:])
            if cmd in (0x17, 0x18, 0x19, 0x1A, 0x1C) and len(payload) >= 5:
                count = params.get(int.from_bytes(payload[1:5], "little"), 0) if cmd == 0x17 else 0
                for bind in (0, 1):
                    control = struct.pack("<HIB", count, 42, bind)
                    corpus.add("fuzz_stmt_command", f"{name}-cmd{cmd:02x}-bind{bind}", control + payload)
            exchange = {"command": cmd, "index": index, "response": [], "payloads": []}
        elif tag == "S" and exchange is not None:
            exchange["response"].append(raw)
            exchange["payloads"].append(payload)
    finish(exchange)


def hand_made(corpus):
    """Inputs of the unit tests' malformed tables, and 16 MiB packets for the scanner."""
    h = bytes.fromhex
    filler = bytes(23)
    for name, caps, payload in [
        ("ok_wrong_header", 7, h("01 00 00 02 00 00 00")),
        ("ok_eof_header_without_deprecate_eof", 7, h("fe 00 00 02 00 00 00")),
        ("ok_affected_rows_is_null", 7, h("00 fb 00 02 00 00 00")),
        ("ok_state_info_beyond_packet", 7, h("00 00 00 02 40 00 00 00 08 01")),
        ("err_wrong_header", 1, h("00 15 04")),
        ("err_short_sql_state", 1, h("ff 15 04 23 32 38")),
        ("eof_long_enough_to_be_a_row", 1, h("fe 00 00 02 00 00 00 00 00")),
        ("eof_wrong_header", 1, h("00 00 00 02 00")),
        ("prepare_ok_is_an_err", 0, h("ff 10 04 00 00 00 00 00 00 00 00 00")),
        ("prepare_ok_half_warning_count", 0, h("00 01 00 00 00 00 00 00 00 00 02")),
    ]:
        corpus.add("fuzz_generic_response", "malformed-" + name, bytes([caps]) + payload)
    for name, payload in [
        ("greeting_protocol_9", h("09") + b"3.22\x00"),
        ("greeting_is_an_err", h("ff 10 04") + b"Too many connections"),
        ("greeting_unterminated_version", h("0a 35 2e 35")),
    ]:
        corpus.add("fuzz_handshake_v10", "malformed-" + name, payload)
    for name, payload in [
        ("response_ssl_request", h("00 8a 00 00 00 00 00 01 2d") + filler),
        ("response_pre_41_client", h("05 a0 ff ff ff") + b"root\x00"),
        ("response_auth_length_is_null", h("00 02 20 00 00 00 00 01 2d") + filler + b"u\x00\xfb"),
        ("response_attribute_overflows_block",
         h("00 02 10 00 00 00 00 01 2d") + filler + b"u\x00" + h("00 03 05 61 62")),
    ]:
        corpus.add("fuzz_handshake_response", "malformed-" + name, payload)
    for name, payload in [
        ("switch_old_auth_method", h("fe")),
        ("switch_wrong_header", h("01") + b"x\x00"),
        ("switch_unterminated_plugin", h("fe") + b"mysql"),
        ("more_data_wrong_header", h("02 03")),
        ("more_data_fast_auth", h("01 03")),
    ]:
        corpus.add("fuzz_auth_switch", "malformed-" + name, payload)
    for name, payload in [
        ("change_user_wrong_command", h("03 61 00 00 00")),
        ("change_user_auth_beyond_packet", h("11 61 00 14 01 02")),
        ("change_user_half_character_set", h("11 61 00 00 00 2d")),
    ]:
        corpus.add("fuzz_change_user", "malformed-" + name, bytes([1]) + payload)
    for name, payload in [
        ("state_entry_beyond_info", h("01 09 04") + b"test"),
        ("state_schema_overflows_entry", h("01 03 05 61 62")),
        ("state_variable_without_value", h("00 0b 0a") + b"autocommit"),
        ("state_empty_variables_entry", h("00 00")),
        ("state_gtids_without_encoding", h("03 00")),
        ("state_mysql_state_change", h("02 02 01 31")),
    ]:
        corpus.add("fuzz_session_state", "malformed-" + name, payload)

    def frames(*payloads):
        out = b""
        for seq, p in enumerate(payloads, 1):
            out += struct.pack("<I", len(p))[:3] + bytes([seq]) + p
        return out

    # The scanner's malformed table (tests/protocol/response_scanner_test.cpp): raw mode.
    column = h("03") + b"def" + h("0b") + b"sluice_test" + h("01 74 01 74 01 61 01 61 0c 2d 00 fc 03 00 00 fd 00 00 00 00 00")
    for name, shape, stream in [
        ("query_empty_first_packet", 0, frames(b"")),
        ("query_truncated_column_count", 0, frames(h("fc 02"))),
        ("query_ok_without_status", 0, frames(h("00 00 00"))),
        ("query_row_where_column_eof_belongs", 0, frames(h("01"), column, h("01 31"))),
        ("query_fe_row_where_column_eof_belongs", 0, frames(h("01"), column, h("fe") + bytes(8))),
        ("field_list_empty_packet", 1, frames(column, b"")),
        ("prepare_ok_too_short", 2, frames(h("00 01 00 00 00 00 00 01"))),
        ("prepare_column_where_param_eof_belongs", 2,
         frames(h("00 01 00 00 00 00 00 01 00 00 00 00"), column, column)),
        ("single_ok_affected_rows_null", 4, frames(h("00 fb 00 02 00 00 00"))),
    ]:
        corpus.add("fuzz_response_scanner", "malformed-" + name, bytes([shape, 0]) + stream)

    # Structured mode (mode | 0x10): records [control][payload]; control & 0x40 pads to 0xFFFFFF.
    def rec(payload, pad=False):
        return bytes([len(payload) | (0x40 if pad else 0)]) + payload
    head = rec(h("01")) + rec(column) + rec(h("fe 00 00 02 00"))
    eof = rec(h("fe 00 00 02 00"))
    for name, records in [
        ("row_of_0xffffff_bytes_then_empty_packet", head + rec(h("fd fb ff ff"), True) + rec(b"") + eof),
        ("row_continued_by_fake_eof", head + rec(h("fd fe ff ff"), True) + rec(h("fe 00 00 02 00")) + eof),
        ("binary_row_continued_by_fake_err", head + rec(h("00 00 fe"), True) + rec(h("ff 10 04")) + eof),
        ("row_of_two_full_packets", head + rec(h("fe"), True) + rec(b"", True) + rec(b"") + eof),
        ("field_list_column_of_16_mib", rec(h("03"), True) + rec(b"") + eof),
    ]:
        corpus.add("fuzz_response_scanner", "structured-" + name, bytes([0x10, 2, 0, 5]) + records)


def text_seeds(corpus, repo):
    """The SQL of the lexer and classifier tables, admin lines, and configuration files."""
    literal = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
    for test in ("sql_lexer_test.cpp", "statement_classifier_test.cpp"):
        with open(os.path.join(repo, "tests", "proxy", test), encoding="utf-8") as f:
            for i, m in enumerate(literal.finditer(f.read())):
                sql = m.group(1).encode().decode("unicode_escape").encode("latin-1", "replace")
                if len(sql) >= 8 and b" " in sql:
                    corpus.add("fuzz_sql", f"{test.split('_test')[0]}-{i:04d}", sql)
    for i, line in enumerate([
        "SHOW POOLS", "SHOW CLIENTS FORMAT JSON", "show stats json", "SHOW SERVERS; SHOW LIMITS",
        "SHOW CONFIG", "SHOW HEALTH", "SHOW VERSION", "HELP", "PAUSE", "RESUME", "RELOAD",
        "SHUTDOWN WAIT", "SET backend.max_connections = 20",
        "SET log.level = 'debug'; SHOW CONFIG FORMAT JSON", "SET queue.timeout=\"2s\"",
        "  ;;  show pools ; ", "SHOW CLIENTS 'a;b' \"c;d\"", "SET key", "FORMAT JSON",
    ]):
        corpus.add("fuzz_admin_command", f"line-{i:02d}", line.encode())
    with open(os.path.join(repo, "deploy", "sluice.ini"), "rb") as f:
        corpus.add("fuzz_config", "deploy-sluice-ini", f.read())
    required = b"[backend]\naddress = 10.0.0.5:3306\n[users]\napp = secret\n"
    for name, extra in [
        ("required", b""),
        ("pool", b"[sluice]\nlisten = 0.0.0.0:6033\npool_mode = session\nmax_allowed_packet = 64M\n"
                 b"[backend]\nmax_connections = 8\nmin_idle = 2\nidle_timeout = 250ms\n"),
        ("queue_limits", b"[queue]\ntimeout = 1.5\nmax_waiting = 100\n[limits]\n"
                         b"max_client_connections = 1000\nquery_timeout = 1h ; comment\n"),
        ("users_and_blocks", b"[user.App]\nmax_connections = 3\nshare = 50%\n"
                             b"[address_limits]\n10.0.0.0/8 = 5\n::1/128 = 2\n"),
        ("quoted", b'[backend]\nuser = "sluice # not a comment"\npassword = "p;w"\n'),
        ("bad_section", b"[nope]\nx = 1\n"),
        ("bad_value", b"[backend]\nmax_connections = many\n"),
        ("endpoints", b"[metrics]\nlisten =\n[admin]\nlisten = [::1]:6034\npassword = x\n"),
    ]:
        corpus.add("fuzz_config", name, required + extra)


def main():
    recorded, out = sys.argv[1], sys.argv[2]
    corpus = Corpus(out)
    for i, name in enumerate(sorted(os.listdir(recorded)), 1):
        split_connection(corpus, f"c{i:02d}", read_records(os.path.join(recorded, name)))
    hand_made(corpus)
    text_seeds(corpus, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
    for target, n in sorted(corpus.count.items()):
        print(f"{target}: {n} seeds")


if __name__ == "__main__":
    main()
