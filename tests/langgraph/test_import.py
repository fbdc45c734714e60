"""The extra is lazy: the package works without LangGraph; the module names the extra.

A fresh interpreter refuses ``langgraph`` and ``langchain_core`` (all of it,
or one at a time) with an import hook, as if they were not installed.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

EXTRA = 'pip install "assistant-stream-ce[langgraph]"'


def run_blocked(blocked: tuple[str, ...], body: str) -> subprocess.CompletedProcess[str]:
    script = textwrap.dedent(
        f"""
        import importlib.abc, sys

        class Refuse(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {blocked!r}:
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
                return None

        sys.meta_path.insert(0, Refuse())
        """
    ) + textwrap.dedent(body)
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(
    "blocked", [("langgraph", "langchain_core"), ("langgraph",), ("langchain_core",)]
)
def test_package_works_and_module_names_the_extra(blocked: tuple[str, ...]) -> None:
    result = run_blocked(
        blocked,
        """
        import assistant_stream_ce
        from assistant_stream_ce import create_run, RunController

        assert "append_langgraph_event" not in assistant_stream_ce.__all__
        for attempt in (
            lambda: __import__("assistant_stream_ce.modules.langgraph"),
            lambda: assistant_stream_ce.append_langgraph_event,
            lambda: assistant_stream_ce.get_tool_call_subgraph_state,
        ):
            try:
                attempt()
            except ImportError as exc:
                print(exc)
            else:
                raise SystemExit("imported without the extra")
        leaked = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
        assert not leaked, leaked
        """.replace("BLOCKED", repr(blocked)),
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert all(EXTRA in line for line in lines), lines


def test_with_the_extra_the_names_are_exported() -> None:
    result = run_blocked(
        (),
        """
        import assistant_stream_ce
        from assistant_stream_ce.modules import langgraph
        assert assistant_stream_ce.append_langgraph_event is langgraph.append_langgraph_event
        assert set(assistant_stream_ce.__all__) >= {
            "append_langgraph_event", "get_tool_call_subgraph_state"
        }
        print("ok")
        """,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
