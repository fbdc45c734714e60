"""A pytest plugin: fail a test that leaves a thread, a child process or a file descriptor.

Before each test's setup and after its teardown the plugin takes a snapshot of
what the process holds: live Python threads, child processes (running, or
exited and never waited for), and open file descriptors with their targets
(sockets, listening or connected; pipes; files). Whatever the second snapshot
has that the first has not is a leak, unless it ends within a short grace, and
the test fails at teardown with a message naming each leftover.

A fixture wider than a function (session, package, module, class) owns what
its setup creates, and the threads those threads start later (a server's
worker pool); the test whose setup ran it is not blamed. When the fixture is
torn down, what it owns must be gone, or that teardown fails instead.

The snapshots read ``/proc`` (Linux); elsewhere the plugin does nothing. A
snapshot costs well under a millisecond and the collector runs only while a
leftover is being waited for, never once per test.

A test that leaves something behind on purpose says so::

    @pytest.mark.allow_leaks(reason="the leaked thread is what this test inspects")

``ALLOWED`` lists what the libraries keep on purpose, each with its reason.
``-p no:tests.leakcheck`` turns the plugin off.
"""

from __future__ import annotations

import gc
import os
import socket
import sys
import threading
import time
import weakref
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from typing import Any

import pytest

#: How long, in seconds, a leftover may take to go away (a thread to end, a
#: server to close its side of a connection, a child to be reaped) before it
#: counts as leaked; the ``leak_grace`` ini option changes it.
GRACE = 1.0

#: After this share of the grace, run the collector once: a socket or a pipe
#: that only a reference cycle keeps open closes then.
COLLECT_AFTER = 0.2

#: How long a server may take to close connections whose clients closed
#: them (CLOSE_WAIT) when nothing else is left: under a loaded run, Django
#: under uvicorn took over a second to finish 200 such requests. One that
#: never closes them still fails, after this.
CLOSING_GRACE = 10.0

MARKER = "allow_leaks"

PROC = "/proc"


def target_name(thread: threading.Thread) -> str | None:
    """The dotted name of the function a thread runs, while it runs."""
    target = getattr(thread, "_target", None)
    function = getattr(target, "__func__", target)
    if function is None:
        return None
    return f"{getattr(function, '__module__', '?')}.{getattr(function, '__qualname__', '?')}"


def _trio_cache_worker(thread: threading.Thread) -> bool:
    return target_name(thread) == "trio._core._thread_cache.WorkerThread._work"


def _asgiref_executor_worker(thread: threading.Thread) -> bool:
    sync = sys.modules.get("asgiref.sync")
    executor = getattr(getattr(sync, "SyncToAsync", None), "single_thread_executor", None)
    return thread in getattr(executor, "_threads", ())


@dataclass(frozen=True)
class Allowed:
    """A thread that a library keeps on purpose, and why that is not a leak."""

    reason: str
    matches: Callable[[threading.Thread], bool]


#: Threads created once and kept on purpose.
ALLOWED = (
    Allowed(
        "trio keeps an idle worker thread for 10 s so that the next to_thread.run_sync reuses it",
        _trio_cache_worker,
    ),
    Allowed(
        "asgiref runs sync_to_async(thread_sensitive=True) outside async_to_sync "
        "on one process-wide executor, whose thread lives as long as the process",
        _asgiref_executor_worker,
    ),
)


def _libuv_signal_pipe() -> None:
    try:
        import uvloop
    except ImportError:
        return
    uvloop.new_event_loop().close()


#: What a library opens the first time it is used and keeps for the life of the
#: process, each opened once before the first test so that no test is blamed.
OPENED_AT_START = (
    # libuv (uvloop) opens a pipe pair for its signal handling with the first
    # event loop and never closes it.
    _libuv_signal_pipe,
)


@dataclass(frozen=True)
class Snapshot:
    """What the process holds at one moment."""

    threads: frozenset[threading.Thread] = frozenset()
    #: ``(fd, target)``: a descriptor closed and reopened on something else is new.
    fds: frozenset[tuple[int, str]] = frozenset()
    children: frozenset[int] = frozenset()

    def __sub__(self, other: Snapshot) -> Snapshot:
        return Snapshot(
            self.threads - other.threads,
            self.fds - other.fds,
            self.children - other.children,
        )

    def __or__(self, other: Snapshot) -> Snapshot:
        return Snapshot(
            self.threads | other.threads,
            self.fds | other.fds,
            self.children | other.children,
        )

    def __and__(self, other: Snapshot) -> Snapshot:
        return Snapshot(
            self.threads & other.threads,
            self.fds & other.fds,
            self.children & other.children,
        )

    def __bool__(self) -> bool:
        return bool(self.threads or self.fds or self.children)


def open_fds() -> frozenset[tuple[int, str]]:
    fds = set()
    listing = f"{PROC}/self/fd"
    for name in os.listdir(listing):
        try:
            target = os.readlink(f"{listing}/{name}")
        except OSError:  # the descriptor os.listdir itself read, now closed
            continue
        fds.add((int(name), target))
    return frozenset(fds)


class Children:
    """This process's children, found by scanning ``/proc/<pid>/stat``.

    The kernel here has no ``/proc/<pid>/task/<tid>/children``. A process that
    is not our child now never becomes one, so each pid is read once; the cache
    keeps only pids still listed, so a pid reused by a new child between two
    scans (one test apart) is the only case it could miss.
    """

    def __init__(self) -> None:
        self._pid = os.getpid()
        self._not_ours: set[int] = set()

    def scan(self) -> frozenset[int]:
        listed = {int(name) for name in os.listdir(PROC) if name.isdigit()}
        self._not_ours &= listed
        ours = set()
        for pid in listed - self._not_ours:
            stat = read_stat(pid)
            if stat is None:
                continue
            if stat[1] == self._pid:
                ours.add(pid)
            else:
                self._not_ours.add(pid)
        return frozenset(ours)


def read_stat(pid: int) -> tuple[str, int] | None:
    """A process's state letter and parent pid, or None once it is gone."""
    try:
        with open(f"{PROC}/{pid}/stat", "rb") as file:
            stat = file.read()
    except OSError:
        return None
    # The command name, in parentheses, may itself hold spaces and parentheses.
    state, ppid = stat[stat.rindex(b")") + 2 :].split(None, 2)[:2]
    return state.decode(), int(ppid)


def describe_thread(thread: threading.Thread) -> str:
    target = target_name(thread)
    if target is not None:
        what = f"target {target}"
    else:
        what = f"class {type(thread).__module__}.{type(thread).__qualname__}"
    daemon = ", daemon" if thread.daemon else ""
    return f"thread {thread.name!r} ({what}{daemon})"


def describe_child(pid: int) -> str:
    stat = read_stat(pid)
    if stat is not None and stat[0] == "Z":
        try:
            with open(f"{PROC}/{pid}/comm") as file:
                name = file.read().strip()
        except OSError:
            name = "?"
        return f"child process {pid} ({name}): exited, never waited for"
    try:
        with open(f"{PROC}/{pid}/cmdline", "rb") as file:
            argv = [part.decode(errors="replace") for part in file.read().split(b"\0") if part]
    except OSError:
        argv = []
    return f"child process {pid}: {' '.join(argv) or '?'}"


_TCP_STATES = {
    "01": "ESTABLISHED",
    "02": "SYN_SENT",
    "03": "SYN_RECV",
    "04": "FIN_WAIT1",
    "05": "FIN_WAIT2",
    "06": "TIME_WAIT",
    "07": "CLOSE",
    "08": "CLOSE_WAIT",
    "09": "LAST_ACK",
    "0A": "LISTEN",
    "0B": "CLOSING",
}


def _address(hex_address: str) -> str:
    host, port = hex_address.split(":")
    raw = bytes.fromhex(host)
    # The kernel prints each 32-bit word in host (little-endian) order.
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    if len(words) == 4:
        return f"{'.'.join(str(b) for b in words)}:{int(port, 16)}"
    groups = ":".join(words[i : i + 2].hex() for i in range(0, 16, 2))
    return f"[{groups}]:{int(port, 16)}"


@dataclass(frozen=True)
class SocketInfo:
    """One socket of the network namespace, as ``/proc/net`` lists it."""

    protocol: str  # TCP, UDP or Unix
    local: str
    remote: str = ""
    state: str = ""  # a TCP state; LISTEN for a listening Unix socket too

    def __str__(self) -> str:
        if self.state == "LISTEN":
            return f"{self.protocol} socket listening on {self.local}"
        if self.protocol == "TCP":
            return f"TCP socket {self.local} -> {self.remote} ({self.state})"
        return f"{self.protocol} socket on {self.local}"


def socket_table(inodes: set[str]) -> dict[str, SocketInfo]:
    """What each socket of ``inodes`` is, from the network namespace's tables."""
    table: dict[str, SocketInfo] = {}
    for kind in ("tcp", "tcp6", "udp", "udp6"):
        for fields in _proc_net(kind):
            local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
            if inode not in inodes:
                continue
            if kind.startswith("tcp"):
                table[inode] = SocketInfo(
                    "TCP", _address(local), _address(remote), _TCP_STATES.get(state, state)
                )
            else:
                table[inode] = SocketInfo("UDP", _address(local))
    for fields in _proc_net("unix"):
        path = fields[7] if len(fields) > 7 else "an unnamed address"
        table[fields[6]] = SocketInfo(
            "Unix", path, state="LISTEN" if fields[3] == "00010000" else ""
        )
    return table


def _proc_net(kind: str) -> list[list[str]]:
    try:
        with open(f"{PROC}/self/net/{kind}") as file:
            return [line.split() for line in file.readlines()[1:]]
    except OSError:
        return []


def socket_inode(target: str) -> str | None:
    """The inode of a descriptor's target if it is a socket (``socket:[123]``)."""
    if target.startswith("socket:["):
        return target[len("socket:[") : -1]
    return None


def tcp_endpoint(fd: int) -> tuple[int, str] | None:
    """A TCP socket descriptor's local port and state; None for anything else.

    Asked of the socket itself (``TCP_INFO``): reading ``/proc/net/tcp``
    costs milliseconds once a run has left many connections in TIME_WAIT.
    """
    if socket.getdefaulttimeout() is not None:
        return None  # wrapping would make the owner's socket non-blocking
    try:
        sock = socket.socket(fileno=fd)  # wraps the descriptor, does not copy it
    except OSError:  # closed meanwhile, or not a socket
        return None
    try:
        if sock.type != socket.SOCK_STREAM or sock.family not in (socket.AF_INET, socket.AF_INET6):
            return None
        state = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]
        port = int(sock.getsockname()[1])
    except OSError:
        return None
    finally:
        sock.detach()  # the descriptor stays open, as its owner left it
    return port, _TCP_STATES.get(f"{state:02X}", str(state))


def _only_closing(left: Snapshot) -> bool:
    """Whether all that is left is TCP connections their peers have closed
    (CLOSE_WAIT): a server that is still finishing their requests."""
    if left.threads or left.children:
        return False
    for fd, _ in left.fds:
        endpoint = tcp_endpoint(fd)
        if endpoint is None or endpoint[1] != "CLOSE_WAIT":
            return False
    return True


def listening_ports(fds: Iterable[tuple[int, str]]) -> frozenset[int]:
    """The ports TCP sockets among ``fds`` listen on (an accepted connection's
    local port is its listener's, whatever address it was bound to)."""
    endpoints = (tcp_endpoint(fd) for fd, target in fds if socket_inode(target))
    return frozenset(e[0] for e in endpoints if e is not None and e[1] == "LISTEN")


def describe_fds(fds: Iterable[tuple[int, str]]) -> list[str]:
    fds = sorted(fds)
    inodes = {inode for _, target in fds if (inode := socket_inode(target))}
    table = socket_table(inodes) if inodes else {}
    lines = []
    for fd, target in fds:
        inode = socket_inode(target)
        info = table.get(inode) if inode is not None else None
        lines.append(f"fd {fd}: {info or target}")
    return lines


def describe(leaked: Snapshot) -> list[str]:
    return [
        *sorted(describe_thread(t) for t in leaked.threads),
        *describe_fds(leaked.fds),
        *(describe_child(pid) for pid in sorted(leaked.children)),
    ]


class LeakCheck:
    """The plugin: snapshots around each test and each wider fixture."""

    def __init__(self, grace: float = GRACE) -> None:
        self._grace = grace
        self._children = Children()
        #: Each started thread's starter, to attribute pool threads to their owner.
        self._parents: weakref.WeakKeyDictionary[threading.Thread, threading.Thread] = (
            weakref.WeakKeyDictionary()
        )
        self._fixture_threads: weakref.WeakSet[threading.Thread] = weakref.WeakSet()
        #: What each live wider fixture's setup created.
        self._owned: dict[object, Snapshot] = {}
        #: The ports each live wider fixture's servers listen on.
        self._listeners: dict[object, frozenset[int]] = {}
        #: What wider fixtures created during the current test's setup.
        self._by_fixtures = Snapshot()
        self._before = Snapshot()
        self._original_start: Callable[[threading.Thread], None] | None = None

    # The snapshot ------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        return Snapshot(frozenset(threading.enumerate()), open_fds(), self._children.scan())

    def _owned_by_fixture(self, thread: threading.Thread) -> bool:
        seen: threading.Thread | None = thread
        for _ in range(100):  # a chain of starters; a cycle is impossible
            if seen is None:
                return False
            if seen in self._fixture_threads:
                return True
            seen = self._parents.get(seen)
        return False

    def _suspects(self, new: Snapshot) -> Snapshot:
        threads = frozenset(
            t
            for t in new.threads
            if not self._owned_by_fixture(t) and not any(a.matches(t) for a in ALLOWED)
        )
        return Snapshot(threads, self._not_served_by_fixtures(new.fds), new.children)

    def _not_served_by_fixtures(
        self, fds: frozenset[tuple[int, str]]
    ) -> frozenset[tuple[int, str]]:
        """``fds`` without the open connections a wider fixture's server accepted.

        A fixture's server may keep a connection whose client is also the
        fixture's (a child's connection pool); a client in this process is
        checked on its own. A connection its client closed and the server did
        not (CLOSE_WAIT) is still reported: that is a server not noticing.
        """
        listeners = frozenset().union(*self._listeners.values())
        if not listeners:
            return fds

        def served(fd: int, target: str) -> bool:
            endpoint = tcp_endpoint(fd) if socket_inode(target) else None
            return (
                endpoint is not None and endpoint[1] == "ESTABLISHED" and endpoint[0] in listeners
            )

        return frozenset((fd, target) for fd, target in fds if not served(fd, target))

    def settle(self, suspects: Snapshot) -> Snapshot:
        """What of ``suspects`` is still there once the grace has passed."""
        start = time.monotonic()
        collected = False
        delay = 0.005
        while True:
            left = suspects & self.snapshot()
            elapsed = time.monotonic() - start
            if not left:
                return left
            if elapsed >= self._grace and (elapsed >= CLOSING_GRACE or not _only_closing(left)):
                return left
            if not collected and elapsed >= COLLECT_AFTER * self._grace:
                gc.collect()
                collected = True
            for thread in left.threads:
                thread.join(delay)
            if not left.threads:
                time.sleep(delay)
            delay = min(delay * 2, 0.05)

    # Hooks -------------------------------------------------------------------

    def pytest_configure(self, config: pytest.Config) -> None:
        for open_once in OPENED_AT_START:
            open_once()
        self._original_start = original = threading.Thread.start
        parents = self._parents

        def start(thread: threading.Thread) -> None:
            parents[thread] = threading.current_thread()
            original(thread)

        threading.Thread.start = start  # type: ignore[method-assign]

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self._original_start is not None:
            threading.Thread.start = self._original_start  # type: ignore[method-assign]

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(
        self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
    ) -> Generator[None, object, object]:
        if fixturedef.scope == "function":
            return (yield)
        before = self.snapshot()
        try:
            return (yield)
        finally:
            created = self.snapshot() - before
            self._owned[fixturedef] = created
            self._listeners[fixturedef] = listening_ports(created.fds)
            self._fixture_threads.update(created.threads)
            self._by_fixtures = self._by_fixtures | created

    def pytest_fixture_post_finalizer(
        self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
    ) -> None:
        owned = self._owned.pop(fixturedef, None)
        self._listeners.pop(fixturedef, None)
        if not owned:
            return
        left = self.settle(owned)
        if left:
            pytest.fail(
                f"{fixturedef.scope}-scoped fixture {fixturedef.argname!r} left " + report(left),
                pytrace=False,
            )

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        self._by_fixtures = Snapshot()
        self._before = self.snapshot()
        marker = item.get_closest_marker(MARKER)
        if marker is not None and not (marker.kwargs.get("reason") or marker.args):
            pytest.fail(f"@pytest.mark.{MARKER} needs a reason", pytrace=False)
        return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> Generator[None, None, None]:
        yield  # a failed teardown is reported as it is, without this check
        if item.get_closest_marker(MARKER) is not None:
            return
        new = self.snapshot() - self._before - self._by_fixtures
        suspects = self._suspects(new)
        if not suspects:
            return
        left = self.settle(suspects)
        if left:
            pytest.fail(
                f"the test left {report(left)}\n(if on purpose: "
                f'@pytest.mark.{MARKER}(reason="..."))',
                pytrace=False,
            )


def report(left: Snapshot) -> str:
    lines = describe(left)
    return f"{len(lines)} thing(s) behind:\n" + "\n".join(f"  {line}" for line in lines)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "leak_grace",
        "seconds a thread, descriptor or child may take to go away after a test",
        default=str(GRACE),
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(reason): the test leaves a thread, a child process or a "
        "file descriptor behind on purpose; the reason says why",
    )
    if sys.platform.startswith("linux") and os.path.isdir(f"{PROC}/self/fd"):
        grace = float(str(config.getini("leak_grace")))
        config.pluginmanager.register(LeakCheck(grace), "leakcheck")
