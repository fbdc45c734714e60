"""scripts/clients_latest.py: what it asks npm, and the scratch copy it installs.

npm itself is replaced by a recorder here (the registry's answers change every
week); ``nox -s clients-latest`` is the real run.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "clients_latest", ROOT / "scripts" / "clients_latest.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeNpm:
    """Answers ``npm view`` from a table and records every call."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.calls: list[tuple[tuple[str, ...], Path | None]] = []

    def __call__(self, *args: str, cwd: Path | None = None) -> str:
        self.calls.append((args, cwd))
        if args[0] == "view":
            return json.dumps(self.answers[args[1]])
        return ""


def test_an_alias_stays_in_its_major(script: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeNpm({"ai@^5": ["5.0.1", "5.0.290"], "ai": "7.1.0"})
    monkeypatch.setattr(script, "npm", fake)
    assert script.split_spec("ai5", "npm:ai@5.0.285") == ("ai", "5.0.285")
    assert script.newest("ai5", "npm:ai@5.0.285") == "5.0.290"
    assert script.newest("ai", "7.0.185") == "7.1.0"
    assert [call[0][1] for call in fake.calls] == ["ai@^5", "ai"]


def test_the_report_compares_every_pin(
    script: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(script, "newest", lambda name, spec: "999.0.0")
    versions = script.report()
    out = capsys.readouterr().out
    pinned = json.loads((ROOT / "tests" / "interop" / "package.json").read_text())
    assert set(versions) == set(pinned["dependencies"])
    for manifest in script.MANIFESTS:
        assert f"{manifest.relative_to(ROOT)}:" in out
        for name in script.pins(manifest):
            assert f"  {name} " in out
    total = sum(len(script.pins(manifest)) for manifest in script.MANIFESTS)
    assert f"{total} pin(s) behind the newest release" in out


def test_the_scratch_copy_pins_the_newest(
    script: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = FakeNpm({})
    monkeypatch.setattr(script, "npm", fake)
    scratch = tmp_path / "latest"
    (scratch / "stale").mkdir(parents=True)
    pins = script.pins(script.INTEROP / "package.json")
    script.install(scratch, dict.fromkeys(pins, "9.9.9"))
    manifest = json.loads((scratch / "package.json").read_text())
    assert manifest["dependencies"]["ai5"] == "npm:ai@9.9.9"
    assert manifest["dependencies"]["assistant-stream"] == "9.9.9"
    assert not (scratch / "stale").exists()
    # The scripts the tests run, and the helper they import, are copied.
    assert (scratch / "decode.mjs").is_file()
    assert (scratch / "lib" / "io.mjs").is_file()
    assert fake.calls == [(("install", "--no-audit", "--no-fund", "--loglevel=error"), scratch)]
