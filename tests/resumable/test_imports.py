"""The resumable core imports no web framework and no Redis client (the Redis
store imports redis only when imported, and says which extra is missing)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

BLOCKED = ("starlette", "fastapi", "aiohttp", "django", "redis")


def _run(body: str) -> subprocess.CompletedProcess[str]:
    script = textwrap.dedent(
        f"""
        import importlib.abc, sys
        class Refuse(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {BLOCKED!r}:
                    raise ImportError(f"blocked import of {{name}}")
        sys.meta_path.insert(0, Refuse())
        """
    )
    return subprocess.run(
        [sys.executable, "-c", script + textwrap.dedent(body)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_core_resumable_imports_without_frameworks_or_redis() -> None:
    result = _run(
        """
        import assistant_stream_core.resumable
        import assistant_stream_core.resumable.blocking
        import assistant_stream_core.testing.resumable
        leaked = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
        assert not leaked, leaked
        print("ok")
        """.replace("BLOCKED", repr(BLOCKED))
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_redis_store_without_redis_names_the_extra() -> None:
    result = _run(
        """
        try:
            import assistant_stream_core.resumable.redis
        except ImportError as exc:
            print(exc)
        """
    )
    assert result.returncode == 0, result.stderr
    assert 'pip install "assistant-stream-ce[redis]"' in result.stdout


def test_facade_exports_every_upstream_name() -> None:
    import assistant_stream.resumable as upstream
    import assistant_stream_ce.resumable as ours

    assert set(upstream.__all__) <= set(ours.__all__)
    for name in upstream.__all__:
        assert hasattr(ours, name), name
    for module in ("context", "errors", "response", "types", "stores", "stores.in_memory"):
        __import__(f"assistant_stream_ce.resumable.{module}")
