"""Sorted sets through redis-py and valkey-py, RESP2 and RESP3 (see test_types.py).

Scores are compared as Python floats whatever the library returns (a RESP3 double, or the
RESP2 bulk string it parses); the exact bytes of score replies are the reply oracle's job
(test_reply_oracle.py).
"""

from __future__ import annotations

import math
import re

import pytest

from test_types import lib, r, scan_all, scored  # noqa: F401  (lib, r: fixtures)

INF = float("inf")


def zall(r, key):
    return scored(r.zrange(key, 0, -1, withscores=True))


def err(lib, text):
    """The exact error text (the library strips the ERR code)."""
    return pytest.raises(lib.exc.ResponseError, match="^" + re.escape(text) + "$")


# ---------------------------------------------------------------------------------------------
# ZADD and scores


def test_zadd_scores_and_order(r):
    assert r.zadd("z", {"a": 1, "b": 2.5, "c": -3}) == 3
    assert r.zadd("z", {"a": 10, "d": 0}) == 1  # one new, one updated
    assert zall(r, "z") == [(b"c", -3.0), (b"d", 0.0), (b"b", 2.5), (b"a", 10.0)]
    # Equal scores order by member bytes.
    r.zadd("eq", {"b": 1, "a": 1, "B": 1, "c": 1, "": 1})
    assert r.zrange("eq", 0, -1) == [b"", b"B", b"a", b"b", b"c"]
    # The last of repeated members wins.
    assert r.execute_command("ZADD", "rep", "1", "x", "2", "x") == 1
    assert r.zscore("rep", "x") == 2.0
    # Special and extreme values survive the round trip exactly.
    values = {"pinf": INF, "ninf": -INF, "nzero": -0.0, "max": 1.7976931348623157e308, "tiny": 5e-324,
              "small": 1e-300, "tenth": 0.1, "big": 1e17, "bigint": 123456789012345678.0, "neg": -1.5}
    assert r.zadd("x", values) == len(values)
    for m, v in values.items():
        assert r.zscore("x", m) == v, m
    assert [m for m, _ in zall(r, "x")] == [b"ninf", b"neg", b"nzero", b"tiny", b"small", b"tenth", b"big",
                                             b"bigint", b"max", b"pinf"]
    assert r.zmscore("x", ["pinf", "ninf", "missing", "tiny"]) == [INF, -INF, None, 5e-324]
    assert r.execute_command("ZADD", "x", "+inf", "p2", "-inf", "n2", "1.0e1", "e1") == 3
    assert r.zscore("x", "p2") == INF and r.zscore("x", "n2") == -INF and r.zscore("x", "e1") == 10.0


def test_zadd_options(r):
    r.zadd("z", {"a": 1, "b": 2, "c": 3})
    assert r.zadd("z", {"a": 10, "new": 20}, xx=True) == 0  # XX: only updates
    assert r.zscore("z", "a") == 10 and r.zscore("z", "new") is None
    assert r.zadd("z", {"a": 100, "d": 4}, nx=True) == 1  # NX: only adds
    assert r.zscore("z", "a") == 10 and r.zscore("z", "d") == 4
    assert r.zadd("z", {"a": 5, "b": 20, "e": 5}, gt=True) == 1  # GT: only raises (new members still added)
    assert r.zscore("z", "a") == 10 and r.zscore("z", "b") == 20 and r.zscore("z", "e") == 5
    assert r.zadd("z", {"a": 50, "c": 1, "f": 6}, lt=True) == 1  # LT: only lowers
    assert r.zscore("z", "a") == 10 and r.zscore("z", "c") == 1 and r.zscore("z", "f") == 6
    # CH counts changed members as well as added ones (an unchanged score is not a change).
    assert r.zadd("z", {"a": 11, "b": 20, "g": 7}, ch=True) == 2
    assert r.zadd("z", {"a": 12, "zz": 1}, xx=True, ch=True) == 1
    assert r.zadd("z", {"a": 13, "yy": 1}, nx=True, ch=True) == 1
    assert r.zadd("z", {"a": 1, "b": 100}, lt=True, ch=True) == 1
    assert r.zadd("z", {"a": 0}, xx=True, gt=True) == 0 and r.zscore("z", "a") == 1
    assert r.zadd("z", {"absent": 1}, xx=True, gt=True) == 0 and r.zscore("z", "absent") is None
    # INCR: ZINCRBY through ZADD; nil when NX/XX/GT/LT stop it.
    assert r.zadd("z", {"a": 2.5}, incr=True) == 3.5
    assert r.zadd("z", {"a": 1}, nx=True, incr=True) is None
    assert r.zadd("z", {"absent": 1}, xx=True, incr=True) is None
    assert r.zadd("z", {"a": 1}, xx=True, incr=True) == 4.5
    assert r.zadd("z", {"a": -1}, gt=True, incr=True) is None
    assert r.zadd("z", {"a": -1}, lt=True, incr=True) == 3.5
    assert r.zadd("z", {"fresh": 2}, nx=True, incr=True) == 2.0
    assert r.zscore("z", "a") == 3.5
    # XX on a missing key creates nothing.
    assert r.zadd("nokey", {"a": 1}, xx=True) == 0
    assert r.exists("nokey") == 0


def test_zadd_bad_input(lib, r):
    r.zadd("z", {"a": 1})
    cases = [
        (("ZADD", "z", "NX", "XX", "1", "a"), "XX and NX options at the same time are not compatible"),
        (("ZADD", "z", "GT", "LT", "1", "a"), "GT, LT, and/or NX options at the same time are not compatible"),
        (("ZADD", "z", "NX", "GT", "1", "a"), "GT, LT, and/or NX options at the same time are not compatible"),
        (("ZADD", "z", "NX", "LT", "1", "a"), "GT, LT, and/or NX options at the same time are not compatible"),
        (("ZADD", "z", "INCR", "1", "a", "2", "b"), "INCR option supports a single increment-element pair"),
        (("ZADD", "z", "nan", "a"), "value is not a valid float"),
        (("ZADD", "z", "NaN", "b"), "value is not a valid float"),
        (("ZADD", "z", "1e400", "a"), "value is not a valid float"),
        (("ZADD", "z", "-1e400", "a"), "value is not a valid float"),
        (("ZADD", "z", "abc", "a"), "value is not a valid float"),
        (("ZADD", "z", "", "a"), "value is not a valid float"),
        (("ZADD", "z", " 1", "a"), "value is not a valid float"),
        (("ZADD", "z", "1", "a", "2"), "syntax error"),
        (("ZADD", "z", "INCR", "1"), "syntax error"),
        (("ZADD", "z", "1"), "wrong number of arguments for 'zadd' command"),
        (("ZADD", "z", "INCR", "nan", "a"), "value is not a valid float"),
    ]
    for args, text in cases:
        with err(lib, text):
            r.execute_command(*args)
    assert zall(r, "z") == [(b"a", 1.0)]
    # An increment that makes NaN (inf + -inf) is refused, the score stays.
    r.zadd("z", {"i": INF})
    with err(lib, "resulting score is not a number (NaN)"):
        r.zincrby("z", -INF, "i")
    with err(lib, "resulting score is not a number (NaN)"):
        r.zadd("z", {"i": -INF}, incr=True)
    assert r.zscore("z", "i") == INF
    with err(lib, "value is not a valid float"):
        r.execute_command("ZINCRBY", "z", "nan", "a")
    with err(lib, "value is not a valid float"):
        r.execute_command("ZINCRBY", "z", "x", "a")
    # Overflowing by increments gives inf, not an error.
    r.zadd("z", {"big": 1e308})
    assert r.zincrby("z", 1e308, "big") == INF


def test_zincrby_zrem_zscore_zmscore_zcard(lib, r):
    assert r.zincrby("z", 1.5, "a") == 1.5  # creates key and member
    assert r.zincrby("z", -0.5, "a") == 1.0
    assert r.zincrby("z", 2, "b") == 2.0
    assert r.zscore("z", "a") == 1.0
    assert r.zscore("z", "missing") is None
    assert r.zscore("nokey", "a") is None
    assert r.zmscore("z", ["b", "missing", "a"]) == [2.0, None, 1.0]
    assert r.zmscore("nokey", ["a", "b"]) == [None, None]
    assert r.zcard("z") == 2
    assert r.zcard("nokey") == 0
    assert r.zrem("z", "a", "missing") == 1
    assert r.zrem("z", "a") == 0
    assert r.zrem("nokey", "a") == 0
    assert r.zcard("z") == 1
    with pytest.raises(lib.exc.ResponseError, match="wrong number of arguments for 'zmscore'"):
        r.execute_command("ZMSCORE", "z")


def test_zcount_zlexcount(lib, r):
    r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5})
    assert r.zcount("z", "-inf", "+inf") == 5
    assert r.zcount("z", 2, 4) == 3
    assert r.zcount("z", "(2", 4) == 2
    assert r.zcount("z", "(2", "(4") == 1
    assert r.zcount("z", 4, 2) == 0  # inverted: empty
    assert r.zcount("z", "(3", "(3") == 0
    assert r.zcount("z", "(inf", "+inf") == 0
    assert r.zcount("z", "-inf", "(-inf") == 0
    assert r.zcount("nokey", "-inf", "+inf") == 0
    with err(lib, "min or max is not a float"):
        r.zcount("z", "x", 1)
    with err(lib, "min or max is not a float"):
        r.zcount("z", "[1", 3)
    r.zadd("l", {m: 0 for m in "abcde"})
    assert r.zlexcount("l", "-", "+") == 5
    assert r.zlexcount("l", "[b", "(d") == 2
    assert r.zlexcount("l", "(b", "[d") == 2
    assert r.zlexcount("l", "[d", "[b") == 0
    assert r.zlexcount("l", "+", "-") == 0
    assert r.zlexcount("nokey", "-", "+") == 0
    with err(lib, "min or max not valid string range item"):
        r.zlexcount("l", "b", "d")


# ---------------------------------------------------------------------------------------------
# ZRANGE and its older forms


@pytest.fixture
def z5(r):
    r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5})
    return "z"


def test_zrange_by_rank_zrevrange_zrank(r, z5):
    assert r.zrange("z", 0, -1) == [b"a", b"b", b"c", b"d", b"e"]
    assert r.zrange("z", 1, 3) == [b"b", b"c", b"d"]
    assert scored(r.zrange("z", -2, -1, withscores=True)) == [(b"d", 4.0), (b"e", 5.0)]
    assert r.zrange("z", 3, 1) == []
    assert r.zrange("z", 0, 100) == [b"a", b"b", b"c", b"d", b"e"]
    assert r.zrange("z", -100, 0) == [b"a"]
    assert r.zrange("z", 5, 10) == []
    assert r.zrange("z", 0, -1, desc=True) == [b"e", b"d", b"c", b"b", b"a"]
    assert scored(r.zrange("z", 0, 1, desc=True, withscores=True)) == [(b"e", 5.0), (b"d", 4.0)]
    assert r.zrange("nokey", 0, -1) == []
    assert r.zrevrange("z", 0, 1) == [b"e", b"d"]
    assert scored(r.zrevrange("z", -1, -1, withscores=True)) == [(b"a", 1.0)]
    assert r.zrank("z", "a") == 0
    assert r.zrank("z", "c") == 2
    assert r.zrevrank("z", "c") == 2
    assert r.zrevrank("z", "a") == 4
    assert r.zrank("z", "missing") is None
    assert r.zrevrank("z", "missing") is None
    assert r.zrank("nokey", "a") is None


def test_zrange_byscore_and_syntax_errors(lib, r, z5):
    assert r.zrange("z", "(1", 3, byscore=True) == [b"b", b"c"]
    assert r.zrange("z", "(1", "(3", byscore=True) == [b"b"]
    assert r.zrange("z", "-inf", "+inf", byscore=True) == [b"a", b"b", b"c", b"d", b"e"]
    assert r.zrange("z", 3, 1, byscore=True) == []  # inverted: empty
    assert r.zrange("z", "+inf", "-inf", byscore=True) == []
    assert r.zrange("z", 3, "(1", byscore=True, desc=True) == [b"c", b"b"]  # REV: max first
    assert r.zrange("z", "-inf", "+inf", byscore=True, offset=1, num=2) == [b"b", b"c"]
    assert r.zrange("z", "-inf", "+inf", byscore=True, offset=1, num=-1) == [b"b", b"c", b"d", b"e"]  # <0: all
    assert r.zrange("z", "-inf", "+inf", byscore=True, offset=10, num=2) == []
    assert r.execute_command("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "-1", "2") == []
    assert scored(r.zrange("z", "+inf", "-inf", byscore=True, desc=True, offset=0, num=2, withscores=True)) == [
        (b"e", 5.0), (b"d", 4.0)]
    assert r.zrangebyscore("z", 2, 4) == [b"b", b"c", b"d"]
    assert scored(r.zrangebyscore("z", "(2", "+inf", withscores=True, start=1, num=5)) == [(b"d", 4.0), (b"e", 5.0)]
    assert r.zrangebyscore("z", 4, 2) == []
    assert r.zrangebyscore("z", "(1", "(1") == []
    assert r.zrangebyscore("z", 1, 1) == [b"a"]
    assert scored(r.zrevrangebyscore("z", 4, 2, withscores=True)) == [(b"d", 4.0), (b"c", 3.0), (b"b", 2.0)]
    assert r.zrevrangebyscore("z", 2, 4) == []  # max comes first
    assert r.zrevrangebyscore("z", "+inf", "-inf", start=1, num=1) == [b"d"]
    # Infinite scores sit at the ends and match inclusive infinite bounds only.
    r.zadd("z", {"top": INF, "bottom": -INF})
    assert r.zrangebyscore("z", "-inf", "-inf") == [b"bottom"]
    assert r.zrangebyscore("z", "(5", "+inf") == [b"top"]
    assert r.zrangebyscore("z", "(5", "(inf") == []
    with err(lib, "min or max is not a float"):
        r.zrange("z", "a", "b", byscore=True)
    with err(lib, "min or max is not a float"):
        r.zrangebyscore("z", "nan", 1)
    with err(lib, "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"):
        r.execute_command("ZRANGE", "z", "0", "-1", "LIMIT", "0", "1")
    with err(lib, "syntax error"):
        r.execute_command("ZRANGE", "z", "0", "-1", "BYSCORE", "BYLEX")
    with err(lib, "syntax error"):
        r.execute_command("ZRANGE", "z", "0", "-1", "FOO")
    with err(lib, "syntax error"):
        r.execute_command("ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "0")
    with err(lib, "value is not an integer or out of range"):
        r.execute_command("ZRANGE", "z", "a", "-1")
    assert r.zrange("z", 0, -1) == [b"bottom", b"a", b"b", b"c", b"d", b"e", b"top"]


def test_zrange_bylex(lib, r):
    r.zadd("l", {m: 0 for m in "abcde"})
    assert r.zrange("l", "[b", "(d", bylex=True) == [b"b", b"c"]
    assert r.zrange("l", "-", "+", bylex=True, offset=1, num=2) == [b"b", b"c"]
    assert r.zrange("l", "+", "-", bylex=True, desc=True) == [b"e", b"d", b"c", b"b", b"a"]
    assert r.zrange("l", "(d", "[b", bylex=True, desc=True) == [b"c", b"b"]
    assert r.zrange("l", "[d", "[b", bylex=True) == []  # inverted: empty
    assert r.zrangebylex("l", "-", "[c") == [b"a", b"b", b"c"]
    assert r.zrangebylex("l", "(a", "(c") == [b"b"]
    assert r.zrangebylex("l", "[c", "-") == []
    assert r.zrangebylex("l", "-", "+", start=2, num=-1) == [b"c", b"d", b"e"]
    assert r.zrangebylex("l", "[aa", "[c") == [b"b", b"c"]
    assert r.zrevrangebylex("l", "+", "(c") == [b"e", b"d"]
    assert r.zrevrangebylex("l", "[c", "-", start=0, num=1) == [b"c"]
    assert r.zrangebylex("nokey", "-", "+") == []
    with err(lib, "min or max not valid string range item"):
        r.zrangebylex("l", "b", "c")
    with err(lib, "syntax error, WITHSCORES not supported in combination with BYLEX"):
        r.execute_command("ZRANGE", "l", "-", "+", "BYLEX", "WITHSCORES")


def test_zrangestore(lib, r, z5):
    assert r.zrangestore("dst", "z", 0, 1) == 2
    assert scored(r.zrange("dst", 0, -1, withscores=True)) == [(b"a", 1.0), (b"b", 2.0)]
    assert r.zrangestore("dst", "z", "(2", "+inf", byscore=True, offset=0, num=2) == 2
    assert r.zrange("dst", 0, -1) == [b"c", b"d"]
    assert r.zrangestore("dst", "z", 0, 0, desc=True) == 1
    assert r.zrange("dst", 0, -1) == [b"e"]
    r.zadd("l", {m: 0 for m in "abc"})
    assert r.zrangestore("dst", "l", "[b", "+", bylex=True) == 2
    assert r.zrange("dst", 0, -1) == [b"b", b"c"]
    assert r.zrangestore("dst", "z", 10, 20) == 0
    assert r.exists("dst") == 0
    assert r.zrangestore("dst", "nokey", 0, -1) == 0
    with err(lib, "syntax error"):
        r.execute_command("ZRANGESTORE", "dst", "z", "0", "-1", "WITHSCORES")


def test_zremrangeby(lib, r):
    r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5})
    assert r.zremrangebyscore("z", "(1", 3) == 2
    assert r.zrange("z", 0, -1) == [b"a", b"d", b"e"]
    assert r.zremrangebyscore("z", 10, 1) == 0
    assert r.zremrangebyrank("z", -1, -1) == 1
    assert r.zrange("z", 0, -1) == [b"a", b"d"]
    assert r.zremrangebyrank("z", 5, 10) == 0
    assert r.zremrangebyrank("z", 0, -1) == 2
    assert r.exists("z") == 0
    r.zadd("l", {m: 0 for m in "abcdef"})
    assert r.zremrangebylex("l", "[b", "(d") == 2
    assert r.zrange("l", 0, -1) == [b"a", b"d", b"e", b"f"]
    assert r.zremrangebylex("l", "(e", "+") == 1
    assert r.zremrangebylex("l", "[x", "[a") == 0
    assert r.zremrangebylex("nokey", "-", "+") == 0
    assert r.zremrangebyscore("nokey", 0, 1) == 0
    assert r.zremrangebyrank("nokey", 0, -1) == 0
    with err(lib, "min or max not valid string range item"):
        r.zremrangebylex("l", "a", "b")
    with err(lib, "min or max is not a float"):
        r.zremrangebyscore("l", "x", 1)
    with err(lib, "value is not an integer or out of range"):
        r.execute_command("ZREMRANGEBYRANK", "l", "x", "1")
    assert r.zrange("l", 0, -1) == [b"a", b"d", b"e"]


# ---------------------------------------------------------------------------------------------
# Pops


def test_zpopmin_zpopmax_zmpop(lib, r):
    r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5})
    assert scored(r.zpopmin("z")) == [(b"a", 1.0)]
    assert scored(r.zpopmax("z")) == [(b"e", 5.0)]
    assert scored(r.zpopmax("z", 2)) == [(b"d", 4.0), (b"c", 3.0)]
    assert scored(r.zpopmin("z", 0)) == []
    assert scored(r.zpopmin("z", 10)) == [(b"b", 2.0)]
    assert r.exists("z") == 0
    assert scored(r.zpopmin("nokey")) == []
    assert scored(r.zpopmax("nokey", 3)) == []
    r.zadd("z", {"x": 1})
    with err(lib, "value is out of range, must be positive"):
        r.zpopmin("z", -1)
    assert r.zcard("z") == 1
    r.delete("z")
    r.zadd("z", {"a": 1, "b": 2, "c": 3})
    key, popped = r.zmpop(1, ["z"], min=True)
    assert key == b"z" and scored(popped) == [(b"a", 1.0)]
    key, popped = r.zmpop(2, ["nokey", "z"], max=True, count=5)
    assert key == b"z" and scored(popped) == [(b"c", 3.0), (b"b", 2.0)]
    assert r.exists("z") == 0
    assert r.zmpop(1, ["z"], min=True) is None
    r.zadd("z1", {"x": 1})
    r.zadd("z2", {"y": 2})
    key, popped = r.zmpop(2, ["z1", "z2"], max=True)  # the first non-empty key
    assert key == b"z1" and scored(popped) == [(b"x", 1.0)]
    with err(lib, "numkeys should be greater than 0"):
        r.execute_command("ZMPOP", "0", "z2", "MIN")
    with err(lib, "count should be greater than 0"):
        r.execute_command("ZMPOP", "1", "z2", "MIN", "COUNT", "0")
    with err(lib, "syntax error"):
        r.execute_command("ZMPOP", "1", "z2", "SIDEWAYS")
    with err(lib, "syntax error"):
        r.execute_command("ZMPOP", "2", "z2", "MIN")
    assert r.zcard("z2") == 1


# ---------------------------------------------------------------------------------------------
# ZUNION ZINTER ZDIFF and their STORE forms, ZINTERCARD


@pytest.fixture
def zab(r):
    r.zadd("a", {"x": 1, "y": 2, "z": 3})
    r.zadd("b", {"y": 10, "z": 20, "w": 30})
    r.sadd("s", "x", "w")


def test_zunion_zinter_zdiff_zintercard(lib, r, zab):
    def ws(reply):
        return sorted(scored(reply))

    assert ws(r.zunion(["a", "b"], withscores=True)) == [(b"w", 30), (b"x", 1), (b"y", 12), (b"z", 23)]
    assert r.zunion(["a", "b"]) == [b"x", b"y", b"z", b"w"]  # ordered by score
    assert ws(r.zunion({"a": 2, "b": 0.5}, withscores=True)) == [(b"w", 15), (b"x", 2), (b"y", 9), (b"z", 16)]
    assert ws(r.zunion(["a", "b"], aggregate="MIN", withscores=True)) == [(b"w", 30), (b"x", 1), (b"y", 2), (b"z", 3)]
    assert ws(r.zunion(["a", "b"], aggregate="MAX", withscores=True)) == [(b"w", 30), (b"x", 1), (b"y", 10), (b"z", 20)]
    assert scored(r.zinter(["a", "b"], withscores=True)) == [(b"y", 12.0), (b"z", 23.0)]
    assert scored(r.zinter({"a": 1, "b": -1}, aggregate="SUM", withscores=True)) == [(b"z", -17.0), (b"y", -8.0)]
    assert scored(r.zinter(["a", "b"], aggregate="MIN", withscores=True)) == [(b"y", 2.0), (b"z", 3.0)]
    assert scored(r.zdiff(["a", "b"], withscores=True)) == [(b"x", 1.0)]
    assert r.zdiff(["b", "a"]) == [b"w"]
    assert r.zdiff(["a", "nokey"]) == [b"x", b"y", b"z"]
    assert r.zinter(["a", "nokey"]) == []
    # A plain set takes part with score 1 for every member.
    assert ws(r.zunion(["a", "s"], withscores=True)) == [(b"w", 1), (b"x", 2), (b"y", 2), (b"z", 3)]
    assert scored(r.zinter(["a", "s"], withscores=True)) == [(b"x", 2.0)]
    assert r.zdiff(["a", "s"]) == [b"y", b"z"]
    # inf + -inf (and 0 * inf) is NaN, which the aggregation turns into 0.
    r.zadd("pinf", {"m": INF})
    r.zadd("ninf", {"m": -INF})
    assert scored(r.zunion(["pinf", "ninf"], withscores=True)) == [(b"m", 0.0)]
    assert scored(r.zinter({"pinf": 0, "ninf": 1}, withscores=True)) == [(b"m", -INF)]
    assert scored(r.zunion({"pinf": 0}, withscores=True)) == [(b"m", 0.0)]
    errors = [
        (("ZUNION", "0", "a"), "at least 1 input key is needed for 'zunion' command"),
        (("ZINTER", "0", "a"), "at least 1 input key is needed for 'zinter' command"),
        (("ZUNION", "3", "a", "b"), "syntax error"),
        (("ZUNION", "1", "a", "b"), "syntax error"),
        (("ZUNION", "2", "a", "b", "WEIGHTS", "1"), "syntax error"),
        (("ZUNION", "2", "a", "b", "WEIGHTS", "1", "x"), "weight value is not a float"),
        (("ZUNION", "2", "a", "b", "AGGREGATE", "AVG"), "syntax error"),
        (("ZDIFF", "2", "a", "b", "WEIGHTS", "1", "1"), "syntax error"),
        (("ZDIFF", "2", "a", "b", "AGGREGATE", "MIN"), "syntax error"),
        (("ZUNIONSTORE", "d", "2", "a", "b", "WITHSCORES"), "syntax error"),
        (("ZDIFFSTORE", "d", "2", "a", "b", "WITHSCORES"), "syntax error"),
    ]
    for args, text in errors:
        with err(lib, text):
            r.execute_command(*args)
    assert r.exists("d") == 0
    assert r.zintercard(2, ["a", "b"]) == 2
    assert r.zintercard(2, ["a", "b"], limit=1) == 1
    assert r.zintercard(2, ["a", "b"], limit=0) == 2
    assert r.zintercard(2, ["a", "s"]) == 1
    assert r.zintercard(2, ["a", "nokey"]) == 0
    assert r.zintercard(1, ["a"]) == 3
    with err(lib, "LIMIT can't be negative"):
        r.execute_command("ZINTERCARD", "2", "a", "b", "LIMIT", "-1")
    with err(lib, "at least 1 input key is needed for 'zintercard' command"):
        r.execute_command("ZINTERCARD", "0", "a")


def test_zunionstore_zinterstore_zdiffstore(r, zab):
    assert r.zunionstore("d", {"a": 1, "b": 2}, aggregate="MAX") == 4
    assert scored(r.zrange("d", 0, -1, withscores=True)) == [(b"x", 1.0), (b"y", 20.0), (b"z", 40.0), (b"w", 60.0)]
    assert r.zinterstore("d", ["a", "b"], aggregate="MIN") == 2
    assert scored(r.zrange("d", 0, -1, withscores=True)) == [(b"y", 2.0), (b"z", 3.0)]
    assert r.zinterstore("d", ["a", "b"]) == 2
    assert scored(r.zrange("d", 0, -1, withscores=True)) == [(b"y", 12.0), (b"z", 23.0)]
    assert r.zdiffstore("d", ["a", "b"]) == 1
    assert scored(r.zrange("d", 0, -1, withscores=True)) == [(b"x", 1.0)]
    assert r.zunionstore("s", ["a", "s"]) == 4  # the destination may be a source (and of another type)
    assert r.type("s") == b"zset"
    assert scored(r.zrange("s", 0, -1, withscores=True)) == [(b"w", 1.0), (b"x", 2.0), (b"y", 2.0), (b"z", 3.0)]
    assert r.zinterstore("d", ["a", "nokey"]) == 0
    assert r.exists("d") == 0
    assert r.zdiffstore("d", ["a", "a"]) == 0
    assert r.exists("d") == 0


# ---------------------------------------------------------------------------------------------
# ZRANDMEMBER, ZSCAN


def test_zrandmember(lib, r):
    scores = {f"m{i}": i / 2 for i in range(6)}
    r.zadd("z", scores)
    mb = {m.encode() for m in scores}
    assert r.zrandmember("z") in mb
    assert r.zrandmember("nokey") is None
    assert r.zrandmember("nokey", 2) == []
    assert r.zrandmember("z", 0) == []
    got = r.zrandmember("z", 4)
    assert len(got) == 4 and len(set(got)) == 4 and set(got) <= mb
    assert sorted(r.zrandmember("z", 50)) == sorted(mb)
    got = r.zrandmember("z", -15)
    assert len(got) == 15 and set(got) <= mb
    pairs = scored(r.zrandmember("z", 3, withscores=True))
    assert len(pairs) == 3 and len({m for m, _ in pairs}) == 3
    assert all(scores[m.decode()] == sc for m, sc in pairs)
    pairs = scored(r.zrandmember("z", -9, withscores=True))
    assert len(pairs) == 9 and all(scores[m.decode()] == sc for m, sc in pairs)
    r.zadd("one", {"only": 1.5})
    assert scored(r.zrandmember("one", -2, withscores=True)) == [(b"only", 1.5), (b"only", 1.5)]
    with err(lib, "value is not an integer or out of range"):
        r.execute_command("ZRANDMEMBER", "z", "x")
    with err(lib, "syntax error"):
        r.execute_command("ZRANDMEMBER", "z", "1", "FOO")


def test_zscan(lib, r):
    want = {f"mem:{i}".encode(): i * 1.5 for i in range(300)}
    want.update({b"neg": -INF, b"pos": INF, b"tiny": 1e-300})
    r.zadd("z", want)
    seen = {}
    for batch in scan_all(lambda c: r.zscan("z", c, count=11)):
        seen.update(dict(scored(batch)))
    assert seen == want
    matched = {}
    for batch in scan_all(lambda c: r.zscan("z", c, match="mem:2?")):
        matched.update(dict(scored(batch)))
    assert matched == {f"mem:2{i}".encode(): (20 + i) * 1.5 for i in range(10)}
    r.zadd("small", {"a": 0.5})
    cursor, batch = r.zscan("small", 0)
    assert cursor == 0 and scored(batch) == [(b"a", 0.5)]
    cursor, batch = r.zscan("nokey", 0)
    assert cursor == 0 and list(batch) == []
    assert not any(math.isnan(v) for v in seen.values())
