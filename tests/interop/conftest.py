"""Run the Node scripts in this folder from pytest.

The scripts (``decode.mjs``, ``encode.mjs``, …) import the npm packages
pinned in ``package.json``; ``scripts/install-node-deps.sh`` installs them.
Without Node or the packages the interop tests skip on a developer machine
and fail in CI (see :func:`tests.conftest.require_tool`).

Each script has a batch mode (``--batch``): a JSON array of cases in, a JSON
array of results out. Tests send every case of a module in one batch, since
starting Node costs more than decoding a stream.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_executable, require_tool

#: The folder the Node scripts run in: this one, or a copy of it with other
#: releases of the clients installed (``nox -s clients-latest`` sets it).
INTEROP_DIR = Path(os.environ.get("INTEROP_CLIENTS_DIR") or Path(__file__).parent).resolve()


def _pinned_packages() -> dict[str, str]:
    """The exact version of each npm package that ``INTEROP_DIR/package.json`` pins.

    An npm alias (``"ai5": "npm:ai@5.0.285"``) maps to the aliased version.
    """
    manifest = json.loads((INTEROP_DIR / "package.json").read_text(encoding="utf-8"))
    dependencies: dict[str, str] = manifest["dependencies"]
    return {name: spec.rpartition("@")[2] for name, spec in dependencies.items()}


#: npm packages the scripts need, with the exact versions package.json pins
#: (``ai5`` is ``ai`` 5: the oldest major that speaks UI Message Stream v1).
PINNED_PACKAGES = {
    name: version
    for name, version in _pinned_packages().items()
    if name in ("assistant-stream", "ai", "ai5", "@ag-ui/core", "@ag-ui/client")
}

#: A whole batch gets this long; a hang in a script fails instead of stalling.
BATCH_TIMEOUT_S = 60.0


class NodeScripts:
    """Runs the interop scripts with one ``node`` executable."""

    def __init__(self, node: str) -> None:
        self.node = node

    def run_batch(self, script: str, cases: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Run ``script --batch`` on ``cases``; return the results keyed by case id.

        A case the script could not handle comes back with ``ok: false`` and
        an ``error``; a script that fails as a whole raises ``AssertionError``
        with its stderr.
        """
        ids = [case["id"] for case in cases]
        assert len(set(ids)) == len(ids), f"duplicate case ids in {ids}"
        completed = subprocess.run(
            [self.node, script, "--batch"],
            cwd=INTEROP_DIR,
            input=json.dumps(cases).encode(),
            capture_output=True,
            timeout=BATCH_TIMEOUT_S,
            check=False,
        )
        stderr = completed.stderr.decode(errors="replace")
        assert completed.returncode == 0, f"node {script} --batch failed:\n{stderr}"
        results: list[dict[str, Any]] = json.loads(completed.stdout)
        assert [r["id"] for r in results] == ids, f"node {script} lost cases:\n{stderr}"
        return {r["id"]: r for r in results}


def _installed_version(package: str) -> str | None:
    manifest = INTEROP_DIR / "node_modules" / package / "package.json"
    if not manifest.is_file():
        return None
    version = json.loads(manifest.read_text(encoding="utf-8")).get("version")
    return version if isinstance(version, str) else None


@pytest.fixture(scope="session")
def node_scripts() -> NodeScripts:
    """The interop scripts, once Node and the pinned npm packages are present."""
    node = require_executable("node")
    for package, pinned in PINNED_PACKAGES.items():
        installed = _installed_version(package)
        require_tool(
            installed is not None,
            f"the npm package {package} (run scripts/install-node-deps.sh)",
        )
        # A stale node_modules would test a different client than the lock file pins.
        assert installed == pinned, (
            f"tests/interop/node_modules has {package} {installed}, package.json pins "
            f"{pinned}; run scripts/install-node-deps.sh"
        )
    return NodeScripts(node)
