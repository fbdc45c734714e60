"""Importing an adapter without its framework names the extra to install."""

from __future__ import annotations

import subprocess
import sys

import pytest

WITHOUT = """
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


def run_without(frameworks: list[str], statement: str) -> str:
    """What ``statement`` prints in a fresh interpreter where ``frameworks``
    cannot be imported: the ImportError's message, or ``imported``."""
    code = WITHOUT.format(statement=statement, frameworks=frameworks)
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout


@pytest.mark.parametrize(
    ("package", "framework", "extra"),
    [
        ("assistant_stream_starlette", "starlette", "starlette"),
        ("assistant_stream_aiohttp", "aiohttp", "aiohttp"),
        ("assistant_stream_django", "django", "django"),
    ],
)
def test_missing_framework_names_the_extra(package: str, framework: str, extra: str) -> None:
    output = run_without([framework], f"import {package}")
    assert f'pip install "assistant-stream-ce[{extra}]"' in output


def test_blocking_iterator_needs_no_framework() -> None:
    frameworks = ["starlette", "aiohttp", "django", "flask", "werkzeug"]
    package = "assistant_stream_core.run.blocking"
    output = run_without(frameworks, f"import {package}")
    assert output.strip() == "imported"


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
    output = run_without([framework], statement)
    assert f'pip install "assistant-stream-ce[{extra}]"' in output


def test_upstream_resumable_imports_without_redis() -> None:
    """Without redis-py the in-memory store is there and the Redis names are not listed."""
    statement = (
        "import assistant_stream_ce.resumable as r; "
        "assert 'create_redis_resumable_stream_store' not in r.__all__; "
        "r.create_in_memory_resumable_stream_store()"
    )
    output = run_without(["redis"], statement)
    assert output.strip() == "imported"
