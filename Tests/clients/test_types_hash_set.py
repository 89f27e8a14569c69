"""Hashes and sets through redis-py and valkey-py, RESP2 and RESP3 (see test_types.py)."""

from __future__ import annotations

import pytest

from test_types import as_dict, lib, members, r, raw_pairs, scan_all  # noqa: F401  (lib, r: fixtures)


# ---------------------------------------------------------------------------------------------
# Hashes


def test_hset_hget_hmget_hmset_hgetall(lib, r):
    assert r.hset("h", "f1", "v1") == 1
    assert r.hset("h", "f1", "v1b") == 0  # update: 0 new fields
    assert r.hset("h", mapping={"f1": "x", "f2": "v2", "f3": "v3"}) == 2
    assert r.hget("h", "f1") == b"x"
    assert r.hget("h", "missing") is None
    assert r.hget("nokey", "f1") is None
    assert r.hmget("h", ["f1", "missing", "f3"]) == [b"x", None, b"v3"]
    assert r.hmget("nokey", ["a", "b"]) == [None, None]
    assert r.execute_command("HMSET", "h", "f4", "v4", "f1", "v1") in (True, b"OK")
    assert as_dict(r.hgetall("h")) == {"f1": b"v1", "f2": b"v2", "f3": b"v3", "f4": b"v4"}
    assert as_dict(r.hgetall("nokey")) == {}
    # Binary-safe fields and values, empty ones included.
    assert r.hset("bin", mapping={b"\x00\r\n": b"\xff\x00", b"": b"", b"k": b"a\r\nb"}) == 3
    assert as_dict(r.hgetall("bin")) == {"\x00\r\n": b"\xff\x00", "": b"", "k": b"a\r\nb"}
    assert r.hget("bin", b"") == b""
    with pytest.raises(lib.exc.ResponseError, match="wrong number of arguments for 'hset'"):
        r.execute_command("HSET", "h", "f1", "v1", "f2")
    with pytest.raises(lib.exc.ResponseError, match="wrong number of arguments for 'hmset'"):
        r.execute_command("HMSET", "h", "f1")
    assert r.hget("h", "f2") == b"v2"


def test_hsetnx_hdel_hlen_hexists_hkeys_hvals_hstrlen(r):
    assert r.hsetnx("h", "a", "1") == 1
    assert r.hsetnx("h", "a", "2") == 0
    assert r.hget("h", "a") == b"1"
    r.hset("h", mapping={"b": "22", "c": "333", "d": ""})
    assert r.hlen("h") == 4
    assert r.hlen("nokey") == 0
    assert r.hexists("h", "b") is True
    assert r.hexists("h", "zz") is False
    assert r.hexists("nokey", "b") is False
    assert sorted(r.hkeys("h")) == [b"a", b"b", b"c", b"d"]
    assert sorted(r.hvals("h")) == [b"", b"1", b"22", b"333"]
    assert r.hkeys("nokey") == [] and r.hvals("nokey") == []
    # HKEYS and HVALS walk the hash in the same order as HGETALL.
    pairs = list(as_dict(r.hgetall("h")).items())
    assert [k.encode() for k, _ in pairs] == r.hkeys("h")
    assert [v for _, v in pairs] == r.hvals("h")
    assert r.hstrlen("h", "c") == 3
    assert r.hstrlen("h", "d") == 0
    assert r.hstrlen("h", "missing") == 0
    assert r.hstrlen("nokey", "x") == 0
    assert r.hdel("h", "a", "b", "missing") == 2
    assert r.hdel("h", "a") == 0
    assert r.hdel("nokey", "a") == 0
    assert r.hlen("h") == 2
    assert as_dict(r.hgetall("h")) == {"c": b"333", "d": b""}


def test_hincrby_hincrbyfloat(lib, r):
    assert r.hincrby("h", "n", 5) == 5  # a missing field counts as 0
    assert r.hincrby("h", "n", -7) == -2
    assert r.hget("h", "n") == b"-2"
    assert r.hincrby("new", "n", 1) == 1  # a missing key too
    assert r.hincrbyfloat("h", "f", 1.5) == 1.5
    assert r.hincrbyfloat("h", "f", "0.25") == 1.75
    assert r.hget("h", "f") == b"1.75"
    assert r.hincrbyfloat("h", "n", 2) == 0.0
    assert r.hget("h", "n") == b"0"
    assert r.hincrbyfloat("h", "e", "5.0e3") == 5000.0
    assert r.hget("h", "e") == b"5000"  # printed without exponent or trailing zeros
    assert r.hincrbyfloat("h", "p", "0.1") == 0.1
    assert r.hincrbyfloat("h", "p", "0.2") == pytest.approx(0.3)
    assert r.hget("h", "p") == b"0.3"
    # Overflow of a 64-bit integer is an error and changes nothing.
    r.hset("h", mapping={"max": str(2**63 - 1), "min": str(-(2**63)), "text": "abc", "flt": "1.5", "sp": " 1"})
    with pytest.raises(lib.exc.ResponseError, match="increment or decrement would overflow"):
        r.hincrby("h", "max", 1)
    with pytest.raises(lib.exc.ResponseError, match="increment or decrement would overflow"):
        r.hincrby("h", "min", -1)
    assert r.hget("h", "max") == str(2**63 - 1).encode()
    assert r.hincrby("h", "min", 0) == -(2**63)
    with pytest.raises(lib.exc.ResponseError, match="value is not an integer or out of range"):
        r.execute_command("HINCRBY", "h", "n", "9223372036854775808")
    with pytest.raises(lib.exc.ResponseError, match="value is not an integer or out of range"):
        r.execute_command("HINCRBY", "h", "n", "1.5")
    # A field that is not a number.
    for field in ("text", "flt", "sp"):
        with pytest.raises(lib.exc.ResponseError, match="^hash value is not an integer$"):
            r.hincrby("h", field, 1)
    for field in ("text", "sp"):
        with pytest.raises(lib.exc.ResponseError, match="^hash value is not a float$"):
            r.hincrbyfloat("h", field, 1)
    assert r.hincrbyfloat("h", "flt", 1) == 2.5
    with pytest.raises(lib.exc.ResponseError, match="^value is not a valid float$"):
        r.execute_command("HINCRBYFLOAT", "h", "flt", "abc")
    with pytest.raises(lib.exc.ResponseError, match="^value is not a valid float$"):
        r.execute_command("HINCRBYFLOAT", "h", "flt", "nan")
    with pytest.raises(lib.exc.ResponseError, match="^value is NaN or Infinity$"):
        r.execute_command("HINCRBYFLOAT", "h", "flt", "inf")
    assert r.hget("h", "text") == b"abc" and r.hget("h", "flt") == b"2.5"


def test_hrandfield(r):
    fields = {f"f{i}": f"v{i}" for i in range(5)}
    r.hset("h", mapping=fields)
    fb = {k.encode() for k in fields}
    assert r.hrandfield("h") in fb
    assert r.hrandfield("nokey") is None
    assert r.hrandfield("nokey", 3) == []
    assert r.hrandfield("nokey", -3, withvalues=True) == []
    assert r.hrandfield("h", 0) == []
    # A positive count: distinct fields, at most the hash's size.
    got = r.hrandfield("h", 3)
    assert len(got) == 3 and len(set(got)) == 3 and set(got) <= fb
    assert sorted(r.hrandfield("h", 10)) == sorted(fb)
    # A negative count: exactly |count| fields, repeats allowed.
    got = r.hrandfield("h", -20)
    assert len(got) == 20 and set(got) <= fb
    # WITHVALUES: field/value pairs that belong together.
    pairs = raw_pairs(r.hrandfield("h", 2, withvalues=True))
    assert len(pairs) == 2 and len({f for f, _ in pairs}) == 2
    assert all(fields[f.decode()].encode() == v for f, v in pairs)
    pairs = raw_pairs(r.hrandfield("h", -7, withvalues=True))
    assert len(pairs) == 7 and all(fields[f.decode()].encode() == v for f, v in pairs)
    assert sorted(raw_pairs(r.hrandfield("h", 100, withvalues=True))) == sorted(
        (k.encode(), v.encode()) for k, v in fields.items())
    r.hset("one", "only", "v")
    assert raw_pairs(r.hrandfield("one", -3, withvalues=True)) == [(b"only", b"v")] * 3


def test_hscan(lib, r):
    fields = {f"field:{i:03d}": str(i) for i in range(300)}
    fields.update({f"other:{i}": "o" for i in range(40)})
    r.hset("h", mapping=fields)
    # Iterate to cursor 0 with COUNT; compare the union with the hash.
    seen = {}
    for batch in scan_all(lambda c: r.hscan("h", c, count=10)):
        seen.update(as_dict(batch))
    assert seen == {k: v.encode() for k, v in fields.items()}
    # MATCH filters fields (values are not matched).
    seen = {}
    for batch in scan_all(lambda c: r.hscan("h", c, match="field:01*", count=25)):
        d = as_dict(batch)
        assert all(k.startswith("field:01") for k in d), d
        seen.update(d)
    assert seen == {f"field:01{i}": str(10 + i).encode() for i in range(10)}
    seen = {}
    for batch in scan_all(lambda c: r.hscan("h", c, match="other:*")):
        seen.update(as_dict(batch))
    assert seen == {f"other:{i}": b"o" for i in range(40)}
    assert r.hscan("nokey", 0) == (0, {})
    small = {"a": "1", "b": "2"}
    r.hset("small", mapping=small)
    cursor, d = r.hscan("small", 0)
    assert cursor == 0 and as_dict(d) == {"a": b"1", "b": b"2"}
    with pytest.raises(lib.exc.ResponseError, match="invalid cursor"):
        r.execute_command("HSCAN", "h", "notanumber")
    with pytest.raises(lib.exc.ResponseError, match="syntax error"):
        r.execute_command("HSCAN", "h", "0", "COUNT", "0")


# ---------------------------------------------------------------------------------------------
# Sets


def test_sadd_srem_smembers_sismember_smismember_scard(lib, r):
    assert r.sadd("s", "a", "b", "c") == 3
    assert r.sadd("s", "a", "d", "d") == 1
    assert members(r.smembers("s")) == {b"a", b"b", b"c", b"d"}
    assert members(r.smembers("nokey")) == set()
    assert r.scard("s") == 4
    assert r.scard("nokey") == 0
    assert r.sismember("s", "a") in (1, True)
    assert r.sismember("s", "zz") in (0, False)
    assert r.sismember("nokey", "a") in (0, False)
    assert [int(x) for x in r.smismember("s", ["a", "zz", "d"])] == [1, 0, 1]
    assert [int(x) for x in r.smismember("nokey", ["a", "b"])] == [0, 0]
    assert r.srem("s", "a", "zz") == 1
    assert r.srem("s", "a") == 0
    assert r.srem("nokey", "a") == 0
    assert r.scard("s") == 3
    # Integers and binary members (sets of integers are encoded differently in Redis).
    assert r.sadd("ints", 1, 2, 3, -5, 2**63 - 1) == 5
    assert members(r.smembers("ints")) == {b"1", b"2", b"3", b"-5", str(2**63 - 1).encode()}
    assert r.sadd("ints", "x") == 1
    assert r.scard("ints") == 6
    assert r.sadd("bin", b"\x00", b"", b"\r\n") == 3
    assert members(r.smembers("bin")) == {b"\x00", b"", b"\r\n"}
    with pytest.raises(lib.exc.ResponseError, match="wrong number of arguments for 'sadd'"):
        r.execute_command("SADD", "s")


def test_spop_srandmember(lib, r):
    all_m = {f"m{i}".encode() for i in range(10)}
    r.sadd("s", *all_m)
    one = r.spop("s")
    assert one in all_m and r.scard("s") == 9 and r.sismember("s", one) in (0, False)
    popped = members(r.spop("s", 4))
    assert len(popped) == 4 and one not in popped and popped <= all_m
    assert members(r.smembers("s")) == all_m - popped - {one}
    assert members(r.spop("s", 0)) == set()
    assert r.scard("s") == 5
    with pytest.raises(lib.exc.ResponseError, match="value is out of range, must be positive"):
        r.spop("s", -1)
    assert r.spop("nokey") is None
    assert members(r.spop("nokey", 3)) == set()
    rest = all_m - popped - {one}
    assert r.srandmember("s") in rest
    got = r.srandmember("s", 3)
    assert len(got) == 3 and len(set(got)) == 3 and set(got) <= rest
    assert sorted(r.srandmember("s", 100)) == sorted(rest)  # count > size: the whole set, once each
    got = r.srandmember("s", -12)
    assert len(got) == 12 and set(got) <= rest  # negative count: repeats allowed
    assert r.srandmember("s", 0) == []
    assert r.scard("s") == 5  # SRANDMEMBER does not remove
    assert r.srandmember("nokey") is None
    assert r.srandmember("nokey", 5) == [] and r.srandmember("nokey", -5) == []
    r.sadd("one", "x")
    assert r.srandmember("one", -3) == [b"x", b"x", b"x"]
    assert members(r.spop("s", 50)) == rest  # count > size pops everything
    assert r.exists("s") == 0


def test_sinter_sintercard_sinterstore(lib, r):
    r.sadd("s1", "a", "b", "c", "d")
    r.sadd("s2", "c", "d", "e")
    r.sadd("s3", "d", "e", "c", "x")
    assert members(r.sinter("s1", "s2")) == {b"c", b"d"}
    assert members(r.sinter(["s1", "s2", "s3"])) == {b"c", b"d"}
    assert members(r.sinter("s1")) == {b"a", b"b", b"c", b"d"}
    assert members(r.sinter("s1", "nokey")) == set()
    assert r.sintercard(2, ["s1", "s2"]) == 2
    assert r.sintercard(3, ["s1", "s2", "s3"]) == 2
    assert r.sintercard(2, ["s1", "s2"], limit=1) == 1
    assert r.sintercard(2, ["s1", "s2"], limit=0) == 2  # 0: no limit
    assert r.sintercard(2, ["s1", "nokey"]) == 0
    assert r.sintercard(1, ["s1"], limit=3) == 3
    with pytest.raises(lib.exc.ResponseError, match="LIMIT can't be negative"):
        r.execute_command("SINTERCARD", "2", "s1", "s2", "LIMIT", "-1")
    with pytest.raises(lib.exc.ResponseError, match="numkeys should be greater than 0"):
        r.execute_command("SINTERCARD", "0", "s1")
    with pytest.raises(lib.exc.ResponseError, match="Number of keys can't be greater than number of args"):
        r.execute_command("SINTERCARD", "3", "s1", "s2")
    with pytest.raises(lib.exc.ResponseError, match="syntax error"):
        r.execute_command("SINTERCARD", "1", "s1", "s2")
    assert r.sinterstore("dst", ["s1", "s2"]) == 2
    assert members(r.smembers("dst")) == {b"c", b"d"}
    r.sadd("s4", "c", "q")
    assert r.sinterstore("s4", ["s4", "s3"]) == 1  # destination among the sources
    assert members(r.smembers("s4")) == {b"c"}
    assert r.sinterstore("dst", ["s1", "nokey"]) == 0
    assert r.exists("dst") == 0  # an empty result deletes the destination


def test_sunion_sdiff_store_smove(r):
    r.sadd("s1", "a", "b", "c")
    r.sadd("s2", "c", "d")
    r.sadd("s3", "a", "e")
    assert members(r.sunion("s1", "s2", "s3")) == {b"a", b"b", b"c", b"d", b"e"}
    assert members(r.sunion("s1", "nokey")) == {b"a", b"b", b"c"}
    assert members(r.sunion("nokey")) == set()
    assert members(r.sdiff("s1", "s2")) == {b"a", b"b"}
    assert members(r.sdiff("s1", "s2", "s3")) == {b"b"}
    assert members(r.sdiff("s1", "nokey")) == {b"a", b"b", b"c"}
    assert members(r.sdiff("nokey", "s1")) == set()
    assert members(r.sdiff("s1", "s1")) == set()
    assert r.sunionstore("u", ["s1", "s2"]) == 4
    assert members(r.smembers("u")) == {b"a", b"b", b"c", b"d"}
    assert r.sdiffstore("d", ["s1", "s3"]) == 2
    assert members(r.smembers("d")) == {b"b", b"c"}
    assert r.sunionstore("s1", ["s1", "s3"]) == 4  # destination among the sources
    assert members(r.smembers("s1")) == {b"a", b"b", b"c", b"e"}
    assert r.sdiffstore("s1", ["s1", "s2"]) == 3
    assert members(r.smembers("s1")) == {b"a", b"b", b"e"}
    r.set("str", "x")
    assert r.sunionstore("str", ["s2"]) == 2  # a destination of another type is replaced
    assert r.type("str") == b"set"
    # SMOVE
    r.sadd("src", "a", "b")
    r.sadd("dst", "b", "c")
    assert r.smove("src", "dst", "a") is True
    assert members(r.smembers("src")) == {b"b"}
    assert members(r.smembers("dst")) == {b"a", b"b", b"c"}
    assert r.smove("src", "dst", "b") is True  # already in dst: removed from src only
    assert r.exists("src") == 0
    assert r.scard("dst") == 3
    assert r.smove("dst", "dst", "a") is True
    assert r.smove("dst", "dst", "zz") is False
    assert r.smove("dst", "new", "zz") is False
    assert r.exists("new") == 0
    assert r.smove("nokey", "dst", "a") is False
    assert r.smove("dst", "new", "c") is True
    assert members(r.smembers("new")) == {b"c"}


def test_sscan(lib, r):
    all_m = {f"member:{i}".encode() for i in range(250)} | {f"x{i}".encode() for i in range(30)}
    r.sadd("s", *all_m)
    seen = set()
    for batch in scan_all(lambda c: r.sscan("s", c, count=9)):
        seen.update(batch)
    assert seen == all_m
    seen = set()
    for batch in scan_all(lambda c: r.sscan("s", c, match="x*", count=40)):
        assert all(m.startswith(b"x") for m in batch), batch
        seen.update(batch)
    assert seen == {m for m in all_m if m.startswith(b"x")}
    assert set().union(*scan_all(lambda c: r.sscan("s", c, match="member:1?"))) == {
        f"member:1{i}".encode() for i in range(10)}
    r.sadd("ints", *range(20))  # an all-integer set
    assert set().union(*scan_all(lambda c: r.sscan("ints", c, count=3))) == {str(i).encode() for i in range(20)}
    assert r.sscan("nokey", 0) == (0, [])
    with pytest.raises(lib.exc.ResponseError, match="invalid cursor"):
        r.execute_command("SSCAN", "s", "-x")
