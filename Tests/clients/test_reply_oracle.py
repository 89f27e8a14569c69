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
