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
