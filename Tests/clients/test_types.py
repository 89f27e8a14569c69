"""Hashes, sets, sorted sets and lists through redis-py and valkey-py: what crosses types.

The commands of each type have their own files (test_types_hash_set.py, test_types_zset.py,
test_types_list.py, and test_types_blocking.py for the blocking pops); this one holds what
concerns every type at once: TYPE, SCAN TYPE, KEYS, DBSIZE, COPY, DEL/EXISTS/EXPIRE/RENAME on
collections, WRONGTYPE in both directions, empty collections disappearing, SORT and SORT_RO,
transactions and WATCH across types, and 100,000-element replies. It also holds the helpers
the other test_types_*.py files import.

Every test runs for the four clients of test_redis_py.py (redis-py and valkey-py, each in RESP2
and RESP3: the `lib` and `r` fixtures are that file's) on a fresh server, and must pass
against Debian's redis-server 7.0.15 (KV_TARGET=redis), which is how each assertion was
checked. Every loop is bounded in count and every wait in time.

The libraries shape replies differently (a Python set or a list for SMEMBERS; (member, score)
tuples, [member, score] lists or a flat list for WITHSCORES; bytes or floats for scores):
`members`, `scored` and `as_dict` reduce them to one form, so an assertion checks the data,
not the library.
"""

from __future__ import annotations

import re
import socket
import time

import pytest

from test_redis_py import as_dict, lib, r, s  # noqa: F401  (lib and r are the fixtures)

WRONGTYPE = "^WRONGTYPE Operation against a key holding the wrong kind of value$"


# ---------------------------------------------------------------------------------------------
# Helpers (also used by the other test_types_*.py files)


def members(reply):
    """SMEMBERS/SINTER/SPOP... as a Python set of bytes (redis-py gives a set, valkey-py a list)."""
    assert isinstance(reply, (set, list)), reply
    return set(reply)


def scored(reply):
    """A WITHSCORES-style reply as [(member bytes, float score)], whatever the library made of
    it: [(m, 1.0)], [[m, 1.0]], [m, b"1", ...] flat, or RESP3 nested pairs with doubles."""
    if reply is None:
        return None
    reply = list(reply)
    if reply and isinstance(reply[0], (list, tuple)):
        out = []
        for pair in reply:
            assert len(pair) == 2, reply
            out.append((pair[0], float(pair[1])))
        return out
    assert len(reply) % 2 == 0, reply
    return [(reply[i], float(reply[i + 1])) for i in range(0, len(reply), 2)]


def raw_pairs(reply):
    """A flat or nested pair list (HRANDFIELD ... WITHVALUES) as [(field, value)]."""
    reply = list(reply)
    if reply and isinstance(reply[0], (list, tuple)):
        return [tuple(p) for p in reply]
    assert len(reply) % 2 == 0, reply
    return [(reply[i], reply[i + 1]) for i in range(0, len(reply), 2)]


def scan_all(fetch, max_calls=10_000):
    """A *SCAN loop from cursor 0 until the cursor comes back to 0: fetch(cursor) returns
    (cursor, batch); returns the batches. Bounded (the libraries' *scan_iter are not)."""
    batches = []
    cursor = 0
    for _ in range(max_calls):
        cursor, batch = fetch(cursor)
        batches.append(batch)
        if int(cursor) == 0:
            return batches
    pytest.fail(f"SCAN did not return to cursor 0 in {max_calls} calls")


def wait_until(pred, timeout=5.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.01)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def wrongtype(lib):
    return pytest.raises(lib.exc.ResponseError, match=WRONGTYPE)


def make_one_of_each(r, prefix=""):
    """A string, a hash, a set, a sorted set and a list; returns {type name: key}."""
    keys = {t: f"{prefix}{t}" for t in ("string", "hash", "set", "zset", "list")}
    r.set(keys["string"], "sv")
    r.hset(keys["hash"], mapping={"f1": "v1", "f2": "v2"})
    r.sadd(keys["set"], "m1", "m2")
    r.zadd(keys["zset"], {"z1": 1, "z2": 2})
    r.rpush(keys["list"], "e1", "e2")
    return keys


def snapshot(r, key):
    """The content of key whatever its type, for 'unchanged' comparisons."""
    t = s(r.type(key))
    if t == "string":
        return t, r.get(key)
    if t == "hash":
        return t, as_dict(r.hgetall(key))
    if t == "set":
        return t, members(r.smembers(key))
    if t == "zset":
        return t, scored(r.zrange(key, 0, -1, withscores=True))
    if t == "list":
        return t, r.lrange(key, 0, -1)
    return t, None


# ---------------------------------------------------------------------------------------------
# TYPE, KEYS, SCAN TYPE, DBSIZE, RANDOMKEY


def test_type_keys_dbsize_see_every_type(r):
    keys = make_one_of_each(r, "t:")
    for t, k in keys.items():
        assert r.type(k) == t.encode()
    assert r.type("t:missing") == b"none"
    assert r.exists(*keys.values(), "t:missing") == 5
    assert r.dbsize() == 5
    assert set(r.keys("*")) == {k.encode() for k in keys.values()}
    assert set(r.keys("t:?et")) == {b"t:set"}
    assert set(r.keys("t:*s*")) == {b"t:string", b"t:hash", b"t:set", b"t:zset", b"t:list"}
    assert r.randomkey() in {k.encode() for k in keys.values()}


def test_scan_type_filter(r):
    """SCAN ... TYPE t returns exactly the keys of that type, through many SCAN calls."""
    pipe = r.pipeline(transaction=False)
    want = {t: set() for t in ("string", "hash", "set", "zset", "list")}
    for i in range(40):
        pipe.set(f"str:{i}", i)
        pipe.hset(f"hash:{i}", "f", i)
        pipe.sadd(f"set:{i}", i)
        pipe.zadd(f"zset:{i}", {"m": i})
        pipe.rpush(f"list:{i}", i)
        for t in want:
            want[t].add(f"{'str' if t == 'string' else t}:{i}".encode())
    pipe.execute()
    assert r.dbsize() == 200
    for t, expected in want.items():
        seen = set().union(*scan_all(lambda c: r.scan(cursor=c, count=7, _type=t)))
        assert seen == expected, t
        tens = {k for k in expected if re.fullmatch(rb"[a-z]+:1[0-9]", k)}
        assert len(tens) == 10
        assert set().union(*scan_all(lambda c: r.scan(cursor=c, match="*:1?", count=13, _type=t))) == tens
    everything = set().union(*scan_all(lambda c: r.scan(cursor=c, count=50)))
    assert everything == set().union(*want.values())


# ---------------------------------------------------------------------------------------------
# COPY, DEL, EXISTS, EXPIRE, TTL, PERSIST, RENAME, RENAMENX


def test_copy_every_type_is_independent(r):
    keys = make_one_of_each(r, "src:")
    r.expire(keys["hash"], 100)
    for t, k in keys.items():
        before = snapshot(r, k)
        assert r.copy(k, f"dst:{t}") is True
        assert snapshot(r, f"dst:{t}") == before
        assert r.type(f"dst:{t}") == t.encode()
    assert 0 < r.ttl("dst:hash") <= 100  # COPY carries the expiry
    assert r.ttl("dst:set") == -1
    # Changing the source afterwards leaves the copy alone ...
    r.hset(keys["hash"], "f1", "changed")
    r.hdel(keys["hash"], "f2")
    r.sadd(keys["set"], "m3")
    r.srem(keys["set"], "m1")
    r.zadd(keys["zset"], {"z1": 100, "z3": 3})
    r.rpush(keys["list"], "e3")
    r.lset(keys["list"], 0, "E1")
    r.append(keys["string"], "+")
    assert as_dict(r.hgetall("dst:hash")) == {"f1": b"v1", "f2": b"v2"}
    assert members(r.smembers("dst:set")) == {b"m1", b"m2"}
    assert scored(r.zrange("dst:zset", 0, -1, withscores=True)) == [(b"z1", 1.0), (b"z2", 2.0)]
    assert r.lrange("dst:list", 0, -1) == [b"e1", b"e2"]
    assert r.get("dst:string") == b"sv"
    # ... and changing the copy leaves the source alone.
    r.hset("dst:hash", "only-in-copy", "x")
    r.lpop("dst:list")
    assert r.hexists(keys["hash"], "only-in-copy") is False
    assert r.lrange(keys["list"], 0, -1) == [b"E1", b"e2", b"e3"]
    # An existing destination: refused without REPLACE, replaced (even by another type) with it.
    assert r.copy(keys["zset"], "dst:list") is False
    assert r.type("dst:list") == b"list"
    assert r.copy(keys["zset"], "dst:list", replace=True) is True
    assert r.type("dst:list") == b"zset"
    assert scored(r.zrange("dst:list", 0, -1, withscores=True)) == [(b"z2", 2.0), (b"z3", 3.0), (b"z1", 100.0)]
    assert r.copy("src:missing", "dst:new") is False
    assert r.exists("dst:new") == 0


def test_del_exists_expire_persist_on_collections(r):
    keys = make_one_of_each(r)
    colls = [keys[t] for t in ("hash", "set", "zset", "list")]
    assert r.exists(*colls) == 4
    for k in colls:
        assert r.ttl(k) == -1
        assert r.expire(k, 100) is True
        assert 0 < r.ttl(k) <= 100
        assert r.persist(k) is True
        assert r.ttl(k) == -1
        assert r.pexpire(k, 60) is True
    wait_until(lambda: r.exists(*colls) == 0, what="collections to expire")
    for k in colls:
        assert r.type(k) == b"none"
        assert r.ttl(k) == -2
    # A collection re-created after expiring starts empty (no old fields come back).
    assert r.hset(keys["hash"], "new", "1") == 1
    assert as_dict(r.hgetall(keys["hash"])) == {"new": b"1"}
    assert r.rpush(keys["list"], "x") == 1
    assert r.sadd(keys["set"], "m1") == 1
    assert r.zadd(keys["zset"], {"z9": 9}) == 1
    assert r.zcard(keys["zset"]) == 1
    # DEL of several types at once; UNLINK too.
    assert r.delete(keys["hash"], keys["set"], keys["string"], "missing") == 3
    assert r.unlink(keys["zset"], keys["list"]) == 2
    assert r.dbsize() == 0


def test_rename_collections(lib, r):
    r.hset("h", mapping={"a": "1", "b": "2", "c": "3"})
    r.expire("h", 100)
    assert r.rename("h", "h2") is True
    assert r.exists("h") == 0
    assert as_dict(r.hgetall("h2")) == {"a": b"1", "b": b"2", "c": b"3"}
    assert 0 < r.ttl("h2") <= 100  # the renamed hash keeps its fields and its TTL
    r.rpush("l", "x", "y")
    r.zadd("z", {"m": 1.5})
    r.sadd("s", "p")
    # RENAME over a key of another type replaces it.
    assert r.rename("l", "z") is True
    assert r.type("z") == b"list"
    assert r.lrange("z", 0, -1) == [b"x", b"y"]
    assert r.renamenx("z", "s") is False
    assert r.type("s") == b"set" and r.lrange("z", 0, -1) == [b"x", b"y"]
    assert r.renamenx("s", "s2") is True
    assert members(r.smembers("s2")) == {b"p"}
    assert r.rename("h2", "h2") is True
    assert as_dict(r.hgetall("h2")) == {"a": b"1", "b": b"2", "c": b"3"}
    with pytest.raises(lib.exc.ResponseError, match="no such key"):
        r.rename("missing", "x")


# ---------------------------------------------------------------------------------------------
# WRONGTYPE


HASH_CMDS = [("HSET", "{k}", "f", "v"), ("HSETNX", "{k}", "f", "v"), ("HGET", "{k}", "f"), ("HMGET", "{k}", "f"),
             ("HMSET", "{k}", "f", "v"), ("HGETALL", "{k}"), ("HDEL", "{k}", "f"), ("HLEN", "{k}"),
             ("HEXISTS", "{k}", "f"), ("HKEYS", "{k}"), ("HVALS", "{k}"), ("HSTRLEN", "{k}", "f"),
             ("HINCRBY", "{k}", "f", "1"), ("HINCRBYFLOAT", "{k}", "f", "1"), ("HRANDFIELD", "{k}"),
             ("HRANDFIELD", "{k}", "2", "WITHVALUES"), ("HSCAN", "{k}", "0")]
SET_CMDS = [("SADD", "{k}", "m"), ("SREM", "{k}", "m"), ("SMEMBERS", "{k}"), ("SISMEMBER", "{k}", "m"),
            ("SMISMEMBER", "{k}", "m"), ("SCARD", "{k}"), ("SPOP", "{k}"), ("SPOP", "{k}", "2"),
            ("SRANDMEMBER", "{k}"), ("SRANDMEMBER", "{k}", "-2"), ("SMOVE", "{k}", "wt:dst", "m"),
            ("SINTER", "{k}"), ("SINTERCARD", "1", "{k}"), ("SINTERSTORE", "wt:dst", "{k}"), ("SUNION", "{k}"),
            ("SUNIONSTORE", "wt:dst", "{k}"), ("SDIFF", "{k}"), ("SDIFFSTORE", "wt:dst", "{k}"), ("SSCAN", "{k}", "0")]
# ZUNION/ZINTER/ZDIFF/ZINTERCARD and their STORE forms also read sets (scores 1): not WRONGTYPE on a set.
ZSET_ON_SET_OK = [("ZUNION", "1", "{k}"), ("ZINTER", "1", "{k}"), ("ZDIFF", "1", "{k}"), ("ZINTERCARD", "1", "{k}"),
                  ("ZUNIONSTORE", "wt:dst", "1", "{k}"), ("ZINTERSTORE", "wt:dst", "1", "{k}"),
                  ("ZDIFFSTORE", "wt:dst", "1", "{k}")]
ZSET_CMDS = [("ZADD", "{k}", "1", "m"), ("ZINCRBY", "{k}", "1", "m"), ("ZREM", "{k}", "m"), ("ZSCORE", "{k}", "m"),
             ("ZMSCORE", "{k}", "m"), ("ZCARD", "{k}"), ("ZCOUNT", "{k}", "-inf", "+inf"), ("ZLEXCOUNT", "{k}", "-", "+"),
             ("ZRANGE", "{k}", "0", "-1"), ("ZRANGESTORE", "wt:dst", "{k}", "0", "-1"),
             ("ZRANGEBYSCORE", "{k}", "-inf", "+inf"), ("ZREVRANGEBYSCORE", "{k}", "+inf", "-inf"),
             ("ZRANGEBYLEX", "{k}", "-", "+"), ("ZREVRANGEBYLEX", "{k}", "+", "-"), ("ZREVRANGE", "{k}", "0", "-1"),
             ("ZRANK", "{k}", "m"), ("ZREVRANK", "{k}", "m"), ("ZPOPMIN", "{k}"), ("ZPOPMAX", "{k}", "2"),
             ("BZPOPMIN", "{k}", "0.01"), ("BZPOPMAX", "{k}", "0.01"), ("ZMPOP", "1", "{k}", "MIN"),
             ("BZMPOP", "0.01", "1", "{k}", "MAX"), ("ZREMRANGEBYSCORE", "{k}", "-inf", "+inf"),
             ("ZREMRANGEBYRANK", "{k}", "0", "-1"), ("ZREMRANGEBYLEX", "{k}", "-", "+"), ("ZRANDMEMBER", "{k}"),
             ("ZRANDMEMBER", "{k}", "2", "WITHSCORES"), ("ZSCAN", "{k}", "0")]
LIST_CMDS = [("LPUSH", "{k}", "x"), ("RPUSH", "{k}", "x"), ("LPUSHX", "{k}", "x"), ("RPUSHX", "{k}", "x"),
             ("LPOP", "{k}"), ("RPOP", "{k}", "2"), ("LLEN", "{k}"), ("LRANGE", "{k}", "0", "-1"), ("LINDEX", "{k}", "0"),
             ("LSET", "{k}", "0", "x"), ("LINSERT", "{k}", "BEFORE", "x", "y"), ("LREM", "{k}", "0", "x"),
             ("LTRIM", "{k}", "0", "-1"), ("LPOS", "{k}", "x"), ("LMOVE", "{k}", "wt:dst", "LEFT", "RIGHT"),
             ("RPOPLPUSH", "{k}", "wt:dst"), ("LMPOP", "1", "{k}", "LEFT"), ("BLPOP", "{k}", "0.01"),
             ("BRPOP", "{k}", "0.01"), ("BLMOVE", "{k}", "wt:dst", "LEFT", "LEFT", "0.01"),
             ("BRPOPLPUSH", "{k}", "wt:dst", "0.01"), ("BLMPOP", "0.01", "1", "{k}", "RIGHT")]
STRING_CMDS = [("GET", "{k}"), ("APPEND", "{k}", "x"), ("INCR", "{k}"), ("INCRBY", "{k}", "2"), ("DECR", "{k}"),
               ("DECRBY", "{k}", "2"), ("INCRBYFLOAT", "{k}", "1.5"), ("SETRANGE", "{k}", "0", "x"),
               ("GETRANGE", "{k}", "0", "-1"), ("STRLEN", "{k}"), ("SETBIT", "{k}", "0", "1"), ("GETBIT", "{k}", "0"),
               ("BITCOUNT", "{k}"), ("GETDEL", "{k}"), ("GETEX", "{k}", "EX", "100"), ("GETSET", "{k}", "x"),
               ("SET", "{k}", "x", "GET")]
FAMILIES = {"hash": HASH_CMDS, "set": SET_CMDS, "zset": ZSET_CMDS, "list": LIST_CMDS, "string": STRING_CMDS}


def test_wrongtype_every_family_against_every_other_type(lib, r):
    """Each family's commands against a key of each other type: WRONGTYPE, nothing changed."""
    keys = make_one_of_each(r, "wt:")
    before = {k: snapshot(r, k) for k in keys.values()}
    tried = 0
    for family, cmds in FAMILIES.items():
        for t, key in keys.items():
            if t == family:
                continue
            for cmd in cmds:
                args = [a.format(k=key) for a in cmd]
                with wrongtype(lib):
                    r.execute_command(*args)
                tried += 1
    # ZUNION & co read sets as sorted sets with score 1: these work on a set ...
    for cmd in ZSET_ON_SET_OK:
        r.execute_command(*[a.format(k=keys["set"]) for a in cmd])
    assert scored(r.zrange("wt:dst", 0, -1, withscores=True)) == [(b"m1", 1.0), (b"m2", 1.0)]
    r.delete("wt:dst")
    # ... and are WRONGTYPE on the other types.
    for t in ("string", "hash", "list"):
        for cmd in ZSET_ON_SET_OK:
            with wrongtype(lib):
                r.execute_command(*[a.format(k=keys[t]) for a in cmd])
            tried += 1
    assert tried > 400
    assert {k: snapshot(r, k) for k in keys.values()} == before
    assert r.exists("wt:dst") == 0
    assert r.dbsize() == 5


def test_wrongtype_as_second_key_or_destination(lib, r):
    """Multi-key commands check every source key; a list/set destination of the wrong type
    is WRONGTYPE for LMOVE/SMOVE (nothing moves), while STORE commands overwrite any type."""
    keys = make_one_of_each(r, "wt:")
    with wrongtype(lib):
        r.sinter(keys["set"], keys["hash"])
    with wrongtype(lib):
        r.sinter("wt:missing", keys["string"])  # even after a missing (empty) key
    with wrongtype(lib):
        r.sunion(keys["set"], keys["list"])
    with wrongtype(lib):
        r.sdiff(keys["set"], keys["zset"])
    with wrongtype(lib):
        r.zunion([keys["zset"], keys["list"]])
    with wrongtype(lib):
        r.lmove(keys["list"], keys["hash"], "LEFT", "RIGHT")
    with wrongtype(lib):
        r.rpoplpush(keys["list"], keys["string"])
    with wrongtype(lib):
        r.smove(keys["set"], keys["zset"], "m1")
    with wrongtype(lib):
        r.blpop(["wt:missing", keys["hash"]], timeout=0.05)
    assert r.lrange(keys["list"], 0, -1) == [b"e1", b"e2"]
    assert members(r.smembers(keys["set"])) == {b"m1", b"m2"}
    # STORE destinations are overwritten whatever they hold.
    assert r.sunionstore(keys["string"], [keys["set"]]) == 2
    assert r.type(keys["string"]) == b"set"
    assert r.zunionstore(keys["hash"], [keys["zset"]]) == 2
    assert r.type(keys["hash"]) == b"zset"
    assert r.sort(keys["list"], alpha=True, store=keys["zset"]) == 2
    assert r.type(keys["zset"]) == b"list"
    assert r.lrange(keys["zset"], 0, -1) == [b"e1", b"e2"]


def test_string_commands_on_collections_and_set_replacing_them(lib, r):
    """(STRING_CMDS on collections are WRONGTYPE: the matrix above.) MGET, SETNX, MSETNX, and
    SET/MSET that replace a collection whatever its type."""
    keys = make_one_of_each(r, "sc:")
    colls = [keys[t] for t in ("hash", "set", "zset", "list")]
    # MGET answers nil for anything that is not a string, it never fails.
    assert r.mget(keys["string"], *colls, "sc:missing") == [b"sv", None, None, None, None, None]
    # SETNX / SET NX see the key as existing; nothing changes.
    assert r.setnx(keys["hash"], "x") is False
    assert r.set(keys["list"], "x", nx=True) is None
    assert r.msetnx({keys["set"]: "x", "sc:fresh": "y"}) is False
    assert r.exists("sc:fresh") == 0
    for t in ("hash", "set", "zset", "list"):
        assert r.type(keys[t]) == t.encode()
    # A plain SET replaces a collection of any type (and its TTL).
    r.expire(keys["hash"], 100)
    for k in colls:
        assert r.set(k, "now a string") is True
        assert r.type(k) == b"string"
        assert r.get(k) == b"now a string"
    assert r.ttl(keys["hash"]) == -1
    with wrongtype(lib):
        r.hset(keys["hash"], "f", "v")
    # MSET and SET EX replace collections too; GETSET of a string is not affected.
    keys = make_one_of_each(r, "rp:")
    r.mset({keys["hash"]: "1", keys["zset"]: "2"})
    assert r.type(keys["hash"]) == b"string" and r.get(keys["hash"]) == b"1"
    assert r.type(keys["zset"]) == b"string" and r.get(keys["zset"]) == b"2"
    assert r.set(keys["set"], "3", ex=100) is True
    assert r.type(keys["set"]) == b"string" and 0 < r.ttl(keys["set"]) <= 100
    assert r.getset(keys["string"], "x") == b"sv"
    # The new string can become a collection again after DEL.
    r.delete(keys["hash"])
    assert r.rpush(keys["hash"], "a") == 1
    assert r.type(keys["hash"]) == b"list"


# ---------------------------------------------------------------------------------------------
# Empty collections disappear


def test_empty_collections_disappear(r):
    def gone(key):
        return r.exists(key) == 0 and r.type(key) == b"none" and key.encode() not in r.keys("*")

    r.hset("h", mapping={"a": 1, "b": 2})
    assert r.hdel("h", "a") == 1 and r.exists("h") == 1
    assert r.hdel("h", "b", "zz") == 1
    assert gone("h")
    r.sadd("s", "a", "b")
    assert r.srem("s", "a", "b") == 2
    assert gone("s")
    r.zadd("z", {"a": 1})
    assert r.zrem("z", "a") == 1
    assert gone("z")
    r.rpush("l", "a")
    assert r.lpop("l") == b"a"
    assert gone("l")
    r.rpush("l", "a", "b")
    assert r.rpop("l", 5) == [b"b", b"a"]
    assert gone("l")
    r.rpush("l", "x", "x")
    assert r.lrem("l", 0, "x") == 2
    assert gone("l")
    r.rpush("l", "x", "y")
    assert r.ltrim("l", 5, 10) is True
    assert gone("l")
    r.rpush("l", "x")
    assert r.lmove("l", "l2", "LEFT", "LEFT") == b"x"
    assert gone("l")
    assert r.rpoplpush("l2", "l3") == b"x"
    assert gone("l2")
    assert r.lmpop(1, "l3", direction="LEFT") == [b"l3", [b"x"]]
    assert gone("l3")
    r.sadd("s", "a")
    assert r.spop("s") == b"a"
    assert gone("s")
    r.sadd("s", "a", "b")
    assert members(r.spop("s", 10)) == {b"a", b"b"}
    assert gone("s")
    r.sadd("s", "a")
    assert r.smove("s", "s2", "a") is True
    assert gone("s")
    r.zadd("z", {"a": 1, "b": 2})
    assert scored(r.zpopmin("z", 5)) == [(b"a", 1.0), (b"b", 2.0)]
    assert gone("z")
    for fn in (lambda: r.zremrangebyrank("z", 0, -1), lambda: r.zremrangebyscore("z", "-inf", "+inf"),
               lambda: r.zremrangebylex("z", "-", "+")):
        r.zadd("z", {"a": 0, "b": 0})
        assert fn() == 2
        assert gone("z")
    r.zadd("z", {"a": 1})
    assert r.execute_command("ZMPOP", "1", "z", "MAX") is not None
    assert gone("z")
    assert r.dbsize() == 1  # only s2 is left
    # STORE commands with an empty result delete the destination, whatever it held.
    r.set("dst", "old")
    r.sadd("x1", "a")
    r.sadd("x2", "b")
    assert r.sinterstore("dst", ["x1", "x2"]) == 0
    assert gone("dst")
    r.set("dst", "old")
    assert r.sdiffstore("dst", ["x1", "x1"]) == 0
    assert gone("dst")
    r.set("dst", "old")
    assert r.zinterstore("dst", ["x1", "x2"]) == 0
    assert gone("dst")
    r.set("dst", "old")
    r.zadd("zz", {"a": 1})
    assert r.zrangestore("dst", "zz", 5, 10) == 0
    assert gone("dst")
    r.set("dst", "old")
    assert r.sort("missing", store="dst") == 0
    assert gone("dst")


# ---------------------------------------------------------------------------------------------
# SORT and SORT_RO


def test_sort_numeric_alpha_desc_limit(lib, r):
    r.rpush("l", 3, 1, 2, 10, "-1.5", "1e3")
    assert r.sort("l") == [b"-1.5", b"1", b"2", b"3", b"10", b"1e3"]
    assert r.sort("l", desc=True) == [b"1e3", b"10", b"3", b"2", b"1", b"-1.5"]
    assert r.sort("l", alpha=True) == [b"-1.5", b"1", b"10", b"1e3", b"2", b"3"]
    assert r.sort("l", start=1, num=2) == [b"1", b"2"]
    assert r.sort("l", start=4, num=10) == [b"10", b"1e3"]
    assert r.sort("l", start=10, num=2) == []
    assert r.execute_command("SORT", "l", "LIMIT", "1", "-1") == [b"1", b"2", b"3", b"10", b"1e3"]  # count < 0: all
    assert r.execute_command("SORT", "l", "LIMIT", "0", "0") == []
    assert r.lrange("l", 0, -1) == [b"3", b"1", b"2", b"10", b"-1.5", b"1e3"]  # SORT leaves the list alone
    r.sadd("s", 5, 3, 9, "inf", "-inf")
    assert r.sort("s") == [b"-inf", b"3", b"5", b"9", b"inf"]
    r.zadd("z", {"c": 1, "b": 2, "a": 3})
    assert r.sort("z", alpha=True) == [b"a", b"b", b"c"]
    assert r.sort("z", alpha=True, desc=True, start=0, num=2) == [b"c", b"b"]
    r.rpush("words", "banana", "apple", "Cherry")
    assert r.sort("words", alpha=True) == [b"Cherry", b"apple", b"banana"]  # byte order
    with pytest.raises(lib.exc.ResponseError, match="One or more scores can't be converted into double"):
        r.sort("words")
    assert r.sort("missing") == []
    r.set("str", "x")
    with wrongtype(lib):
        r.sort("str")
    with pytest.raises(lib.exc.ResponseError, match="syntax error"):
        r.execute_command("SORT", "l", "FOO")


def test_sort_by_and_get_patterns(r):
    r.rpush("ids", 3, 1, 2, 10)
    r.mset({"w_3": 30, "w_1": 100, "w_2": 20, "w_10": 5, "o_3": "three", "o_1": "one", "o_2": "two"})
    for i, (f, n) in {3: (3, "c"), 1: (1, "a"), 2: (2, "b"), 10: (0, "z")}.items():
        r.hset(f"h_{i}", mapping={"f": f, "n": n})
    assert r.sort("ids", by="w_*") == [b"10", b"2", b"3", b"1"]
    assert r.sort("ids", by="w_*", desc=True) == [b"1", b"3", b"2", b"10"]
    # GET: the pattern's value per element (nil when missing), # is the element itself.
    assert r.sort("ids", by="w_*", get=["o_*", "#"]) == [None, b"10", b"two", b"2", b"three", b"3", b"one", b"1"]
    # BY and GET on a hash field with ->.
    assert r.sort("ids", by="h_*->f", get=["h_*->n", "#"]) == [b"z", b"10", b"a", b"1", b"b", b"2", b"c", b"3"]
    assert r.sort("ids", by="h_*->f", get="h_*->nope") == [None, None, None, None]
    assert r.sort("ids", get="nope_*") == [None, None, None, None]
    # BY with a missing weight key sorts as 0; ALPHA compares the weights as strings.
    r.rpush("mix", 1, "x")
    assert r.sort("mix", by="w_*") == [b"x", b"1"]
    r.rpush("m", 2, 1)
    assert r.sort("m", by="w_*", alpha=True) == [b"1", b"2"]  # "100" < "20"
    # BY nosort: the list's own order (DESC walks it from the tail), LIMIT still applies.
    assert r.sort("ids", by="nosort") == [b"3", b"1", b"2", b"10"]
    assert r.sort("ids", by="nosort", desc=True) == [b"10", b"2", b"1", b"3"]
    assert r.sort("ids", by="nosort", start=1, num=2) == [b"1", b"2"]
    assert r.sort("ids", by="nosort", get="o_*") == [b"three", b"one", b"two", None]
    # ... and a sorted set's score order.
    r.zadd("z", {"c": 1, "b": 2, "a": 3})
    assert r.sort("z", by="nosort") == [b"c", b"b", b"a"]
    assert r.sort("z", by="nosort", desc=True) == [b"a", b"b", b"c"]
    assert r.sort("z", by="nosort", start=1, num=1) == [b"b"]


def test_sort_store_and_sort_ro(lib, r):
    r.rpush("l", 3, 1, 2)
    r.mset({"o_1": "one", "o_2": "two", "o_3": "three"})
    assert r.sort("l", store="dst") == 3
    assert r.type("dst") == b"list"
    assert r.lrange("dst", 0, -1) == [b"1", b"2", b"3"]
    assert r.sort("l", get="o_*", desc=True, store="dst") == 3
    assert r.lrange("dst", 0, -1) == [b"three", b"two", b"one"]
    r.sadd("s", "b", "a")
    assert r.sort("s", alpha=True, store="s") == 2  # STORE onto the source itself
    assert r.type("s") == b"list" and r.lrange("s", 0, -1) == [b"a", b"b"]
    assert r.sort_ro("l") == [b"1", b"2", b"3"]
    assert r.sort_ro("l", by="o_*", alpha=True, desc=True) == [b"2", b"3", b"1"]
    assert r.sort_ro("l", get="o_*", start=0, num=2) == [b"one", b"two"]
    assert r.sort_ro("missing") == []
    with pytest.raises(lib.exc.ResponseError, match="syntax error"):
        r.execute_command("SORT_RO", "l", "STORE", "dst")


# ---------------------------------------------------------------------------------------------
# Transactions across types


def test_multi_exec_across_types_reads_own_writes(lib, r):
    pipe = r.pipeline()
    pipe.hset("h", mapping={"f": "v", "n": "1"})
    pipe.sadd("s", "a", "b")
    pipe.zadd("z", {"m": 1.5})
    pipe.lpush("l", "x", "y")
    pipe.hincrby("h", "n", 5)
    pipe.type("z")
    assert pipe.execute() == [2, 2, 1, 2, 6, b"zset"]
    other = lib.new()
    assert as_dict(other.hgetall("h")) == {"f": b"v", "n": b"6"}
    assert members(other.smembers("s")) == {b"a", b"b"}
    assert scored(other.zrange("z", 0, -1, withscores=True)) == [(b"m", 1.5)]
    assert other.lrange("l", 0, -1) == [b"y", b"x"]
    # A WRONGTYPE inside EXEC fails that command only.
    pipe = r.pipeline()
    pipe.sadd("h", "oops")
    pipe.rpush("l", "z")
    pipe.zincrby("z", 1, "m")
    results = pipe.execute(raise_on_error=False)
    assert isinstance(results[0], lib.exc.ResponseError) and "WRONGTYPE" in str(results[0])
    assert results[1] == 3
    assert float(results[2]) == 2.5
    assert r.lrange("l", 0, -1) == [b"y", b"x", b"z"]
    # Reads inside a transaction see its own queued writes.
    r.delete("h", "l", "s", "z")
    pipe = r.pipeline()
    pipe.hset("h", "f", "v1")
    pipe.hget("h", "f")
    pipe.hset("h", "f", "v2")
    pipe.hgetall("h")
    pipe.lpush("l", "a", "b")
    pipe.lrange("l", 0, -1)
    pipe.sadd("s", "x")
    pipe.sismember("s", "x")
    pipe.zadd("z", {"m": 2})
    pipe.zincrby("z", 1, "m")
    pipe.zscore("z", "m")
    pipe.delete("h")
    pipe.hgetall("h")
    pipe.exists("h", "l", "s", "z")
    res = pipe.execute()
    assert res[0] == 1 and res[1] == b"v1" and res[2] == 0
    assert as_dict(res[3]) == {"f": b"v2"}
    assert res[4] == 2 and res[5] == [b"b", b"a"]
    assert res[6] == 1 and res[7] in (1, True)
    assert res[8] == 1 and float(res[9]) == 3.0 and float(res[10]) == 3.0
    assert res[11] == 1 and as_dict(res[12]) == {} and res[13] == 3


def test_watch_collections(lib, r):
    """WATCH on a hash: another client's HSET, or EXPIRE of the hash, makes EXEC fail; a read
    does not. WATCH on a list another client pops; a set, a sorted set changed by another."""
    other = lib.new()
    r.hset("h", "f", "0")
    r.rpush("l", "a", "b")
    r.sadd("s", "m")
    r.zadd("z", {"m": 1})
    changes = [("h", lambda: other.hset("h", "f", "1")),
               ("h", lambda: other.expire("h", 100)),
               ("h", lambda: other.hdel("h", "f") and other.hset("h", "f", "0")),
               ("l", lambda: other.lpop("l")),
               ("l", lambda: other.rpush("l", "c")),
               ("s", lambda: other.srem("s", "m") and other.sadd("s", "m")),
               ("z", lambda: other.zincrby("z", 1, "m"))]
    for key, change in changes:
        with r.pipeline() as pipe:
            pipe.watch(key)
            change()
            pipe.multi()
            pipe.set("marker", "written")
            with pytest.raises(lib.exc.WatchError):
                pipe.execute()
        assert r.exists("marker") == 0, key
    # Reads by the other client, or a change to another key, do not abort.
    with r.pipeline() as pipe:
        pipe.watch("h", "l")
        other.hgetall("h")
        other.lrange("l", 0, -1)
        other.hset("unrelated", "f", "v")
        pipe.multi()
        pipe.hset("h", "f", "mine")
        pipe.lpop("l")
        assert pipe.execute() == [0, b"b"]
    assert r.hget("h", "f") == b"mine"
    # Popping inside the watcher's own transaction is fine.
    with r.pipeline() as pipe:
        pipe.watch("l")
        assert pipe.lrange("l", 0, -1) == [b"c"]
        pipe.multi()
        pipe.rpop("l")
        assert pipe.execute() == [b"c"]
    assert r.exists("l") == 0


# ---------------------------------------------------------------------------------------------
# Big replies


N_BIG = 100_000
_BIG_LOAD = []  # the load's bytes, encoded once per session


def _resp_command(args):
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def big_load():
    """HSET/SADD/ZADD/RPUSH commands (10,000 elements each) building bigh, bigs, bigz, bigl."""
    if not _BIG_LOAD:
        cmds = []
        for start in range(0, N_BIG, 10_000):
            chunk = range(start, start + 10_000)
            h, z = [b"HSET", b"bigh"], [b"ZADD", b"bigz"]
            for i in chunk:
                h += [b"f%d" % i, b"v%d" % i]
                z += [repr(i / 4).encode(), b"m%d" % i]
            cmds += [h, z, [b"SADD", b"bigs"] + [b"m%d" % i for i in chunk],
                     [b"RPUSH", b"bigl"] + [b"e%d" % i for i in chunk]]
        _BIG_LOAD[:] = [len(cmds), b"".join(_resp_command(c) for c in cmds)]
    return _BIG_LOAD


def send_raw(address, count, payload, timeout=60):
    """Sends pipelined commands on a plain socket (the libraries' pipelines are slow at this
    size) and reads their `count` one-line replies; returns them."""
    deadline = time.monotonic() + timeout
    with socket.create_connection(tuple(address), timeout=timeout) as sock:
        sock.sendall(payload)
        buf = b""
        while buf.count(b"\r\n") < count:
            if time.monotonic() > deadline:
                pytest.fail("no replies to the load")
            chunk = sock.recv(65536)
            if not chunk:
                pytest.fail("the server closed the connection during the load")
            buf += chunk
    return buf.split(b"\r\n")[:count]


def test_large_collection_replies(lib):
    """One reply of 100,000 elements (200,000 for HGETALL and WITHSCORES) read whole and right,
    for each type: map/flat pairs, set/array, nested/flat pairs with doubles, plain array."""
    r = lib.new(socket_timeout=60)
    count, payload = big_load()
    replies = send_raw(lib.address, count, payload)
    assert all(x.startswith(b":") for x in replies), [x for x in replies if not x.startswith(b":")][:3]
    assert r.hlen("bigh") == N_BIG and r.scard("bigs") == N_BIG
    assert r.zcard("bigz") == N_BIG and r.llen("bigl") == N_BIG
    h = as_dict(r.hgetall("bigh"))
    assert len(h) == N_BIG and h["f0"] == b"v0" and h["f99999"] == b"v99999"
    assert h == {f"f{i}": b"v%d" % i for i in range(N_BIG)}
    assert members(r.smembers("bigs")) == {b"m%d" % i for i in range(N_BIG)}
    assert r.lrange("bigl", 0, -1) == [b"e%d" % i for i in range(N_BIG)]
    z = scored(r.zrange("bigz", 0, -1, withscores=True))
    assert z == [(b"m%d" % i, i / 4) for i in range(N_BIG)]
