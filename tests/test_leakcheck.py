"""The leak check (tests/leakcheck.py), run by pytest over scenario files.

One pytest run in a child process covers every scenario: a test that leaks a
thread, a listening socket, a pipe, a running child or an unreaped one fails
at teardown naming it; clean tests, tests whose thread ends within the grace,
allowed threads, marked tests and a module fixture's server pass; a marker
without a reason and a module fixture that leaves its thread running fail.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LEAKS = """
import os
import queue
import socket
import subprocess
import sys
import threading
import time

import pytest


STOP = threading.Event()
KEPT = []


def wait_forever():
    STOP.wait()


def test_clean():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=time.sleep, args=(0.01,))
    thread.start()
    thread.join()
    subprocess.run([sys.executable, "-c", "pass"], check=True)


def test_thread_that_ends_within_the_grace():
    threading.Thread(target=time.sleep, args=(0.01,)).start()


def test_leaks_a_thread():
    threading.Thread(target=wait_forever, name="leaky", daemon=True).start()


def test_leaks_a_listening_socket():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    KEPT.append(sock)


def test_leaks_a_pipe():
    KEPT.extend(os.pipe())


def test_leaks_a_child():
    KEPT.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]))


def test_leaks_an_unreaped_child():
    child = subprocess.Popen(["true"])
    KEPT.append(child)
    while open(f"/proc/{child.pid}/stat").read().split(") ")[1][0] != "Z":
        time.sleep(0.01)


def test_allowed_trio_worker():
    import trio

    async def main():
        await trio.to_thread.run_sync(time.sleep, 0)

    trio.run(main)


@pytest.mark.allow_leaks(reason="the scenario keeps it")
def test_marked():
    threading.Thread(target=wait_forever, name="marked", daemon=True).start()


@pytest.mark.allow_leaks
def test_marked_without_a_reason():
    pass


def test_zz_cleanup():
    STOP.set()
    for kept in KEPT:
        if isinstance(kept, subprocess.Popen):
            kept.kill()
            kept.wait()
        elif isinstance(kept, int):
            os.close(kept)
        else:
            kept.close()
"""

FIXTURES = '''
import queue
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


STOP = threading.Event()


class Hello(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"hi")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    """Started by the first test, stopped after the last: neither is blamed."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    thread = threading.Thread(target=httpd.serve_forever, name="server")
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/"
    httpd.shutdown()
    thread.join()
    httpd.server_close()


@pytest.fixture(scope="module")
def spawner():
    """A thread that starts worker threads later, while the tests run."""
    jobs = queue.Queue()
    workers = []

    def serve():
        while jobs.get() is not None:
            workers.append(threading.Thread(target=STOP.wait, name="worker"))
            workers[-1].start()

    thread = threading.Thread(target=serve, name="spawner")
    thread.start()
    yield jobs.put
    STOP.set()
    jobs.put(None)
    thread.join()
    for worker in workers:
        worker.join()


CONNECTOR = """
import socket, sys
kept = []
for line in sys.stdin:
    kept.append(socket.create_connection(("127.0.0.1", int(sys.argv[1]))))
    if line.strip() == "close":
        kept.pop().close()
    print("ok", flush=True)
"""


@pytest.fixture(scope="module")
def holder():
    """A server that keeps what it accepts, and a child that connects to it on demand."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = []

    def accept():
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    thread = threading.Thread(target=accept, name="acceptor")
    thread.start()
    # Closes a connection 2 s after it is handed over: a server slower than
    # the grace to finish a request whose client has closed.
    closing = queue.Queue()

    def close_later():
        while (sock := closing.get()) is not None:
            time.sleep(2.0)
            sock.close()

    closer = threading.Thread(target=close_later, name="closer")
    closer.start()
    port = str(listener.getsockname()[1])
    child = subprocess.Popen(
        [sys.executable, "-c", CONNECTOR, port],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )

    def connect(how, close_later=False):
        child.stdin.write(how + "\\n")
        child.stdin.flush()
        child.stdout.readline()
        while len(accepted) < connect.count + 1:
            time.sleep(0.01)
        connect.count += 1
        if close_later:
            closing.put(accepted[-1])

    connect.count = 0
    yield connect
    child.stdin.close()
    child.stdout.close()
    child.wait()
    closing.put(None)
    closer.join()
    listener.shutdown(socket.SHUT_RDWR)
    thread.join()
    listener.close()
    for sock in accepted:
        sock.close()


def test_a_fixture_child_connects_to_a_fixture_server(holder):
    holder("keep")


def test_a_server_that_never_closes_a_connection(holder):
    holder("close")


def test_a_server_slow_to_close_a_connection(holder):
    holder("close", close_later=True)


@pytest.fixture(scope="module")
def forgetful():
    threading.Thread(target=threading.Event().wait, name="forgotten", daemon=True).start()
    yield


def test_first_request(server):
    with urllib.request.urlopen(server) as response:
        assert response.read() == b"hi"


def test_second_request(server):
    with urllib.request.urlopen(server) as response:
        assert response.read() == b"hi"


def test_a_fixture_thread_starts_a_worker(spawner):
    spawner("job")
    while "worker" not in [thread.name for thread in threading.enumerate()]:
        time.sleep(0.01)


def test_uses_forgetful(forgetful):
    pass


def test_last_user_of_forgetful(forgetful):
    pass
'''


def run_scenarios(tmp_path: Path) -> dict[str, str]:
    """Run pytest over the scenario files: each test's outcome, or its error message."""
    (tmp_path / "test_leaks.py").write_text(LEAKS)
    (tmp_path / "test_fixtures.py").write_text(FIXTURES)
    (tmp_path / "pytest.ini").write_text("[pytest]\nleak_grace = 0.2\n")
    report = tmp_path / "report.xml"
    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.leakcheck",
            "-p",
            "no:cacheprovider",
            f"--junitxml={report}",
            str(tmp_path),
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    outcomes: dict[str, str] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        name = case.get("name", "")
        messages = [
            f"{child.tag}: {child.text}" for child in case if child.tag in {"failure", "error"}
        ]
        outcomes[name] = "; ".join(messages) or "passed"
    assert outcomes, process.stdout + process.stderr
    return outcomes


#: Each scenario's outcome: "passed", or what its error message must hold.
EXPECTED = {
    "test_clean": "passed",
    "test_thread_that_ends_within_the_grace": "passed",
    "test_allowed_trio_worker": "passed",
    "test_marked": "passed",
    "test_zz_cleanup": "passed",
    "test_first_request": "passed",
    "test_second_request": "passed",
    "test_a_fixture_thread_starts_a_worker": "passed",
    "test_a_fixture_child_connects_to_a_fixture_server": "passed",
    "test_uses_forgetful": "passed",
    "test_leaks_a_thread": "error: the test left 1 thing(s) behind:\n"
    "  thread 'leaky' (target test_leaks.wait_forever, daemon)\n",
    "test_leaks_a_listening_socket": "fd {fd}: TCP socket listening on 127.0.0.1:{port}",
    "test_leaks_a_pipe": "the test left 2 thing(s) behind:\n  fd {fd}: pipe:[",
    "test_leaks_a_child": f"{sys.executable} -c import time; time.sleep(60)",
    "test_leaks_an_unreaped_child": "(true): exited, never waited for",
    "test_a_server_slow_to_close_a_connection": "passed",
    "test_a_server_that_never_closes_a_connection": "left 1 thing(s) behind:\n  fd {fd}: TCP "
    "socket 127.0.0.1:{port} -> 127.0.0.1:{port} (CLOSE_WAIT)",
    "test_marked_without_a_reason": "error: @pytest.mark.allow_leaks needs a reason",
    "test_last_user_of_forgetful": "error: module-scoped fixture 'forgetful' left 1 thing(s) "
    "behind:\n  thread 'forgotten' (target threading.Event.wait, daemon)",
}


def test_each_scenario_passes_or_names_what_it_left(tmp_path: Path) -> None:
    outcomes = run_scenarios(tmp_path)
    assert outcomes.keys() == EXPECTED.keys()
    wrong = {}
    for test, expected in EXPECTED.items():
        # {fd} and {port} stand for any number.
        pattern = re.sub(r"\\\{\w+\\\}", r"\\d+", re.escape(expected))
        if not (
            outcomes[test] == expected
            or (expected != "passed" and re.search(pattern, outcomes[test]))
        ):
            wrong[test] = outcomes[test]
    assert wrong == {}
