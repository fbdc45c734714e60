"""gunicorn running uvicorn's worker: streams past the deadline end with an error frame.

Run with ``gunicorn -c gunicorn_conf.py starlette_app:app``.

gunicorn gives each worker ``graceful_timeout`` seconds after ``SIGTERM``,
then kills it with ``SIGKILL``. uvicorn's worker class sets no graceful
timeout of its own, so it waits for its streams until it is killed: the
client sees the body cut and the run's ``finally`` blocks never run. The
hook below gives uvicorn a timeout one second shorter, so that uvicorn
cancels the streams still open in time for each to send its error frame and
for the lifespan's ``drain()`` to close their runs before the kill.
"""

from typing import Any

worker_class = "uvicorn_worker.UvicornWorker"
workers = 4
# Above the answers you want to survive a deploy, below the platform's own
# deadline (Kubernetes' terminationGracePeriodSeconds, 30 s by default).
graceful_timeout = 25

#: Seconds between uvicorn's cancellation and gunicorn's kill.
MARGIN = 1.0


def post_worker_init(worker: Any) -> None:
    # worker.cfg also holds what the command line set (-w, --graceful-timeout).
    worker.config.timeout_graceful_shutdown = max(worker.cfg.graceful_timeout - MARGIN, 0.0)
