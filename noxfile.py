"""Development sessions, each in its own virtualenv: ``nox`` or ``nox -s <name>``.

``nox`` alone runs lint, typecheck, core, tests and docs; ``nox -s bench`` runs
the benchmarks; ``nox -s clients-latest`` runs the interop tests against the
newest npm releases of the clients instead of their pins. CI does not use
nox: ``./scripts/test.sh`` runs the same checks (and installs the Node clients
for the interop tests, which the ``tests`` session skips when they are
missing).

Version bounds come from the extras in ``pyproject.toml``, so they live in one
place.
"""

from __future__ import annotations

from pathlib import Path

import nox
from packaging.requirements import Requirement

nox.options.sessions = ["lint", "typecheck", "core", "tests", "docs"]
nox.options.reuse_venv = "yes"

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
EXTRAS: dict[str, list[str]] = PYPROJECT["project"]["optional-dependencies"]

#: The test dependencies that need no web framework or server.
CORE_TEST_TOOLS = ("pytest", "pytest-timeout", "hypothesis", "trio", "jsonpatch")
#: The tests of the framework-free core.
CORE_TEST_DIRS = ("tests/core", "tests/protocols", "tests/properties", "tests/conversation")
#: Distributions that must not be importable in the ``core`` session.
FRAMEWORKS = ("starlette", "fastapi", "aiohttp", "django", "redis", "langgraph", "uvicorn", "httpx")
ASSERT_NOT_IMPORTABLE = """
import importlib.util, sys
present = [name for name in sys.argv[1:] if importlib.util.find_spec(name)]
sys.exit(f"installed, but the core session must not have them: {present}" if present else 0)
"""


def requirements(extra: str, *names: str) -> list[str]:
    """The requirements of ``extra`` named ``names`` (all of them if none)."""
    found = [req for req in EXTRAS[extra] if not names or Requirement(req).name in names]
    missing = set(names) - {Requirement(req).name for req in found}
    if missing:
        raise ValueError(f"pyproject.toml's [{extra}] extra lacks {sorted(missing)}")
    return found


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint rules and formatting."""
    session.install(*requirements("lint", "ruff"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the core and every adapter (configured in pyproject)."""
    session.install("-e", ".[all,lint]")
    session.run("mypy")


@nox.session
def core(session: nox.Session) -> None:
    """The core's tests with no framework installed: proves the dependency rule."""
    session.install("-e", ".")
    session.install(*requirements("test", *CORE_TEST_TOOLS))
    session.run("python", "-c", ASSERT_NOT_IMPORTABLE, *FRAMEWORKS)
    dirs = [d for d in CORE_TEST_DIRS if (ROOT / d).is_dir()]
    if not dirs:
        session.skip(f"none of {CORE_TEST_DIRS} exists yet")
    session.run("pytest", "-p", "no:cacheprovider", *dirs, *session.posargs)


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite, every extra installed."""
    session.install("-e", ".[all,test,docs]")
    session.run("pytest", "-p", "no:cacheprovider", *session.posargs)


#: The tests that drive the npm clients of tests/interop.
INTEROP_TESTS = ("tests/interop", "tests/langgraph/test_bridge_interop.py")


@nox.session(name="clients-latest")
def clients_latest(session: nox.Session) -> None:
    """The interop tests against the newest npm release of each client, not the pins.

    Prints every pin beside its newest release, installs the newest into
    .cache/clients-latest and runs the interop tests there. CI keeps the exact
    pins (scripts/install-node-deps.sh); this session shows the drift.
    """
    session.install("-e", ".[all,test]")
    scratch = ROOT / ".cache" / "clients-latest"
    session.run("python", "scripts/clients_latest.py", "--dir", str(scratch))
    session.run(
        "pytest",
        "-p",
        "no:cacheprovider",
        *(session.posargs or INTEROP_TESTS),
        env={"INTEROP_CLIENTS_DIR": str(scratch)},
    )


@nox.session
def docs(session: nox.Session) -> None:
    """Build the HTML docs with warnings as errors, then run their doctests."""
    session.install("-e", ".[docs]")  # the extra brings what autodoc imports
    for builder in ("html", "doctest"):
        session.run(
            "sphinx-build", "-W", "--keep-going", "-b", builder, "docs", f"docs/build/{builder}"
        )


@nox.session
def bench(session: nox.Session) -> None:
    """Encoders, run layer and HTTP, side by side with upstream assistant-stream 0.0.36."""
    session.install("-e", ".[starlette,aiohttp,server]", "assistant-stream==0.0.36")
    # For --loop uvloop --http httptools (what uvicorn[standard] runs).
    session.install(*requirements("test", "uvloop", "httptools"))
    session.run("python", "-m", "benchmarks", *session.posargs)
