"""What the instruction-count benchmarks share: driving callgrind and reading its dumps."""

from __future__ import annotations

import shutil
import subprocess

__all__ = ["control", "require", "totals"]


def require() -> None:
    """Exit with a message if valgrind's ``callgrind_control`` is not on the PATH."""
    if shutil.which("callgrind_control") is None:
        raise SystemExit("this benchmark needs valgrind (callgrind_control)")


def control(*args: str) -> None:
    """Run ``callgrind_control`` (``-i on PID``, ``-z PID``, ``-d PID``, ...)."""
    subprocess.run(["callgrind_control", *args], capture_output=True, check=False)


def totals(path: str) -> int:
    """The instruction count of one callgrind dump."""
    found = None
    with open(path, encoding="utf-8") as dump:
        for line in dump:
            if line.startswith("totals:"):
                found = int(line.split()[1])
    if found is None:
        raise LookupError(f"no totals in {path}")
    return found
