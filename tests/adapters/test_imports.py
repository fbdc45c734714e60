"""Importing an adapter without its framework names the extra to install."""

from __future__ import annotations

import subprocess
import sys

import pytest

BLOCKED_IMPORT = """
import sys

class Missing:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {frameworks!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, Missing())
try:
    import {package}
except ImportError as exc:
    print(exc)
else:
    print("imported")
"""


@pytest.mark.parametrize(
    ("package", "framework", "extra"),
    [
        ("assistant_stream_starlette", "starlette", "starlette"),
        ("assistant_stream_aiohttp", "aiohttp", "aiohttp"),
        ("assistant_stream_django", "django", "django"),
    ],
)
def test_missing_framework_names_the_extra(package: str, framework: str, extra: str) -> None:
    code = BLOCKED_IMPORT.format(package=package, frameworks=[framework])
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert f'pip install "assistant-stream-ce[{extra}]"' in output


def test_blocking_iterator_needs_no_framework() -> None:
    frameworks = ["starlette", "aiohttp", "django", "flask", "werkzeug"]
    package = "assistant_stream_core.run.blocking"
    code = BLOCKED_IMPORT.format(package=package, frameworks=frameworks)
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert output.strip() == "imported"


STATEMENT_WITHOUT = """
import sys

class Missing:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {frameworks!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, Missing())
try:
    {statement}
except ImportError as exc:
    print(exc)
else:
    print("imported")
"""


@pytest.mark.parametrize(
    ("statement", "framework", "extra"),
    [
        (
            "from assistant_stream_ce.serialization.data_stream import DataStreamResponse",
            "starlette",
            "starlette",
        ),
        ("from assistant_stream_ce import *", "starlette", "starlette"),
        (
            "from assistant_stream_ce.resumable import create_resumable_assistant_stream_response",
            "starlette",
            "starlette",
        ),
        ("from assistant_stream_ce.resumable import *", "starlette", "starlette"),
        (
            "from assistant_stream_ce.resumable import create_redis_resumable_stream_store",
            "redis",
            "redis",
        ),
        (
            "from assistant_stream_ce.modules.langgraph import stream_langgraph",
            "langgraph",
            "langgraph",
        ),
    ],
)
def test_upstream_names_without_their_framework_name_the_extra(
    statement: str, framework: str, extra: str
) -> None:
    """A user of the upstream-compatible API, missing an extra, is told which one."""
    code = STATEMENT_WITHOUT.format(statement=statement, frameworks=[framework])
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert f'pip install "assistant-stream-ce[{extra}]"' in output


def test_upstream_resumable_imports_without_redis() -> None:
    """Without redis-py the in-memory store is there and the Redis names are not listed."""
    statement = (
        "import assistant_stream_ce.resumable as r; "
        "assert 'create_redis_resumable_stream_store' not in r.__all__; "
        "r.create_in_memory_resumable_stream_store()"
    )
    code = STATEMENT_WITHOUT.format(statement=statement, frameworks=["redis"])
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert output.strip() == "imported"
