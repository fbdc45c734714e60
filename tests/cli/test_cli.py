"""The command line, end to end against the example server in every protocol.

``decode`` reads each route of ``examples/server.py`` (served by uvicorn on
127.0.0.1) over HTTP, from a captured file and from stdin, with the protocol
detected; ``convert`` rewrites every captured protocol into every other;
``serve`` runs the example server as a subprocess. The commands run as
``python -m assistant_stream_core`` subprocesses, as a user runs them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from assistant_stream_core.chunks import Chunk, TextDeltaChunk, ToolResultChunk
from assistant_stream_core.cli._protocols import PROTOCOLS, decoder_for, from_body
from assistant_stream_core.conversation import Conversation, Message, TextPart, encode_request
from tests.adapters.servers import uvicorn_server
from tests.browser.conftest import load_example
from tests.test_snippets import free_port, served

ROOT = Path(__file__).resolve().parents[2]
ROUTES = {
    "data_stream": "/api/chat/data-stream",
    "assistant_transport": "/api/chat/assistant-transport",
    "openai_chat": "/v1/chat/completions",
    "ui_message_stream": "/api/chat/ui-message-stream",
    "ag_ui": "/api/chat/ag-ui",
}


def question(protocol: str) -> dict[str, Any]:
    """The body a client of ``protocol`` posts to ask about the weather in Paris.

    The Assistant Transport route gets the plain page's Data Stream body, so
    the answer is not wrapped in a thread kept in the state.
    """
    asked = Message(role="user", id="u1", parts=(TextPart(text="Weather in Paris?"),))
    wire = "data_stream" if protocol == "assistant_transport" else protocol
    return encode_request(wire, Conversation(messages=(asked,)))


def cli(
    *args: str, stdin: bytes | None = None, check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    """Run ``python -m assistant_stream_core ARGS``."""
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    return subprocess.run(
        [sys.executable, "-m", "assistant_stream_core", *args],
        input=stdin,
        capture_output=True,
        timeout=60,
        check=check,
        env=env,
    )


def lines(output: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.decode().splitlines()]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    example: ModuleType = load_example()
    with uvicorn_server(example.create_app(delay=0)) as url:
        yield url


@pytest.fixture(scope="module")
def captures(server: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One captured body per protocol, as ``curl -o`` would save it."""
    folder = tmp_path_factory.mktemp("captures")
    paths = {}
    for protocol, route in ROUTES.items():
        response = httpx.post(server + route, json=question(protocol), timeout=30)
        assert response.status_code == 200
        paths[protocol] = folder / protocol
        paths[protocol].write_bytes(response.content)
    return paths


#: The OpenAI stream carries no tool results (and no state).
NO_RESULTS = "openai_chat"


def check_answer(chunks: list[dict[str, Any]], protocol: str) -> None:
    """The example's answer: its tool call, its result and some text."""
    begins = [c for c in chunks if c["type"] == "tool-call-begin"]
    assert [c["tool_name"] for c in begins] == ["get_weather"]
    results = [c for c in chunks if c["type"] == "tool-result"]
    if protocol != NO_RESULTS:
        assert len(results) == 1
        assert results[0]["result"]["temp_c"] == 21
    text = "".join(c["text_delta"] for c in chunks if c["type"] == "text-delta")
    assert "Paris" in text


@pytest.mark.parametrize("protocol", list(ROUTES))
def test_decode_a_url_detects_the_protocol(server: str, protocol: str) -> None:
    # The OpenAI route takes POST only: the JSON body makes it one.
    args = [server + ROUTES[protocol], "--data", json.dumps(question(protocol))]
    result = cli("decode", *args)
    check_answer(lines(result.stdout), protocol)
    assert result.stderr == b""


def test_decode_a_url_with_get(server: str) -> None:
    check_answer(
        lines(cli("decode", server + ROUTES["data_stream"] + "?q=Paris").stdout), "data_stream"
    )


@pytest.mark.parametrize("protocol", list(ROUTES))
def test_decode_a_file_and_stdin_from_the_first_bytes(
    captures: dict[str, Path], protocol: str
) -> None:
    path = captures[protocol]
    assert from_body(path.read_bytes(), complete=True) == protocol
    from_file = cli("decode", str(path)).stdout
    check_answer(lines(from_file), protocol)
    assert cli("decode", stdin=path.read_bytes()).stdout == from_file
    named = cli("decode", "--protocol", protocol, str(path)).stdout
    assert named == from_file


@pytest.mark.parametrize("protocol", list(ROUTES))
def test_decode_message(server: str, protocol: str) -> None:
    args = ["--message", server + ROUTES[protocol], "-d", json.dumps(question(protocol))]
    message = json.loads(cli("decode", *args).stdout)
    tools = [part for part in message["parts"] if part["type"] == "tool-call"]
    assert [(t["toolName"], t["args"]) for t in tools] == [
        ("get_weather", {"city": "Paris", "unit": "celsius"})
    ]
    if protocol != NO_RESULTS:
        assert tools[0]["result"]["temp_c"] == 21
        assert message["metadata"]["unstable_state"]


def decoded(protocol: str, body: bytes) -> list[Chunk]:
    decoder = decoder_for(protocol)
    return decoder.feed(body) + decoder.finish()


def meaning(chunks: list[Chunk]) -> tuple[str, list[Any]]:
    text = "".join(c.text_delta for c in chunks if isinstance(c, TextDeltaChunk))
    return text, [c.result for c in chunks if isinstance(c, ToolResultChunk)]


@pytest.mark.parametrize("source", list(ROUTES))
def test_convert_every_protocol_into_every_other(captures: dict[str, Path], source: str) -> None:
    original = meaning(decoded(source, captures[source].read_bytes()))
    for target in PROTOCOLS:
        body = cli("convert", str(captures[source]), "--from", source, "--to", target).stdout
        assert from_body(body, complete=True) == target
        text, results = meaning(decoded(target, body))
        assert text == original[0], f"{source} -> {target}"
        if NO_RESULTS not in (source, target):
            assert results == original[1], f"{source} -> {target}"


def test_colour_and_progress(captures: dict[str, Path]) -> None:
    path = str(captures["data_stream"])
    plain = cli("decode", path, "--color", "never", "--progress", "never")
    assert b"\x1b[" not in plain.stdout
    assert plain.stderr == b""
    coloured = cli("decode", path, "--color", "always", "--progress", "always")
    assert b"\x1b[33m{" in coloured.stdout  # tool chunks in yellow
    size = len(captures["data_stream"].read_bytes())
    count = len(plain.stdout.splitlines())
    assert f"{size:,} bytes, {count:,} chunks, ".encode() in coloured.stderr
    assert coloured.stderr.endswith(b" s\n")


def test_errors_name_the_problem(tmp_path: Path) -> None:
    missing = cli("decode", str(tmp_path / "nope"), check=False)
    assert missing.returncode == 1
    assert b"nope: No such file or directory" in missing.stderr
    garbage = cli("decode", stdin=b"<html>hello</html>", check=False)
    assert garbage.returncode == 1
    assert b"not a stream of any known protocol" in garbage.stderr
    cut = cli("decode", "--protocol", "data_stream", stdin=b'0:"unterminated', check=False)
    assert cut.returncode == 1
    assert b"(data_stream)" in cut.stderr
    refused = cli("decode", f"http://127.0.0.1:{free_port()}/", check=False)
    assert refused.returncode == 1
    assert b"refused" in refused.stderr.lower()


def test_serve_runs_the_example_server() -> None:
    port = free_port()
    command = [sys.executable, "-m", "assistant_stream_core", "serve", "--port", str(port)]
    with served(command, ROOT, port) as url:
        assert "<html" in httpx.get(url + "/", timeout=10).text.lower()
        result = cli("decode", "--message", url + ROUTES["ag_ui"] + "?delay=0")
    assert json.loads(result.stdout)["parts"]


def test_bench_passes_its_arguments_on() -> None:
    result = cli("bench", "--quick", "--suite", "encoders", "--chunks", "300")
    assert b"Text deltas (stress, no target): 300 adjacent deltas" in result.stdout


def test_serve_and_bench_find_a_clone_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wheel installed in site-packages has no examples/ beside it: the clone
    the user stands in is used (``docs/cli.rst``: "From a clone")."""
    from assistant_stream_core.cli import _commands

    monkeypatch.setattr(_commands, "CHECKOUT", tmp_path / "site-packages")
    monkeypatch.chdir(ROOT)
    assert _commands._checkout_file("examples/server.py", "serve") == (
        ROOT,
        ROOT / "examples" / "server.py",
    )
    monkeypatch.chdir(tmp_path)
    with pytest.raises(_commands.CommandError, match="run it from the root of a clone"):
        _commands._checkout_file("benchmarks/__main__.py", "bench")
