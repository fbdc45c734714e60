"""Check that the runtime dependencies installed are the lower bounds pyproject.toml declares.

Run by ``scripts/test-lowest.sh`` inside ``.venv-lowest``, right after uv
installed ``.[all]`` with ``--resolution lowest-direct``. It reads the
requirements from the installed distribution's metadata (the core's and those
of every extra that ``all`` names), prints one line per requirement with its
declared bound and the version installed, writes ``name==version`` pins for
them to the file given as the argument (so that the test tools installed next
cannot move them), and exits 1 if any installed version is not its bound: a
bound that cannot install is a promise the package does not keep.

Standard library only: it runs before anything but the runtime is installed.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

DIST = "assistant-stream-ce"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_EXTRA = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")
_LOWER = re.compile(r">=\s*([^,;\s]+)")
_SELF_EXTRAS = re.compile(rf"^{re.escape(DIST)}\s*\[([^\]]+)\]", re.IGNORECASE)


def _extra(requirement: str) -> str | None:
    marker = requirement.partition(";")[2]
    found = _EXTRA.search(marker)
    return found.group(1) if found else None


def runtime_requirements() -> list[str]:
    """The core's requirements and those of the ``all`` extra.

    Hatchling writes ``all``'s self-reference out as the requirements it names;
    a backend that keeps ``assistant-stream-ce[...]`` gets it expanded here.
    """
    requires = metadata.requires(DIST) or []
    runtime: set[str | None] = {None, "all"}
    for requirement in requires:
        names = _SELF_EXTRAS.match(requirement)
        if names and _extra(requirement) == "all":
            runtime.update(extra.strip() for extra in names.group(1).split(","))
    return [
        requirement
        for requirement in requires
        if _extra(requirement) in runtime and not _SELF_EXTRAS.match(requirement)
    ]


def _release(version: str) -> tuple[int, ...] | str:
    """``5`` and ``5.0.0`` are one version; anything but plain numbers compares as text."""
    parts = version.split(".")
    if not all(part.isdigit() for part in parts):
        return version
    numbers = [int(part) for part in parts]
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python scripts/lowest_deps.py PINS_FILE", file=sys.stderr)
        return 2
    extras: dict[str, list[str]] = {}
    for requirement in metadata.requires(DIST) or []:
        extra = _extra(requirement)
        if extra not in (None, "all", "docs"):  # those two list everything
            extras.setdefault(requirement.partition(";")[0].strip(), []).append(str(extra))
    pins: dict[str, str] = {}
    wrong: list[str] = []
    print(f"{'requirement':<32} {'installed':<12} extras")
    seen: set[str] = set()
    for requirement in runtime_requirements():
        spec = requirement.partition(";")[0].strip()
        if spec in seen:  # starlette comes with two extras
            continue
        seen.add(spec)
        name_match = _NAME.match(spec)
        assert name_match, requirement  # metadata always starts with the name
        name = name_match.group(0)
        installed = metadata.version(name)
        pins[name.lower()] = installed
        lower = _LOWER.search(spec)
        print(f"{spec:<32} {installed:<12} {','.join(extras.get(spec, [])) or '(core)'}")
        if lower is None:
            wrong.append(f"{spec}: no lower bound (>=) to test")
        elif _release(installed) != _release(lower.group(1)):
            wrong.append(
                f"{spec}: the lowest version that installs is {installed}; "
                f"raise the bound in pyproject.toml to >={installed}"
            )
    Path(argv[0]).write_text("".join(f"{name}=={pins[name]}\n" for name in sorted(pins)))
    for problem in wrong:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
