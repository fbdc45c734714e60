"""The core's pure layers import no event loop library and no web framework.

docs/architecture.rst: chunks, state and protocols import only the standard library and
msgspec. A fresh interpreter imports them with an import hook that refuses
anyio, asyncio, trio, starlette, aiohttp and django; any such import fails
the test, wherever in the import graph it happens.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

BLOCKED = ("anyio", "asyncio", "trio", "sniffio", "starlette", "fastapi", "aiohttp", "django")
PURE_MODULES = (
    "assistant_stream_core",
    "assistant_stream_core.chunks",
    "assistant_stream_core.state",
    "assistant_stream_core.message",
    "assistant_stream_core.errors",
    "assistant_stream_core.protocols",
    "assistant_stream_core.protocols.base",
    "assistant_stream_core.protocols.data_stream",
    "assistant_stream_core.protocols.assistant_transport",
    "assistant_stream_core.conversation",
    "assistant_stream_core.conversation.model",
    # The command line: serve and bench import their frameworks only when run.
    "assistant_stream_core.cli",
    "assistant_stream_core.__main__",
)


def test_pure_layers_import_with_frameworks_blocked() -> None:
    script = textwrap.dedent(
        f"""
        import importlib, importlib.abc, pkgutil, sys

        BLOCKED = {BLOCKED!r}

        class Refuse(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ImportError(f"blocked import of {{name}}")
                return None

        sys.meta_path.insert(0, Refuse())
        for name in {PURE_MODULES!r}:
            importlib.import_module(name)
        # Every protocol module, including ones added later.
        import assistant_stream_core.protocols as protocols
        for info in pkgutil.iter_modules(protocols.__path__):
            importlib.import_module(f"assistant_stream_core.protocols.{{info.name}}")
        import assistant_stream_core.cli as cli
        for info in pkgutil.iter_modules(cli.__path__):
            importlib.import_module(f"assistant_stream_core.cli.{{info.name}}")
        leaked = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
        assert not leaked, leaked
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_the_hook_really_blocks() -> None:
    script = textwrap.dedent(
        """
        import importlib.abc, sys
        class Refuse(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "anyio":
                    raise ImportError("blocked")
        sys.meta_path.insert(0, Refuse())
        import anyio
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert "blocked" in result.stderr
