"""Reply-byte oracle: kvserver must answer every request with the same reply shape as Debian's
redis-server (7.0.15), in RESP2 and in RESP3.

Each case is a list of setup commands plus a short script of requests. It runs once per
protocol, against both servers, on fresh connections after FLUSHALL:

* RESP2: the connection sends the script as is;
* RESP3: every connection the script opens first sends ``HELLO 3`` (that reply is compared
  too, with the HELLO masks).

Every reply is compared after masking (see oracle_support.py): values that must differ
between two servers (server name, version, ids, addresses, timestamps, counters, INFO and
CLIENT LIST texts, COMMAND DOCS texts...) are masked, their types and structure are not.
Errors compare by code and full text unless a case says otherwise (``errors="code"`` or
``errors=ErrPrefix("...")``, with the reason in ``why=``); no case needs that today: every
error text kvserver sends is meant to be redis-server's, byte for byte.

Each step also says what redis-server must answer (``ok``: not an error, ``err``: an error); a
case that no longer matches redis-server fails as a table bug, so the table cannot pass by
both servers rejecting a typo.

Servers (module-scoped, started here, nothing shared with conftest.py):
* the reference: /usr/bin/redis-server (ORACLE_REDIS_BIN, else REDIS_SERVER_BIN);
* the candidate: kvserver from KVSERVER_BIN (default .build/debug/kvserver), or a second
  redis-server when ORACLE_KV_TARGET=redis (else KV_TARGET=redis, as Tools/clients/run.sh
  uses): that validates the test logic, and everything must pass (the cases whose reference
  reply is pinned to a newer Redis are skipped then).
Ports come from ORACLE_PORT_RANGE (else KV_TEST_PORTS, else 16450-16499), picked free at start.

RANGE and DELRANGE (kvserver-only commands) are not covered here.

One case in one protocol:  pytest Tests/clients/test_reply_oracle.py -k 'resp3-set-nx-get-exists'
A failure lists every step with both servers' raw reply bytes, and for each differing step
the two normalized (masked) forms that were compared.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from oracle_support import (  # noqa: E402
    EXACT, TYPE, VALUE, Check, Derive, Each, ErrPrefix, IntRange, Pairs, Seq,
    Unordered, compare, executable_path, parse_reply, render, short_raw, start_kvserver, start_redis,
)

REPO = Path(__file__).resolve().parents[2]
# ORACLE_KV_TARGET wins; KV_TARGET (what Tools/clients/run.sh and conftest.py use) is the fallback.
KV_TARGET = (os.environ.get("ORACLE_KV_TARGET") or os.environ.get("KV_TARGET") or "kvserver").strip().lower()
REDIS_BIN = os.environ.get("ORACLE_REDIS_BIN") or os.environ.get("REDIS_SERVER_BIN") or "/usr/bin/redis-server"

# --------------------------------------------------------------------------------------------
# The table's vocabulary
# --------------------------------------------------------------------------------------------


class Step:
    """One request on connection ``conn``.

    expect: what redis-server must answer: "ok" (not an error), "err" (an error reply), or
            None (not checked).
    rule:   the masking rule for this reply (None = EXACT).
    errors: override of the case's error comparison ("full", "code", ErrPrefix(...)).
    pinned: the reference reply's bytes, used instead of redis-server's, for a request that
            redis-server 7.0.15 does not know but kvserver must answer as a newer Redis does.
    """

    closed = False

    def __init__(self, args, expect, rule=None, conn="a", errors=None, pinned=None):
        self.args = [a if isinstance(a, bytes) else str(a) for a in args]
        self.expect = expect
        self.rule = rule
        self.conn = conn
        self.errors = errors
        self.pinned = pinned

    def title(self):
        parts = []
        for a in self.args:
            s = a.decode("latin-1") if isinstance(a, bytes) else a
            s = repr(s) if (not s or any(ch in s for ch in " \r\n\"'") or not s.isprintable()) else s
            parts.append(s if len(s) <= 60 else s[:60] + "...")
        return " ".join(parts)


class Closed(Step):
    """Reads from ``conn`` and expects the server to have closed it (after QUIT)."""

    closed = True

    def __init__(self, conn="a"):
        super().__init__([], None, conn=conn)

    def title(self):
        return "(connection closed?)"


def ok(*args, **kw):
    return Step(list(args), "ok", **kw)


def err(*args, **kw):
    return Step(list(args), "err", **kw)


class Case:
    def __init__(self, id, steps, setup=(), errors="full", why=None, bgsave=False):
        self.id = id
        self.steps = steps
        self.setup = [list(s) for s in setup]
        self.errors = errors
        self.why = why          # why a mask / error mode / pinned reply is needed
        self.bgsave = bgsave    # redis-server forks: wait for the child before the next case

    @property
    def pinned(self):
        return any(s.pinned is not None for s in self.steps)


CASES: list[Case] = []


def case(id, *steps, setup=(), errors="full", why=None, bgsave=False):
    CASES.append(Case(id, list(steps), setup=setup, errors=errors, why=why, bgsave=bgsave))


# Masks -----------------------------------------------------------------------------------------

# HELLO's reply: server name, version and client id differ; proto, mode, role, modules do not.
HELLO = Pairs({"server": VALUE, "version": VALUE, "id": VALUE})

DIGITS = Check(lambda r: r.t == "$" and r.v.isdigit(), "decimal digits")
TIMESTAMP = IntRange(1_600_000_000, 10_000_000_000)
POSITIVE = IntRange(1, 2**63 - 1)


def _info_lines(r):
    text = r.text
    if not text.endswith("\r\n"):
        raise ValueError("INFO text does not end with CRLF")
    return text.split("\r\n")[:-1]


def _info_headers(r):
    return tuple(line for line in _info_lines(r) if line.startswith("#"))


def _info_headers_and_fields(r):
    return (_info_headers(r),
            tuple(sorted(line.split(":", 1)[0] for line in _info_lines(r) if line and not line.startswith("#"))))


def _client_fields(r, keys=("name", "db", "user", "resp")):
    """CLIENT INFO: one line ending in \\n, starting with id=; the named fields' values."""
    text = r.text
    if not text.endswith("\n"):
        raise ValueError("does not end with \\n")
    lines = text[:-1].split("\n")
    fields = dict(f.split("=", 1) for f in lines[0].split(" "))
    return (len(lines), next(iter(fields)), tuple((k, fields.get(k)) for k in keys))


def _client_list(r):
    text = r.text
    if not text.endswith("\n"):
        raise ValueError("does not end with \\n")
    return all(line.startswith("id=") for line in text[:-1].split("\n"))


INFO_HEADERS = Derive(_info_headers, "INFO section headers")
INFO_HEADERS_FIELDS = Derive(_info_headers_and_fields, "INFO section headers and field names")
CLIENT_INFO = Derive(_client_fields, "one line; first field; name/db/user/resp values")
CLIENT_LIST = Derive(_client_list, "lines all start with id=, end with \\n")

# COMMAND INFO <cmd>: name, arity, flags, first/last/step exactly; ACL categories: a set or
# array of status replies (contents masked: kvserver derives fewer categories); tips, key
# specifications and subcommands: type only.
COMMAND_INFO_ENTRY = Seq(EXACT, EXACT, EXACT, EXACT, EXACT, EXACT, Each(VALUE), TYPE, TYPE, TYPE)

# COMMAND DOCS <cmd>: the same keys; summary/since/complexity texts masked, group exact,
# arguments: type only.
DOCS_ENTRY = Pairs({"summary": VALUE, "since": VALUE, "complexity": VALUE, "arguments": TYPE})

FAR = 4102444800            # 2100-01-01T00:00:00Z, seconds
FAR_MS = FAR * 1000 + 123   # and in milliseconds

# --------------------------------------------------------------------------------------------
# The cases
# --------------------------------------------------------------------------------------------

# GET ------------------------------------------------------------------------------------------
case("get-hit", ok("GET", "k"), setup=[("SET", "k", "v")])
case("get-miss", ok("GET", "k"))
case("get-binary", ok("GET", "k"), setup=[("SET", "k", b"\x00\xff\r\n x")])
case("get-empty-string", ok("GET", "k"), setup=[("SET", "k", "")])
case("get-arity", err("GET"), err("GET", "a", "b"))
case("command-lowercase", ok("set", "k", "v"), ok("get", "k"), ok("GeT", "k"))

# SET ------------------------------------------------------------------------------------------
case("set-plain", ok("SET", "k", "v"), ok("GET", "k"))
case("set-overwrite-clears-ttl", ok("SET", "k", "v2"), ok("TTL", "k"), setup=[("SET", "k", "v", "EX", "100")])
case("set-nx-missing", ok("SET", "k", "v", "NX"), ok("GET", "k"))
case("set-nx-exists", ok("SET", "k", "v", "NX"), ok("GET", "k"), setup=[("SET", "k", "old")])
case("set-xx-missing", ok("SET", "k", "v", "XX"), ok("EXISTS", "k"))
case("set-xx-exists", ok("SET", "k", "v", "XX"), ok("GET", "k"), setup=[("SET", "k", "old")])
case("set-get-exists", ok("SET", "k", "v", "GET"), ok("GET", "k"), setup=[("SET", "k", "old")])
case("set-get-missing", ok("SET", "k", "v", "GET"), ok("GET", "k"))
case("set-nx-get-exists", ok("SET", "k", "v", "NX", "GET"), ok("GET", "k"), setup=[("SET", "k", "old")])
case("set-nx-get-missing", ok("SET", "k", "v", "NX", "GET"), ok("GET", "k"))
case("set-xx-get-exists", ok("SET", "k", "v", "XX", "GET"), ok("GET", "k"), setup=[("SET", "k", "old")])
case("set-xx-get-missing", ok("SET", "k", "v", "XX", "GET"), ok("EXISTS", "k"))
case("set-ex", ok("SET", "k", "v", "EX", "100"), ok("TTL", "k"), ok("GET", "k"))
case("set-px", ok("SET", "k", "v", "PX", "100000"), ok("PTTL", "k", rule=IntRange(98000, 100000)))
case("set-exat", ok("SET", "k", "v", "EXAT", FAR), ok("EXPIRETIME", "k"))
case("set-pxat", ok("SET", "k", "v", "PXAT", FAR_MS), ok("PEXPIRETIME", "k"))
case("set-exat-past", ok("SET", "k", "v", "EXAT", "1"), ok("GET", "k"), ok("EXISTS", "k"))
case("set-pxat-past", ok("SET", "k", "v", "PXAT", "1"), ok("GET", "k"), setup=[("SET", "k", "old")])
case("set-keepttl", ok("SET", "k", "v2", "KEEPTTL"), ok("TTL", "k"), ok("GET", "k"),
     setup=[("SET", "k", "v", "EX", "100")])
case("set-get-ex", ok("SET", "k", "v", "GET", "EX", "100"), ok("TTL", "k"), setup=[("SET", "k", "old")])
case("set-nx-px-lowercase", ok("set", "k", "v", "nx", "px", "100000"), ok("PTTL", "k", rule=IntRange(98000, 100000)))
case("set-xx-keepttl-get", ok("SET", "k", "v", "XX", "KEEPTTL", "GET"), ok("TTL", "k"), ok("GET", "k"),
     setup=[("SET", "k", "old", "EX", "100")])
case("set-nx-keepttl", ok("SET", "k", "v", "NX", "KEEPTTL"), ok("TTL", "k"))
case("set-get-pxat", ok("SET", "k", "v", "GET", "PXAT", FAR_MS), ok("PEXPIRETIME", "k"), setup=[("SET", "k", "old")])
case("set-px-negative", err("SET", "k", "v", "PX", "-1"), err("SET", "k", "v", "EXAT", "-1"))
case("set-ex-repeated", ok("SET", "k", "v", "EX", "10", "EX", "100"), ok("TTL", "k"),
     why="redis 7.0 accepts a repeated EX (the last one wins)")
case("set-syntax-nx-xx", err("SET", "k", "v", "NX", "XX"), ok("EXISTS", "k"))
case("set-syntax-ex-px", err("SET", "k", "v", "EX", "10", "PX", "100"))
case("set-syntax-keepttl-ex", err("SET", "k", "v", "KEEPTTL", "EX", "10"))
case("set-syntax-ex-exat", err("SET", "k", "v", "EX", "10", "EXAT", FAR))
case("set-syntax-ex-missing-arg", err("SET", "k", "v", "EX"))
case("set-syntax-unknown-option", err("SET", "k", "v", "FOO"))
case("set-ex-zero", err("SET", "k", "v", "EX", "0"), ok("EXISTS", "k"))
case("set-ex-negative", err("SET", "k", "v", "EX", "-5"))
case("set-px-zero", err("SET", "k", "v", "PX", "0"))
case("set-pxat-zero", err("SET", "k", "v", "PXAT", "0"))
case("set-ex-not-integer", err("SET", "k", "v", "EX", "abc"))
case("set-ex-overflow", err("SET", "k", "v", "EX", "9223372036854775807"))
case("set-arity", err("SET", "k"))

# SETNX SETEX PSETEX GETSET GETDEL GETEX -------------------------------------------------------
case("setnx-missing", ok("SETNX", "k", "v"), ok("GET", "k"))
case("setnx-exists", ok("SETNX", "k", "v"), ok("GET", "k"), setup=[("SET", "k", "old")])
case("setnx-arity", err("SETNX", "k"))
case("setex", ok("SETEX", "k", "100", "v"), ok("TTL", "k"), ok("GET", "k"))
case("setex-zero", err("SETEX", "k", "0", "v"))
case("setex-not-integer", err("SETEX", "k", "x", "v"))
case("setex-arity", err("SETEX", "k", "100"))
case("psetex", ok("PSETEX", "k", "100000", "v"), ok("PTTL", "k", rule=IntRange(98000, 100000)))
case("psetex-negative", err("PSETEX", "k", "-5", "v"))
case("getset-missing", ok("GETSET", "k", "v"), ok("GET", "k"))
case("getset-exists-clears-ttl", ok("GETSET", "k", "v"), ok("TTL", "k"), setup=[("SET", "k", "old", "EX", "100")])
case("getdel-hit", ok("GETDEL", "k"), ok("EXISTS", "k"), setup=[("SET", "k", "v")])
case("getdel-miss", ok("GETDEL", "k"))
case("getex-plain", ok("GETEX", "k"), ok("TTL", "k"), setup=[("SET", "k", "v", "EX", "100")])
case("getex-miss", ok("GETEX", "k"), ok("GETEX", "k", "EX", "100"))
case("getex-ex", ok("GETEX", "k", "EX", "100"), ok("TTL", "k"), setup=[("SET", "k", "v")])
case("getex-px", ok("GETEX", "k", "PX", "100000"), ok("PTTL", "k", rule=IntRange(98000, 100000)), setup=[("SET", "k", "v")])
case("getex-exat", ok("GETEX", "k", "EXAT", FAR), ok("EXPIRETIME", "k"), setup=[("SET", "k", "v")])
case("getex-pxat", ok("GETEX", "k", "PXAT", FAR_MS), ok("PEXPIRETIME", "k"), setup=[("SET", "k", "v")])
case("getex-persist", ok("GETEX", "k", "PERSIST"), ok("TTL", "k"), setup=[("SET", "k", "v", "EX", "100")])
case("getex-ex-zero", err("GETEX", "k", "EX", "0"), setup=[("SET", "k", "v")])
case("getex-syntax", err("GETEX", "k", "FOO"), err("GETEX", "k", "EX", "10", "PX", "10"),
     err("GETEX", "k", "PERSIST", "EX", "10"), err("GETEX", "k", "EX"), setup=[("SET", "k", "v")])

# MGET MSET MSETNX -----------------------------------------------------------------------------
case("mget", ok("MGET", "a", "missing", "b", "a"), setup=[("SET", "a", "1"), ("SET", "b", "2")])
case("mget-all-missing", ok("MGET", "x", "y"))
case("mget-arity", err("MGET"))
case("mset", ok("MSET", "a", "1", "b", "2"), ok("MGET", "a", "b"))
case("mset-odd", err("MSET", "a", "1", "b"), err("MSET", "a"), ok("EXISTS", "a"))
case("msetnx-all-new", ok("MSETNX", "a", "1", "b", "2"), ok("MGET", "a", "b"))
case("msetnx-one-exists", ok("MSETNX", "a", "1", "b", "2"), ok("MGET", "a", "b"), setup=[("SET", "b", "old")])
case("msetnx-odd", err("MSETNX", "a", "1", "b"))

# INCR DECR INCRBY DECRBY INCRBYFLOAT ----------------------------------------------------------
case("incr-new", ok("INCR", "k"), ok("INCR", "k"), ok("GET", "k"))
case("incr-existing", ok("INCR", "k"), setup=[("SET", "k", "10")])
case("incr-negative", ok("INCR", "k"), setup=[("SET", "k", "-5")])
case("incr-not-integer", err("INCR", "k"), setup=[("SET", "k", "abc")])
case("incr-not-integer-float", err("INCR", "k"), setup=[("SET", "k", "1.5")])
case("incr-not-integer-spaces", err("INCR", "k"), setup=[("SET", "k", " 1")])
case("incr-overflow", err("INCR", "k"), ok("GET", "k"), setup=[("SET", "k", "9223372036854775807")])
case("decr", ok("DECR", "k"), ok("DECR", "k"), setup=[("SET", "k", "1")])
case("decr-overflow", err("DECR", "k"), setup=[("SET", "k", "-9223372036854775808")])
case("incrby", ok("INCRBY", "k", "5"), ok("INCRBY", "k", "-7"))
case("incrby-not-integer-arg", err("INCRBY", "k", "x"), err("INCRBY", "k", "1.0"))
case("incrby-overflow", err("INCRBY", "k", "2"), setup=[("SET", "k", "9223372036854775806")])
case("decrby", ok("DECRBY", "k", "5"), setup=[("SET", "k", "3")])
case("decrby-min", err("DECRBY", "k", "-9223372036854775808"))
case("decrby-overflow", err("DECRBY", "k", "2"), setup=[("SET", "k", "-9223372036854775807")])
case("incr-arity", err("INCR"), err("INCRBY", "k"), err("DECRBY", "k", "1", "2"))
case("incrbyfloat-new", ok("INCRBYFLOAT", "k", "10.5"), ok("GET", "k"))
case("incrbyfloat-existing", ok("INCRBYFLOAT", "k", "0.1"), setup=[("SET", "k", "10.50")])
case("incrbyfloat-integer-result", ok("INCRBYFLOAT", "k", "1"), ok("INCRBYFLOAT", "k", "5.0e3"), setup=[("SET", "k", "3")])
case("incrbyfloat-exponent", ok("INCRBYFLOAT", "k", "1.5e20"), ok("INCRBYFLOAT", "k", "-1.5e20"))
case("incrbyfloat-negative", ok("INCRBYFLOAT", "k", "-0.25"), setup=[("SET", "k", "1")])
case("incrbyfloat-not-float-arg", err("INCRBYFLOAT", "k", "abc"))
case("incrbyfloat-not-float-value", err("INCRBYFLOAT", "k", "1"), setup=[("SET", "k", "abc")])
case("incrbyfloat-precision", ok("INCRBYFLOAT", "k", "0.1"), ok("INCRBYFLOAT", "k", "0.2"), ok("GET", "k"),
     why="redis computes in long double and prints %.17Lg: 0.1 + 0.2 is 0.3")
case("incrbyfloat-beyond-double", ok("INCRBYFLOAT", "k", "1e308"), ok("INCRBYFLOAT", "k", "1e308"),
     why="long double: 2e308 is finite in redis")
case("incrbyfloat-infinity", err("INCRBYFLOAT", "k", "1e4932"), setup=[("SET", "k", "1e4932")])
case("incrbyfloat-nan-arg", err("INCRBYFLOAT", "k", "nan"), err("INCRBYFLOAT", "k", "inf"))

# APPEND STRLEN GETRANGE SETRANGE --------------------------------------------------------------
case("append-new", ok("APPEND", "k", "Hello"), ok("GET", "k"))
case("append-existing", ok("APPEND", "k", " World"), ok("GET", "k"), setup=[("SET", "k", "Hello")])
case("append-empty", ok("APPEND", "k", ""), ok("EXISTS", "k"))
case("strlen", ok("STRLEN", "k"), ok("STRLEN", "missing"), setup=[("SET", "k", "Hello World")])
case("getrange", ok("GETRANGE", "k", "0", "4"), ok("GETRANGE", "k", "-5", "-1"), ok("GETRANGE", "k", "5", "2"),
     ok("GETRANGE", "k", "0", "100"), ok("GETRANGE", "k", "-100", "-50"), ok("GETRANGE", "k", "-100", "2"),
     setup=[("SET", "k", "Hello World")])
case("getrange-missing", ok("GETRANGE", "k", "0", "-1"))
case("getrange-not-integer", err("GETRANGE", "k", "x", "1"), setup=[("SET", "k", "v")])
case("setrange-existing", ok("SETRANGE", "k", "6", "Redis"), ok("GET", "k"), setup=[("SET", "k", "Hello World")])
case("setrange-pad", ok("SETRANGE", "k", "5", "ab"), ok("GET", "k"))
case("setrange-empty-missing", ok("SETRANGE", "k", "3", ""), ok("EXISTS", "k"))
case("setrange-empty-existing", ok("SETRANGE", "k", "100", ""), ok("GET", "k"), setup=[("SET", "k", "abc")])
case("setrange-negative", err("SETRANGE", "k", "-1", "x"))
case("setrange-too-big", err("SETRANGE", "k", "536870912", "x"))

# SETBIT GETBIT BITCOUNT BITPOS BITOP ----------------------------------------------------------
case("setbit", ok("SETBIT", "k", "7", "1"), ok("SETBIT", "k", "7", "1"), ok("SETBIT", "k", "7", "0"),
     ok("SETBIT", "k", "15", "1"), ok("GET", "k"))
case("setbit-existing", ok("SETBIT", "k", "6", "0"), ok("GET", "k"), setup=[("SET", "k", "a")])
case("setbit-bad-bit", err("SETBIT", "k", "7", "2"), err("SETBIT", "k", "7", "x"))
case("setbit-bad-offset", err("SETBIT", "k", "-1", "1"), err("SETBIT", "k", "4294967296", "1"))
case("getbit", ok("GETBIT", "k", "0"), ok("GETBIT", "k", "1"), ok("GETBIT", "k", "7"), ok("GETBIT", "k", "100"),
     ok("GETBIT", "missing", "3"), setup=[("SET", "k", "a")])
case("getbit-bad-offset", err("GETBIT", "k", "-1"), err("GETBIT", "k", "x"))
case("bitcount", ok("BITCOUNT", "k"), ok("BITCOUNT", "k", "0", "0"), ok("BITCOUNT", "k", "1", "1"),
     ok("BITCOUNT", "k", "-2", "-1"), ok("BITCOUNT", "k", "2", "1"), setup=[("SET", "k", "foobar")])
case("bitcount-byte-bit", ok("BITCOUNT", "k", "1", "1", "BYTE"), ok("BITCOUNT", "k", "5", "30", "BIT"),
     ok("BITCOUNT", "k", "-10", "-1", "bit"), setup=[("SET", "k", "foobar")])
case("bitcount-missing", ok("BITCOUNT", "k"), ok("BITCOUNT", "k", "0", "-1"))
case("bitcount-errors", err("BITCOUNT", "k", "0"), err("BITCOUNT", "k", "0", "1", "FOO"),
     err("BITCOUNT", "k", "a", "b"), setup=[("SET", "k", "foobar")])
case("bitpos", ok("BITPOS", "k", "0"), ok("BITPOS", "k", "1"), ok("BITPOS", "k", "1", "2"),
     ok("BITPOS", "k", "0", "1"), ok("BITPOS", "k", "0", "2", "-1"), ok("BITPOS", "k", "1", "7", "15", "BIT"),
     ok("BITPOS", "k", "0", "0", "-1", "BYTE"), setup=[("SET", "k", b"\xff\xf0\x00")])
case("bitpos-all-ones", ok("BITPOS", "k", "0"), ok("BITPOS", "k", "0", "0"), ok("BITPOS", "k", "0", "0", "-1"),
     setup=[("SET", "k", b"\xff\xff\xff")])
case("bitpos-missing", ok("BITPOS", "k", "0"), ok("BITPOS", "k", "1"))
case("bitpos-errors", err("BITPOS", "k", "2"), err("BITPOS", "k", "1", "0", "-1", "FOO"),
     err("BITPOS", "k", "1", "x"), setup=[("SET", "k", "a")])
case("bitop-and-or-xor", ok("BITOP", "AND", "d", "a", "b"), ok("GET", "d"), ok("BITOP", "OR", "d", "a", "b"),
     ok("GET", "d"), ok("BITOP", "XOR", "d", "a", "b"), ok("GET", "d"),
     setup=[("SET", "a", "foobar"), ("SET", "b", "abcdef")])
case("bitop-different-lengths", ok("BITOP", "AND", "d", "a", "b"), ok("GET", "d"), ok("BITOP", "or", "d", "a", "b"),
     ok("GET", "d"), setup=[("SET", "a", "foo"), ("SET", "b", "foobar")])
case("bitop-not", ok("BITOP", "NOT", "d", "a"), ok("GET", "d"), setup=[("SET", "a", b"\x0f\xf0")])
case("bitop-missing-sources", ok("BITOP", "AND", "d", "x", "y"), ok("EXISTS", "d"), setup=[("SET", "d", "old")])
case("bitop-errors", err("BITOP", "NOT", "d", "a", "b"), err("BITOP", "FOO", "d", "a"), err("BITOP", "AND", "d"),
     setup=[("SET", "a", "x"), ("SET", "b", "y")])

# LCS ------------------------------------------------------------------------------------------
LCS_SETUP = [("SET", "k1", "ohmytext"), ("SET", "k2", "mynewtext")]
case("lcs", ok("LCS", "k1", "k2"), setup=LCS_SETUP)
case("lcs-len", ok("LCS", "k1", "k2", "LEN"), setup=LCS_SETUP)
case("lcs-idx", ok("LCS", "k1", "k2", "IDX"), setup=LCS_SETUP)
case("lcs-idx-minmatchlen", ok("LCS", "k1", "k2", "IDX", "MINMATCHLEN", "4"), setup=LCS_SETUP)
case("lcs-idx-withmatchlen", ok("LCS", "k1", "k2", "IDX", "WITHMATCHLEN"), setup=LCS_SETUP)
case("lcs-idx-minmatchlen-withmatchlen", ok("LCS", "k1", "k2", "IDX", "MINMATCHLEN", "2", "WITHMATCHLEN"), setup=LCS_SETUP)
case("lcs-missing", ok("LCS", "x", "y"), ok("LCS", "x", "y", "LEN"), ok("LCS", "x", "y", "IDX"))
case("lcs-errors", err("LCS", "k1", "k2", "LEN", "IDX"), err("LCS", "k1", "k2", "FOO"),
     err("LCS", "k1", "k2", "MINMATCHLEN", "x"), err("LCS", "k1"), setup=LCS_SETUP)

# COPY DEL UNLINK EXISTS TYPE RENAME RENAMENX -------------------------------------------------
case("copy", ok("COPY", "s", "d"), ok("GET", "d"), ok("TTL", "d"), setup=[("SET", "s", "v", "EX", "100")])
case("copy-dest-exists", ok("COPY", "s", "d"), ok("GET", "d"), setup=[("SET", "s", "v"), ("SET", "d", "old")])
case("copy-replace", ok("COPY", "s", "d", "REPLACE"), ok("GET", "d"), setup=[("SET", "s", "v"), ("SET", "d", "old")])
case("copy-missing-source", ok("COPY", "x", "d"), ok("EXISTS", "d"))
case("copy-db0", ok("COPY", "s", "d", "DB", "0"), ok("GET", "d"), setup=[("SET", "s", "v")])
case("copy-errors", err("COPY", "s", "s"), err("COPY", "s", "d", "DB", "16"), err("COPY", "s", "d", "DB", "x"),
     err("COPY", "s", "d", "FOO"), setup=[("SET", "s", "v")])
case("del", ok("DEL", "a", "b", "missing", "a"), ok("EXISTS", "a", "b"), setup=[("SET", "a", "1"), ("SET", "b", "2")])
case("del-missing", ok("DEL", "x"))
case("unlink", ok("UNLINK", "a", "b", "missing"), ok("EXISTS", "a"), setup=[("SET", "a", "1"), ("SET", "b", "2")])
case("exists", ok("EXISTS", "a"), ok("EXISTS", "a", "a", "missing", "b"), ok("EXISTS", "missing"),
     setup=[("SET", "a", "1"), ("SET", "b", "2")])
case("type", ok("TYPE", "k"), ok("TYPE", "missing"), setup=[("SET", "k", "v")])
case("rename", ok("RENAME", "a", "b"), ok("GET", "b"), ok("EXISTS", "a"), ok("TTL", "b"),
     setup=[("SET", "a", "v", "EX", "100"), ("SET", "b", "old")])
case("rename-same", ok("RENAME", "a", "a"), ok("GET", "a"), setup=[("SET", "a", "v")])
case("rename-missing", err("RENAME", "x", "y"))
case("renamenx", ok("RENAMENX", "a", "b"), ok("GET", "b"), setup=[("SET", "a", "v")])
case("renamenx-dest-exists", ok("RENAMENX", "a", "b"), ok("GET", "b"), setup=[("SET", "a", "v"), ("SET", "b", "old")])
case("renamenx-missing", err("RENAMENX", "x", "y"))

# TTL PTTL EXPIRE* EXPIRETIME PERSIST ----------------------------------------------------------
case("ttl", ok("TTL", "k"), ok("TTL", "missing"), ok("PTTL", "k"), ok("PTTL", "missing"), setup=[("SET", "k", "v")])
case("expire", ok("EXPIRE", "k", "100"), ok("TTL", "k"), ok("EXPIRE", "missing", "100"), setup=[("SET", "k", "v")])
case("expire-negative-deletes", ok("EXPIRE", "k", "-1"), ok("EXISTS", "k"), setup=[("SET", "k", "v")])
case("expire-nx", ok("EXPIRE", "k", "100", "NX"), ok("EXPIRE", "k", "200", "NX"), ok("TTL", "k"), setup=[("SET", "k", "v")])
case("expire-xx", ok("EXPIRE", "k", "100", "XX"), ok("TTL", "k"), ok("EXPIRE", "t", "200", "XX"), ok("TTL", "t"),
     setup=[("SET", "k", "v"), ("SET", "t", "v", "EX", "100")])
case("expire-gt", ok("EXPIRE", "k", "100", "GT"), ok("EXPIRE", "t", "50", "GT"), ok("EXPIRE", "t", "200", "GT"),
     ok("TTL", "t"), setup=[("SET", "k", "v"), ("SET", "t", "v", "EX", "100")])
case("expire-lt", ok("EXPIRE", "k", "100", "LT"), ok("TTL", "k"), ok("EXPIRE", "t", "200", "LT"),
     ok("EXPIRE", "t", "50", "LT"), ok("TTL", "t"), setup=[("SET", "k", "v"), ("SET", "t", "v", "EX", "100")])
case("expire-nx-gt-lowercase", ok("expire", "t", "300", "gt"), ok("TTL", "t"), setup=[("SET", "t", "v", "EX", "100")])
case("expire-errors", err("EXPIRE", "k", "100", "NX", "XX"), err("EXPIRE", "k", "100", "GT", "LT"),
     err("EXPIRE", "k", "100", "NX", "GT"), err("EXPIRE", "k", "100", "FOO"), err("EXPIRE", "k", "abc"),
     err("EXPIRE", "k"), setup=[("SET", "k", "v")])
case("expire-overflow", err("EXPIRE", "k", "9223372036854775807"), err("PEXPIRE", "k", "9223372036854775807"),
     setup=[("SET", "k", "v")])
case("pexpire", ok("PEXPIRE", "k", "100000"), ok("PTTL", "k", rule=IntRange(98000, 100000)), ok("TTL", "k"),
     ok("PEXPIRE", "k", "50000", "GT"), ok("PEXPIRE", "k", "50000", "LT"), ok("PTTL", "k", rule=IntRange(48000, 50000)),
     setup=[("SET", "k", "v")])
case("expireat", ok("EXPIREAT", "k", FAR), ok("EXPIRETIME", "k"), ok("PEXPIRETIME", "k"),
     ok("EXPIREAT", "k", FAR + 10, "XX"), ok("EXPIRETIME", "k"), ok("EXPIREAT", "missing", FAR),
     setup=[("SET", "k", "v")])
case("expireat-past-deletes", ok("EXPIREAT", "k", "1"), ok("EXISTS", "k"), setup=[("SET", "k", "v")])
case("pexpireat", ok("PEXPIREAT", "k", FAR_MS), ok("PEXPIRETIME", "k"), ok("EXPIRETIME", "k"),
     ok("PEXPIREAT", "k", FAR_MS - 1000, "GT"), ok("PEXPIREAT", "k", FAR_MS - 1000, "LT"), ok("PEXPIRETIME", "k"),
     setup=[("SET", "k", "v")])
case("expiretime", ok("EXPIRETIME", "k"), ok("EXPIRETIME", "missing"), ok("PEXPIRETIME", "k"),
     ok("PEXPIRETIME", "missing"), setup=[("SET", "k", "v")])
case("persist", ok("PERSIST", "t"), ok("TTL", "t"), ok("PERSIST", "k"), ok("PERSIST", "missing"),
     setup=[("SET", "k", "v"), ("SET", "t", "v", "EX", "100")])

# SCAN KEYS RANDOMKEY DBSIZE FLUSHDB FLUSHALL --------------------------------------------------
KEYS5 = [("SET", "k1", "1"), ("SET", "k2", "2"), ("SET", "k3", "3"), ("SET", "other", "4"), ("SET", "k10", "5")]
SCAN_ONE_CALL = Seq(EXACT, Unordered())
case("scan-all", ok("SCAN", "0", "COUNT", "1000", rule=SCAN_ONE_CALL), setup=KEYS5,
     why="SCAN's key order is unspecified: the key list compares as a multiset")
case("scan-match", ok("SCAN", "0", "MATCH", "k?", "COUNT", "1000", rule=SCAN_ONE_CALL), setup=KEYS5)
case("scan-type-string", ok("SCAN", "0", "COUNT", "1000", "TYPE", "string", rule=SCAN_ONE_CALL), setup=KEYS5)
case("scan-type-other", ok("SCAN", "0", "COUNT", "1000", "TYPE", "hash", rule=SCAN_ONE_CALL), setup=KEYS5)
case("scan-empty-db", ok("SCAN", "0"))
case("scan-errors", err("SCAN", "abc"), err("SCAN", "0", "COUNT", "0"), err("SCAN", "0", "COUNT", "x"),
     err("SCAN", "0", "FOO"), err("SCAN", "0", "MATCH"), err("SCAN"), setup=KEYS5)
case("keys", ok("KEYS", "*", rule=Unordered()), ok("KEYS", "k?", rule=Unordered()), ok("KEYS", "nomatch*"),
     ok("KEYS", "k[12]", rule=Unordered()), setup=KEYS5, why="KEYS order is unspecified: compared as a multiset")
case("keys-empty-db", ok("KEYS", "*"))
case("randomkey-empty", ok("RANDOMKEY"))
case("randomkey-one", ok("RANDOMKEY"), setup=[("SET", "only", "v")])
case("dbsize", ok("DBSIZE"), ok("SET", "x", "y"), ok("DBSIZE"), setup=KEYS5)
case("dbsize-empty", ok("DBSIZE"))
case("flushdb", ok("FLUSHDB"), ok("DBSIZE"), ok("FLUSHDB", "ASYNC"), ok("FLUSHDB", "SYNC"), err("FLUSHDB", "FOO"),
     setup=KEYS5)
case("flushall", ok("FLUSHALL"), ok("DBSIZE"), ok("FLUSHALL", "SYNC"), ok("FLUSHALL", "ASYNC"), err("FLUSHALL", "FOO"),
     setup=KEYS5)

# PING ECHO AUTH HELLO SELECT ------------------------------------------------------------------
case("ping", ok("PING"), ok("PING", "hello"), ok("ping", ""), err("PING", "a", "b"))
case("echo", ok("ECHO", "hello world"), ok("ECHO", ""), err("ECHO"), err("ECHO", "a", "b"))
case("auth-no-password", err("AUTH", "foo"))
case("auth-default-user-nopass", ok("AUTH", "default", "anything"),
     why="redis: the default user is 'nopass', so AUTH default <any> succeeds when no password is set")
case("auth-syntax", err("AUTH", "a", "b", "c"))
case("hello-noarg", ok("HELLO", rule=HELLO), ok("GET", "missing"))
case("hello-2", ok("HELLO", "2", rule=HELLO), ok("GET", "missing"), ok("HELLO", rule=HELLO))
case("hello-3", ok("HELLO", "3", rule=HELLO), ok("GET", "missing"), ok("HELLO", rule=HELLO))
case("hello-3-setname", ok("HELLO", "3", "SETNAME", "myname", rule=HELLO), ok("CLIENT", "GETNAME"))
case("hello-3-auth-nopass", ok("HELLO", "3", "AUTH", "default", "anything", rule=HELLO),
     why="as AUTH default <any>: the default user is 'nopass' in redis")
case("hello-4", err("HELLO", "4"), ok("GET", "missing"))
case("hello-bad-version", err("HELLO", "x"), err("HELLO", "1"), err("HELLO", "-1"))
case("hello-syntax", err("HELLO", "3", "FOO"), err("HELLO", "3", "SETNAME"), ok("GET", "missing"))
case("select", ok("SELECT", "0"), ok("GET", "k"), setup=[("SET", "k", "v")])
case("select-1", err("SELECT", "1"), ok("GET", "k"), ok("DBSIZE"), ok("SELECT", "0"), ok("GET", "k"),
     setup=[("SET", "k", "v")])
case("select-errors", err("SELECT", "x"), err("SELECT", "16"), err("SELECT", "-1"), err("SELECT"))

# CLIENT ---------------------------------------------------------------------------------------
case("client-id", ok("CLIENT", "ID", rule=POSITIVE))
case("client-name", ok("CLIENT", "GETNAME"), ok("CLIENT", "SETNAME", "myname"), ok("CLIENT", "GETNAME"),
     ok("CLIENT", "SETNAME", ""), ok("CLIENT", "GETNAME"))
case("client-setname-invalid", err("CLIENT", "SETNAME", "a b"), err("CLIENT", "SETNAME", "a\nb"), err("CLIENT", "SETNAME"))
case("client-info", ok("CLIENT", "SETNAME", "me"), ok("CLIENT", "INFO", rule=CLIENT_INFO),
     why="CLIENT INFO text: addresses, ages, memory differ; the line shape and name/db/user/resp must not")
case("client-list", ok("CLIENT", "LIST", rule=CLIENT_LIST), ok("CLIENT", "LIST", "TYPE", "normal", rule=CLIENT_LIST),
     why="CLIENT LIST text is masked (other connections, addresses)")
case("client-setinfo", ok("CLIENT", "SETINFO", "LIB-NAME", "oracle", pinned=b"+OK\r\n"),
     ok("CLIENT", "SETINFO", "LIB-VER", "1.0", pinned=b"+OK\r\n"),
     why="CLIENT SETINFO is Redis 7.2; Debian's 7.0.15 answers 'unknown subcommand', so the reference "
         "reply is pinned to 7.2's +OK (the case is skipped with ORACLE_KV_TARGET=redis)")
case("client-kill-unknown", ok("CLIENT", "KILL", "ID", "999999"), ok("CLIENT", "KILL", "ADDR", "1.2.3.4:5"),
     err("CLIENT", "KILL", "1.2.3.4:5"), err("CLIENT", "KILL", "ID", "abc"))
case("client-no-evict", ok("CLIENT", "NO-EVICT", "on"), ok("CLIENT", "NO-EVICT", "off"), err("CLIENT", "NO-EVICT", "maybe"))
case("client-errors", err("CLIENT"), err("CLIENT", "FOO"), err("CLIENT", "ID", "x"), err("CLIENT", "GETNAME", "x"))

# RESET ----------------------------------------------------------------------------------------
case("reset", ok("CLIENT", "SETNAME", "me"), ok("MULTI"), ok("RESET"), ok("CLIENT", "GETNAME"), ok("GET", "missing"),
     ok("HELLO", rule=HELLO), err("EXEC"),
     why="RESET drops the name, the transaction and the protocol (back to RESP2)")
case("reset-watch", ok("WATCH", "k"), ok("RESET"), ok("SET", "k", "other", conn="b"), ok("MULTI"), ok("GET", "k"),
     ok("EXEC"), setup=[("SET", "k", "v")])

# OBJECT ---------------------------------------------------------------------------------------
case("object-encoding", ok("OBJECT", "ENCODING", "i"), ok("OBJECT", "ENCODING", "e"), ok("OBJECT", "ENCODING", "r"),
     ok("OBJECT", "ENCODING", "missing"),
     setup=[("SET", "i", "12345"), ("SET", "e", "hello"), ("SET", "r", "x" * 50)])
case("object-encoding-after-append", ok("APPEND", "k", "x"), ok("OBJECT", "ENCODING", "k"), setup=[("SET", "k", "hello")])
case("object-encoding-after-setrange-copy-rename", ok("SETRANGE", "k", "0", "2"), ok("OBJECT", "ENCODING", "k"),
     ok("COPY", "k", "k2"), ok("OBJECT", "ENCODING", "k2"), ok("RENAME", "k2", "k3"), ok("OBJECT", "ENCODING", "k3"),
     ok("SET", "k3", "5"), ok("OBJECT", "ENCODING", "k3"), setup=[("SET", "k", "1234")])
case("object-encoding-negative-int", ok("OBJECT", "ENCODING", "k"), setup=[("SET", "k", "-42")])
case("object-errors", err("OBJECT", "ENCODING"), err("OBJECT"))
case("object-encoding-raw-survives-expiry-changes", ok("APPEND", "k", "x"), ok("EXPIRE", "k", "100"),
     ok("OBJECT", "ENCODING", "k"), ok("PERSIST", "k"), ok("OBJECT", "ENCODING", "k"),
     ok("GETEX", "k", "EX", "50"), ok("OBJECT", "ENCODING", "k"), setup=[("SET", "k", "hello")])
case("exec-with-arguments", err("EXEC", "x"), ok("MULTI"), ok("SET", "k", "v"), err("EXEC", "x"), err("EXEC"), ok("GET", "k"))
case("command-getkeys", ok("COMMAND", "GETKEYS", "SET", "a", "b"), ok("COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"),
     err("COMMAND", "GETKEYS", "nosuch", "k"), err("COMMAND", "GETKEYS", "SET", "k"), err("COMMAND", "GETKEYS"))
case("command-list-filterby", ok("COMMAND", "LIST", "FILTERBY", "PATTERN", "getr*", rule=Unordered()),
     ok("COMMAND", "LIST", "FILTERBY", "MODULE", "x"), err("COMMAND", "LIST", "foo"))
case("client-kill-user", err("CLIENT", "KILL", "USER", "nobody"), ok("CLIENT", "KILL", "USER", "default", "ID", "999999"))
case("shutdown-abort", err("SHUTDOWN", "ABORT"))

# TIME COMMAND CONFIG INFO SAVE BGSAVE LASTSAVE FUNCTION ---------------------------------------
case("time", ok("TIME", rule=Seq(DIGITS, DIGITS)), err("TIME", "x"))
case("command-count", ok("COMMAND", "COUNT", rule=POSITIVE),
     why="the command count differs (redis has ~240 commands)")
case("command-list", ok("COMMAND", "LIST", rule=Each(VALUE)),
     why="the command list differs: an array of bulk strings of any length")
case("command-info-get", ok("COMMAND", "INFO", "get", rule=Seq(COMMAND_INFO_ENTRY)),
     why="ACL categories, tips, key specifications and subcommands are masked to their types")
case("command-info-set", ok("COMMAND", "INFO", "set", rule=Seq(COMMAND_INFO_ENTRY)))
case("command-info-nosuchcmd", ok("COMMAND", "INFO", "nosuchcmd"), ok("COMMAND", "INFO", "get", "nosuchcmd",
                                                                         rule=Seq(COMMAND_INFO_ENTRY, EXACT)))
case("command-docs-get", ok("COMMAND", "DOCS", "get", rule=Pairs({"get": DOCS_ENTRY})),
     why="COMMAND DOCS texts are masked; keys, the group and value types are not")
case("command-docs-nosuchcmd", ok("COMMAND", "DOCS", "nosuchcmd"))
case("command-errors", err("COMMAND", "FOO"))
case("config-get", ok("CONFIG", "GET", "maxmemory"), ok("CONFIG", "GET", "save"),
     ok("CONFIG", "GET", "appendonly", rule=Pairs({"appendonly": VALUE})),
     why="appendonly is 'yes' in kvserver (it always logs): its value is masked")
case("config-get-multiple", ok("CONFIG", "GET", "maxmemory", "save", rule=Pairs()),
     ok("CONFIG", "GET", "maxmemory", "maxmemory", rule=Pairs()),
     why="CONFIG GET's pair order is unspecified (redis: dict order): pairs compare as a set")
case("config-get-glob", ok("CONFIG", "GET", "maxmemor?"))
case("config-get-nonexistent", ok("CONFIG", "GET", "nosuchparameter"))
case("config-errors", err("CONFIG", "GET"), err("CONFIG", "FOO"), err("CONFIG"))
case("config-resetstat", ok("CONFIG", "RESETSTAT"))
case("info-keyspace", ok("INFO", "keyspace", rule=INFO_HEADERS_FIELDS), ok("SET", "k", "v"),
     ok("INFO", "keyspace", rule=INFO_HEADERS_FIELDS),
     why="INFO text is masked; the section headers, CRLF line ends and keyspace field names are not")
case("info-server", ok("INFO", "server", rule=INFO_HEADERS), why="INFO text is masked; the section header is not")
case("save", ok("SAVE"))
case("bgsave", ok("BGSAVE", rule=VALUE), bgsave=True,
     why="shape only: redis answers +Background saving started (and refuses while a save runs)")
case("lastsave", ok("LASTSAVE", rule=TIMESTAMP))
case("function-flush", ok("FUNCTION", "FLUSH"))
case("role-of-a-primary", ok("ROLE"))
# Replication on a primary without replicas: what both servers answer without a second server
# (a replica's stream is kvserver's own: ReplicationTests, test_failover, test_replication_faults).
case("replication-without-replicas", ok("REPLICAOF", "NO", "ONE"), ok("SLAVEOF", "NO", "ONE"),
     err("REPLICAOF", "localhost", "notaport"), err("REPLICAOF", "localhost", "99999"), ok("WAIT", "0", "0"),
     ok("WAIT", "1", "20"), err("WAIT", "x", "0"), err("WAIT", "1", "-1"), ok("REPLCONF", "listening-port", "1"),
     err("REPLCONF", "listening-port", "x"), err("REPLCONF", "nonsense", "1"), err("REPLCONF", "ACK"), ok("ROLE"))
case("script-without-scripting", err("SCRIPT", "KILL"), ok("SCRIPT", "EXISTS", "a", "b"), ok("SCRIPT", "FLUSH"),
     err("SCRIPT", "FLUSH", "NOW"), err("SCRIPT", "NOPE"))
case("pubsub-introspection", ok("PUBSUB", "CHANNELS"), ok("PUBSUB", "NUMSUB", "a", "b"), ok("PUBSUB", "NUMPAT"),
     ok("PUBSUB", "SHARDCHANNELS"), ok("PUBSUB", "SHARDNUMSUB", "a"), ok("PUBLISH", "nobody", "hi"),
     ok("SPUBLISH", "nobody", "hi"), err("PUBSUB", "NOPE"), ok("UNSUBSCRIBE"), ok("PUNSUBSCRIBE"))

# MULTI EXEC DISCARD WATCH UNWATCH -------------------------------------------------------------
case("multi-exec", ok("MULTI"), ok("SET", "k", "v"), ok("GET", "k"), ok("INCR", "c"), ok("GET", "missing"),
     ok("MGET", "k", "missing"), ok("EXEC"), ok("GET", "k"))
case("multi-exec-nested-shapes", ok("MULTI"), ok("CONFIG", "GET", "maxmemory"), ok("LCS", "k1", "k2", "IDX"),
     ok("INFO", "keyspace"), ok("GET", "missing"), ok("CLIENT", "GETNAME"), ok("TIME"),
     ok("EXEC", rule=Seq(Pairs(), EXACT, INFO_HEADERS_FIELDS, EXACT, EXACT, Seq(DIGITS, DIGITS))),
     setup=LCS_SETUP, why="EXEC's array holds each reply in the connection's protocol (maps, verbatim, nulls)")
case("multi-exec-empty", ok("MULTI"), ok("EXEC"))
case("multi-discard", ok("MULTI"), ok("SET", "k", "v"), ok("DISCARD"), ok("GET", "k"), err("EXEC"))
case("multi-execabort-unknown-command", ok("MULTI"), ok("SET", "k", "v"), err("FOOBAR", "x"), ok("SET", "k2", "v"),
     err("EXEC"), ok("EXISTS", "k", "k2"))
case("multi-execabort-arity", ok("MULTI"), ok("SET", "k", "v"), err("GET"), err("EXEC"), ok("EXISTS", "k"))
case("multi-runtime-error", ok("MULTI"), ok("INCR", "k"), ok("SET", "k2", "v"), ok("RENAME", "x", "y"), ok("EXEC"),
     ok("GET", "k2"), setup=[("SET", "k", "abc")])
case("multi-nested", ok("MULTI"), err("MULTI"), ok("SET", "k", "v"), ok("EXEC"))
case("exec-without-multi", err("EXEC"))
case("discard-without-multi", err("DISCARD"))
case("watch-inside-multi", ok("MULTI"), err("WATCH", "k"), ok("SET", "k", "v"), ok("EXEC"))
case("watch-arity", err("WATCH"))
case("watch-unmodified", ok("WATCH", "k"), ok("MULTI"), ok("SET", "k", "new"), ok("EXEC"), ok("GET", "k"),
     setup=[("SET", "k", "v")])
case("watch-modified-by-other", ok("WATCH", "k"), ok("SET", "k", "other", conn="b"), ok("MULTI"), ok("SET", "k", "mine"),
     ok("EXEC"), ok("GET", "k"), setup=[("SET", "k", "v")])
case("watch-missing-key-created-by-other", ok("WATCH", "k"), ok("SET", "k", "other", conn="b"), ok("MULTI"),
     ok("GET", "k"), ok("EXEC"))
case("watch-expire-by-other", ok("WATCH", "k"), ok("EXPIRE", "k", "100", conn="b"), ok("MULTI"), ok("GET", "k"),
     ok("EXEC"), setup=[("SET", "k", "v")])
case("watch-del-by-other", ok("WATCH", "k"), ok("DEL", "k", conn="b"), ok("MULTI"), ok("GET", "k"),
     ok("EXEC"), setup=[("SET", "k", "v")])
case("watch-flushall-by-other", ok("WATCH", "k"), ok("FLUSHALL", conn="b"), ok("MULTI"), ok("GET", "k"), ok("EXEC"),
     setup=[("SET", "k", "v")])
case("watch-modified-by-self", ok("WATCH", "k"), ok("SET", "k", "mine"), ok("MULTI"), ok("GET", "k"), ok("EXEC"),
     setup=[("SET", "k", "v")])
case("watch-read-by-other", ok("WATCH", "k"), ok("GET", "k", conn="b"), ok("MULTI"), ok("GET", "k"), ok("EXEC"),
     setup=[("SET", "k", "v")])
case("watch-unwatch", ok("WATCH", "k"), ok("UNWATCH"), ok("SET", "k", "other", conn="b"), ok("MULTI"), ok("GET", "k"),
     ok("EXEC"), setup=[("SET", "k", "v")])
case("watch-exec-clears", ok("WATCH", "k"), ok("MULTI"), ok("EXEC"), ok("SET", "k", "other", conn="b"), ok("MULTI"),
     ok("GET", "k"), ok("EXEC"), setup=[("SET", "k", "v")])
case("watch-discard-clears", ok("WATCH", "k"), ok("MULTI"), ok("DISCARD"), ok("SET", "k", "other", conn="b"),
     ok("MULTI"), ok("GET", "k"), ok("EXEC"), setup=[("SET", "k", "v")])
case("unwatch-alone", ok("UNWATCH"))

# Unknown command, QUIT ------------------------------------------------------------------------
case("unknown-command", err("FOOBAR", "a", "b"), err("FOOBAR"), err("RANGEX"), ok("PING"))
case("unknown-command-long-arg", err("NOSUCH", "x" * 200, "y"))
case("quit", ok("SET", "k", "v"), ok("QUIT"), Closed())

# ============================================================================================
# Collection types: hashes, sets, sorted sets, lists; SORT; keyspace commands on them;
# WRONGTYPE; blocking pops (only on non-empty keys or with a timeout that expires at once).
#
# Order-free replies are compared as such: HGETALL, and the field/value (or member/score)
# lists of HSCAN and ZSCAN, with Pairs() (a RESP3 map compares unordered anyway); HKEYS, HVALS,
# SMEMBERS, SINTER, SUNION, SDIFF, SSCAN, KEYS and whole-collection HRANDFIELD/SRANDMEMBER/
# ZRANDMEMBER replies with Unordered() (a RESP3 set too). Redis iterates small hashes in
# insertion order and small integer sets in numeric order; nothing here depends on it. A small
# collection's *SCAN comes back whole from cursor 0 in one call, as here.
# Random replies (SPOP, SRANDMEMBER, HRANDFIELD, ZRANDMEMBER, RANDOMKEY) are exact on one-
# element collections (or when the count covers the whole collection: distinct elements, all
# of them) and VALUE-masked (types and lengths only) otherwise.
# ============================================================================================

HASH3 = [("HSET", "h", "a", "1", "b", "2", "c", "3")]
SCAN_PAIRS = Seq(EXACT, Pairs())  # [cursor, flat field/value (or member/score) list]
SCAN_SET = Seq(EXACT, Unordered())

# Hashes -----------------------------------------------------------------------------------------
case("hset-hget", ok("HSET", "h", "f1", "v1", "f2", "v2"), ok("HSET", "h", "f1", "x", "f3", "v3"), ok("HGET", "h", "f1"),
     ok("HGET", "h", "nope"), ok("HGET", "nokey", "f"), ok("HLEN", "h"))
case("hset-binary", ok("HSET", "h", b"\x00\r\n", b"\xff", "", ""), ok("HGET", "h", b"\x00\r\n"), ok("HGET", "h", ""),
     ok("HGETALL", "h", rule=Pairs()))
case("hset-arity", err("HSET", "h", "f"), err("HSET", "h", "f", "v", "g"), err("HSET", "h"), ok("EXISTS", "h"))
case("hsetnx", ok("HSETNX", "h", "f", "v"), ok("HSETNX", "h", "f", "w"), ok("HGET", "h", "f"), err("HSETNX", "h", "f"))
case("hmget", ok("HMGET", "h", "a", "nope", "c"), ok("HMGET", "nokey", "a", "b"), err("HMGET", "h"), setup=HASH3)
case("hmset", ok("HMSET", "h", "a", "1", "b", "2"), ok("HMSET", "h", "a", "x"), ok("HGETALL", "h", rule=Pairs()),
     err("HMSET", "h", "a"), err("HMSET", "h", "a", "1", "b"))
case("hgetall", ok("HGETALL", "h", rule=Pairs()), ok("HGETALL", "nokey"), setup=HASH3,
     why="field order is unspecified (redis: insertion order for small hashes): pairs compare as a set")
case("hdel-hlen-hexists", ok("HDEL", "h", "a", "nope", "a"), ok("HLEN", "h"), ok("HEXISTS", "h", "a"),
     ok("HEXISTS", "h", "b"), ok("HEXISTS", "nokey", "b"), ok("HDEL", "nokey", "a"), ok("HLEN", "nokey"),
     ok("HDEL", "h", "b", "c"), ok("EXISTS", "h"), ok("TYPE", "h"), err("HDEL", "h"), setup=HASH3)
case("hkeys-hvals", ok("HKEYS", "h", rule=Unordered()), ok("HVALS", "h", rule=Unordered()), ok("HKEYS", "nokey"),
     ok("HVALS", "nokey"), setup=HASH3)
case("hstrlen", ok("HSTRLEN", "h", "f"), ok("HSTRLEN", "h", "e"), ok("HSTRLEN", "h", "nope"), ok("HSTRLEN", "nokey", "f"),
     setup=[("HSET", "h", "f", "hello", "e", "")])
case("hincrby", ok("HINCRBY", "h", "n", "5"), ok("HINCRBY", "h", "n", "-7"), ok("HGET", "h", "n"),
     ok("HINCRBY", "nokey", "n", "1"), ok("HINCRBY", "h", "min", "0"),
     setup=[("HSET", "h", "min", "-9223372036854775808")])
case("hincrby-errors", err("HINCRBY", "h", "max", "1"), err("HINCRBY", "h", "min", "-1"), err("HINCRBY", "h", "s", "1"),
     err("HINCRBY", "h", "f", "1"), err("HINCRBY", "h", "sp", "1"), err("HINCRBY", "h", "n", "x"),
     err("HINCRBY", "h", "n", "1.5"), err("HINCRBY", "h", "n", "9223372036854775808"), ok("HGET", "h", "max"),
     setup=[("HSET", "h", "max", "9223372036854775807", "min", "-9223372036854775808", "s", "abc", "f", "1.5",
             "sp", " 1")])
case("hincrbyfloat", ok("HINCRBYFLOAT", "h", "f", "1.5"), ok("HINCRBYFLOAT", "h", "f", "0.25"), ok("HGET", "h", "f"),
     ok("HINCRBYFLOAT", "h", "p", "0.1"), ok("HINCRBYFLOAT", "h", "p", "0.2"), ok("HINCRBYFLOAT", "h", "e", "5.0e3"),
     ok("HINCRBYFLOAT", "h", "i", "2"), ok("HINCRBYFLOAT", "h", "i", "-2"), ok("HINCRBYFLOAT", "h", "x", "1.5"),
     ok("HGETALL", "h", rule=Pairs()), setup=[("HSET", "h", "i", "3", "x", "1.5")])
case("hincrbyfloat-errors", err("HINCRBYFLOAT", "h", "s", "1"), err("HINCRBYFLOAT", "h", "sp", "1"),
     err("HINCRBYFLOAT", "h", "n", "abc"), err("HINCRBYFLOAT", "h", "n", "nan"), err("HINCRBYFLOAT", "h", "n", "inf"),
     err("HINCRBYFLOAT", "h", "n", "-inf"), ok("HGET", "h", "n"),
     setup=[("HSET", "h", "s", "abc", "sp", " 1", "n", "1")])
case("hrandfield-one-field", ok("HRANDFIELD", "h"), ok("HRANDFIELD", "h", "1"), ok("HRANDFIELD", "h", "3"),
     ok("HRANDFIELD", "h", "-3"), ok("HRANDFIELD", "h", "1", "WITHVALUES"), ok("HRANDFIELD", "h", "-2", "WITHVALUES"),
     ok("HRANDFIELD", "h", "0"), ok("HRANDFIELD", "h", "0", "WITHVALUES"), setup=[("HSET", "h", "only", "v")],
     why="one field: the random choice is determined; RESP3 WITHVALUES is an array of [field, value] arrays")
case("hrandfield-missing", ok("HRANDFIELD", "nokey"), ok("HRANDFIELD", "nokey", "2"),
     ok("HRANDFIELD", "nokey", "-2", "WITHVALUES"))
case("hrandfield-counts", ok("HRANDFIELD", "h", rule=VALUE), ok("HRANDFIELD", "h", "2", rule=VALUE),
     ok("HRANDFIELD", "h", "-5", rule=VALUE), ok("HRANDFIELD", "h", "-5", "WITHVALUES", rule=VALUE),
     ok("HRANDFIELD", "h", "2", "WITHVALUES", rule=VALUE), ok("HRANDFIELD", "h", "10", rule=Unordered()),
     ok("HRANDFIELD", "h", "3", "WITHVALUES", rule=Unordered()), setup=HASH3,
     why="random fields: types and lengths only, unless the count covers the whole hash (each field once)")
case("hrandfield-errors", err("HRANDFIELD", "h", "x"), err("HRANDFIELD", "h", "1", "FOO"),
     err("HRANDFIELD", "h", "1", "WITHVALUES", "x"), setup=HASH3)
case("hscan", ok("HSCAN", "h", "0", rule=SCAN_PAIRS), ok("HSCAN", "h", "0", "MATCH", "[ab]", rule=SCAN_PAIRS),
     ok("HSCAN", "h", "0", "COUNT", "100", rule=SCAN_PAIRS), ok("HSCAN", "h", "0", "MATCH", "zz*"),
     ok("HSCAN", "nokey", "0"), setup=HASH3,
     why="a small hash comes back whole in one call (cursor 0); field order is unspecified")
case("hscan-errors", err("HSCAN", "h", "x"), err("HSCAN", "h", "0", "COUNT", "0"), err("HSCAN", "h", "0", "COUNT", "-1"),
     err("HSCAN", "h", "0", "MATCH"), err("HSCAN", "h", "0", "FOO", "1"), err("HSCAN", "h"), setup=HASH3)

# Sets -------------------------------------------------------------------------------------------
SET5 = [("SADD", "s", "a", "b", "c", "d", "e")]
SETS3 = [("SADD", "s1", "a", "b", "c", "d"), ("SADD", "s2", "c", "d", "e"), ("SADD", "s3", "d", "e", "x")]
case("sadd-srem-scard", ok("SADD", "s", "a", "b", "c"), ok("SADD", "s", "a", "d", "d"), ok("SREM", "s", "a", "nope"),
     ok("SREM", "s", "a"), ok("SCARD", "s"), ok("SCARD", "nokey"), ok("SREM", "nokey", "a"),
     ok("SMEMBERS", "s", rule=Unordered()), err("SADD", "s"), err("SREM", "s"))
case("sadd-integers", ok("SADD", "s", "3", "1", "2", "-5", "9223372036854775807"), ok("SMEMBERS", "s", rule=Unordered()),
     ok("SISMEMBER", "s", "-5"), ok("SADD", "s", "x"), ok("SMEMBERS", "s", rule=Unordered()))
case("smembers", ok("SMEMBERS", "s", rule=Unordered()), ok("SMEMBERS", "nokey"), setup=SET5,
     why="member order is unspecified: compared as a multiset (RESP3: a set reply)")
case("sismember-smismember", ok("SISMEMBER", "s", "a"), ok("SISMEMBER", "s", "zz"), ok("SISMEMBER", "nokey", "a"),
     ok("SMISMEMBER", "s", "a", "zz", "e"), ok("SMISMEMBER", "nokey", "a"), err("SMISMEMBER", "s"), setup=SET5)
case("sinter-sunion-sdiff", ok("SINTER", "s1", "s2", rule=Unordered()), ok("SINTER", "s1", "s2", "s3", rule=Unordered()),
     ok("SINTER", "s1", "nokey"), ok("SINTER", "nokey"), ok("SUNION", "s1", "s2", "s3", rule=Unordered()),
     ok("SUNION", "nokey", "s3", rule=Unordered()), ok("SUNION", "nokey"), ok("SDIFF", "s1", "s2", rule=Unordered()),
     ok("SDIFF", "s1", "s2", "s3", rule=Unordered()), ok("SDIFF", "nokey", "s1"), ok("SDIFF", "s1", "s1"),
     setup=SETS3)
case("sinterstore-sunionstore-sdiffstore", ok("SINTERSTORE", "d1", "s1", "s2"), ok("SMEMBERS", "d1", rule=Unordered()),
     ok("SUNIONSTORE", "d2", "s1", "s3"), ok("SMEMBERS", "d2", rule=Unordered()), ok("SDIFFSTORE", "d3", "s1", "s3"),
     ok("SMEMBERS", "d3", rule=Unordered()), ok("SINTERSTORE", "s1", "s1", "s3"), ok("SMEMBERS", "s1", rule=Unordered()),
     ok("SUNIONSTORE", "str", "s2"), ok("TYPE", "str"), ok("SINTERSTORE", "d1", "s2", "nokey"), ok("EXISTS", "d1"),
     ok("SDIFFSTORE", "d2", "s2", "s2"), ok("EXISTS", "d2"), setup=SETS3 + [("SET", "str", "x")])
case("sintercard", ok("SINTERCARD", "2", "s1", "s2"), ok("SINTERCARD", "3", "s1", "s2", "s3"),
     ok("SINTERCARD", "2", "s1", "s2", "LIMIT", "1"), ok("SINTERCARD", "2", "s1", "s2", "LIMIT", "0"),
     ok("SINTERCARD", "1", "s1", "LIMIT", "100"), ok("SINTERCARD", "2", "s1", "nokey"), setup=SETS3)
case("sintercard-errors", err("SINTERCARD", "2", "s1", "s2", "LIMIT", "-1"), err("SINTERCARD", "0", "s1"),
     err("SINTERCARD", "x", "s1"), err("SINTERCARD", "3", "s1", "s2"), err("SINTERCARD", "1", "s1", "s2"),
     err("SINTERCARD", "2", "s1", "s2", "LIMIT"), err("SINTERCARD", "2", "s1", "s2", "FOO", "1"), setup=SETS3)
case("smove", ok("SMOVE", "s1", "s2", "a"), ok("SMOVE", "s1", "s2", "c"), ok("SMOVE", "s1", "s2", "zz"),
     ok("SMOVE", "nokey", "s2", "a"), ok("SMOVE", "s2", "s2", "a"), ok("SMOVE", "s3", "new", "x"),
     ok("SMEMBERS", "s1", rule=Unordered()), ok("SMEMBERS", "s2", rule=Unordered()), ok("SMEMBERS", "new"),
     err("SMOVE", "s1", "str", "b"), ok("SISMEMBER", "s1", "b"), setup=SETS3 + [("SET", "str", "x")])
case("spop-one-member", ok("SPOP", "s"), ok("EXISTS", "s"), ok("SADD", "s", "m"), ok("SPOP", "s", "1"), ok("EXISTS", "s"),
     ok("SADD", "s", "m"), ok("SPOP", "s", "0"), ok("SPOP", "s", "5"), ok("SPOP", "nokey"), ok("SPOP", "nokey", "2"),
     setup=[("SADD", "s", "m")], why="one member: determined; RESP3: SPOP with a count is a set reply")
case("spop-counts", ok("SPOP", "s", rule=VALUE), ok("SPOP", "s", "2", rule=VALUE), ok("SCARD", "s"),
     ok("SPOP", "s", "10", rule=VALUE), ok("EXISTS", "s"), setup=SET5, why="random members: type and count only")
case("spop-errors", err("SPOP", "s", "-1"), err("SPOP", "s", "x"), err("SPOP", "s", "1", "2"), ok("SCARD", "s"),
     setup=SET5)
case("srandmember-one-member", ok("SRANDMEMBER", "s"), ok("SRANDMEMBER", "s", "1"), ok("SRANDMEMBER", "s", "5"),
     ok("SRANDMEMBER", "s", "-3"), ok("SRANDMEMBER", "s", "0"), ok("SRANDMEMBER", "nokey"),
     ok("SRANDMEMBER", "nokey", "3"), ok("SRANDMEMBER", "nokey", "-3"), setup=[("SADD", "s", "m")])
case("srandmember-counts", ok("SRANDMEMBER", "s", rule=VALUE), ok("SRANDMEMBER", "s", "3", rule=VALUE),
     ok("SRANDMEMBER", "s", "-8", rule=VALUE), ok("SRANDMEMBER", "s", "10", rule=Unordered()), ok("SCARD", "s"),
     err("SRANDMEMBER", "s", "x"), setup=SET5,
     why="random members: type and count only, unless the count covers the set (each member once)")
case("sscan", ok("SSCAN", "s", "0", rule=SCAN_SET), ok("SSCAN", "s", "0", "MATCH", "[a-c]", rule=SCAN_SET),
     ok("SSCAN", "s", "0", "COUNT", "100", rule=SCAN_SET), ok("SSCAN", "nokey", "0"), ok("SSCAN", "i", "0", rule=SCAN_SET),
     err("SSCAN", "s", "x"), err("SSCAN", "s", "0", "COUNT", "0"), setup=SET5 + [("SADD", "i", "1", "2", "3")])

# Sorted sets ------------------------------------------------------------------------------------
Z5 = [("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e")]
ZLEX = [("ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e")]
case("zadd", ok("ZADD", "z", "1", "a", "2", "b"), ok("ZADD", "z", "3", "a", "0", "c"), ok("ZADD", "z", "1", "x", "2", "x"),
     ok("ZRANGE", "z", "0", "-1", "WITHSCORES"), ok("ZCARD", "z"))
case("zadd-equal-scores-order", ok("ZADD", "z", "1", "b", "1", "a", "1", "B", "1", "", "1", "c"),
     ok("ZRANGE", "z", "0", "-1"), ok("ZRANGE", "z", "0", "-1", "REV"))
case("zadd-scores", ok("ZADD", "z", "inf", "pinf", "-inf", "ninf", "+inf", "p2", "1e-300", "small", "5e-324", "tiny",
                       "1.7976931348623157e308", "max", "0.1", "tenth", "1e17", "big", "123456789012345678", "bigint",
                       "1e15", "e15", "-1.5", "neg", "3.0", "three", "1.0e1", "ten"),
     ok("ZRANGE", "z", "0", "-1", "WITHSCORES"), ok("ZSCORE", "z", "pinf"), ok("ZSCORE", "z", "ninf"),
     ok("ZSCORE", "z", "tiny"), ok("ZSCORE", "z", "tenth"), ok("ZSCORE", "z", "big"), ok("ZSCORE", "z", "bigint"),
     ok("ZSCORE", "z", "e15"), ok("ZSCORE", "z", "three"), ok("ZSCORE", "z", "max"),
     why="scores print as %.17g does (0.1 is 0.10000000000000001, 1e17 is 1e+17); RESP3: doubles")
case("zadd-negative-zero", ok("ZADD", "z", "-0", "a", "1", "b"), ok("ZSCORE", "z", "a"), ok("ZRANGE", "z", "0", "-1", "WITHSCORES"),
     ok("ZINCRBY", "z", "-0", "a"), ok("ZMSCORE", "z", "a"),
     why="redis 7.0 prints a -0 score of a small sorted set as 0 (it keeps -0 only once the set is "
         "a skiplist, >128 members)")
case("zadd-nx-xx", ok("ZADD", "z", "XX", "10", "a", "20", "new"), ok("ZADD", "z", "NX", "100", "a", "4", "d"),
     ok("ZRANGE", "z", "0", "-1", "WITHSCORES"), ok("ZADD", "nokey", "XX", "1", "a"), ok("EXISTS", "nokey"),
     setup=[("ZADD", "z", "1", "a", "2", "b")])
case("zadd-gt-lt", ok("ZADD", "z", "GT", "0", "a", "11", "b", "5", "new"), ok("ZADD", "z", "LT", "5", "c", "100", "b"),
     ok("ZADD", "z", "XX", "GT", "1", "zz"), ok("ZADD", "z", "XX", "LT", "100", "a"),
     ok("ZRANGE", "z", "0", "-1", "WITHSCORES"), setup=[("ZADD", "z", "1", "a", "2", "b", "3", "c")])
case("zadd-ch", ok("ZADD", "z", "CH", "1", "a", "20", "b", "9", "e"), ok("ZADD", "z", "CH", "3", "c", "3", "c"),
     ok("ZADD", "z", "XX", "CH", "30", "c", "4", "y"), ok("ZADD", "z", "NX", "CH", "5", "a", "6", "y"),
     ok("ZADD", "z", "LT", "CH", "0", "a", "100", "b"), ok("ZADD", "z", "GT", "CH", "100", "b"),
     setup=[("ZADD", "z", "1", "a", "2", "b", "3", "c")])
case("zadd-incr", ok("ZADD", "z", "INCR", "2.5", "a"), ok("ZADD", "z", "INCR", "1", "new"),
     ok("ZADD", "z", "NX", "INCR", "1", "a"), ok("ZADD", "z", "XX", "INCR", "1", "absent"),
     ok("ZADD", "z", "XX", "INCR", "1", "a"), ok("ZADD", "z", "GT", "INCR", "-1", "a"),
     ok("ZADD", "z", "LT", "INCR", "-1", "a"), ok("ZADD", "z", "INCR", "inf", "a"), ok("ZSCORE", "z", "absent"),
     ok("ZRANGE", "z", "0", "-1", "WITHSCORES"), setup=[("ZADD", "z", "1", "a")],
     why="ZADD INCR answers the new score (RESP3: a double), nil when NX/XX/GT/LT stop it")
case("zadd-errors", err("ZADD", "z", "NX", "XX", "1", "a"), err("ZADD", "z", "GT", "LT", "1", "a"),
     err("ZADD", "z", "NX", "GT", "1", "a"), err("ZADD", "z", "LT", "NX", "1", "a"),
     err("ZADD", "z", "INCR", "1", "a", "2", "b"), err("ZADD", "z", "1", "a", "2"), err("ZADD", "z", "INCR", "1"),
     err("ZADD", "z", "1"), err("ZADD", "z"), err("ZADD", "z", "CH"), ok("ZRANGE", "z", "0", "-1", "WITHSCORES"),
     setup=[("ZADD", "z", "1", "a")])
case("zadd-bad-scores", err("ZADD", "z", "nan", "a"), err("ZADD", "z", "NaN", "a"), err("ZADD", "z", "1e400", "a"),
     err("ZADD", "z", "-1e400", "a"), err("ZADD", "z", "abc", "a"), err("ZADD", "z", "", "a"),
     err("ZADD", "z", " 1", "a"), err("ZADD", "z", "1", "b", "x", "c"), err("ZADD", "z", "INCR", "nan", "a"),
     err("ZADD", "z", "INCR", "-inf", "i"), ok("ZRANGE", "z", "0", "-1", "WITHSCORES"),
     setup=[("ZADD", "z", "1", "a", "inf", "i")])
case("zincrby", ok("ZINCRBY", "z", "1.5", "a"), ok("ZINCRBY", "z", "-0.5", "a"), ok("ZINCRBY", "z", "1e308", "big"),
     ok("ZINCRBY", "z", "1e308", "big"), ok("ZINCRBY", "z", "1", "i"), ok("ZSCORE", "z", "big"),
     setup=[("ZADD", "z", "inf", "i")], why="RESP3: the new score is a double; overflow gives inf")
case("zincrby-errors", err("ZINCRBY", "z", "-inf", "i"), err("ZINCRBY", "z", "nan", "a"), err("ZINCRBY", "z", "x", "a"),
     err("ZINCRBY", "z", "1"), ok("ZSCORE", "z", "i"), setup=[("ZADD", "z", "inf", "i", "1", "a")])
case("zscore-zmscore", ok("ZSCORE", "z", "b"), ok("ZSCORE", "z", "nope"), ok("ZSCORE", "nokey", "a"),
     ok("ZMSCORE", "z", "a", "nope", "e"), ok("ZMSCORE", "nokey", "a", "b"), err("ZMSCORE", "z"), err("ZSCORE", "z"),
     setup=Z5)
case("zcard-zrem", ok("ZCARD", "z"), ok("ZCARD", "nokey"), ok("ZREM", "z", "a", "nope", "a"), ok("ZREM", "nokey", "a"),
     ok("ZCARD", "z"), ok("ZREM", "z", "b", "c", "d", "e"), ok("EXISTS", "z"), err("ZREM", "z"), setup=Z5)
case("zcount", ok("ZCOUNT", "z", "-inf", "+inf"), ok("ZCOUNT", "z", "2", "4"), ok("ZCOUNT", "z", "(2", "4"),
     ok("ZCOUNT", "z", "(2", "(4"), ok("ZCOUNT", "z", "4", "2"), ok("ZCOUNT", "z", "(3", "(3"),
     ok("ZCOUNT", "z", "(inf", "+inf"), ok("ZCOUNT", "z", "-inf", "(-inf"), ok("ZCOUNT", "nokey", "0", "1"),
     err("ZCOUNT", "z", "x", "1"), err("ZCOUNT", "z", "[1", "3"), err("ZCOUNT", "z", "1", "nan"), setup=Z5)
case("zlexcount", ok("ZLEXCOUNT", "l", "-", "+"), ok("ZLEXCOUNT", "l", "[b", "(d"), ok("ZLEXCOUNT", "l", "(b", "[d"),
     ok("ZLEXCOUNT", "l", "[d", "[b"), ok("ZLEXCOUNT", "l", "+", "-"), ok("ZLEXCOUNT", "nokey", "-", "+"),
     err("ZLEXCOUNT", "l", "b", "d"), err("ZLEXCOUNT", "l", "[b"), setup=ZLEX)
case("zrange-rank", ok("ZRANGE", "z", "0", "-1"), ok("ZRANGE", "z", "1", "3"), ok("ZRANGE", "z", "-2", "-1", "WITHSCORES"),
     ok("ZRANGE", "z", "3", "1"), ok("ZRANGE", "z", "0", "100"), ok("ZRANGE", "z", "-100", "0"), ok("ZRANGE", "z", "5", "10"),
     ok("ZRANGE", "z", "0", "1", "REV", "WITHSCORES"), ok("ZRANGE", "nokey", "0", "-1"),
     ok("ZRANGE", "nokey", "0", "-1", "WITHSCORES"), setup=Z5)
case("zrange-byscore", ok("ZRANGE", "z", "(1", "3", "BYSCORE"), ok("ZRANGE", "z", "(1", "(3", "BYSCORE", "WITHSCORES"),
     ok("ZRANGE", "z", "-inf", "+inf", "BYSCORE"), ok("ZRANGE", "z", "3", "1", "BYSCORE"),
     ok("ZRANGE", "z", "3", "(1", "BYSCORE", "REV"), ok("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "2"),
     ok("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "-1"),
     ok("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "-1", "2"),
     ok("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "10", "2"),
     ok("ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "0", "2", "WITHSCORES"), setup=Z5)
case("zrange-bylex", ok("ZRANGE", "l", "[b", "(d", "BYLEX"), ok("ZRANGE", "l", "-", "+", "BYLEX", "LIMIT", "1", "2"),
     ok("ZRANGE", "l", "+", "-", "BYLEX", "REV"), ok("ZRANGE", "l", "(d", "[b", "BYLEX", "REV"),
     ok("ZRANGE", "l", "[d", "[b", "BYLEX"), ok("ZRANGE", "l", "[aa", "[c", "BYLEX"), setup=ZLEX)
case("zrange-errors", err("ZRANGE", "z", "0", "-1", "LIMIT", "0", "1"), err("ZRANGE", "z", "0", "-1", "BYSCORE", "BYLEX"),
     err("ZRANGE", "z", "0", "-1", "FOO"), err("ZRANGE", "z", "a", "b", "BYSCORE"), err("ZRANGE", "z", "a", "-1"),
     err("ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES"), err("ZRANGE", "z", "0", "-1", "WITHSCORES", "BYLEX"),
     err("ZRANGE", "z", "a", "b", "BYLEX"), err("ZRANGE", "z", "0", "-1", "BYSCORE", "LIMIT", "0"), err("ZRANGE", "z", "0"),
     setup=Z5)
case("zrangebyscore-zrevrangebyscore", ok("ZRANGEBYSCORE", "z", "2", "4"),
     ok("ZRANGEBYSCORE", "z", "(2", "+inf", "WITHSCORES", "LIMIT", "1", "5"), ok("ZRANGEBYSCORE", "z", "4", "2"),
     ok("ZRANGEBYSCORE", "z", "(1", "(1"), ok("ZRANGEBYSCORE", "z", "1", "1"), ok("ZREVRANGEBYSCORE", "z", "4", "2", "WITHSCORES"),
     ok("ZREVRANGEBYSCORE", "z", "2", "4"), ok("ZREVRANGEBYSCORE", "z", "+inf", "-inf", "LIMIT", "1", "1"),
     err("ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "0"), err("ZRANGEBYSCORE", "z", "x", "1"), setup=Z5)
case("zrangebylex-zrevrangebylex", ok("ZRANGEBYLEX", "l", "-", "[c"), ok("ZRANGEBYLEX", "l", "(a", "(c"),
     ok("ZRANGEBYLEX", "l", "[c", "-"), ok("ZRANGEBYLEX", "l", "-", "+", "LIMIT", "2", "-1"),
     ok("ZREVRANGEBYLEX", "l", "+", "(c"), ok("ZREVRANGEBYLEX", "l", "[c", "-", "LIMIT", "0", "1"),
     err("ZRANGEBYLEX", "l", "b", "c"), err("ZRANGEBYLEX", "l", "-", "+", "WITHSCORES"), setup=ZLEX)
case("zrevrange", ok("ZREVRANGE", "z", "0", "1"), ok("ZREVRANGE", "z", "0", "-1", "WITHSCORES"),
     ok("ZREVRANGE", "z", "-1", "-1"), ok("ZREVRANGE", "nokey", "0", "-1"), setup=Z5)
case("zrangestore", ok("ZRANGESTORE", "dst", "z", "0", "1"), ok("ZRANGE", "dst", "0", "-1", "WITHSCORES"),
     ok("ZRANGESTORE", "dst", "z", "(2", "+inf", "BYSCORE", "LIMIT", "0", "2"), ok("ZRANGE", "dst", "0", "-1"),
     ok("ZRANGESTORE", "dst", "z", "0", "0", "REV"), ok("ZRANGE", "dst", "0", "-1", "WITHSCORES"),
     ok("ZRANGESTORE", "dst", "l", "[b", "[c", "BYLEX"), ok("ZRANGE", "dst", "0", "-1"),
     ok("ZRANGESTORE", "dst", "z", "10", "20"), ok("EXISTS", "dst"), ok("ZRANGESTORE", "dst", "nokey", "0", "-1"),
     err("ZRANGESTORE", "dst", "z", "0", "-1", "WITHSCORES"), setup=Z5 + ZLEX)
case("zrank-zrevrank", ok("ZRANK", "z", "a"), ok("ZRANK", "z", "c"), ok("ZREVRANK", "z", "c"), ok("ZREVRANK", "z", "a"),
     ok("ZRANK", "z", "nope"), ok("ZREVRANK", "z", "nope"), ok("ZRANK", "nokey", "a"), err("ZRANK", "z"), setup=Z5)
case("zpopmin-zpopmax", ok("ZPOPMIN", "z"), ok("ZPOPMAX", "z"), ok("ZPOPMAX", "z", "2"), ok("ZPOPMIN", "z", "1"),
     ok("ZPOPMIN", "z", "0"), ok("ZPOPMIN", "z", "10"), ok("EXISTS", "z"), ok("ZPOPMIN", "nokey"), ok("ZPOPMAX", "nokey", "2"),
     setup=Z5 + [("ZADD", "z", "6.5", "f")],
     why="RESP3: without a count a flat [member, score]; with a count (even 1) an array of [member, score] pairs")
case("zpop-errors", err("ZPOPMIN", "z", "-1"), err("ZPOPMAX", "z", "x"), err("ZPOPMIN", "z", "1", "2"), ok("ZCARD", "z"),
     setup=Z5)
case("zmpop", ok("ZMPOP", "1", "z", "MIN"), ok("ZMPOP", "2", "nokey", "z", "MAX", "COUNT", "2"),
     ok("ZMPOP", "1", "z", "MIN", "COUNT", "10"), ok("EXISTS", "z"), ok("ZMPOP", "1", "z", "MIN"),
     ok("ZMPOP", "2", "z1", "z2", "MAX"), setup=Z5 + [("ZADD", "z1", "1", "x"), ("ZADD", "z2", "2", "y")])
case("zmpop-errors", err("ZMPOP", "0", "z", "MIN"), err("ZMPOP", "1", "z", "FOO"), err("ZMPOP", "1", "z", "MIN", "COUNT", "0"),
     err("ZMPOP", "1", "z", "MIN", "COUNT", "-1"), err("ZMPOP", "2", "z", "MIN"), err("ZMPOP", "1", "z"),
     err("ZMPOP", "x", "z", "MIN"), ok("ZCARD", "z"), setup=Z5)
case("bzpopmin-bzpopmax", ok("BZPOPMIN", "nokey", "z", "0"), ok("BZPOPMAX", "z", "0.01"), ok("BZPOPMIN", "nokey", "0.01"),
     ok("BZPOPMAX", "nokey", "0.01"), setup=Z5,
     why="on a non-empty key they answer at once; on empty keys the 10 ms timeout answers nil")
case("bzmpop", ok("BZMPOP", "0", "2", "nokey", "z", "MIN", "COUNT", "2"), ok("BZMPOP", "0.01", "1", "z", "MAX"),
     ok("BZMPOP", "0.01", "1", "nokey", "MIN"), err("BZMPOP", "0.01", "0", "z", "MIN"),
     err("BZMPOP", "0.01", "1", "z", "MIN", "COUNT", "0"), setup=Z5)
case("zremrangebyscore", ok("ZREMRANGEBYSCORE", "z", "(1", "3"), ok("ZRANGE", "z", "0", "-1"),
     ok("ZREMRANGEBYSCORE", "z", "10", "1"), ok("ZREMRANGEBYSCORE", "z", "-inf", "+inf"), ok("EXISTS", "z"),
     ok("ZREMRANGEBYSCORE", "nokey", "0", "1"), err("ZREMRANGEBYSCORE", "z", "x", "1"), setup=Z5)
case("zremrangebyrank", ok("ZREMRANGEBYRANK", "z", "-1", "-1"), ok("ZRANGE", "z", "0", "-1"),
     ok("ZREMRANGEBYRANK", "z", "5", "10"), ok("ZREMRANGEBYRANK", "z", "1", "2"), ok("ZRANGE", "z", "0", "-1"),
     ok("ZREMRANGEBYRANK", "z", "0", "-1"), ok("EXISTS", "z"), ok("ZREMRANGEBYRANK", "nokey", "0", "-1"),
     err("ZREMRANGEBYRANK", "z", "x", "1"), setup=Z5)
case("zremrangebylex", ok("ZREMRANGEBYLEX", "l", "[b", "(d"), ok("ZRANGE", "l", "0", "-1"),
     ok("ZREMRANGEBYLEX", "l", "(d", "+"), ok("ZREMRANGEBYLEX", "l", "[x", "[a"), ok("ZREMRANGEBYLEX", "l", "-", "+"),
     ok("EXISTS", "l"), ok("ZREMRANGEBYLEX", "nokey", "-", "+"), err("ZREMRANGEBYLEX", "l", "a", "b"), setup=ZLEX)
ZAB = [("ZADD", "a", "1", "x", "2", "y", "3", "z"), ("ZADD", "b", "10", "y", "20", "z", "30", "w"), ("SADD", "s", "x", "w")]
case("zunion", ok("ZUNION", "2", "a", "b"), ok("ZUNION", "2", "a", "b", "WITHSCORES"),
     ok("ZUNION", "2", "a", "b", "WEIGHTS", "2", "0.5", "WITHSCORES"),
     ok("ZUNION", "2", "a", "b", "AGGREGATE", "MIN", "WITHSCORES"), ok("ZUNION", "2", "a", "b", "AGGREGATE", "MAX", "WITHSCORES"),
     ok("ZUNION", "2", "a", "s", "WITHSCORES"), ok("ZUNION", "2", "a", "nokey"), ok("ZUNION", "1", "nokey"), setup=ZAB)
case("zinter", ok("ZINTER", "2", "a", "b"), ok("ZINTER", "2", "a", "b", "WITHSCORES"),
     ok("ZINTER", "2", "a", "b", "WEIGHTS", "1", "-1", "AGGREGATE", "SUM", "WITHSCORES"),
     ok("ZINTER", "2", "a", "b", "AGGREGATE", "MIN", "WITHSCORES"), ok("ZINTER", "2", "a", "s", "WITHSCORES"),
     ok("ZINTER", "2", "a", "nokey"), setup=ZAB)
case("zdiff", ok("ZDIFF", "2", "a", "b"), ok("ZDIFF", "2", "a", "b", "WITHSCORES"), ok("ZDIFF", "2", "b", "a"),
     ok("ZDIFF", "2", "a", "s"), ok("ZDIFF", "2", "a", "nokey", "WITHSCORES"), ok("ZDIFF", "1", "nokey"), setup=ZAB)
case("zunion-nan-is-zero", ok("ZUNION", "2", "p", "n", "WITHSCORES"), ok("ZUNION", "1", "p", "WEIGHTS", "0", "WITHSCORES"),
     ok("ZINTER", "2", "p", "n", "WEIGHTS", "0", "1", "WITHSCORES"), ok("ZUNIONSTORE", "d", "2", "p", "n"),
     ok("ZSCORE", "d", "m"), setup=[("ZADD", "p", "inf", "m"), ("ZADD", "n", "-inf", "m")],
     why="inf + -inf and 0 * inf are NaN, which the aggregation makes 0")
case("zunionstore-zinterstore-zdiffstore", ok("ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2", "AGGREGATE", "MAX"),
     ok("ZRANGE", "d", "0", "-1", "WITHSCORES"), ok("ZINTERSTORE", "d", "2", "a", "b", "AGGREGATE", "MIN"),
     ok("ZRANGE", "d", "0", "-1", "WITHSCORES"), ok("ZDIFFSTORE", "d", "2", "a", "b"), ok("ZRANGE", "d", "0", "-1", "WITHSCORES"),
     ok("ZUNIONSTORE", "s", "2", "a", "s"), ok("TYPE", "s"), ok("ZRANGE", "s", "0", "-1", "WITHSCORES"),
     ok("ZINTERSTORE", "d", "2", "a", "nokey"), ok("EXISTS", "d"), ok("ZDIFFSTORE", "d2", "2", "a", "a"), ok("EXISTS", "d2"),
     setup=ZAB)
case("zunion-errors", err("ZUNION", "0", "a"), err("ZINTER", "0", "a"), err("ZDIFF", "0", "a"),
     err("ZUNIONSTORE", "d", "0", "a"), err("ZUNION", "3", "a", "b"), err("ZUNION", "1", "a", "b"),
     err("ZUNION", "2", "a", "b", "WEIGHTS", "1"), err("ZUNION", "2", "a", "b", "WEIGHTS", "1", "x"),
     err("ZUNION", "2", "a", "b", "AGGREGATE", "AVG"), err("ZDIFF", "2", "a", "b", "WEIGHTS", "1", "1"),
     err("ZDIFF", "2", "a", "b", "AGGREGATE", "MIN"), err("ZUNIONSTORE", "d", "2", "a", "b", "WITHSCORES"),
     err("ZDIFFSTORE", "d", "2", "a", "b", "WITHSCORES"), err("ZUNION", "x", "a"), ok("EXISTS", "d"), setup=ZAB)
case("zintercard", ok("ZINTERCARD", "2", "a", "b"), ok("ZINTERCARD", "2", "a", "b", "LIMIT", "1"),
     ok("ZINTERCARD", "2", "a", "b", "LIMIT", "0"), ok("ZINTERCARD", "2", "a", "s"), ok("ZINTERCARD", "2", "a", "nokey"),
     err("ZINTERCARD", "2", "a", "b", "LIMIT", "-1"), err("ZINTERCARD", "0", "a"), err("ZINTERCARD", "3", "a", "b"),
     setup=ZAB)
case("zrandmember-one-member", ok("ZRANDMEMBER", "z"), ok("ZRANDMEMBER", "z", "1"), ok("ZRANDMEMBER", "z", "-2"),
     ok("ZRANDMEMBER", "z", "1", "WITHSCORES"), ok("ZRANDMEMBER", "z", "-2", "WITHSCORES"), ok("ZRANDMEMBER", "z", "0"),
     ok("ZRANDMEMBER", "nokey"), ok("ZRANDMEMBER", "nokey", "2"), ok("ZRANDMEMBER", "nokey", "1", "WITHSCORES"),
     setup=[("ZADD", "z", "1.5", "only")],
     why="one member: determined; RESP3 WITHSCORES: an array of [member, double] arrays")
case("zrandmember-counts", ok("ZRANDMEMBER", "z", rule=VALUE), ok("ZRANDMEMBER", "z", "3", rule=VALUE),
     ok("ZRANDMEMBER", "z", "-8", "WITHSCORES", rule=VALUE), ok("ZRANDMEMBER", "z", "10", "WITHSCORES", rule=Unordered()),
     err("ZRANDMEMBER", "z", "x"), err("ZRANDMEMBER", "z", "1", "FOO"), setup=Z5)
case("zscan", ok("ZSCAN", "z", "0", rule=SCAN_PAIRS), ok("ZSCAN", "z", "0", "MATCH", "[a-c]", "COUNT", "100", rule=SCAN_PAIRS),
     ok("ZSCAN", "nokey", "0"), ok("ZSCAN", "f", "0"), err("ZSCAN", "z", "x"), err("ZSCAN", "z", "0", "COUNT", "0"),
     setup=Z5 + [("ZADD", "f", "0.1", "tenth")],
     why="ZSCAN's scores are bulk strings in RESP3 too (not doubles)")

# Lists ------------------------------------------------------------------------------------------
L5 = [("RPUSH", "l", "a", "b", "c", "d", "e")]
case("lpush-rpush", ok("RPUSH", "l", "a", "b"), ok("LPUSH", "l", "y", "z"), ok("LRANGE", "l", "0", "-1"),
     ok("LLEN", "l"), ok("LLEN", "nokey"), err("LPUSH", "l"), err("RPUSH", "l"))
case("lpushx-rpushx", ok("LPUSHX", "l", "h"), ok("RPUSHX", "l", "t", "u"), ok("LPUSHX", "nokey", "x"),
     ok("RPUSHX", "nokey", "x"), ok("EXISTS", "nokey"), ok("LRANGE", "l", "0", "-1"), setup=[("RPUSH", "l", "m")])
case("lrange", ok("LRANGE", "l", "1", "3"), ok("LRANGE", "l", "-2", "-1"), ok("LRANGE", "l", "3", "1"),
     ok("LRANGE", "l", "-100", "100"), ok("LRANGE", "l", "5", "10"), ok("LRANGE", "nokey", "0", "-1"),
     err("LRANGE", "l", "x", "1"), setup=L5)
case("lindex", ok("LINDEX", "l", "0"), ok("LINDEX", "l", "-1"), ok("LINDEX", "l", "4"), ok("LINDEX", "l", "5"),
     ok("LINDEX", "l", "1000000000"), ok("LINDEX", "l", "-1000000000"), ok("LINDEX", "nokey", "0"),
     err("LINDEX", "l", "x"), setup=L5)
case("lset", ok("LSET", "l", "0", "A"), ok("LSET", "l", "-1", "E"), ok("LRANGE", "l", "0", "-1"), err("LSET", "l", "5", "x"),
     err("LSET", "l", "-6", "x"), err("LSET", "nokey", "0", "x"), err("LSET", "l", "x", "y"), setup=L5)
case("linsert", ok("LINSERT", "l", "BEFORE", "b", "X"), ok("LINSERT", "l", "after", "e", "Z"),
     ok("LINSERT", "l", "AFTER", "nope", "Q"), ok("LINSERT", "nokey", "AFTER", "a", "Q"), ok("EXISTS", "nokey"),
     ok("LRANGE", "l", "0", "-1"), err("LINSERT", "l", "MIDDLE", "a", "x"), setup=L5)
case("lrem", ok("LREM", "l", "2", "a"), ok("LRANGE", "l", "0", "-1"), ok("LREM", "l", "-1", "a"), ok("LRANGE", "l", "0", "-1"),
     ok("LREM", "l", "0", "b"), ok("LRANGE", "l", "0", "-1"), ok("LREM", "l", "0", "zz"), ok("LREM", "nokey", "0", "a"),
     ok("LREM", "l", "0", "c"), ok("LREM", "l", "0", "a"), ok("EXISTS", "l"), err("LREM", "l", "x", "a"),
     setup=[("RPUSH", "l", "a", "b", "a", "c", "a", "b", "a")])
case("ltrim", ok("LTRIM", "l", "1", "-2"), ok("LRANGE", "l", "0", "-1"), ok("LTRIM", "l", "-2", "100"),
     ok("LRANGE", "l", "0", "-1"), ok("LTRIM", "l", "2", "1"), ok("EXISTS", "l"), ok("LTRIM", "nokey", "0", "1"),
     err("LTRIM", "l", "x", "1"), setup=L5)
case("lpop-rpop", ok("LPOP", "l"), ok("RPOP", "l"), ok("LPOP", "l", "2"), ok("RPOP", "l", "0"), ok("LPOP", "l", "0"),
     ok("RPOP", "l", "5"), ok("EXISTS", "l"), ok("LPOP", "nokey"), ok("RPOP", "nokey"), ok("LPOP", "nokey", "2"),
     ok("LPOP", "nokey", "0"), setup=L5,
     why="a count on a missing key is a null array (*-1 / RESP3 _), a count 0 on a list an empty array")
case("lpop-errors", err("LPOP", "l", "-1"), err("RPOP", "l", "x"), err("LPOP", "l", "1", "2"), ok("LLEN", "l"), setup=L5)
case("lpos", ok("LPOS", "p", "c"), ok("LPOS", "p", "c", "RANK", "2"), ok("LPOS", "p", "c", "RANK", "-1"),
     ok("LPOS", "p", "c", "RANK", "4"), ok("LPOS", "p", "c", "COUNT", "0"), ok("LPOS", "p", "c", "COUNT", "2"),
     ok("LPOS", "p", "c", "RANK", "-1", "COUNT", "2"), ok("LPOS", "p", "c", "MAXLEN", "2"),
     ok("LPOS", "p", "c", "COUNT", "0", "MAXLEN", "3"), ok("LPOS", "p", "nope"), ok("LPOS", "p", "nope", "COUNT", "2"),
     ok("LPOS", "nokey", "x"), ok("LPOS", "nokey", "x", "COUNT", "1"),
     setup=[("RPUSH", "p", "a", "b", "c", "1", "2", "3", "c", "c")])
case("lpos-errors", err("LPOS", "p", "c", "RANK", "0"), err("LPOS", "p", "c", "COUNT", "-1"),
     err("LPOS", "p", "c", "MAXLEN", "-1"), err("LPOS", "p", "c", "FOO", "1"), err("LPOS", "p", "c", "RANK"),
     err("LPOS", "p", "c", "RANK", "x"), setup=[("RPUSH", "p", "c")])
case("lmove-rpoplpush", ok("LMOVE", "l", "d", "LEFT", "RIGHT"), ok("LMOVE", "l", "d", "RIGHT", "LEFT"),
     ok("LMOVE", "d", "d", "LEFT", "RIGHT"), ok("LRANGE", "d", "0", "-1"), ok("RPOPLPUSH", "l", "d"), ok("LRANGE", "d", "0", "-1"),
     ok("LMOVE", "nokey", "d", "LEFT", "LEFT"), ok("RPOPLPUSH", "nokey", "d"), err("LMOVE", "l", "d", "UP", "LEFT"),
     ok("LRANGE", "l", "0", "-1"), setup=L5)
case("lmpop", ok("LMPOP", "1", "l", "LEFT"), ok("LMPOP", "2", "nokey", "l", "RIGHT", "COUNT", "2"),
     ok("LMPOP", "1", "l", "LEFT", "COUNT", "10"), ok("EXISTS", "l"), ok("LMPOP", "1", "l", "LEFT"),
     ok("LMPOP", "2", "l1", "l2", "RIGHT"), setup=L5 + [("RPUSH", "l1", "x"), ("RPUSH", "l2", "y")])
case("lmpop-errors", err("LMPOP", "0", "l", "LEFT"), err("LMPOP", "1", "l", "LEFT", "COUNT", "0"),
     err("LMPOP", "1", "l", "MIDDLE"), err("LMPOP", "2", "l", "LEFT"), err("LMPOP", "1", "l"), setup=L5)
case("blpop-brpop", ok("BLPOP", "nokey", "l", "0"), ok("BRPOP", "l", "nokey", "0.01"), ok("BLPOP", "nokey", "0.01"),
     ok("BRPOP", "nokey", "nokey2", "0.01"), ok("LRANGE", "l", "0", "-1"), setup=L5,
     why="non-empty keys answer at once; empty ones after the 10 ms timeout: a null array (RESP3 _)")
case("blmove-brpoplpush", ok("BLMOVE", "l", "d", "LEFT", "RIGHT", "0"), ok("BRPOPLPUSH", "l", "d", "0.01"),
     ok("BLMOVE", "nokey", "d", "LEFT", "LEFT", "0.01"), ok("BRPOPLPUSH", "nokey", "d", "0.01"), ok("LRANGE", "d", "0", "-1"),
     setup=L5, why="on timeout BLMOVE/BRPOPLPUSH answer a null ARRAY (*-1), not a null bulk")
case("blmpop", ok("BLMPOP", "0", "2", "nokey", "l", "LEFT", "COUNT", "2"), ok("BLMPOP", "0.01", "1", "l", "RIGHT"),
     ok("BLMPOP", "0.01", "1", "nokey", "LEFT"), err("BLMPOP", "0.01", "0", "l", "LEFT"), setup=L5)
case("blocking-timeout-errors", err("BLPOP", "k", "-1"), err("BRPOP", "k", "-0.5"), err("BLMOVE", "k", "d", "LEFT", "LEFT", "-1"),
     err("BRPOPLPUSH", "k", "d", "-1"), err("BLMPOP", "-1", "1", "k", "LEFT"), err("BZPOPMIN", "k", "-1"),
     err("BZPOPMAX", "k", "-1"), err("BZMPOP", "-1", "1", "k", "MIN"), err("BLPOP", "k", "soon"),
     err("BZPOPMIN", "k", "x"), err("BLMPOP", "x", "1", "k", "LEFT"), err("BLPOP", "k"))
case("blocking-in-multi", ok("MULTI"), ok("BLPOP", "nokey", "0"), ok("BRPOP", "nokey", "0"),
     ok("BLMOVE", "nokey", "d", "LEFT", "LEFT", "0"), ok("BRPOPLPUSH", "nokey", "d", "0"), ok("BLMPOP", "0", "1", "nokey", "LEFT"),
     ok("BZPOPMIN", "nokey", "0"), ok("BZPOPMAX", "nokey", "0"), ok("BZMPOP", "0", "1", "nokey", "MIN"),
     ok("RPUSH", "full", "v"), ok("BLPOP", "full", "0"), ok("EXEC"),
     why="inside MULTI a blocking pop never blocks: nil at once. In RESP2 BLMOVE/BRPOPLPUSH answer a null "
         "bulk ($-1) there (a null array *-1 on timeout outside MULTI), the others a null array")

# SORT and SORT_RO -------------------------------------------------------------------------------
SORT_SETUP = [("RPUSH", "l", "3", "1", "2", "10"),
              ("MSET", "w_3", "30", "w_1", "100", "w_2", "20", "w_10", "5", "o_3", "three", "o_1", "one", "o_2", "two"),
              ("HSET", "h_3", "f", "3", "n", "c"), ("HSET", "h_1", "f", "1", "n", "a"), ("HSET", "h_2", "f", "2", "n", "b"),
              ("HSET", "h_10", "f", "0", "n", "z"), ("ZADD", "z", "1", "c", "2", "b", "3", "a"), ("SADD", "s", "5", "3", "9"),
              ("RPUSH", "words", "banana", "apple", "Cherry")]
case("sort", ok("SORT", "l"), ok("SORT", "l", "DESC"), ok("SORT", "l", "ALPHA"), ok("SORT", "l", "LIMIT", "1", "2"),
     ok("SORT", "l", "LIMIT", "1", "-1"), ok("SORT", "l", "LIMIT", "-1", "2"), ok("SORT", "l", "LIMIT", "0", "0"),
     ok("SORT", "s"), ok("SORT", "z", "ALPHA"), ok("SORT", "words", "ALPHA", "DESC", "LIMIT", "0", "2"), ok("SORT", "nokey"),
     setup=SORT_SETUP)
case("sort-by-get", ok("SORT", "l", "BY", "w_*"), ok("SORT", "l", "BY", "w_*", "GET", "o_*", "GET", "#"),
     ok("SORT", "l", "BY", "h_*->f", "GET", "h_*->n", "GET", "#"), ok("SORT", "l", "BY", "h_*->f", "DESC", "GET", "h_*->nope"),
     ok("SORT", "l", "GET", "nope_*"), ok("SORT", "l", "BY", "w_*", "ALPHA"), setup=SORT_SETUP,
     why="GET of a missing key or field is a null (RESP3 _) inside the array")
case("sort-nosort", ok("SORT", "l", "BY", "nosort"), ok("SORT", "l", "BY", "nosort", "DESC"),
     ok("SORT", "l", "BY", "nosort", "LIMIT", "1", "2"), ok("SORT", "l", "BY", "nosort", "GET", "o_*"),
     ok("SORT", "z", "BY", "nosort"), ok("SORT", "z", "BY", "nosort", "DESC"), ok("SORT", "z", "BY", "nosort", "LIMIT", "1", "1"),
     setup=SORT_SETUP, why="BY nosort: a list in its order (DESC from the tail), a sorted set in score order")
case("sort-store", ok("SORT", "l", "STORE", "dst"), ok("TYPE", "dst"), ok("LRANGE", "dst", "0", "-1"),
     ok("SORT", "l", "GET", "o_*", "DESC", "STORE", "dst"), ok("LRANGE", "dst", "0", "-1"),
     ok("SORT", "s", "STORE", "s"), ok("TYPE", "s"), ok("LRANGE", "s", "0", "-1"), ok("SORT", "nokey", "STORE", "dst"),
     ok("EXISTS", "dst"), setup=SORT_SETUP)
case("sort-ro", ok("SORT_RO", "l"), ok("SORT_RO", "l", "BY", "w_*", "DESC"), ok("SORT_RO", "l", "GET", "o_*", "LIMIT", "0", "2"),
     ok("SORT_RO", "nokey"), err("SORT_RO", "l", "STORE", "dst"), ok("EXISTS", "dst"), setup=SORT_SETUP)
case("sort-errors", err("SORT", "words"), err("SORT", "l", "FOO"), err("SORT", "l", "LIMIT", "1"),
     err("SORT", "l", "LIMIT", "a", "b"), err("SORT", "str"), ok("SORT", "words", "BY", "nosort"),
     setup=SORT_SETUP + [("SET", "str", "x")])

# Keyspace commands on collections -----------------------------------------------------------
ALL_TYPES = [("SET", "str", "v"), ("HSET", "hash", "f", "v", "g", "w"), ("SADD", "set", "m1", "m2"),
             ("ZADD", "zset", "1", "z1", "2", "z2"), ("RPUSH", "list", "e1", "e2")]
case("type-every-type", ok("TYPE", "str"), ok("TYPE", "hash"), ok("TYPE", "set"), ok("TYPE", "zset"), ok("TYPE", "list"),
     ok("TYPE", "nokey"), setup=ALL_TYPES)
case("keys-dbsize-every-type", ok("KEYS", "*", rule=Unordered()), ok("DBSIZE"), ok("EXISTS", "str", "hash", "set", "zset", "list"),
     ok("DEL", "hash", "set"), ok("DBSIZE"), ok("KEYS", "*s*", rule=Unordered()), setup=ALL_TYPES)
case("scan-type-collections", ok("SCAN", "0", "COUNT", "1000", "TYPE", "hash", rule=SCAN_ONE_CALL),
     ok("SCAN", "0", "COUNT", "1000", "TYPE", "set", rule=SCAN_ONE_CALL),
     ok("SCAN", "0", "COUNT", "1000", "TYPE", "zset", rule=SCAN_ONE_CALL),
     ok("SCAN", "0", "COUNT", "1000", "TYPE", "list", rule=SCAN_ONE_CALL),
     ok("SCAN", "0", "COUNT", "1000", "TYPE", "string", rule=SCAN_ONE_CALL),
     ok("SCAN", "0", "COUNT", "1000", "MATCH", "*s*", "TYPE", "set", rule=SCAN_ONE_CALL),
     setup=ALL_TYPES + [("HSET", "hash2", "a", "b"), ("RPUSH", "list2", "x")])
case("randomkey-hash", ok("RANDOMKEY"), setup=[("HSET", "only", "f", "v")])
case("copy-collections", ok("COPY", "hash", "h2"), ok("HGETALL", "h2", rule=Pairs()), ok("TTL", "h2"),
     ok("COPY", "set", "s2"), ok("SMEMBERS", "s2", rule=Unordered()), ok("COPY", "zset", "z2"),
     ok("ZRANGE", "z2", "0", "-1", "WITHSCORES"), ok("COPY", "list", "l2"), ok("LRANGE", "l2", "0", "-1"),
     ok("HSET", "hash", "f", "changed"), ok("RPUSH", "list", "e3"), ok("HGET", "h2", "f"), ok("LLEN", "l2"),
     ok("COPY", "zset", "l2"), ok("TYPE", "l2"), ok("COPY", "zset", "l2", "REPLACE"), ok("TYPE", "l2"),
     ok("ZRANGE", "l2", "0", "-1"), setup=ALL_TYPES + [("EXPIRE", "hash", "100")])
case("rename-collections", ok("RENAME", "hash", "h2"), ok("HGETALL", "h2", rule=Pairs()), ok("TTL", "h2"), ok("EXISTS", "hash"),
     ok("RENAME", "list", "zset"), ok("TYPE", "zset"), ok("LRANGE", "zset", "0", "-1"), ok("RENAMENX", "zset", "set"),
     ok("RENAMENX", "set", "s2"), ok("SMEMBERS", "s2", rule=Unordered()), setup=ALL_TYPES + [("EXPIRE", "hash", "100")],
     why="a renamed hash keeps its fields and its TTL; RENAME replaces a key of another type")
case("expire-collections", ok("EXPIRE", "hash", "100"), ok("TTL", "hash"), ok("PERSIST", "hash"), ok("TTL", "hash"),
     ok("PEXPIRE", "zset", "100000"), ok("PTTL", "zset", rule=IntRange(98000, 100000)), ok("EXPIRE", "set", "-1"),
     ok("EXISTS", "set"), ok("TYPE", "set"), ok("SADD", "set", "new"), ok("SMEMBERS", "set"), ok("DEL", "list", "zset"),
     ok("EXISTS", "list", "zset"), setup=ALL_TYPES)
case("empty-collections-disappear", ok("HDEL", "hash", "f", "g"), ok("EXISTS", "hash"), ok("SREM", "set", "m1", "m2"),
     ok("EXISTS", "set"), ok("ZREM", "zset", "z1", "z2"), ok("EXISTS", "zset"), ok("LPOP", "list"), ok("RPOP", "list"),
     ok("EXISTS", "list"), ok("TYPE", "list"), ok("DBSIZE"), ok("KEYS", "*"), setup=ALL_TYPES)

# WRONGTYPE --------------------------------------------------------------------------------------
case("wrongtype-collections", err("HGET", "set", "f"), err("HSET", "zset", "f", "v"), err("HGETALL", "list"),
     err("SADD", "hash", "m"), err("SMEMBERS", "zset"), err("SISMEMBER", "list", "m"), err("ZADD", "hash", "1", "m"),
     err("ZRANGE", "set", "0", "-1"), err("ZSCORE", "list", "m"), err("LPUSH", "hash", "x"), err("LRANGE", "set", "0", "-1"),
     err("LPOP", "zset"), err("HGET", "str", "f"), err("SADD", "str", "m"), err("ZADD", "str", "1", "m"),
     err("LPUSH", "str", "x"), err("LLEN", "hash"), err("SCARD", "zset"), err("ZCARD", "set"), err("HLEN", "list"),
     setup=ALL_TYPES)
case("wrongtype-multikey", err("SINTER", "set", "hash"), err("SINTER", "nokey", "str"), err("SUNION", "set", "list"),
     err("SDIFF", "set", "zset"), err("SINTERCARD", "2", "nokey", "str"), err("ZUNION", "2", "zset", "list"),
     err("LMOVE", "list", "hash", "LEFT", "LEFT"), err("RPOPLPUSH", "list", "str"), err("SMOVE", "set", "zset", "m1"),
     err("BLPOP", "nokey", "hash", "0.01"), err("BZPOPMIN", "list", "0.01"), ok("LRANGE", "list", "0", "-1"),
     ok("ZUNION", "2", "zset", "set", "WITHSCORES"), setup=ALL_TYPES,
     why="every source key is type-checked (even after a missing one); ZUNION & co read sets as scores 1")
case("wrongtype-string-commands", err("GET", "hash"), err("APPEND", "set", "x"), err("INCR", "zset"),
     err("INCRBYFLOAT", "list", "1"), err("SETRANGE", "hash", "0", "x"), err("GETRANGE", "set", "0", "-1"),
     err("STRLEN", "zset"), err("SETBIT", "list", "0", "1"), err("GETBIT", "hash", "0"), err("GETDEL", "set"),
     err("GETEX", "zset"), err("GETSET", "list", "x"), err("SET", "hash", "x", "GET"), err("BITCOUNT", "list"),
     ok("MGET", "str", "hash", "set", "zset", "list", "nokey"), ok("SETNX", "hash", "x"), ok("SET", "list", "x", "NX"),
     ok("TYPE", "hash"), err("LCS", "hash", "str"), setup=ALL_TYPES,
     why="MGET answers nil for a key that is not a string")
case("set-replaces-collections", ok("SET", "hash", "x"), ok("TYPE", "hash"), ok("GET", "hash"), ok("TTL", "hash"),
     ok("MSET", "set", "1", "zset", "2"), ok("TYPE", "set"), ok("TYPE", "zset"), ok("SETEX", "list", "100", "v"),
     ok("TYPE", "list"), ok("SUNIONSTORE", "str", "set2"), ok("TYPE", "str"),
     setup=ALL_TYPES + [("EXPIRE", "hash", "100"), ("SADD", "set2", "a")])

# Transactions across types ----------------------------------------------------------------------
case("multi-across-types", ok("MULTI"), ok("HSET", "h", "f", "v", "n", "1"), ok("SADD", "s", "a"), ok("ZADD", "z", "1.5", "m"),
     ok("LPUSH", "l", "x", "y"), ok("HGET", "h", "f"), ok("HGETALL", "h"), ok("SMEMBERS", "s"), ok("ZSCORE", "z", "m"),
     ok("ZRANGE", "z", "0", "-1", "WITHSCORES"), ok("LRANGE", "l", "0", "-1"), ok("HINCRBY", "h", "n", "5"),
     ok("SADD", "l", "oops"), ok("EXEC", rule=Seq(EXACT, EXACT, EXACT, EXACT, EXACT, Pairs(), EXACT, EXACT, EXACT, EXACT,
                                                  EXACT, EXACT)),
     ok("HGETALL", "h", rule=Pairs()),
     why="EXEC's array holds each reply in the connection's protocol (map, set, double); the WRONGTYPE "
         "inside it fails only that command")
case("watch-hash-hset-by-other", ok("WATCH", "h"), ok("HSET", "h", "f", "other", conn="b"), ok("MULTI"), ok("HSET", "h", "f", "mine"),
     ok("EXEC"), ok("HGET", "h", "f"), setup=[("HSET", "h", "f", "v")])
case("watch-hash-expire-by-other", ok("WATCH", "h"), ok("EXPIRE", "h", "100", conn="b"), ok("MULTI"), ok("HGET", "h", "f"),
     ok("EXEC"), setup=[("HSET", "h", "f", "v")])
case("watch-list-popped-by-other", ok("WATCH", "l"), ok("LPOP", "l", conn="b"), ok("MULTI"), ok("LRANGE", "l", "0", "-1"),
     ok("EXEC"), ok("WATCH", "l"), ok("LRANGE", "l", "0", "-1", conn="b"), ok("MULTI"), ok("RPOP", "l"), ok("EXEC"),
     setup=[("RPUSH", "l", "a", "b", "c")])

_ids = [c.id for c in CASES]
assert len(_ids) == len(set(_ids)), "duplicate case ids"

# --------------------------------------------------------------------------------------------
# Running a case
# --------------------------------------------------------------------------------------------

HELLO3_STEP = Step(["HELLO", "3"], "ok", rule=HELLO)
FLUSHALL_STEP = Step(["FLUSHALL"], "ok")


class Result:
    def __init__(self, label, step, reply):
        self.label = label
        self.step = step
        self.reply = reply


def run_case(server, c, proto):
    """Runs case ``c`` on ``server`` in RESP ``proto``; returns the list of Results."""
    out = []
    admin = server.connect()
    try:
        out.append(Result("flush", FLUSHALL_STEP, admin.call("FLUSHALL")))
        for args in c.setup:
            out.append(Result("setup", Step(args, "ok"), admin.call(*args)))
    finally:
        admin.close()
    conns = {}
    try:
        for step in c.steps:
            conn = conns.get(step.conn)
            if conn is None:
                conn = conns[step.conn] = server.connect(timeout=8.0)
                if proto == 3:
                    out.append(Result("conn %s" % step.conn, HELLO3_STEP, conn.call("HELLO", "3")))
            if step.closed:
                reply = conn.read(timeout=5.0)
            else:
                reply = conn.call(*step.args)
            out.append(Result("conn %s" % step.conn, step, reply))
            if reply.t in ("EOF", "TIMEOUT") and not step.closed:
                # The connection is gone or stuck: the rest of the script cannot run on it.
                break
    finally:
        for conn in conns.values():
            conn.close()
    return out


def wait_no_bgsave(server, timeout=30.0):
    """redis-server: wait until a BGSAVE child has finished (so the next BGSAVE is not refused)."""
    if server.kind != "redis":
        return
    deadline = time.monotonic() + timeout
    with server.connect() as conn:
        while time.monotonic() < deadline:
            r = conn.call("INFO", "persistence")
            if r.t == "$" and b"rdb_bgsave_in_progress:0" in r.v:
                return
            time.sleep(0.05)


def _check_reference(c, ref_results):
    """The table must describe redis-server: setup succeeds, ok/err expectations hold."""
    problems = []
    for res in ref_results:
        if res.step.pinned is not None:
            continue
        want = res.step.expect
        if want == "ok" and res.reply.is_error or want == "err" and not res.reply.is_error \
                or res.reply.t in ("EOF", "TIMEOUT") and not res.step.closed:
            problems.append("  %s %s: expected %s, redis-server replied %s"
                            % (res.label, res.step.title(), want, short_raw(res.reply.raw, 300)))
        if res.step.closed and res.reply.t != "EOF":
            problems.append("  %s: expected the connection closed, got %s" % (res.label, render(res.reply, 200)))
    return problems


def _report(c, proto, ref, kv, ref_results, kv_results):
    lines = []
    diffs = 0
    n = max(len(ref_results), len(kv_results))
    for i in range(n):
        r = ref_results[i] if i < len(ref_results) else None
        k = kv_results[i] if i < len(kv_results) else None
        base = r or k
        step = base.step
        title = "[%d] %s: %s" % (i, base.label, step.title())
        if r is None or k is None:
            diffs += 1
            lines.append("%s  <-- only one server got this far" % title)
            for who, res in ((ref.label, r), (kv.label, k)):
                lines.append("      %-22s %s" % (who + ":", short_raw(res.reply.raw) if res else "(not run)"))
            continue
        ref_reply = r.reply
        if step.pinned is not None:
            ref_reply = parse_reply(step.pinned)
        errors = step.errors or c.errors
        same, na, nb = compare(ref_reply, k.reply, step.rule, errors)
        if not same:
            diffs += 1
        mark = "ok" if same else "DIFFERS"
        lines.append("%s  %s%s" % (title, mark, "  (rule %r)" % (step.rule,) if step.rule is not None else ""))
        ref_name = ref.label + (" [pinned]" if step.pinned is not None else "")
        lines.append("      %-22s %s" % (ref_name + ":", short_raw(ref_reply.raw)))
        lines.append("      %-22s %s" % (kv.label + ":", short_raw(k.reply.raw)))
        if not same:
            lines.append("      %-22s %s" % ("normalized ref:", render_norm(na)))
            lines.append("      %-22s %s" % ("normalized got:", render_norm(nb)))
    return diffs, lines


def render_norm(n, limit=1500):
    s = repr(n)
    return s if len(s) <= limit else s[:limit] + "...(%d more chars)" % (len(s) - limit)


# --------------------------------------------------------------------------------------------
# Fixtures and the test
# --------------------------------------------------------------------------------------------


class _Servers:
    def __init__(self):
        self.ref = None
        self.kv = None
        self.restarts = []

    def start(self):
        self.ref = start_redis("redis-server")
        try:
            self.kv = self._start_kv()
        except BaseException:
            self.ref.stop()
            raise
        return self

    def _start_kv(self):
        if KV_TARGET == "redis":
            return start_redis("redis-server#2")
        if KV_TARGET != "kvserver":
            raise RuntimeError("ORACLE_KV_TARGET must be 'kvserver' or 'redis', not %r" % KV_TARGET)
        binary = os.environ.get("KVSERVER_BIN") or str(REPO / ".build" / "debug" / "kvserver")
        if not os.access(binary, os.X_OK):
            pytest.fail("kvserver binary not found at %s (build it, set KVSERVER_BIN, or run with "
                        "ORACLE_KV_TARGET=redis to check the test itself)" % binary, pytrace=False)
        return start_kvserver(binary)

    def ensure_running(self):
        """A server that died in an earlier case is restarted (and the case says so)."""
        notes = []
        for attr in ("ref", "kv"):
            s = getattr(self, attr)
            if s.proc is None or s.proc.poll() is not None:
                code = s.proc.returncode if s.proc is not None else None
                notes.append("%s had exited (status %s) before this case; log tail:\n%s\nrestarted."
                             % (s.label, code, s.log_tail(2000)))
                s.stop(remove_dir=False)
                s.start()
        return notes

    def stop(self):
        for s in (self.kv, self.ref):
            if s is not None:
                s.stop()


@pytest.fixture(scope="module")
def oracle_servers():
    if not os.access(executable_path(REDIS_BIN), os.X_OK):
        pytest.fail("redis-server not found (apt-get install redis-server)", pytrace=False)
    servers = _Servers().start()
    try:
        yield servers
    finally:
        servers.stop()


PARAMS = [pytest.param(c, proto, id="resp%d-%s" % (proto, c.id)) for c in CASES for proto in (2, 3)]


@pytest.mark.parametrize("c, proto", PARAMS)
def test_reply_oracle(oracle_servers, c, proto):
    if c.pinned and KV_TARGET == "redis":
        pytest.skip("pinned reference reply (%s)" % c.why)
    notes = oracle_servers.ensure_running()
    ref, kv = oracle_servers.ref, oracle_servers.kv
    ref_results = run_case(ref, c, proto)
    if c.bgsave:
        wait_no_bgsave(ref)
    kv_results = run_case(kv, c, proto)
    if c.bgsave:
        wait_no_bgsave(kv)

    problems = _check_reference(c, ref_results)
    if problems:
        pytest.fail("case table does not describe redis-server (fix the case):\n" + "\n".join(problems),
                    pytrace=False)

    diffs, lines = _report(c, proto, ref, kv, ref_results, kv_results)
    if diffs:
        head = "resp%d-%s: %d of %d replies differ" % (proto, c.id, diffs, max(len(ref_results), len(kv_results)))
        if c.why:
            head += "\n  (case note: %s)" % c.why
        if notes:
            head += "\n  " + "\n  ".join(notes)
        pytest.fail(head + "\n" + "\n".join(lines), pytrace=False)


# --------------------------------------------------------------------------------------------
# The comparison machinery itself (no servers needed)
# --------------------------------------------------------------------------------------------


def _same(a, b, rule=None, errors="full"):
    return compare(parse_reply(a), parse_reply(b), rule, errors)[0]


def test_oracle_support_parser_keeps_every_type():
    raw = (b"*13\r\n+OK\r\n-ERR x\r\n:-5\r\n$4\r\na\r\nb\r\n$-1\r\n*-1\r\n_\r\n,1.5\r\n#t\r\n(123\r\n"
           b"=7\r\ntxt:abc\r\n%1\r\n+k\r\n~1\r\n:1\r\n|1\r\n+ttl\r\n:3\r\n$1\r\nv\r\n")
    r = parse_reply(raw)
    assert r.raw == raw
    assert [c.t for c in r.v] == ["+", "-", ":", "$", "$", "*", "_", ",", "#", "(", "=", "%", "$"]
    assert r.v[3].v == b"a\r\nb" and r.v[4].v is None and r.v[5].v is None
    assert r.v[10].v == (b"txt", b"abc")
    assert r.v[12].attrs is not None and r.v[12].v == b"v"
    pushed = parse_reply(b">2\r\n$7\r\nmessage\r\n$1\r\nx\r\n")
    assert pushed.t == ">" and len(pushed.v) == 2


def test_oracle_support_nulls_and_types_never_masked():
    assert not _same(b"$-1\r\n", b"*-1\r\n")
    assert not _same(b"$-1\r\n", b"_\r\n")
    assert not _same(b"$-1\r\n", b"$0\r\n\r\n", VALUE)
    assert not _same(b"$1\r\nx\r\n", b"+x\r\n", TYPE)
    assert not _same(b"=5\r\ntxt:a\r\n", b"$1\r\na\r\n", VALUE)
    assert not _same(b"~1\r\n:1\r\n", b"*1\r\n:1\r\n", TYPE)
    assert _same(b"$2\r\nab\r\n", b"$3\r\nxyz\r\n", VALUE)
    assert _same(b"*2\r\n:1\r\n:2\r\n", b"*0\r\n", TYPE)
    assert not _same(b"*2\r\n:1\r\n:2\r\n", b"*1\r\n:1\r\n", VALUE)


def test_oracle_support_error_modes():
    a, b = b"-ERR one thing\r\n", b"-ERR another\r\n"
    assert not _same(a, b)
    assert _same(a, b, errors="code")
    assert not _same(a, b"-WRONGTYPE one thing\r\n", errors="code")
    assert _same(b"-ERR unknown subcommand 'X'. Try A.\r\n", b"-ERR unknown subcommand 'X'. Try B.\r\n",
                 errors=ErrPrefix("ERR unknown subcommand"))
    assert not _same(b"-ERR unknown command\r\n", b"-ERR syntax error\r\n", errors=ErrPrefix("ERR unknown"))
    # Errors stay errors under any mask.
    assert not _same(b"-ERR x\r\n", b"+OK\r\n", TYPE)


def test_oracle_support_structural_rules():
    hello2 = b"*4\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:2\r\n"
    other2 = b"*4\r\n$5\r\nproto\r\n:2\r\n$6\r\nserver\r\n$2\r\nkv\r\n"
    assert _same(hello2, other2, Pairs({"server": VALUE}))
    assert not _same(hello2, other2, Pairs())
    assert not _same(hello2, b"%2\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:2\r\n", Pairs({"server": VALUE}))
    assert not _same(hello2, b"*2\r\n$6\r\nserver\r\n$5\r\nredis\r\n", Pairs({"server": VALUE}))
    assert _same(b"*2\r\n$1\r\na\r\n$1\r\nb\r\n", b"*2\r\n$1\r\nb\r\n$1\r\na\r\n", Unordered())
    assert not _same(b"*2\r\n$1\r\na\r\n$1\r\na\r\n", b"*2\r\n$1\r\na\r\n$1\r\nb\r\n", Unordered())
    assert _same(b"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", b"*1\r\n$1\r\nz\r\n", Each(VALUE))
    assert not _same(b"*1\r\n$1\r\na\r\n", b"*1\r\n+z\r\n", Each(VALUE))
    assert _same(b":5\r\n", b":7\r\n", IntRange(1, 10))
    assert not _same(b":5\r\n", b":70\r\n", IntRange(1, 10))
    assert not _same(b"*1\r\n:5\r\n", b"*2\r\n:5\r\n:5\r\n", Seq(EXACT))
