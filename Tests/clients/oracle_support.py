"""Support for the reply-byte oracle test (test_reply_oracle.py).

Standard library only:

* ``Conn``: a raw RESP client. ``call(*args)`` sends one command as a multibulk and reads
  exactly one reply, parsed into a ``Reply`` tree that keeps every RESP2/RESP3 type marker
  (``+ - : $ * _ % ~ , # = ( ! |`` and ``>`` push). Null bulk ``$-1`` and null array ``*-1``
  stay distinct from RESP3's ``_``; an attribute (``|``) is attached to the reply it precedes.
  ``Reply.raw`` holds the exact bytes read, for failure messages.
* Masking rules (``EXACT``, ``VALUE``, ``TYPE``, ``Seq``, ``Each``, ``Unordered``, ``Pairs``,
  ``Derive``, ``Check``, ``IntRange``) and ``normalize``/``compare``: both replies are reduced to
  a canonical, comparable form under a rule, so values that must differ between two servers
  (names, versions, ids, addresses, timestamps, counters, free text) are masked while their
  types and structure still have to match.
* Error replies compare by their code (first word) and, by default, the full text;
  ``errors="code"`` keeps only the code, ``ErrPrefix("ERR unknown subcommand")`` requires both
  texts to start with the given prefix (for texts that legitimately differ).
* ``start_redis`` / ``start_kvserver`` / ``ServerProcess``: start a server on a free port in
  ORACLE_PORT_RANGE (default 16450-16499) with its own temporary directory, wait until it
  answers PING, and stop it again.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time

__all__ = [
    "Reply", "Conn", "ProtocolError", "encode_command", "parse_reply",
    "EXACT", "VALUE", "TYPE", "Seq", "Each", "Unordered", "Pairs", "Derive", "Check",
    "IntRange", "ErrPrefix", "normalize", "compare", "render", "short_raw",
    "ServerProcess", "start_redis", "start_kvserver", "free_port", "executable_path",
]


# --------------------------------------------------------------------------------------------
# The RESP client
# --------------------------------------------------------------------------------------------

class ProtocolError(Exception):
    pass


class Reply:
    """One parsed reply.

    ``t`` is the type marker; ``v`` is:
      ``+ - !``      the text, as bytes
      ``$``          bytes, or None for the null bulk ``$-1``
      ``: (``        int
      ``,``          the double's text, as bytes (``1.5``, ``inf``, ``nan``)
      ``#``          bool
      ``_``          None
      ``=``          (format, bytes), e.g. (b"txt", b"...")
      ``* ~ >``      list of Reply; None for the null array ``*-1``
      ``%``          list of (Reply, Reply) pairs
      ``EOF``        None: the server closed the connection instead of replying
      ``TIMEOUT``    None: no complete reply within the timeout
    ``attrs`` is the list of (Reply, Reply) pairs of a preceding ``|`` attribute, or None.
    ``raw`` is the exact bytes this reply (with its attribute) took on the wire.
    """

    __slots__ = ("t", "v", "attrs", "raw")

    def __init__(self, t, v=None, attrs=None, raw=b""):
        self.t = t
        self.v = v
        self.attrs = attrs
        self.raw = raw

    @property
    def is_error(self):
        return self.t in ("-", "!")

    @property
    def is_null(self):
        return self.t == "_" or (self.t in ("$", "*") and self.v is None)

    @property
    def text(self):
        """The text of a string-like reply (str, undecodable bytes escaped)."""
        v = self.v
        if self.t == "=":
            v = v[1]
        if isinstance(v, bytes):
            return v.decode("utf-8", "backslashreplace")
        return str(v)

    @property
    def children(self):
        if self.t == "%":
            out = []
            for k, v in self.v:
                out += [k, v]
            return out
        return list(self.v or [])

    def __repr__(self):
        return render(self)


def render(r, limit=None):
    """A compact, readable rendering of a reply tree (``limit`` truncates)."""
    s = _render(r)
    if limit is not None and len(s) > limit:
        s = s[:limit] + "...(%d more chars)" % (len(s) - limit)
    return s


def _render(r):
    pre = ""
    if r.attrs is not None:
        pre = "|{" + ", ".join("%s: %s" % (_render(k), _render(v)) for k, v in r.attrs) + "} "
    t, v = r.t, r.v
    if t in ("EOF", "TIMEOUT"):
        return pre + "<%s>" % t
    if t == "_":
        return pre + "_"
    if t in ("$", "*") and v is None:
        return pre + t + "-1"
    if t in ("+", "-", "!", "$", ","):
        return pre + t + repr(v)[1:]
    if t in (":", "("):
        return pre + t + str(v)
    if t == "#":
        return pre + ("#t" if v else "#f")
    if t == "=":
        return pre + "=%s:%s" % (v[0].decode(), repr(v[1])[1:])
    if t == "%":
        return pre + "%{" + ", ".join("%s: %s" % (_render(k), _render(x)) for k, x in v) + "}"
    if t in ("*", "~", ">"):
        o, c = {"*": ("[", "]"), "~": ("~{", "}"), ">": (">[", "]")}[t]
        return pre + o + ", ".join(_render(x) for x in v) + c
    return pre + "%s%r" % (t, v)


def short_raw(raw, limit=1500):
    """``repr`` of raw reply bytes, truncated for failure messages."""
    if len(raw) <= limit:
        return repr(raw)
    return repr(raw[:limit]) + "...(%d more bytes)" % (len(raw) - limit)


def _to_bytes(a):
    if isinstance(a, bytes):
        return a
    if isinstance(a, bytearray):
        return bytes(a)
    if isinstance(a, (int, float)):
        return str(a).encode()
    return str(a).encode("utf-8")


def encode_command(args):
    """A command as a RESP multibulk."""
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        b = _to_bytes(a)
        parts.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(parts)


class _EOF(Exception):
    pass


class Conn:
    """A raw RESP connection: ``call`` sends one command and reads exactly one reply."""

    def __init__(self, host, port, timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.buf = bytearray()
        self.pos = 0

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, *args):
        self.sock.sendall(encode_command(args))

    def call(self, *args):
        self.send(*args)
        return self.read()

    def read(self, timeout=None):
        """Exactly one reply; ``Reply('EOF')`` if the server closed the connection first,
        ``Reply('TIMEOUT')`` if no complete reply arrived in time."""
        if self.sock is not None:
            self.sock.settimeout(self.timeout if timeout is None else timeout)
        # Drop bytes consumed by earlier replies.
        if self.pos:
            del self.buf[: self.pos]
            self.pos = 0
        try:
            r = self._parse()
        except _EOF:
            return Reply("EOF", raw=bytes(self.buf[: self.pos]))
        except (socket.timeout, TimeoutError):
            return Reply("TIMEOUT", raw=bytes(self.buf[: self.pos]))
        except ConnectionResetError:
            return Reply("EOF", raw=bytes(self.buf[: self.pos]))
        r.raw = bytes(self.buf[: self.pos])
        return r

    # -- low level --

    def _fill(self):
        if self.sock is None:
            raise _EOF()
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            raise _EOF()
        if not chunk:
            raise _EOF()
        self.buf += chunk

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                line = bytes(self.buf[self.pos:i])
                self.pos = i + 2
                return line
            self._fill()

    def _exact(self, n):
        while len(self.buf) - self.pos < n + 2:
            self._fill()
        data = bytes(self.buf[self.pos:self.pos + n])
        if self.buf[self.pos + n:self.pos + n + 2] != b"\r\n":
            raise ProtocolError("bulk payload not followed by CRLF")
        self.pos += n + 2
        return data

    def _parse(self):
        line = self._line()
        if not line:
            raise ProtocolError("empty reply line")
        t, rest = chr(line[0]), line[1:]
        if t in ("+", "-"):
            return Reply(t, rest)
        if t == ":":
            return Reply(t, int(rest))
        if t == "(":
            return Reply(t, int(rest))
        if t == ",":
            return Reply(t, rest)
        if t == "#":
            if rest not in (b"t", b"f"):
                raise ProtocolError("bad boolean %r" % rest)
            return Reply(t, rest == b"t")
        if t == "_":
            if rest:
                raise ProtocolError("bad null %r" % rest)
            return Reply(t, None)
        if t in ("$", "!", "="):
            n = int(rest)
            if n < 0:
                if t != "$" or n != -1:
                    raise ProtocolError("bad length %r" % line)
                return Reply("$", None)
            data = self._exact(n)
            if t == "=":
                if len(data) < 4 or data[3:4] != b":":
                    raise ProtocolError("verbatim string without a format: %r" % data[:8])
                return Reply(t, (data[:3], data[4:]))
            return Reply(t, data)
        if t in ("*", "~", ">"):
            n = int(rest)
            if n < 0:
                if t != "*" or n != -1:
                    raise ProtocolError("bad length %r" % line)
                return Reply("*", None)
            return Reply(t, [self._parse() for _ in range(n)])
        if t == "%":
            n = int(rest)
            return Reply(t, [(self._parse(), self._parse()) for _ in range(n)])
        if t == "|":
            n = int(rest)
            attrs = [(self._parse(), self._parse()) for _ in range(n)]
            r = self._parse()
            r.attrs = attrs
            return r
        raise ProtocolError("unknown reply type %r in line %r" % (t, line))


def parse_reply(raw):
    """Parses one reply from ``raw`` bytes (e.g. a pinned reference reply)."""
    c = Conn.__new__(Conn)
    c.sock, c.timeout, c.buf, c.pos = None, None, bytearray(raw), 0
    r = c.read()
    if r.t == "EOF" or c.pos != len(raw):
        raise ProtocolError("not exactly one reply: %r" % (raw,))
    return r


# --------------------------------------------------------------------------------------------
# Masking and comparison
# --------------------------------------------------------------------------------------------
#
# ``normalize(reply, rule, errors)`` turns a reply into a hashable, printable canonical form;
# two replies "match" when their canonical forms are equal. The canonical form always keeps
# the type marker (with null-ness and a verbatim string's format), so masking never hides a
# RESP2/RESP3 shape difference.

MASKED = "<masked>"


def _tkey(r):
    if r.t == "=":
        return "=" + r.v[0].decode("ascii", "replace")
    if r.t in ("$", "*") and r.v is None:
        return r.t + "-1"
    return r.t


class ErrPrefix:
    """Errors match when both texts start with ``prefix`` (the rest may differ)."""

    def __init__(self, prefix):
        self.prefix = prefix

    def __repr__(self):
        return "ErrPrefix(%r)" % self.prefix


def _norm_error(r, errors):
    text = r.text
    code = text.split(" ", 1)[0]
    if errors == "code":
        return (r.t, code, MASKED)
    if isinstance(errors, ErrPrefix):
        if text.startswith(errors.prefix):
            return (r.t, code, "starts with %r" % errors.prefix)
        return (r.t, code, text)
    return (r.t, code, text)


class Rule:
    def norm(self, r, errors):
        raise NotImplementedError


def normalize(r, rule=None, errors="full"):
    """The canonical form of ``r`` under ``rule`` (None = EXACT)."""
    if rule is None:
        rule = EXACT
    if r.is_error:
        core = _norm_error(r, errors)
    elif r.t in ("EOF", "TIMEOUT"):
        core = (r.t,)
    elif r.is_null:
        core = (_tkey(r),)
    else:
        core = rule.norm(r, errors)
    if r.attrs is not None:
        return ("|", tuple((normalize(k, EXACT, errors), normalize(v, EXACT, errors)) for k, v in r.attrs), core)
    return core


def _sort(items):
    return tuple(sorted(items, key=repr))


class _Exact(Rule):
    """Everything compared: values, lengths, order (maps and sets compare unordered)."""

    def norm(self, r, errors):
        t = r.t
        if t in ("*", ">"):
            return (t, tuple(normalize(c, self, errors) for c in r.v))
        if t == "~":
            return (t, _sort(normalize(c, self, errors) for c in r.v))
        if t == "%":
            return (t, _sort((normalize(k, self, errors), normalize(v, self, errors)) for k, v in r.v))
        if t == "=":
            return (_tkey(r), r.v[1])
        return (t, r.v)

    def __repr__(self):
        return "EXACT"


class _Value(Rule):
    """Same type and structure (lengths, map keys), scalar values masked."""

    def norm(self, r, errors):
        t = r.t
        if t in ("*", ">", "~"):
            return (t, tuple(normalize(c, self, errors) for c in r.v))
        if t == "%":
            return (t, _sort((normalize(k, EXACT, errors), normalize(v, self, errors)) for k, v in r.v))
        return (_tkey(r), MASKED)

    def __repr__(self):
        return "VALUE"


class _Type(Rule):
    """Same type marker only (an aggregate may have any length and contents)."""

    def norm(self, r, errors):
        return (_tkey(r), MASKED)

    def __repr__(self):
        return "TYPE"


EXACT = _Exact()
VALUE = _Value()
TYPE = _Type()


class Seq(Rule):
    """An aggregate of exactly ``len(rules)`` elements, element i under rules[i]."""

    def __init__(self, *rules):
        self.rules = rules

    def norm(self, r, errors):
        if r.t not in ("*", "~", ">", "%"):
            return EXACT.norm(r, errors)
        ch = r.children
        if len(ch) != len(self.rules):
            return (r.t, "length %d" % len(ch), tuple(normalize(c, VALUE, errors) for c in ch))
        return (r.t, tuple(normalize(c, x, errors) for c, x in zip(ch, self.rules)))

    def __repr__(self):
        return "Seq%r" % (self.rules,)


class Each(Rule):
    """An aggregate of any length whose elements all match ``rule``; compares the set of
    distinct normalized elements (so both sides need the same element kinds)."""

    def __init__(self, rule=VALUE):
        self.rule = rule

    def norm(self, r, errors):
        if r.t not in ("*", "~", ">", "%"):
            return EXACT.norm(r, errors)
        return (r.t, "each", _sort(set(normalize(c, self.rule, errors) for c in r.children)))

    def __repr__(self):
        return "Each(%r)" % (self.rule,)


class Unordered(Rule):
    """An array compared as a multiset (e.g. KEYS, SCAN's key list)."""

    def __init__(self, rule=EXACT):
        self.rule = rule

    def norm(self, r, errors):
        if r.t not in ("*", "~", ">"):
            return EXACT.norm(r, errors)
        return (r.t, "unordered", _sort(normalize(c, self.rule, errors) for c in r.v))

    def __repr__(self):
        return "Unordered(%r)" % (self.rule,)


class Pairs(Rule):
    """A map (RESP3 ``%``) or a flat key/value array (RESP2 ``*``): keys compared exactly (as
    a set, order ignored), the value of key K under ``rules[K]`` (else ``default``)."""

    def __init__(self, rules=None, default=EXACT):
        self.rules = dict(rules or {})
        self.default = default

    def norm(self, r, errors):
        if r.t == "%":
            pairs = r.v
        elif r.t in ("*", "~") and len(r.v) % 2 == 0:
            pairs = list(zip(r.v[0::2], r.v[1::2]))
        else:
            return EXACT.norm(r, errors)
        out = []
        for k, v in pairs:
            rule = self.rules.get(k.text, self.default) if not k.is_error else EXACT
            out.append((normalize(k, EXACT, errors), normalize(v, rule, errors)))
        return (r.t, "pairs", _sort(out))

    def __repr__(self):
        return "Pairs(%r, default=%r)" % (self.rules, self.default)


class Derive(Rule):
    """Masks the value but keeps ``fn(reply)`` (e.g. the first line of an INFO text)."""

    def __init__(self, fn, label):
        self.fn = fn
        self.label = label

    def norm(self, r, errors):
        try:
            d = self.fn(r)
        except Exception as e:  # noqa: BLE001 - a failing derivation is a mismatch, shown
            d = "cannot derive: %s: %s" % (type(e).__name__, e)
        return (_tkey(r), self.label, d)

    def __repr__(self):
        return "Derive(%s)" % self.label


def Check(pred, label):
    """Masks the value but requires ``pred(reply)`` to hold."""
    return Derive(lambda r: bool(pred(r)), label)


def IntRange(lo, hi):
    """An integer reply (value masked) within [lo, hi]."""
    return Check(lambda r: r.t in (":", "(") and lo <= r.v <= hi, "int in [%d, %d]" % (lo, hi))


def compare(ref, got, rule=None, errors="full"):
    """(equal, normalized ref, normalized got)."""
    a = normalize(ref, rule, errors)
    b = normalize(got, rule, errors)
    return a == b, a, b


# --------------------------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------------------------

def _port_range():
    spec = os.environ.get("ORACLE_PORT_RANGE") or os.environ.get("KV_TEST_PORTS") or "16450-16499"
    lo, hi = (int(x) for x in spec.split("-"))
    return lo, hi


def free_port(exclude=()):
    """A port in ORACLE_PORT_RANGE that nothing listens on right now (random order)."""
    lo, hi = _port_range()
    ports = [p for p in range(lo, hi + 1) if p not in exclude]
    random.shuffle(ports)
    for p in ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            continue
        finally:
            s.close()
        return p
    raise RuntimeError("no free port in %d-%d" % (lo, hi))


class ServerProcess:
    """A server child process on 127.0.0.1:port with its own temporary directory."""

    def __init__(self, kind, argv_for_port, label):
        self.kind = kind                # "redis" or "kvserver"
        self.label = label              # shown in failure messages
        self.argv_for_port = argv_for_port
        self.dir = tempfile.mkdtemp(prefix="oracle-%s-" % kind)
        self.proc = None
        self.port = None
        self.log_path = os.path.join(self.dir, "server.log")

    def start(self, attempts=5, ready_timeout=30.0):
        used = set()
        last = None
        for _ in range(attempts):
            port = free_port(exclude=used)
            used.add(port)
            argv = self.argv_for_port(port, self.dir)
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=self.dir,
                                         start_new_session=True)
            log.close()
            self.port = port
            if self._wait_ready(ready_timeout):
                return self
            last = self.log_tail()
            self.stop(remove_dir=False)
        shutil.rmtree(self.dir, ignore_errors=True)
        raise RuntimeError("%s did not start (%s); last log:\n%s" % (self.label, " ".join(argv), last))

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with Conn("127.0.0.1", self.port, timeout=2.0) as c:
                    r = c.call("PING")
                    if r.t == "+" and r.v == b"PONG":
                        return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def log_tail(self, n=4000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def connect(self, timeout=10.0):
        return Conn("127.0.0.1", self.port, timeout=timeout)

    def stop(self, remove_dir=True):
        p = self.proc
        if p is not None and p.poll() is None:
            try:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
            except ProcessLookupError:
                pass
        self.proc = None
        if remove_dir:
            shutil.rmtree(self.dir, ignore_errors=True)


REDIS_SERVER = "/usr/bin/redis-server"


def executable_path(path):
    """An absolute path (the child runs in its temporary directory, so a relative path
    must not be resolved there)."""
    if os.sep not in path:
        return shutil.which(path) or path
    return os.path.abspath(path)


def start_redis(label="redis-server", binary=None):
    binary = executable_path(binary or os.environ.get("ORACLE_REDIS_BIN") or os.environ.get("REDIS_SERVER_BIN")
                         or REDIS_SERVER)

    def argv(port, d):
        # --dir keeps SAVE/BGSAVE's dump.rdb in the temporary directory.
        return [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", d, "--daemonize", "no",
                # kvserver has one keyspace: SELECT of another index must get the error
                # Redis itself gives when it is configured with one database.
                "--databases", "1"]

    return ServerProcess("redis", argv, label).start()


def start_kvserver(binary, label="kvserver"):
    binary = executable_path(binary)

    def argv(port, d):
        return [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", os.path.join(d, "data")]

    return ServerProcess("kvserver", argv, label).start()
