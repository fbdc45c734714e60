"""The :mod:`tests.shutdown.server` apps for servers started by their own CLI.

Hypercorn, Daphne and Granian import an ASGI application by name
(``tests.shutdown.env_app:app``) in the process they start, so the app's
arguments come from the environment: ``SHUTDOWN_APP`` (``starlette``,
``django``, or ``resumable``: the Starlette app with resumable streams on the
Redis at ``SHUTDOWN_REDIS``, leases of ``SHUTDOWN_LEASE_MS``), ``SHUTDOWN_FLAGS``
(the flag directory) and ``SHUTDOWN_DRAIN`` (the shutdown hook's grace; unset:
no hook). Servers that run several workers import it in each.
``SHUTDOWN_IGNORE_TERM`` set: worker processes ignore ``SIGTERM``, as
examples/graceful_shutdown/hypercorn_app.py's do.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from pathlib import Path
from typing import Any

from . import server


def _app() -> Any:
    flags = Path(os.environ["SHUTDOWN_FLAGS"])
    drain_env = os.environ.get("SHUTDOWN_DRAIN")
    drain = None if drain_env is None else float(drain_env)
    kind = os.environ["SHUTDOWN_APP"]
    if kind == "starlette":
        return server.starlette_app(flags, drain)
    if kind == "django":
        return server.django_app(flags, drain)
    if kind == "resumable":
        lease_ms = int(os.environ.get("SHUTDOWN_LEASE_MS", "4000"))
        streams = server.resumable_streams(os.environ["SHUTDOWN_REDIS"], lease_ms)
        return server.starlette_app(flags, drain, streams)
    raise SystemExit(f"unknown SHUTDOWN_APP {kind!r}")


if os.environ.get("SHUTDOWN_IGNORE_TERM") and multiprocessing.parent_process() is not None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
app = _app()
