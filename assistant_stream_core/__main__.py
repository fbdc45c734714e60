"""``python -m assistant_stream_core``: the command line (see :mod:`assistant_stream_core.cli`)."""

from __future__ import annotations

if __name__ == "__main__":
    from .cli import main

    raise SystemExit(main())
