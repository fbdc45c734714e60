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
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_executable, require_tool

INTEROP_DIR = Path(__file__).parent

#: npm packages the scripts need, with the exact versions package.json pins.
PINNED_PACKAGES = {
    "assistant-stream": "0.3.44",
    "ai": "7.0.173",
    "ai5": "5.0.277",  # npm alias of ai@5: the oldest major that speaks UI Message Stream v1
    "@ag-ui/core": "1.0.0",
    "@ag-ui/client": "1.0.0",
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
