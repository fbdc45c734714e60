"""Compare the npm clients the tests pin with their newest releases; install the newest.

CI installs the exact pins of the lock files, so a run never depends on what
npm published that day. This script shows the drift: it prints, for every
package.json the tests and the example front ends install, each pin beside
the newest release (the ``latest`` dist-tag; for an npm alias such as
``"ai5": "npm:ai@5.0.285"``, the newest release of the same major). Then,
unless ``--report-only``, it copies the interop scripts (``tests/interop``)
into a scratch folder and installs the newest releases there, for
``nox -s clients-latest`` to run the interop tests against (through the
``INTEROP_CLIENTS_DIR`` environment variable that tests/interop/conftest.py
reads).

    python scripts/clients_latest.py --report-only
    python scripts/clients_latest.py --dir .cache/clients-latest

Standard library only; needs ``npm`` on PATH and the npm registry.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INTEROP = ROOT / "tests" / "interop"
#: Every package.json whose pins the tests install.
MANIFESTS = (
    INTEROP / "package.json",
    ROOT / "tests" / "resumable" / "npm" / "package.json",
    ROOT / "examples" / "frontends" / "package.json",
)
DEFAULT_DIR = ROOT / ".cache" / "clients-latest"


def npm(*args: str, cwd: Path | None = None) -> str:
    """Run ``npm`` and return its stdout; exit with npm's error if it fails."""
    npm_path = shutil.which("npm")
    if npm_path is None:
        sys.exit("error: npm is not on PATH; install Node.js (npm ships with it)")
    completed = subprocess.run(
        [npm_path, *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        sys.exit(f"error: npm {' '.join(args)} failed:\n{completed.stderr.strip()}")
    return completed.stdout


def pins(manifest: Path) -> dict[str, str]:
    """The dependencies (and devDependencies) of ``manifest``, name to spec."""
    data = json.loads(manifest.read_text(encoding="utf-8"))
    return {**data.get("dependencies", {}), **data.get("devDependencies", {})}


def split_spec(name: str, spec: str) -> tuple[str, str]:
    """``(package, version)`` of a pin: an npm alias names another package."""
    if spec.startswith("npm:"):
        package, _, version = spec.removeprefix("npm:").rpartition("@")
        return package, version
    return name, spec


def newest(name: str, spec: str) -> str:
    """The newest release for a pin: the ``latest`` tag, or an alias's newest of its major."""
    package, version = split_spec(name, spec)
    query = f"{package}@^{version.split('.')[0]}" if spec.startswith("npm:") else package
    found = json.loads(npm("view", query, "version", "--json"))
    # A range that matches several releases gives a list, oldest first.
    return str(found[-1] if isinstance(found, list) else found)


def report() -> dict[str, str]:
    """Print pinned beside newest for every manifest; return the interop ones' newest."""
    interop_newest: dict[str, str] = {}
    behind = 0
    wanted = sorted({pin for manifest in MANIFESTS for pin in pins(manifest).items()})
    # One `npm view` takes about a second, most of it waiting on the registry.
    with ThreadPoolExecutor(max_workers=8) as pool:
        found = dict(zip(wanted, pool.map(lambda pin: newest(*pin), wanted), strict=True))
    for manifest in MANIFESTS:
        print(f"{manifest.relative_to(ROOT)}:")
        for name, spec in pins(manifest).items():
            pinned = split_spec(name, spec)[1]
            latest = found[name, spec]
            if manifest.parent == INTEROP:
                interop_newest[name] = latest
            behind += latest != pinned
            mark = "" if latest == pinned else "  <- newer release"
            print(f"  {name:34} pinned {pinned:10} newest {latest}{mark}")
    print(f"{behind} pin(s) behind the newest release")
    return interop_newest


def install(scratch: Path, versions: dict[str, str]) -> None:
    """Copy the interop scripts into ``scratch`` and install ``versions`` there."""
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    for script in INTEROP.glob("*.mjs"):
        shutil.copy2(script, scratch)
    shutil.copytree(INTEROP / "lib", scratch / "lib")
    manifest = json.loads((INTEROP / "package.json").read_text(encoding="utf-8"))
    manifest["dependencies"] = {
        name: (
            f"npm:{split_spec(name, spec)[0]}@{versions[name]}"
            if spec.startswith("npm:")
            else versions[name]
        )
        for name, spec in manifest["dependencies"].items()
    }
    (scratch / "package.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"installing the newest clients into {scratch}")
    npm("install", "--no-audit", "--no-fund", "--loglevel=error", cwd=scratch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument(
        "--report-only", action="store_true", help="print pinned and newest; install nothing"
    )
    parser.add_argument(
        "--dir", type=Path, default=DEFAULT_DIR, help=f"the scratch folder (default {DEFAULT_DIR})"
    )
    args = parser.parse_args()
    versions = report()
    if not args.report_only:
        install(args.dir.resolve(), versions)


if __name__ == "__main__":
    main()
