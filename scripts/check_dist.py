"""Build the sdist and the wheel, check them, and prove the wheel installs.

    python scripts/check_dist.py          # what ./scripts/test.sh runs

``python -m build`` writes both distributions into a temporary folder and
``twine check --strict`` reads their metadata as PyPI would. The wheel (not
the checkout) is then installed into a fresh virtualenv with nothing else, and
that virtualenv must show that:

* the base install brings only msgspec and anyio (and anyio's own
  requirements), and the core, the run layer, the upstream-compatible package
  and the command line work with nothing more;
* importing each adapter without its framework raises an ImportError that
  names the extra to install;
* the wheel holds every package's ``py.typed`` and no tests.

Exits with status 1 and a line per failed check.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "assistant_stream_core",
    "assistant_stream_ce",
    "assistant_stream_starlette",
    "assistant_stream_aiohttp",
    "assistant_stream_django",
)
#: What the base install may hold besides the project: its two dependencies
#: and theirs (anyio's, on older Pythons).
BASE = {"assistant-stream-ce", "msgspec", "anyio", "idna", "sniffio", "typing-extensions"}
BASE |= {"exceptiongroup"}
#: Module -> the extra its ImportError must name.
ADAPTERS = {
    "assistant_stream_starlette": "starlette",
    "assistant_stream_aiohttp": "aiohttp",
    "assistant_stream_django": "django",
    "assistant_stream_ce.serialization.data_stream:DataStreamResponse": "starlette",
    "assistant_stream_ce.modules.langgraph": "langgraph",
    "assistant_stream_ce.resumable:create_resumable_assistant_stream_response": "starlette",
    "assistant_stream_ce.resumable:create_redis_resumable_stream_store": "redis",
    "assistant_stream_core.resumable.redis": "redis",
}
#: Run in the clean virtualenv: everything the base install promises.
BASE_IMPORTS = """
import importlib, pkgutil
import assistant_stream_core, assistant_stream_core.protocols as protocols
for info in pkgutil.iter_modules(protocols.__path__):
    importlib.import_module(f"assistant_stream_core.protocols.{info.name}")
import assistant_stream_core.run, assistant_stream_core.run.blocking, assistant_stream_core.message
from assistant_stream_ce import create_run
from assistant_stream_ce.serialization.data_stream import DataStreamEncoder
from assistant_stream_core.run.blocking import BlockingStream

async def run(controller):
    controller.append_text("ok")

with BlockingStream(lambda: create_run(run), "data_stream") as body:
    assert b"".join(body) == b'0:"ok"\\n', "the blocking stream"
print(assistant_stream_core.__version__)
"""
MISSING_EXTRA = """
import importlib, sys
module, _, name = sys.argv[1].partition(":")
try:
    getattr(importlib.import_module(module), name) if name else importlib.import_module(module)
except ImportError as exc:
    print(exc)
else:
    print("imported")
"""


def run(*args: str | Path, capture: bool = True) -> str:
    result = subprocess.run(
        [str(arg) for arg in args], capture_output=capture, text=True, check=False
    )
    if result.returncode != 0:
        output = (result.stdout or "") + (result.stderr or "") if capture else ""
        sys.exit(f"failed: {' '.join(map(str, args))}\n{output}")
    return result.stdout if capture else ""


def check_wheel_contents(wheel: Path, problems: list[str]) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    for package in PACKAGES:
        if f"{package}/py.typed" not in names:
            problems.append(f"the wheel lacks {package}/py.typed")
    tops = {name.split("/")[0] for name in names}
    for unwanted in ("tests", "examples", "benchmarks", "docs", "adapters"):
        if unwanted in tops:
            problems.append(f"the wheel contains {unwanted}/")
    entry_points = next((n for n in names if n.endswith(".dist-info/entry_points.txt")), None)
    if (
        entry_points is None
        or "assistant-stream-ce" not in zipfile.ZipFile(wheel).read(entry_points).decode()
    ):
        problems.append("the wheel has no assistant-stream-ce console script")


def check_clean_install(wheel: Path, venv: Path, problems: list[str]) -> None:
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel)
    listed = json.loads(run(python, "-m", "pip", "list", "--format=json", "--exclude-editable"))
    installed = {item["name"].lower().replace("_", "-") for item in listed} - {"pip", "setuptools"}
    if installed - BASE:
        problems.append(f"the base install brings more than msgspec and anyio: {installed - BASE}")
    version = run(python, "-c", BASE_IMPORTS).strip()
    expected = wheel.name.split("-")[1]
    if version != expected:
        problems.append(f"assistant_stream_core.__version__ is {version}, the wheel's {expected}")
    console = venv / "bin" / "assistant-stream-ce"
    decoded = subprocess.run(
        [str(console), "decode", "--color", "never"],
        input=b'0:"Hi"\n',
        capture_output=True,
        check=False,
    )
    if decoded.stdout != b'{"type":"text-delta","text_delta":"Hi"}\n':
        problems.append(f"assistant-stream-ce decode printed {decoded.stdout!r} {decoded.stderr!r}")
    for module, extra in ADAPTERS.items():
        message = run(python, "-c", MISSING_EXTRA, module).strip()
        print(f"    without its framework, {module}: {message}")
        if f"assistant-stream-ce[{extra}]" not in message:
            problems.append(f"importing {module} without its framework said: {message}")


def main() -> None:
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="check-dist-") as tmp:
        dist = Path(tmp) / "dist"
        print("--> python -m build", flush=True)
        run(sys.executable, "-m", "build", "--outdir", dist, ROOT)
        print("--> twine check --strict", flush=True)
        run(sys.executable, "-m", "twine", "check", "--strict", *sorted(dist.iterdir()))
        (wheel,) = dist.glob("*.whl")
        check_wheel_contents(wheel, problems)
        print(f"--> installing {wheel.name} into a clean virtualenv", flush=True)
        check_clean_install(wheel, Path(tmp) / "venv", problems)
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print("--> the wheel installs alone, imports with msgspec and anyio, names its extras")


if __name__ == "__main__":
    main()
