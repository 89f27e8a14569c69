"""redis-py (redis.Redis) and valkey-py (valkey.Valkey) against the server, default settings.

Each test runs for four clients: each library with its default protocol (RESP3 for redis-py 8,
RESP2 for valkey-py 6) and with the other one forced (protocol=2 / protocol=3). The only
setting changed from the defaults is a socket timeout, so that nothing can hang.
Every test must pass against Debian's redis-server too (KV_TARGET=redis).
"""

from __future__ import annotations

import threading
import time

import pytest
import redis
import redis.backoff
import redis.retry
import valkey
import valkey.backoff
import valkey.retry

SOCKET_TIMEOUT = 10

# What each library negotiates when no protocol is given (checked by test_default_protocol).
DEFAULT_PROTOCOL = {"redis-py": 3, "valkey-py": 2}
LIBRARIES = {"redis-py": redis, "valkey-py": valkey}

VARIANTS = [
    pytest.param(("redis-py", None), id="redis-py-default"),
    pytest.param(("redis-py", 2), id="redis-py-resp2"),
    pytest.param(("valkey-py", None), id="valkey-py-default"),
    pytest.param(("valkey-py", 3), id="valkey-py-resp3"),
]


class Client:
    """One library, one protocol choice: makes clients and knows its exception classes."""

    def __init__(self, lib: str, protocol, address):
        self.lib = lib
        self.mod = LIBRARIES[lib]
        self.protocol = protocol  # None: the library's default
        self.expected_protocol = protocol or DEFAULT_PROTOCOL[lib]
        self.address = address
        self.made = []

    def new(self, **kw):
        cls = self.mod.Redis if self.lib == "redis-py" else self.mod.Valkey
        if self.protocol is not None:
            kw.setdefault("protocol", self.protocol)
        kw.setdefault("socket_timeout", SOCKET_TIMEOUT)
        kw.setdefault("socket_connect_timeout", SOCKET_TIMEOUT)
        c = cls(host=self.address[0], port=self.address[1], **kw)
        self.made.append(c)
        return c

    @property
    def exc(self):
        return self.mod.exceptions

    def close(self):
        for c in self.made:
            try:
                c.close()
            except Exception:
                pass


@pytest.fixture(params=VARIANTS)
def lib(request, server):
    lib, protocol = request.param
    c = Client(lib, protocol, server)
    yield c
    c.close()


@pytest.fixture
def r(lib):
    return lib.new()


def s(x):
    """bytes → str for comparisons that don't care."""
    return x.decode() if isinstance(x, bytes) else x


def as_dict(reply):
    """A RESP3 map or a RESP2 flat list of pairs, as a dict with str keys."""
    if isinstance(reply, dict):
        return {s(k): v for k, v in reply.items()}
    assert isinstance(reply, list) and len(reply) % 2 == 0, reply
    return {s(reply[i]): reply[i + 1] for i in range(0, len(reply), 2)}


# ---------------------------------------------------------------------------------------------
# Handshake


def test_default_protocol(lib, r):
    """The protocol the library asked for is the one the server is speaking on the connection."""
    info = r.client_info()
    assert int(info["resp"]) == lib.expected_protocol, info
    pool = r.connection_pool
    conn = pool.get_connection() if lib.lib == "redis-py" else pool.get_connection("PING")
    try:
        if lib.expected_protocol == 3 and lib.lib == "redis-py":
            meta = as_dict(conn.handshake_metadata)
            assert meta["proto"] == 3
        assert int(conn.protocol) == lib.expected_protocol
    finally:
        pool.release(conn)


def test_hello_handshake(lib, r):
    """HELLO without a version reports the connection's protocol and id without switching."""
    hello = as_dict(r.execute_command("HELLO"))
    assert hello["proto"] == lib.expected_protocol
    assert hello["id"] == r.client_id()
    assert hello["server"]
    assert "version" in hello
    # Asking again for the protocol already in use is allowed and changes nothing.
    again = as_dict(r.execute_command("HELLO", lib.expected_protocol))
    assert again["proto"] == lib.expected_protocol
    assert r.ping() is True


def test_client_name_on_connect(lib):
    """client_name= makes the library send CLIENT SETNAME during the handshake."""
    c = lib.new(client_name="from-connect")
    assert s(c.client_getname()) == "from-connect"
    assert c.client_info()["name"] == "from-connect"
    assert int(c.client_info()["resp"]) == lib.expected_protocol


def test_password_on_connect(server_factory):
    """With requirepass: RESP3 clients authenticate inside HELLO 3 AUTH default <pw>, RESP2
    clients with AUTH <pw>; a wrong or missing password is an AuthenticationError."""
    srv = server_factory(args=["--requirepass", "s3cret"])
    for lib_name, protocol in [p.values[0] for p in VARIANTS]:
        lib = Client(lib_name, protocol, srv.address)
        try:
            good = lib.new(password="s3cret")
            assert good.ping() is True
            assert good.set("k", "v") is True
            assert int(good.client_info()["resp"]) == lib.expected_protocol
            # No retries for the failures: redis-py 8 retries even these ~10 times (4 s).
            no_retry = lib.mod.retry.Retry(lib.mod.backoff.NoBackoff(), 0)
            with pytest.raises(lib.exc.AuthenticationError, match="invalid username-password"):
                lib.new(password="wrong", retry=no_retry).ping()
            with pytest.raises(lib.exc.AuthenticationError):
                lib.new(retry=no_retry).get("k")
            assert good.get("k") == b"v"
        finally:
            lib.close()


def test_hello_bad_version_is_an_error(lib, r):
    with pytest.raises(lib.exc.ResponseError, match="NOPROTO"):
        r.execute_command("HELLO", 4)
    assert r.ping() is True


# ---------------------------------------------------------------------------------------------
# Strings


def test_ping_echo_time(r):
    assert r.ping() is True
    assert r.echo(b"hello") == b"hello"
    assert r.echo(b"a\r\nb\x00c") == b"a\r\nb\x00c"
    assert r.echo(b"") == b""
    secs, usecs = r.time()
    assert isinstance(secs, int) and isinstance(usecs, int)
    assert 0 <= usecs < 1_000_000
    assert abs(secs + usecs / 1e6 - time.time()) < 5


def test_set_get_and_friends(r):
    assert r.get("missing") is None
    assert r.set("k", "v") is True
    assert r.get("k") == b"v"
    assert r.mset({"a": "1", "b": "2", "c": "3"}) is True
    assert r.mget("a", "missing", "c") == [b"1", None, b"3"]
    assert r.mget(["b"]) == [b"2"]
    assert r.incr("n") == 1
    assert r.incr("n", 10) == 11
    assert r.decr("n") == 10
    assert r.decr("n", 5) == 5
    assert r.incrbyfloat("f", 1.5) == 1.5
    assert r.incrbyfloat("f", "0.25") == 1.75
    assert r.get("f") == b"1.75"
    assert r.append("ap", "Hello") == 5
    assert r.append("ap", " World") == 11
    assert r.get("ap") == b"Hello World"
    assert r.strlen("ap") == 11
    assert r.strlen("missing") == 0
    assert r.getrange("ap", 0, 4) == b"Hello"
    assert r.getrange("ap", -5, -1) == b"World"
    assert r.getrange("ap", 100, 200) == b""
    assert r.setrange("ap", 6, "Redis") == 11
    assert r.get("ap") == b"Hello Redis"
    assert r.setrange("pad", 3, "x") == 4
    assert r.get("pad") == b"\x00\x00\x00x"
    assert r.getdel("ap") == b"Hello Redis"
    assert r.getdel("ap") is None
    assert r.exists("ap") == 0
    assert r.getset("k", "v2") == b"v"
    assert r.setnx("k", "v3") is False
    assert r.setnx("new", "x") is True
    assert r.msetnx({"new": "y", "other": "z"}) is False
    assert r.get("other") is None


def test_getex(r):
    r.set("g", "val")
    assert r.getex("g") == b"val"
    assert r.ttl("g") == -1
    assert r.getex("g", ex=100) == b"val"
    assert 0 < r.ttl("g") <= 100
    assert r.getex("g", px=50_000) == b"val"
    assert 0 < r.pttl("g") <= 50_000
    assert r.getex("g", persist=True) == b"val"
    assert r.ttl("g") == -1
    assert r.getex("g", exat=int(time.time()) + 1000) == b"val"
    assert 900 < r.ttl("g") <= 1000
    assert r.getex("missing", ex=10) is None


def test_integer_errors(lib, r):
    r.set("s", "notanumber")
    with pytest.raises(lib.exc.ResponseError, match="not an integer"):
        r.incr("s")
    with pytest.raises(lib.exc.ResponseError, match="not a valid float"):
        r.incrbyfloat("s", 1.0)
    r.set("big", str(2**63 - 1))
    with pytest.raises(lib.exc.ResponseError, match="overflow"):
        r.incr("big")
    assert r.get("big") == str(2**63 - 1).encode()
    assert r.ping() is True


def test_set_options(r):
    assert r.set("k", "1", nx=True) is True
    assert r.set("k", "2", nx=True) is None
    assert r.get("k") == b"1"
    assert r.set("k", "3", xx=True) is True
    assert r.set("absent", "3", xx=True) is None
    assert r.exists("absent") == 0
    assert r.set("k", "4", get=True) == b"3"
    assert r.set("fresh", "x", get=True) is None
    assert r.get("fresh") == b"x"
    assert r.set("k", "5", ex=100) is True
    assert 0 < r.ttl("k") <= 100
    assert r.set("k", "6", px=100_000) is True
    assert 99_000 < r.pttl("k") <= 100_000
    assert r.set("k", "7", keepttl=True) is True
    assert r.get("k") == b"7"
    assert 90_000 < r.pttl("k") <= 100_000
    assert r.set("k", "8") is True
    assert r.ttl("k") == -1  # a plain SET clears the expiry
    assert r.set("k", "9", exat=int(time.time()) + 500) is True
    assert 400 < r.ttl("k") <= 500
    assert r.set("k", "10", pxat=int(time.time() * 1000) + 500_000) is True
    assert 400 < r.ttl("k") <= 500
    assert r.set("k", "11", xx=True, get=True) == b"10"
    assert r.set("k", "12", nx=True, ex=10) is None


def test_set_option_errors(lib, r):
    with pytest.raises(lib.exc.ResponseError, match="syntax error"):
        r.execute_command("SET", "k", "v", "NX", "XX")
    with pytest.raises(lib.exc.ResponseError, match="invalid expire time"):
        r.execute_command("SET", "k", "v", "EX", "0")
    with pytest.raises(lib.exc.ResponseError):
        r.execute_command("SET", "k", "v", "EX", "notanumber")
    assert r.exists("k") == 0
    assert r.ping() is True


# ---------------------------------------------------------------------------------------------
# Expiry


def test_expire_ttl_persist(r):
    assert r.ttl("missing") == -2
    assert r.pttl("missing") == -2
    assert r.expire("missing", 10) is False
    r.set("e", "v")
    assert r.ttl("e") == -1
    assert r.expire("e", 100) is True
    assert 0 < r.ttl("e") <= 100
    assert 0 < r.pttl("e") <= 100_000
    assert r.persist("e") is True
    assert r.persist("e") is False
    assert r.ttl("e") == -1
    assert r.pexpire("e", 100_000) is True
    assert 0 < r.pttl("e") <= 100_000
    at = int(time.time()) + 1000
    assert r.expireat("e", at) is True
    assert r.expiretime("e") == at
    assert r.pexpiretime("e") == at * 1000
    assert r.pexpireat("e", at * 1000 + 500) is True
    assert r.pexpiretime("e") == at * 1000 + 500
    assert r.persist("e") is True
    assert r.expiretime("e") == -1
    assert r.expiretime("missing") == -2


def test_expire_conditions(r):
    r.set("c", "v")
    assert r.expire("c", 100, xx=True) is False  # no expiry yet
    assert r.expire("c", 100, nx=True) is True
    assert r.expire("c", 200, nx=True) is False
    assert r.expire("c", 200, xx=True) is True
    assert r.expire("c", 50, gt=True) is False
    assert r.expire("c", 300, gt=True) is True
    assert r.expire("c", 400, lt=True) is False
    assert r.expire("c", 10, lt=True) is True
    assert 0 < r.ttl("c") <= 10
    r.set("p", "v")
    assert r.expire("p", 100, lt=True) is True  # no expiry counts as infinite for LT
    r.set("q", "v")
    assert r.expire("q", 100, gt=True) is False  # ... and for GT


def test_keys_expire(r):
    r.set("short", "v", px=100)
    r.set("long", "v", ex=100)
    r.set("gone", "v")
    assert r.pexpire("gone", 50) is True
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (r.exists("short") or r.exists("gone")):
        time.sleep(0.05)
    assert r.get("short") is None
    assert r.get("gone") is None
    assert r.ttl("short") == -2
    assert r.get("long") == b"v"
    r.set("neg", "v")
    assert r.expire("neg", -1) is True  # a past expiry deletes
    assert r.exists("neg") == 0


# ---------------------------------------------------------------------------------------------
# Binary safety


def test_binary_keys_and_values(r):
    every_byte = bytes(range(256))
    assert r.set(every_byte, every_byte[::-1]) is True
    assert r.get(every_byte) == every_byte[::-1]
    assert r.strlen(every_byte) == 256
    tricky = [b"", b"\x00", b"\r\n", b"a\r\nb", b"\r\n\r\n$3\r\nfoo\r\n", b"*1\r\n$4\r\nPING\r\n",
              b"\x00\x00\x00", b"\xff\xfe", "ünïcødé".encode(), b" spaced key "]
    for i, key in enumerate(tricky):
        value = key + b"|" + bytes([i]) + b"\r\n\x00"
        assert r.set(key, value) is True
        assert r.get(key) == value
    assert r.mget(tricky) == [k + b"|" + bytes([i]) + b"\r\n\x00" for i, k in enumerate(tricky)]
    # One key per byte value, each holding its byte repeated.
    mapping = {bytes([b]) * 3: bytes([b]) * 100 for b in range(256)}
    assert r.mset(mapping) is True
    keys = list(mapping)
    assert r.mget(keys) == [mapping[k] for k in keys]
    assert r.exists(*keys) == 256
    assert r.append(b"\x00", b"\r\n") == len(r.get(b"\x00"))
    big = bytes(range(256)) * 1024  # 256 KiB
    assert r.set(b"big\x00key", big) is True
    assert r.get(b"big\x00key") == big
    assert r.getrange(b"big\x00key", 256, 511) == every_byte


# ---------------------------------------------------------------------------------------------
# Keys and iteration


def test_scan_and_keys(r):
    wanted = {f"user:{i:04d}".encode() for i in range(300)}
    others = {f"other:{i}".encode() for i in range(60)}
    pipe = r.pipeline(transaction=False)
    for k in sorted(wanted | others):
        pipe.set(k, b"v")
    pipe.execute()
    # A manual SCAN loop with MATCH and COUNT; bounded number of calls.
    seen = set()
    cursor = 0
    for _ in range(10_000):
        cursor, batch = r.scan(cursor=cursor, match="user:*", count=17)
        assert all(k.startswith(b"user:") for k in batch), batch
        seen.update(batch)
        if cursor == 0:
            break
    else:
        pytest.fail("SCAN did not finish")
    assert seen == wanted
    # Everything, no MATCH.
    everything = set()
    cursor = 0
    for _ in range(10_000):
        cursor, batch = r.scan(cursor=cursor, count=50)
        everything.update(batch)
        if cursor == 0:
            break
    assert everything == wanted | others
    assert set(r.scan_iter(match="other:*", count=7)) == others
    assert set(r.scan_iter(match="user:01?5")) == {f"user:01{d}5".encode() for d in range(10)}
    assert set(r.scan_iter(match="nothing:*")) == set()
    assert set(r.scan_iter(_type="string", match="other:1*")) == {k for k in others if k.startswith(b"other:1")}
    assert set(r.keys("user:*")) == wanted
    assert set(r.keys("*")) == wanted | others
    assert set(r.keys("user:000[0-4]")) == {f"user:000{d}".encode() for d in range(5)}
    assert r.keys("nothing*") == []
    assert r.dbsize() == 360


def test_key_commands(r):
    r.mset({"a": "1", "b": "2"})
    assert r.exists("a") == 1
    assert r.exists("a", "b", "missing", "a") == 3
    assert r.type("a") == b"string"
    assert r.type("missing") == b"none"
    assert r.delete("a", "missing") == 1
    assert r.delete("a") == 0
    assert r.unlink("b") == 1
    r.set("src", "v", ex=100)
    assert r.rename("src", "dst") is True
    assert r.exists("src") == 0
    assert r.get("dst") == b"v"
    assert 0 < r.ttl("dst") <= 100  # RENAME carries the expiry
    r.set("taken", "t")
    assert r.renamenx("dst", "taken") is False
    assert r.renamenx("dst", "free") is True
    assert r.get("free") == b"v"
    assert r.copy("free", "copy1") is True
    assert r.get("copy1") == b"v"
    assert r.copy("free", "taken") is False
    assert r.get("taken") == b"t"
    assert r.copy("free", "taken", replace=True) is True
    assert r.get("taken") == b"v"
    assert r.copy("missing", "x") is False
    assert r.randomkey() in {b"free", b"copy1", b"taken"}


def test_rename_missing_key(lib, r):
    with pytest.raises(lib.exc.ResponseError, match="no such key"):
        r.rename("missing", "x")
    with pytest.raises(lib.exc.ResponseError, match="no such key"):
        r.renamenx("missing", "x")
    assert r.ping() is True


# ---------------------------------------------------------------------------------------------
# Bits and LCS


def test_bit_commands(r):
    assert r.setbit("b", 7, 1) == 0
    assert r.setbit("b", 7, 1) == 1
    assert r.getbit("b", 7) == 1
    assert r.getbit("b", 6) == 0
    assert r.getbit("b", 10_000) == 0
    assert r.get("b") == b"\x01"
    assert r.setbit("b", 15, 1) == 0
    assert r.get("b") == b"\x01\x01"
    r.set("f", b"foobar")
    assert r.bitcount("f") == 26
    assert r.bitcount("f", 0, 0) == 4
    assert r.bitcount("f", 1, 1) == 6
    assert r.bitcount("f", 5, 30, mode="BIT") == 17
    assert r.bitcount("missing") == 0
    r.set("p", b"\xff\xf0\x00")
    assert r.bitpos("p", 0) == 12
    assert r.bitpos("p", 1) == 0
    assert r.bitpos("p", 1, 2) == -1
    assert r.bitpos("p", 0, 2) == 16
    r.set("x", b"\xff\x00")
    r.set("y", b"\x0f\x0f\x0f")
    assert r.bitop("AND", "and", "x", "y") == 3
    assert r.get("and") == b"\x0f\x00\x00"
    assert r.bitop("OR", "or", "x", "y") == 3
    assert r.get("or") == b"\xff\x0f\x0f"
    assert r.bitop("XOR", "xor", "x", "y") == 3
    assert r.get("xor") == b"\xf0\x0f\x0f"
    assert r.bitop("NOT", "not", "x") == 2
    assert r.get("not") == b"\x00\xff"


def test_lcs(r):
    r.mset({"k1": "ohmytext", "k2": "mynewtext"})
    assert r.lcs("k1", "k2") == b"mytext"
    assert r.lcs("k1", "k2", len=True) == 6
    assert r.lcs("k1", "missing") == b""


# ---------------------------------------------------------------------------------------------
# CLIENT and OBJECT


def test_client_commands(lib, r):
    assert r.client_getname() is None
    assert r.client_setname("tester-1") is True
    assert s(r.client_getname()) == "tester-1"
    cid = r.client_id()
    assert isinstance(cid, int) and cid > 0
    info = r.client_info()
    assert int(info["id"]) == cid
    assert info["name"] == "tester-1"
    assert info["cmd"].startswith("client")
    other = lib.new()
    assert other.client_setname("tester-2") is True
    other_id = other.client_id()
    assert other_id != cid
    clients = r.client_list()
    by_id = {int(c["id"]): c for c in clients}
    assert by_id[cid]["name"] == "tester-1"
    assert by_id[other_id]["name"] == "tester-2"
    assert all(int(c["resp"]) == lib.expected_protocol for c in (by_id[cid], by_id[other_id]))
    assert [int(c["id"]) for c in r.client_list(client_id=[str(other_id)])] == [other_id]
    with pytest.raises(lib.exc.ResponseError):
        r.client_setname("has space")
    assert s(r.client_getname()) == "tester-1"


def test_object_encoding(lib, r):
    r.set("int", "12345")
    r.set("short", "hello")
    r.set("long", "x" * 100)
    # Redis's encodings for a string: an integer, a short (<= 44 bytes) and a long value.
    assert r.object("encoding", "int") == b"int"
    assert r.object("encoding", "short") == b"embstr"
    assert r.object("encoding", "long") == b"raw"
    assert r.object("encoding", "missing") is None
    with pytest.raises(lib.exc.ResponseError):
        r.execute_command("OBJECT", "NOSUCHSUBCOMMAND", "int")
    assert r.ping() is True


# ---------------------------------------------------------------------------------------------
# Pipelines and transactions


def test_pipeline_1000_commands(r):
    pipe = r.pipeline(transaction=False)
    for i in range(500):
        pipe.set(f"p:{i}", i)
    for i in range(250):
        pipe.incr("p:counter")
    for i in range(249):
        pipe.get(f"p:{i * 2}")
    pipe.mget([f"p:{i}" for i in range(10)])
    results = pipe.execute()
    assert len(results) == 1000
    assert results[:500] == [True] * 500
    assert results[500:750] == list(range(1, 251))
    assert results[750:999] == [str(i * 2).encode() for i in range(249)]
    assert results[999] == [str(i).encode() for i in range(10)]
    assert r.get("p:counter") == b"250"


def test_pipeline_with_error_keeps_order(lib, r):
    r.set("s", "text")
    pipe = r.pipeline(transaction=False)
    pipe.set("a", 1)
    pipe.incr("s")
    pipe.execute_command("NOSUCHCOMMAND")
    pipe.get("a")
    results = pipe.execute(raise_on_error=False)
    assert results[0] is True
    assert isinstance(results[1], lib.exc.ResponseError)
    assert isinstance(results[2], lib.exc.ResponseError)
    assert results[3] == b"1"
    assert r.ping() is True


def test_multi_exec_pipeline(lib, r):
    r.set("pre", "existing")
    pipe = r.pipeline()  # transaction=True: MULTI ... EXEC
    pipe.set("a", 1)
    pipe.incr("a")
    pipe.incrby("a", 5)
    pipe.get("a")
    pipe.mset({"m1": "x", "m2": "y"})
    pipe.mget("m1", "m2", "missing")
    pipe.append("pre", "+")
    pipe.exists("a", "m1", "nope")
    pipe.set("a", 100, get=True)
    pipe.delete("m2")
    pipe.getdel("pre")
    pipe.ttl("a")
    results = pipe.execute()
    assert results == [True, 2, 7, b"7", True, [b"x", b"y", None], 9, 2, b"7", 1, b"existing+", -1]
    assert r.get("a") == b"100"
    # The same pipeline object can run another transaction.
    pipe.incr("a")
    pipe.get("a")
    assert pipe.execute() == [101, b"101"]
    # An empty transaction is fine.
    assert r.pipeline().execute() == []


def test_multi_exec_is_isolated(lib, r):
    """A second client never sees half of a MULTI/EXEC applied."""
    r.mset({"x": "0", "y": "0"})
    stop = time.monotonic() + 1.0
    bad = []

    def reader():
        c = lib.new()
        while time.monotonic() < stop:
            x, y = c.mget("x", "y")
            if x != y:
                bad.append((x, y))
                return

    t = threading.Thread(target=reader)
    t.start()
    n = 0
    while time.monotonic() < stop and n < 2000:
        pipe = r.pipeline()
        pipe.incr("x")
        pipe.incr("y")
        pipe.execute()
        n += 1
    t.join(timeout=10)
    assert not bad, bad[:1]
    assert r.get("x") == r.get("y") == str(n).encode()


def test_execabort_on_queued_syntax_error(lib, r):
    pipe = r.pipeline()
    pipe.set("ea", "1")
    pipe.execute_command("SET", "onlykey")  # wrong arity: rejected while queuing
    pipe.incr("ea")
    with pytest.raises((lib.exc.ExecAbortError, lib.exc.ResponseError)) as info:
        pipe.execute()
    assert "wrong number of arguments" in str(info.value).lower() or "EXECABORT" in str(info.value)
    assert r.exists("ea") == 0  # nothing was applied
    pipe2 = r.pipeline()
    pipe2.set("ea2", "1")
    pipe2.execute_command("NOSUCHCOMMAND", "x")
    with pytest.raises((lib.exc.ExecAbortError, lib.exc.ResponseError)):
        pipe2.execute()
    assert r.exists("ea2") == 0
    assert r.ping() is True
    # The pooled connection is clean: a new transaction works.
    pipe3 = r.pipeline()
    pipe3.set("ea", "ok")
    pipe3.get("ea")
    assert pipe3.execute() == [True, b"ok"]


def test_execabort_raw(lib):
    """The same on one connection by hand, raw replies: MULTI, a bad command, EXEC → EXECABORT;
    EXEC/DISCARD without MULTI, nested MULTI, DISCARD."""
    c = lib.new(single_connection_client=True)
    c.ping()
    conn = c.connection

    def call(*args):
        conn.send_command(*args)
        return s(conn.read_response())

    assert call("MULTI") == "OK"
    assert call("SET", "raw", "1") == "QUEUED"
    with pytest.raises(lib.exc.ResponseError, match="wrong number of arguments"):
        call("GET")
    # "-EXECABORT Transaction discarded ...": the parser maps the EXECABORT prefix.
    with pytest.raises(lib.exc.ExecAbortError, match="Transaction discarded"):
        call("EXEC")
    assert call("EXISTS", "raw") == 0
    with pytest.raises(lib.exc.ResponseError, match="EXEC without MULTI"):
        call("EXEC")
    with pytest.raises(lib.exc.ResponseError, match="DISCARD without MULTI"):
        call("DISCARD")
    assert call("MULTI") == "OK"
    with pytest.raises(lib.exc.ResponseError, match="MULTI calls can not be nested"):
        call("MULTI")
    assert call("SET", "raw", "2") == "QUEUED"
    assert call("DISCARD") == "OK"
    assert call("EXISTS", "raw") == 0
    assert call("MULTI") == "OK"
    assert call("SET", "raw", "3") == "QUEUED"
    assert call("GET", "raw") == "QUEUED"
    assert [s(x) for x in call("EXEC")] == ["OK", "3"]
    assert call("PING") == "PONG"


def test_exec_runtime_error_in_results(lib, r):
    r.set("text", "abc")
    pipe = r.pipeline()
    pipe.set("before", "1")
    pipe.incr("text")  # fails at EXEC time
    pipe.set("after", "2")
    pipe.get("after")
    results = pipe.execute(raise_on_error=False)
    assert results[0] is True
    assert isinstance(results[1], lib.exc.ResponseError)
    assert "not an integer" in str(results[1])
    assert results[2:] == [True, b"2"]
    assert r.mget("before", "after", "text") == [b"1", b"2", b"abc"]
    # With the default raise_on_error=True the error is raised, the rest still applied.
    pipe.set("before", "3")
    pipe.incr("text")
    pipe.set("after", "4")
    with pytest.raises(lib.exc.ResponseError, match="not an integer"):
        pipe.execute()
    assert r.mget("before", "after") == [b"3", b"4"]
    assert r.ping() is True


def test_watch_conflict_raises_watch_error(lib, r):
    other = lib.new()
    r.set("w", "0")
    with r.pipeline() as pipe:
        pipe.watch("w")
        assert pipe.get("w") == b"0"  # immediate mode while watching
        other.set("w", "changed")
        pipe.multi()
        pipe.set("w", "mine")
        with pytest.raises(lib.exc.WatchError):
            pipe.execute()
    assert r.get("w") == b"changed"
    # Without interference the same sequence commits.
    with r.pipeline() as pipe:
        pipe.watch("w")
        pipe.multi()
        pipe.set("w", "mine")
        assert pipe.execute() == [True]
    assert r.get("w") == b"mine"
    # UNWATCH forgets the watch: a later change by another client does not abort.
    with r.pipeline() as pipe:
        pipe.watch("w")
        pipe.unwatch()
        other.set("w", "again")
        pipe.multi()
        pipe.set("w", "final")
        assert pipe.execute() == [True]
    assert r.get("w") == b"final"


def test_watch_sees_create_delete_and_own_writes(lib, r):
    other = lib.new()
    # Watching a key that does not exist, which another client then creates.
    with r.pipeline() as pipe:
        pipe.watch("nokey")
        other.set("nokey", "1")
        pipe.multi()
        pipe.set("nokey", "2")
        with pytest.raises(lib.exc.WatchError):
            pipe.execute()
    # A delete by another client.
    r.set("d", "1")
    with r.pipeline() as pipe:
        pipe.watch("d")
        other.delete("d")
        pipe.multi()
        pipe.set("d", "2")
        with pytest.raises(lib.exc.WatchError):
            pipe.execute()
    assert r.exists("d") == 0
    # The client's own writes between WATCH and MULTI also abort the transaction.
    r.set("own", "1")
    with r.pipeline() as pipe:
        pipe.watch("own")
        pipe.set("own", "2")
        pipe.multi()
        pipe.set("own", "3")
        with pytest.raises(lib.exc.WatchError):
            pipe.execute()
    assert r.get("own") == b"2"


def test_watched_key_expiring_aborts_exec(lib, r):
    """Redis 7: a watched key that expires before EXEC counts as modified."""
    r.set("soon", "v", px=100)
    with r.pipeline() as pipe:
        pipe.watch("soon")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and lib.new().exists("soon"):
            time.sleep(0.05)
        time.sleep(0.05)
        pipe.multi()
        pipe.set("other", "1")
        with pytest.raises(lib.exc.WatchError):
            pipe.execute()
    assert r.exists("other") == 0


def test_large_multi_exec(r):
    pipe = r.pipeline()
    for i in range(500):
        pipe.set(f"big:{i}", i)
    for i in range(499):
        pipe.incr(f"big:{i}")
    pipe.mget([f"big:{i}" for i in range(5)])
    results = pipe.execute()
    assert len(results) == 1000
    assert results[:500] == [True] * 500
    assert results[500:999] == [i + 1 for i in range(499)]
    assert results[999] == [b"1", b"2", b"3", b"4", b"5"]
    assert r.get("big:499") == b"499"


def test_transaction_helper_concurrent_increments(lib):
    """8 threads, each with its own connection, each adds 1 to one counter N times with
    GET + SET inside r.transaction() (WATCH, retried on conflict): no update is lost."""
    threads_n, per_thread = 8, 100
    deadline = time.monotonic() + 60
    errors = []
    retries = [0] * threads_n
    lib.new().set("counter", 0)

    def worker(idx):
        c = lib.new()
        try:
            for _ in range(per_thread):
                def bump(pipe):
                    if time.monotonic() > deadline:
                        raise RuntimeError("deadline passed")
                    retries[idx] += 1
                    value = int(pipe.get("counter"))
                    pipe.multi()
                    pipe.set("counter", value + 1)
                c.transaction(bump, "counter")
        except Exception as e:  # recorded, checked below
            errors.append(repr(e))
        finally:
            c.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(1, deadline - time.monotonic() + 15))
    assert not any(t.is_alive() for t in threads), "workers did not finish"
    assert not errors, errors[:3]
    assert int(lib.new().get("counter")) == threads_n * per_thread
    conflicts = sum(retries) - threads_n * per_thread
    print(f"{conflicts} WATCH retries")
    assert conflicts > 0, "no WATCH conflict happened: the test did not exercise WATCH"


def test_transaction_helper_returns_results(lib, r):
    r.set("t", "5")

    def double(pipe):
        v = int(pipe.get("t"))
        pipe.multi()
        pipe.set("t", v * 2)
        pipe.get("t")
        return v

    assert r.transaction(double, "t") == [True, b"10"]
    assert r.transaction(double, "t", value_from_callable=True) == 10
    assert r.get("t") == b"20"


# ---------------------------------------------------------------------------------------------
# Errors leave the connection usable


def test_errors_leave_connection_usable(lib):
    c = lib.new(single_connection_client=True)
    cid = c.client_id()
    with pytest.raises(lib.exc.ResponseError, match="unknown command"):
        c.execute_command("NOSUCHCOMMAND", "a", "b")
    assert c.ping() is True
    with pytest.raises(lib.exc.ResponseError, match="wrong number of arguments"):
        c.execute_command("GET")
    assert c.set("k", "v") is True
    with pytest.raises(lib.exc.ResponseError, match="wrong number of arguments"):
        c.execute_command("SET", "k")
    with pytest.raises(lib.exc.ResponseError, match="syntax error"):
        c.execute_command("SET", "k", "v", "BOGUS")
    with pytest.raises(lib.exc.ResponseError, match="not an integer"):
        c.execute_command("EXPIRE", "k", "soon")
    with pytest.raises(lib.exc.ResponseError):
        c.execute_command("CLIENT", "NOSUCHSUBCOMMAND")
    assert c.get("k") == b"v"
    assert c.client_id() == cid  # still the same connection all along
    # The same through the pool.
    r = lib.new()
    with pytest.raises(lib.exc.ResponseError):
        r.execute_command("NOSUCHCOMMAND")
    assert r.get("k") == b"v"
