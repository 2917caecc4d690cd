#!/usr/bin/env python3
"""Finds temporaries built inside a co_await expression in sluice's C++ sources.

GCC 12 miscompiles some temporaries whose lifetime spans a suspension point (two crashes came
from `co_await f(x.empty() ? "a" : x)`; a banner built as `co_await write(bytes_of(a + b))` was
sent empty). The rule kept here: in a statement with `co_await`, no conditional operator, no
string built on the spot (`+` beside a string literal, std::string(...), std::to_string(...)),
and no braced temporary ({...}) in the awaited call's arguments. Name the value first.

Usage: co_await_temporaries.py ROOT [DIR...]; exits 1 and lists each place when it finds any.
"""
import pathlib
import re
import sys

FORBIDDEN = [
    (re.compile(r"\?"), "conditional operator"),
    (re.compile(r"std::string\s*[({]"), "std::string temporary"),
    (re.compile(r"to_string\s*\("), "std::to_string temporary"),
    (re.compile(r"\bSTRING\s*\+|\+\s*STRING\b"), "string concatenation"),
    (re.compile(r"[(,]\s*\{"), "braced temporary"),
]


def strip(text):
    """Blanks comments, and replaces string and char literals with STRING / CHAR."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith('R"', i):
            m = re.match(r'R"([^(]*)\(', text[i:])
            end = text.find(")" + m.group(1) + '"', i) if m else -1
            j = n if end < 0 else end + len(m.group(1)) + 2
            out.append(" STRING " + re.sub(r"[^\n]", " ", text[i:j])[8:])
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            j += 1
            literal = "STRING" if c == '"' else "CHAR"
            out.append(literal.ljust(j - i)[: max(j - i, len(literal))])
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def statement_from(code, start):
    """The text from `start` to the end of its statement (a ';' outside brackets)."""
    depth = 0
    for j in range(start, len(code)):
        ch = code[j]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                return code[start:j]
            depth -= 1
        elif ch == ";" and depth == 0:
            return code[start:j]
    return code[start:]


def findings(path):
    code = strip(path.read_text())
    for m in re.finditer(r"\bco_await\b", code):
        statement = statement_from(code, m.end())
        # A lambda body inside the statement is not part of the awaited expression.
        statement = re.sub(r"\[[^\]]*\]\s*\([^)]*\)[^{]*\{.*", "", statement, flags=re.S)
        for pattern, what in FORBIDDEN:
            if pattern.search(statement):
                line = code.count("\n", 0, m.start()) + 1
                yield line, what, " ".join(statement.split())[:100]
                break


def main():
    root = pathlib.Path(sys.argv[1])
    dirs = sys.argv[2:] or ["protocol", "pool", "sql", "session", "config", "metrics", "proxy",
                            "admin", "daemon", "tests", "bench"]
    found = 0
    for d in dirs:
        for path in sorted((root / d).rglob("*")):
            if path.suffix not in (".cpp", ".h") or "build" in path.parts:
                continue
            for line, what, text in findings(path):
                found += 1
                print(f"{path.relative_to(root)}:{line}: {what} inside co_await: {text}")
    if found:
        print(f"{found} temporaries inside co_await expressions: name them before the co_await")
        return 1
    print("no temporaries inside co_await expressions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
