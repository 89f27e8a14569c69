"""Lists (the non-blocking commands) through redis-py and valkey-py, RESP2 and RESP3 (see
test_types.py; the blocking pops are in test_types_blocking.py)."""

from __future__ import annotations

import re

import pytest

from test_types import lib, r  # noqa: F401  (fixtures)


def err(lib, text):
    """The exact error text (the library strips the ERR code)."""
    return pytest.raises(lib.exc.ResponseError, match="^" + re.escape(text) + "$")


def test_push_pushx_llen_lrange_lindex(lib, r):
    assert r.rpush("l", "a", "b") == 2
    assert r.lpush("l", "y", "z") == 4  # each pushed at the head in turn: z y a b
    assert r.lrange("l", 0, -1) == [b"z", b"y", b"a", b"b"]
    assert r.lpushx("l", "h") == 5
    assert r.rpushx("l", "t") == 6
    assert r.lpushx("nokey", "x") == 0 and r.rpushx("nokey", "x") == 0
    assert r.exists("nokey") == 0
    assert r.llen("l") == 6 and r.llen("nokey") == 0
    assert r.lrange("l", 1, 3) == [b"z", b"y", b"a"]
    assert r.lrange("l", -2, -1) == [b"b", b"t"]
    assert r.lrange("l", 5, 2) == []  # inverted
    assert r.lrange("l", -100, 100) == [b"h", b"z", b"y", b"a", b"b", b"t"]
    assert r.lrange("l", 6, 10) == []
    assert r.lrange("nokey", 0, -1) == []
    assert r.lindex("l", 0) == b"h"
    assert r.lindex("l", -1) == b"t"
    assert r.lindex("l", 5) == b"t"
    assert r.lindex("l", 6) is None
    assert r.lindex("l", 10**9) is None  # far past either end: nil
    assert r.lindex("l", -(10**9)) is None
    assert r.lindex("nokey", 0) is None
    with err(lib, "value is not an integer or out of range"):
        r.lindex("l", "x")
    assert r.rpush("bin", b"", b"\x00\r\n", b"x" * 10_000) == 3
    assert r.lrange("bin", 0, -1) == [b"", b"\x00\r\n", b"x" * 10_000]


def test_lpop_rpop(lib, r):
    r.rpush("l", "a", "b", "c", "d", "e")
    assert r.lpop("l") == b"a"
    assert r.rpop("l") == b"e"
    assert r.lpop("l", 2) == [b"b", b"c"]
    assert r.rpop("l", 0) == []  # count 0 on a list: empty array
    assert r.lpop("l", 0) == []
    assert r.rpop("l", 5) == [b"d"]
    assert r.exists("l") == 0
    assert r.lpop("nokey") is None and r.rpop("nokey") is None
    assert r.lpop("nokey", 2) is None  # a count on a missing key: nil, not []
    assert r.lpop("nokey", 0) is None
    r.rpush("l", "x")
    with err(lib, "value is out of range, must be positive"):
        r.lpop("l", -1)
    assert r.lrange("l", 0, -1) == [b"x"]


def test_lset_linsert_lrem_ltrim(lib, r):
    r.rpush("l", "a", "b", "c")
    assert r.lset("l", 0, "A") is True
    assert r.lset("l", -1, "C") is True
    assert r.lrange("l", 0, -1) == [b"A", b"b", b"C"]
    with err(lib, "index out of range"):
        r.lset("l", 3, "x")
    with err(lib, "index out of range"):
        r.lset("l", -4, "x")
    with err(lib, "no such key"):
        r.lset("nokey", 0, "x")
    assert r.linsert("l", "BEFORE", "b", "X") == 4
    assert r.linsert("l", "AFTER", "C", "Z") == 5
    assert r.lrange("l", 0, -1) == [b"A", b"X", b"b", b"C", b"Z"]
    assert r.linsert("l", "AFTER", "missing", "Q") == -1
    assert r.linsert("nokey", "AFTER", "a", "Q") == 0
    assert r.exists("nokey") == 0
    with err(lib, "syntax error"):
        r.execute_command("LINSERT", "l", "MIDDLE", "A", "x")
    # LREM: count > 0 from the head, < 0 from the tail, 0 all.
    r.rpush("r", "a", "b", "a", "c", "a", "b", "a")
    assert r.lrem("r", 2, "a") == 2
    assert r.lrange("r", 0, -1) == [b"b", b"c", b"a", b"b", b"a"]
    assert r.lrem("r", -1, "a") == 1
    assert r.lrange("r", 0, -1) == [b"b", b"c", b"a", b"b"]
    assert r.lrem("r", 0, "b") == 2
    assert r.lrange("r", 0, -1) == [b"c", b"a"]
    assert r.lrem("r", 0, "zz") == 0
    assert r.lrem("nokey", 0, "a") == 0
    with err(lib, "value is not an integer or out of range"):
        r.execute_command("LREM", "r", "x", "a")
    # LTRIM keeps a range (negative indexes from the end); an empty range deletes the key.
    r.rpush("t", *"abcdefg")
    assert r.ltrim("t", 1, -2) is True
    assert r.lrange("t", 0, -1) == [b"b", b"c", b"d", b"e", b"f"]
    assert r.ltrim("t", -3, 100) is True
    assert r.lrange("t", 0, -1) == [b"d", b"e", b"f"]
    assert r.ltrim("t", 2, 1) is True
    assert r.exists("t") == 0
    assert r.ltrim("nokey", 0, 1) is True


def test_lpos(lib, r):
    r.rpush("p", "a", "b", "c", "1", "2", "3", "c", "c")
    assert r.lpos("p", "c") == 2
    assert r.lpos("p", "c", rank=2) == 6
    assert r.lpos("p", "c", rank=-1) == 7
    assert r.lpos("p", "c", rank=-3) == 2
    assert r.lpos("p", "c", rank=4) is None
    assert r.lpos("p", "c", count=0) == [2, 6, 7]  # COUNT 0: all matches
    assert r.lpos("p", "c", count=2) == [2, 6]
    assert r.lpos("p", "c", rank=-1, count=2) == [7, 6]
    assert r.lpos("p", "c", maxlen=2) is None  # only the first 2 elements compared
    assert r.lpos("p", "c", count=0, maxlen=3) == [2]
    assert r.lpos("p", "c", rank=-1, maxlen=1) == 7
    assert r.lpos("p", "missing") is None
    assert r.lpos("p", "missing", count=2) == []
    assert r.lpos("nokey", "x") is None
    assert r.lpos("nokey", "x", count=1) == []
    with err(lib, "RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
                  "or use negative to start from the end of the list"):
        r.execute_command("LPOS", "p", "c", "RANK", "0")
    with err(lib, "COUNT can't be negative"):
        r.execute_command("LPOS", "p", "c", "COUNT", "-1")
    with err(lib, "MAXLEN can't be negative"):
        r.execute_command("LPOS", "p", "c", "MAXLEN", "-1")
    with err(lib, "syntax error"):
        r.execute_command("LPOS", "p", "c", "FOO", "1")


def test_lmove_rpoplpush(lib, r):
    r.rpush("src", "a", "b", "c")
    assert r.lmove("src", "dst", "LEFT", "RIGHT") == b"a"
    assert r.lmove("src", "dst", "RIGHT", "LEFT") == b"c"
    assert r.lrange("dst", 0, -1) == [b"c", b"a"]
    assert r.lmove("dst", "dst", "LEFT", "RIGHT") == b"c"  # rotate in place
    assert r.lrange("dst", 0, -1) == [b"a", b"c"]
    assert r.rpoplpush("src", "dst") == b"b"
    assert r.lrange("dst", 0, -1) == [b"b", b"a", b"c"]
    assert r.exists("src") == 0
    assert r.lmove("nokey", "dst", "LEFT", "LEFT") is None
    assert r.rpoplpush("nokey", "dst") is None
    assert r.lrange("dst", 0, -1) == [b"b", b"a", b"c"]
    with err(lib, "syntax error"):
        r.execute_command("LMOVE", "dst", "x", "UP", "LEFT")
    assert r.exists("x") == 0


def test_lmpop(lib, r):
    r.rpush("l", "a", "b", "c")
    assert r.lmpop(1, "l", direction="LEFT") == [b"l", [b"a"]]
    assert r.lmpop(2, "nokey", "l", direction="RIGHT", count=5) == [b"l", [b"c", b"b"]]
    assert r.exists("l") == 0
    assert r.lmpop(1, "l", direction="LEFT") is None
    r.rpush("l1", "x")
    r.rpush("l2", "y")
    assert r.lmpop(2, "l1", "l2", direction="LEFT") == [b"l1", [b"x"]]
    with err(lib, "count should be greater than 0"):
        r.execute_command("LMPOP", "1", "l2", "LEFT", "COUNT", "0")
    with err(lib, "numkeys should be greater than 0"):
        r.execute_command("LMPOP", "0", "l2", "LEFT")
    with err(lib, "syntax error"):
        r.execute_command("LMPOP", "1", "l2", "MIDDLE")
    assert r.lrange("l2", 0, -1) == [b"y"]
