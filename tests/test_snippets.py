"""Every code block of the README and the docs runs as written.

A Python block in README.md is the text of a file under ``examples/snippets``;
a Python block in ``docs/`` is a Sphinx ``testcode``/``doctest`` (run by
``tests/test_docs.py``) or a ``literalinclude`` of a file under ``examples/``.
This module checks that rule and runs the files the way the text says to: as
a script, or under the server command the page gives, fetched over HTTP. The
README's first snippet is also served through every framework and protocol by
the adapters' scenario suite (``run_readme``).
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from assistant_stream_core.chunks import Chunk, TextDeltaChunk
from assistant_stream_core.protocols.assistant_transport import AssistantTransportDecoder
from assistant_stream_core.protocols.base import Decoder
from assistant_stream_core.protocols.data_stream import DataStreamDecoder

ROOT = Path(__file__).resolve().parent.parent
SNIPPETS = ROOT / "examples" / "snippets"
ADAPTER_EXAMPLES = ROOT / "examples" / "adapters"
README_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.S | re.M)
#: Pages whose plain code blocks a dedicated test executes.
EXECUTED_ELSEWHERE = {
    "guides/langgraph.rst": "tests/langgraph/test_docs_example.py",
    "resumable.rst": "tests/resumable/test_docs_example.py",
}
#: A literal block (``::``) that imports something is a program, not a fragment.
LITERAL_PROGRAM = re.compile(r"^(?![ ]*\.\. )[^\n]*::\n\n((?:[ ]{2,}.*\n|\n)+)", re.M)
IMPORTS = re.compile(r"^\s*(?:from [\w.]+ import|import [\w.]+)", re.M)


def doc_pages() -> Iterator[tuple[str, str]]:
    for page in sorted((ROOT / "docs").rglob("*.rst")):
        yield page.relative_to(ROOT / "docs").as_posix(), page.read_text(encoding="utf-8")


def test_every_readme_python_block_is_a_snippet_file() -> None:
    files = {path.read_text(encoding="utf-8"): path.name for path in SNIPPETS.glob("*.py")}
    blocks = README_BLOCK.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 2
    for block in blocks:
        assert block in files, f"README block is not a file in examples/snippets:\n{block}"


def test_every_docs_python_block_is_run() -> None:
    for name, text in doc_pages():
        if name not in EXECUTED_ELSEWHERE:
            assert ".. code-block:: python" not in text, (
                f"docs/{name}: make the block a testcode, or literalinclude a file under examples/"
            )
            for block in LITERAL_PROGRAM.findall(text):
                assert not IMPORTS.search(block), (
                    f"docs/{name}: a literal block that imports is never run; make it a "
                    f"testcode, or literalinclude a file under examples/:\n{block}"
                )
        for target in re.findall(r"^\.\. literalinclude:: (\S+)", text, re.M):
            path = (ROOT / "docs" / name).parent.joinpath(target).resolve()
            assert path.is_relative_to(ROOT / "examples"), f"docs/{name} includes {target}"
            assert path.is_file(), f"docs/{name} includes the missing file {target}"


def test_every_extra_the_text_names_exists() -> None:
    extras = set(importlib.metadata.metadata("assistant-stream-ce").get_all("Provides-Extra") or [])
    texts = [(ROOT / "README.md").read_text(encoding="utf-8")] + [t for _, t in doc_pages()]
    named = {
        extra
        for text in texts
        for group in re.findall(r"assistant-stream-ce\[([a-z,]+)\]", text)
        for extra in group.split(",")
    }
    assert named
    assert named <= extras, f"named but not in pyproject.toml: {sorted(named - extras)}"


def test_readme_headline_runs_as_a_file() -> None:
    result = subprocess.run(
        [sys.executable, str(SNIPPETS / "headline.py")],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert lines[0] == "TextDeltaChunk(text_delta='Checking the weather…', parent_id=None)"
    assert any(line.startswith("ToolCallBeginChunk(") and "get_weather" in line for line in lines)
    assert "{'temp_c': 21}" in result.stdout
    assert (
        lines[-1] == "UpdateStateChunk(operations=[SetOperation(path=('status',), value='done')])"
    )
    assert result.stderr == ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def served(command: list[str], cwd: Path, port: int) -> Iterator[str]:
    """Run a documented server command in ``cwd``; yield its URL once it answers."""
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, f"{command} did not listen on {port}"
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()


def decoded_text(decoder: Decoder, body: bytes) -> str:
    chunks: list[Chunk] = decoder.feed(body) + decoder.finish()
    return "".join(c.text_delta for c in chunks if isinstance(c, TextDeltaChunk))


@pytest.mark.parametrize(
    ("snippet", "route", "decoder", "text"),
    [
        ("fastapi_chat.py", "/chat", DataStreamDecoder, "Hello from FastAPI!"),
        ("fastapi_sse.py", "/chat-sse", AssistantTransportDecoder, "Streaming over SSE..."),
    ],
)
def test_fastapi_snippet_saved_as_app_py_under_uvicorn(
    tmp_path: Path, snippet: str, route: str, decoder: type[Decoder], text: str
) -> None:
    """The README's and getting-started's steps: save as app.py, ``uvicorn app:app``."""
    shutil.copy(SNIPPETS / snippet, tmp_path / "app.py")
    port = free_port()
    command = ["uvicorn", "app:app", "--port", str(port)]
    with served(command, tmp_path, port) as url:
        response = httpx.get(url + route, timeout=10)
    assert response.status_code == 200
    assert decoded_text(decoder(), response.content) == text


ANSWER = "Checking the weather… It is 21 °C in Paris."


@pytest.mark.parametrize(
    ("example", "documented", "bind"),
    [
        ("flask_app.py", "flask --app flask_app run", "--port {port}"),
        ("flask_app.py", "gunicorn -k gthread --threads 8 flask_app:app", "-b 127.0.0.1:{port}"),
        ("django_project.py", "uvicorn django_project:application", "--port {port}"),
        (
            "django_project.py",
            "gunicorn -k gthread --threads 8 django_project:wsgi_application",
            "-b 127.0.0.1:{port}",
        ),
    ],
    ids=["flask-run", "flask-gunicorn", "django-uvicorn", "django-gunicorn"],
)
def test_adapter_examples_deployment_commands(example: str, documented: str, bind: str) -> None:
    """The commands in the adapter examples' docstrings serve them as written."""
    assert f"``{documented}``" in (ADAPTER_EXAMPLES / example).read_text(encoding="utf-8")
    port = free_port()
    argv = documented.split() + bind.format(port=port).split()
    with served(argv, ADAPTER_EXAMPLES, port) as url:
        response = httpx.post(url + "/chat", timeout=10)
    assert response.status_code == 200
    assert decoded_text(DataStreamDecoder(), response.content) == ANSWER


#: What a third-party import (or the server command) of an example needs installed:
#: extras of assistant-stream-ce, or other packages by their pip name.
NEEDS = {
    "starlette": {"starlette", "fastapi", "all"},
    "assistant_stream_starlette": {"starlette", "fastapi", "all"},
    "assistant_stream_aiohttp": {"aiohttp", "all"},
    "assistant_stream_django": {"django", "all"},
    "fastapi": {"fastapi", "all"},
    "aiohttp": {"aiohttp", "all"},
    "django": {"django", "all"},
    "redis": {"redis", "all"},
    "langgraph": {"langgraph", "all"},
    "langchain_core": {"langgraph", "all"},
    "flask": {"wsgi", "all"},
    "uvicorn": {"server", "all"},
    "openai": {"openai"},
}
CORE = {"assistant_stream_core", "assistant_stream_ce", "examples", "msgspec", "anyio"}
PIP_INSTALL = re.compile(r"pip install ((?:\"assistant-stream-ce\[[a-z,]+\]\"|[\w-]+| )+)")
RUNS_EXAMPLE = re.compile(r"(?:uvicorn examples\.([\w.]+):|python examples/([\w/]+)\.py)")


def example_imports(module: str, seen: set[str]) -> set[str]:
    """The top-level modules ``examples.<module>`` imports, following ``examples.*``."""
    if module in seen:
        return set()
    seen.add(module)
    tree = ast.parse((ROOT / "examples" / (module.replace(".", "/") + ".py")).read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        names = (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else [node.module]
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
            else []
        )
        for name in names:
            if name.startswith("examples."):
                found |= example_imports(name.removeprefix("examples."), seen)
            found.add(name.split(".")[0])
    return found


def test_pages_that_run_an_example_say_what_to_install() -> None:
    """A page telling the reader to run ``examples/…`` gives the pip line it needs.

    The examples are not in the wheel and some import packages no extra brings
    (the ``openai`` SDK): a reader who installed only what the README said met
    a ModuleNotFoundError.
    """
    checked = 0
    for name, text in doc_pages():
        runs = {(a or b).replace("/", ".") for a, b in RUNS_EXAMPLE.findall(text)}
        if not runs:
            continue
        installed = {
            word.strip('"')
            for line in PIP_INSTALL.findall(text)
            for word in re.sub(r"assistant-stream-ce\[([a-z,]+)\]", r"\1", line)
            .replace(",", " ")
            .split()
        }
        needed = {"uvicorn"} if "uvicorn examples." in text else set()
        for module in runs:
            needed |= example_imports(module, set())
        needed -= CORE | set(sys.stdlib_module_names)
        assert "clone" in text, f"docs/{name} runs examples/ but never says to clone the repository"
        for module in sorted(needed):
            assert module in NEEDS, (
                f"add {module!r} (imported by an example docs/{name} runs) to NEEDS"
            )
            assert NEEDS[module] & installed, (
                f"docs/{name} runs an example that needs {module!r}: its pip install line "
                f"must name one of {sorted(NEEDS[module])}"
            )
        checked += 1
    assert checked >= 3


#: Paths the text names that a build creates (scripts/build-frontends.sh).
BUILT = {"examples/frontends/dist"}
REPO_PATH = re.compile(
    r"(?<!:doc:)`+((?:examples|scripts|docs|tests|benchmarks|adapters|assistant_stream_core|\.ci)"
    r"/[\w./-]*)`+"
)


def test_every_repository_path_the_text_names_exists() -> None:
    """A file the README or a page tells the reader to open or run is there."""
    texts = [("README.md", (ROOT / "README.md").read_text(encoding="utf-8"))]
    texts += [(f"docs/{name}", text) for name, text in doc_pages()]
    named = 0
    for name, text in texts:
        for path in REPO_PATH.findall(text):
            path = path.rstrip("/.")
            named += 1
            assert path in BUILT or (ROOT / path).exists(), f"{name} names {path}, which is missing"
    assert named > 20


PACKAGES = r"assistant_stream_(?:ce|core|starlette|aiohttp|django)\b"
PROSE_IMPORT = re.compile(rf"from ({PACKAGES}[\w.]*) import (\w+(?:, \w+)*)")
DOTTED_NAME = re.compile(rf"`+({PACKAGES}(?:\.\w+)+)`+")


def resolves(dotted: str) -> bool:
    """``a.b.C`` names a module, or an attribute of the longest importable prefix."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(found, attribute):
                return False
            found = getattr(found, attribute)
        return True
    return False


def test_every_import_the_text_names_resolves() -> None:
    """An import or a dotted name in the prose (not only in code that runs) is where it says."""
    texts = [("README.md", (ROOT / "README.md").read_text(encoding="utf-8"))]
    texts += [(f"docs/{name}", text) for name, text in doc_pages()]
    checked = 0
    for name, text in texts:
        for module, names in PROSE_IMPORT.findall(text):
            for attribute in names.split(", "):
                checked += 1
                assert resolves(f"{module}.{attribute}"), (
                    f"{name}: from {module} import {attribute}"
                )
        for dotted in DOTTED_NAME.findall(text):
            checked += 1
            assert resolves(dotted), f"{name} names {dotted}, which does not import"
    assert checked > 50
