"""Shared fixtures for the Python client-library tests (Tests/clients).

The server under test is kvserver ($KVSERVER_BIN, default .build/debug/kvserver), or, with
KV_TARGET=redis, Debian's redis-server ($REDIS_SERVER_BIN, default /usr/bin/redis-server):
every test is meant to pass against redis-server too, which is how a test is shown right.

Fixtures (all generic, nothing autouse):
  server          a fresh server on a fresh directory; yields an Address (host, port)
  server_factory  starts servers with options: server_factory(fsync="always", args=[...]),
                  returns a ServerProcess with .host/.port/.address, .kill(), .stop(),
                  .restart() (same directory, new port), .log_tail()
  kv_target       "kvserver" or "redis"

KV_TEST_PORTS=LOW-HIGH makes servers take ports from that range instead of kernel-chosen
free ports (for machines where only some ports may be used).
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable, NamedTuple, Optional, Sequence

import pytest
import redis

REPO_ROOT = Path(__file__).resolve().parents[2]
KV_TARGET = os.environ.get("KV_TARGET", "kvserver").strip().lower() or "kvserver"
if KV_TARGET not in ("kvserver", "redis"):
    raise pytest.UsageError(f"KV_TARGET must be kvserver or redis, not {KV_TARGET!r}")

START_TIMEOUT = float(os.environ.get("KV_START_TIMEOUT", "30"))


def kvserver_bin() -> Path:
    p = Path(os.environ.get("KVSERVER_BIN", ".build/debug/kvserver"))
    return p if p.is_absolute() else REPO_ROOT / p


def redis_server_bin() -> Path:
    return Path(os.environ.get("REDIS_SERVER_BIN", "/usr/bin/redis-server"))


class Address(NamedTuple):
    host: str
    port: int


def _port_free(port: int) -> bool:
    # No SO_REUSEADDR: a port with TIME_WAIT leftovers counts as taken (conservative).
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1 (from KV_TEST_PORTS=LOW-HIGH if set)."""
    spec = os.environ.get("KV_TEST_PORTS", "").strip()
    if spec:
        low, high = (int(x) for x in spec.split("-", 1))
        ports = list(range(low, high + 1))
        random.shuffle(ports)
        for p in ports:
            if _port_free(p):
                return p
        raise RuntimeError(f"no free port in KV_TEST_PORTS={spec}")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ping_once(host: str, port: int, timeout: float = 1.0) -> bool:
    """One RESP PING on a fresh connection; True on +PONG (or -NOAUTH: up, needs a password)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            buf = b""
            while b"\r\n" not in buf:
                chunk = s.recv(64)
                if not chunk:
                    return False
                buf += chunk
            return buf.startswith(b"+PONG") or buf.startswith(b"-NOAUTH")
    except OSError:
        return False


class ServerProcess:
    """One server process (kvserver or redis-server) on a data directory.

    fsync: None (the server's default; redis runs with no persistence at all),
    "always"/"everysec"/"no" (kvserver --fsync X; redis --appendonly yes --appendfsync X).
    args: extra command-line arguments appended as they are (target-specific).
    """

    def __init__(self, directory: Path, *, target: str = KV_TARGET, fsync: Optional[str] = None,
                 args: Sequence[str] = (), name: str = "server"):
        self.target = target
        self.directory = Path(directory)
        self.fsync = fsync
        self.args = list(args)
        self.name = name
        self.host = "127.0.0.1"
        self.port = 0
        self.proc: Optional[subprocess.Popen] = None
        self.log_path = self.directory.parent / f"{self.directory.name}.{name}.log"
        self.starts = 0
        self._log = None

    @property
    def address(self) -> Address:
        return Address(self.host, self.port)

    def argv(self, port: int) -> list[str]:
        if self.target == "redis":
            argv = [str(redis_server_bin()), "--port", str(port), "--bind", self.host,
                    "--dir", str(self.directory), "--save", "", "--daemonize", "no",
                    "--protected-mode", "no", "--logfile", ""]
            if self.fsync:
                argv += ["--appendonly", "yes", "--appendfsync", self.fsync]
            else:
                argv += ["--appendonly", "no"]
        else:
            binary = kvserver_bin()
            if not os.access(binary, os.X_OK):
                pytest.fail(f"kvserver binary {binary} is missing: build it or set KVSERVER_BIN "
                            "(or KV_TARGET=redis)", pytrace=False)
            argv = [str(binary), "--bind", self.host, "--port", str(port),
                    "--dir", str(self.directory)]
            if self.fsync:
                argv += ["--fsync", self.fsync]
        return argv + self.args

    def start(self, port: Optional[int] = None) -> "ServerProcess":
        """Starts on a free port, or on `port` (a restarted node that others know by its
        address, as Sentinel does)."""
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.directory.mkdir(parents=True, exist_ok=True)
        last_error = ""
        fixed = port
        for _attempt in range(3):  # a port taken between choosing and binding: try another
            port = fixed or free_port()
            self._log = open(self.log_path, "ab")
            self.starts += 1
            self._log.write(f"==== start #{self.starts} on port {port}\n".encode())
            self._log.flush()
            self.proc = subprocess.Popen(self.argv(port), stdin=subprocess.DEVNULL,
                                         stdout=self._log, stderr=subprocess.STDOUT,
                                         cwd=str(self.directory.parent))
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                if ping_once(self.host, port):
                    self.port = port
                    return self
                time.sleep(0.02)
            if self.proc.poll() is None:  # running but never answered
                self._terminate(signal.SIGKILL)
                pytest.fail(f"{self.target} did not answer PING on port {port} within "
                            f"{START_TIMEOUT:.0f} s:\n{self.log_tail()}", pytrace=False)
            last_error = self.log_tail()
            self._close_log()
            if "in use" not in last_error.lower():
                break
        pytest.fail(f"{self.target} exited during start (status {self.proc.returncode}):\n"
                    f"{last_error}", pytrace=False)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _terminate(self, sig: int, wait: float = 10.0) -> Optional[int]:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._close_log()
        return self.proc.returncode

    def kill(self, sig: int = signal.SIGKILL) -> Optional[int]:
        """Sends sig (SIGKILL by default: a crash) and waits for the process to go."""
        return self._terminate(sig)

    def stop(self) -> Optional[int]:
        """Graceful stop (SIGTERM), then SIGKILL if it takes more than 10 s."""
        return self._terminate(signal.SIGTERM)

    def restart(self, same_port: bool = False) -> "ServerProcess":
        """Stops the process if it still runs (SIGKILL), then starts it on the same directory
        (and, with same_port, the same port)."""
        if self.alive():
            self.kill()
        return self.start(self.port if same_port else None)

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


@pytest.fixture
def kv_target() -> str:
    return KV_TARGET


@pytest.fixture
def server_factory(tmp_path, request):
    """Starts servers for one test; every one is stopped when the test ends."""
    started: list[ServerProcess] = []
    request.node._kv_servers = started

    def make(*, fsync: Optional[str] = None, args: Sequence[str] = (),
             directory: Optional[Path] = None, target: str = KV_TARGET) -> ServerProcess:
        name = f"server{len(started)}"
        s = ServerProcess(directory or (tmp_path / name), target=target, fsync=fsync,
                          args=args, name=name)
        started.append(s)
        return s.start()

    yield make
    for s in started:
        if s.proc is not None and s.proc.poll() is not None and s.proc.returncode not in (0, -9, -15):
            print(f"{s.target} ({s.name}) exited with status {s.proc.returncode}:\n{s.log_tail()}")
        s.stop()


@pytest.fixture
def server(server_factory) -> Address:
    """A fresh server on a fresh directory; yields (host, port)."""
    return server_factory().address


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        for s in getattr(item, "_kv_servers", []):
            state = "running" if s.alive() else f"exited with status {s.proc.returncode}" if s.proc else "not started"
            report.sections.append((f"{s.target} {s.name} log ({state})", s.log_tail(25)))


def pytest_report_header(config):
    target = f"redis-server ({redis_server_bin()})" if KV_TARGET == "redis" else f"kvserver ({kvserver_bin()})"
    return f"client-library target: {target}"


STEP_TIMEOUT = 15.0  # the longest any one wait of the client tests may take


def until(what: str, fn: Callable, timeout: float = STEP_TIMEOUT, errors=(redis.RedisError,)):
    """fn() until it returns something other than None/False without raising (errors of
    `errors` count as not yet), or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            result = fn()
            if result is not None and result is not False:
                return result
            last = f"returned {result!r}"
        except errors as e:
            last = repr(e)
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not done after {timeout:.0f} s (last: {last})", pytrace=False)
        time.sleep(0.05)
