"""Hypercorn with several workers: one worker's exit does not cut another's streams.

Run with ``hypercorn hypercorn_app:app --workers 2 --graceful-timeout 15``.

On ``SIGTERM`` Hypercorn tells its workers to stop through an event they
share, and each waits for its open streams (up to ``--graceful-timeout``).
But as soon as one worker has exited (an idle one exits at once), Hypercorn
sends ``SIGTERM`` to the others, and its workers leave that signal to its
default action: a worker still streaming dies on the spot, its clients see
the body cut, and its runs' ``finally`` blocks never run. A worker that
ignores ``SIGTERM`` is still stopped by the event, gracefully.
"""

import multiprocessing
import signal

from starlette_app import app

if multiprocessing.parent_process() is not None:  # a worker process Hypercorn started
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

__all__ = ["app"]
