"""Every name upstream's modules expose is at the same path here; operations are upstream's dicts.

The walk reads each module of the installed ``assistant_stream`` 0.0.36: its
``__all__`` when it has one, else every public name it defines at top level or
imports from its own package (upstream's code imports names from where they
are re-exported, so user code does too). Names imported from the standard
library, ``typing`` or third-party packages are not upstream's API.
"""

from __future__ import annotations

import ast
import copy
import importlib
import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from assistant_stream_core.chunks import UpdateStateChunk
from assistant_stream_core.run import RunController, create_run
from assistant_stream_core.state import AppendTextOperation, SetOperation

from ..conftest import require_tool

try:
    import assistant_stream as upstream  # type: ignore[import-untyped]
except ImportError:  # the test extra is not installed
    upstream = None

#: Upstream modules not walked yet, each with the reason. Remove an entry as
#: soon as its module exists here.
EXCLUDED_MODULES: dict[str, str] = {
    "assistant_stream.resumable": "resumable streams are being built (issue 16)",
}


def _upstream_modules() -> list[tuple[str, Path]]:
    require_tool(upstream is not None, "upstream assistant-stream 0.0.36 (the test extra)")
    root = Path(upstream.__file__).parent
    modules = []
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        name = ".".join(parts)
        if not any(name == ex or name.startswith(ex + ".") for ex in EXCLUDED_MODULES):
            modules.append((name, path))
    return modules


def _public_names(path: Path) -> set[str]:
    """``__all__``, or the public names defined or imported from ``assistant_stream``."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    if target.id == "__all__":
                        return set(ast.literal_eval(node.value))
                    names.add(target.id)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.ImportFrom) and (
            node.level > 0 or (node.module or "").split(".")[0] == "assistant_stream"
        ):
            names.update(alias.asname or alias.name for alias in node.names)
    return {name for name in names if not name.startswith("_")}


def test_the_walk_sees_upstreams_modules_and_the_names_the_issue_lists() -> None:
    modules = dict(_upstream_modules())
    assert len(modules) >= 15
    expected = {
        "assistant_stream.create_run": "StateManager",
        "assistant_stream.serialization.assistant_stream_response": "add_keepalive",
        "assistant_stream.state_proxy": "BaseStateProxy",
        "assistant_stream.serialization.data_stream": "StateProxyJSONEncoder",
        "assistant_stream.state": "ObjectStreamOperation",
    }
    for module, name in expected.items():
        assert name in _public_names(modules[module]), (module, name)


@pytest.mark.parametrize(("module", "path"), _upstream_modules() if upstream else [], ids=str)
def test_every_upstream_name_exists_at_the_same_path(module: str, path: Path) -> None:
    ours = importlib.import_module("assistant_stream_ce" + module[len("assistant_stream") :])
    missing = sorted(name for name in _public_names(path) if not hasattr(ours, name))
    assert not missing, f"{ours.__name__} lacks upstream's {missing}"


def test_names_that_mirror_upstream_are_ours() -> None:
    from assistant_stream_ce.create_run import StateManager
    from assistant_stream_ce.serialization.assistant_stream_response import (
        add_keepalive,
        resolve_heartbeat_interval,
    )
    from assistant_stream_ce.serialization.data_stream import StateProxyJSONEncoder
    from assistant_stream_ce.state_manager import StateManager as RealStateManager
    from assistant_stream_ce.state_proxy import BaseStateProxy, StateProxy

    assert StateManager is RealStateManager
    assert resolve_heartbeat_interval(True) == 15.0
    assert callable(add_keepalive)
    assert BaseStateProxy is StateProxy
    assert json.loads(json.dumps({"a": 1}, cls=StateProxyJSONEncoder)) == {"a": 1}


# --- operations are upstream's dicts --------------------------------------------------------


def test_an_operation_is_a_dict_in_every_way_upstream_code_uses_one() -> None:
    op = SetOperation(("user", "0"), {"name": "Ann"})
    plain = {"type": "set", "path": ["user", "0"], "value": {"name": "Ann"}}
    assert isinstance(op, dict)
    assert dict(op) == plain
    assert json.loads(json.dumps(op)) == plain
    assert op == plain
    assert op.get("path") == ["user", "0"]
    assert op.get("missing", 7) == 7
    assert list(op.keys()) == ["type", "path", "value"]
    assert dict(op.items()) == plain
    assert "path" in op
    assert "other" not in op
    assert {**op} == plain
    assert len(op) == 3
    assert op.path == ("user", "0")  # the library's own reading
    assert op.value == {"name": "Ann"}
    assert AppendTextOperation(["log"], "x") == {
        "type": "append-text",
        "path": ["log"],
        "value": "x",
    }
    # Upstream's TypedDict-style call works as well.
    assert SetOperation(type="set", path=["a"], value=1) == {
        "type": "set",
        "path": ["a"],
        "value": 1,
    }


def test_an_operation_is_read_only_but_copies_are_not() -> None:
    op = SetOperation(("a",), [1])
    with pytest.raises(TypeError, match="read-only"):
        op["value"] = 2
    with pytest.raises(TypeError, match="read-only"):
        op.update(value=2)
    with pytest.raises(TypeError, match="read-only"):
        del op["path"]
    mutable = dict(op)
    mutable["value"] = 2
    assert op["value"] == [1]
    deep = copy.deepcopy(op)
    assert deep == op
    assert deep.value is not op.value
    assert pickle.loads(pickle.dumps(op)) == op


@pytest.mark.anyio
async def test_a_runs_update_state_chunks_hold_dicts() -> None:
    async def run(c: RunController) -> None:
        c.state = {"log": ""}
        c.state["log"] += "hi"
        c.state["n"] = 1

    chunks = [chunk async for chunk in create_run(run)]
    ops: list[Any] = [op for c in chunks if isinstance(c, UpdateStateChunk) for op in c.operations]
    assert json.loads(json.dumps(ops)) == [
        {"type": "set", "path": [], "value": {"log": ""}},
        {"type": "set", "path": ["log"], "value": "hi"},
        {"type": "set", "path": ["n"], "value": 1},
    ]
    assert [dict(op) for op in ops] == json.loads(json.dumps(ops))
