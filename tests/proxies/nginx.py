"""A real nginx, started from the config the docs show, in front of a test server.

``examples/reverse_proxy/nginx.conf`` is what docs/guides/reverse-proxies.rst
includes; :func:`nginx_in_front` runs that file with only the addresses (and,
when asked, ``proxy_read_timeout`` and extra directives) replaced, so the
docs cannot drift from what was tested. nginx runs in the foreground with
its pid, logs and temp files in a private directory; when the tests run as
root (CI) it runs as ``nobody``, as a real deployment's workers would.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

from tests.conftest import require_tool

DOC_CONFIG = Path(__file__).parents[2] / "examples" / "reverse_proxy" / "nginx.conf"

#: Debian puts nginx in /usr/sbin, which a non-root PATH often lacks.
_NGINX_PLACES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")

_MAIN = """\
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {dir}/site.conf;
}}
"""


def find_nginx() -> str:
    """The nginx executable; skips (fails in CI) without one."""
    path = shutil.which("nginx") or next((p for p in _NGINX_PLACES if os.access(p, os.X_OK)), None)
    require_tool(path is not None, "the executable 'nginx'", "apt-get install nginx")
    assert path is not None
    return path


def _replace_once(text: str, old: str, new: str) -> str:
    # The docs' config changed shape: say so rather than test something else.
    count = text.count(old)
    if count != 1:
        raise AssertionError(f"{DOC_CONFIG} has {old!r} {count} times, expected once")
    return text.replace(old, new)


def site_config(
    upstream: str,
    port: int,
    *,
    read_timeout: float | None = None,
    location_extra: str = "",
    without: tuple[str, ...] = (),
) -> str:
    """The docs' config, pointed at ``upstream`` (``host:port``) and ``port``.

    ``location_extra`` adds directives to the location; ``without`` removes
    directives (each written exactly as in the docs).
    """
    text = DOC_CONFIG.read_text()
    text = _replace_once(text, "server 127.0.0.1:8000;", f"server {upstream};")
    text = _replace_once(text, "listen 8080;", f"listen 127.0.0.1:{port};")
    if read_timeout is not None:
        text = _replace_once(
            text, "proxy_read_timeout 60s;", f"proxy_read_timeout {int(read_timeout * 1000)}ms;"
        )
    for directive in without:
        text = _replace_once(text, directive, "")
    if location_extra:
        text = _replace_once(
            text, "proxy_pass http://chat_app;", f"proxy_pass http://chat_app;\n{location_extra}"
        )
    return text


class Nginx(NamedTuple):
    """A running nginx: its base URL and its error log."""

    url: str
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def nginx_in_front(
    upstream_url: str,
    *,
    read_timeout: float | None = None,
    location_extra: str = "",
    without: tuple[str, ...] = (),
) -> Iterator[Nginx]:
    """Run nginx with the docs' config in front of ``upstream_url``."""
    executable = find_nginx()
    upstream = urlsplit(upstream_url).netloc
    workdir = Path(tempfile.mkdtemp(prefix="nginx-"))
    port = _free_port()
    (workdir / "site.conf").write_text(
        site_config(
            upstream,
            port,
            read_timeout=read_timeout,
            location_extra=location_extra,
            without=without,
        )
    )
    (workdir / "nginx.conf").write_text(_MAIN.format(dir=workdir))
    user = None
    if os.geteuid() == 0:
        # Not as root: the master and its worker run as nobody.
        user = pwd.getpwnam("nobody")
        os.chown(workdir, user.pw_uid, user.pw_gid)
        for child in workdir.iterdir():
            os.chown(child, user.pw_uid, user.pw_gid)
    process = subprocess.Popen(
        [executable, "-p", str(workdir), "-c", str(workdir / "nginx.conf"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        user=user.pw_uid if user else None,
        group=user.pw_gid if user else None,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            if process.poll() is not None:
                _, err = process.communicate()
                raise RuntimeError(f"nginx exited: {err.decode(errors='replace')}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("nginx did not start listening") from None
                time.sleep(0.02)
        yield Nginx(f"http://127.0.0.1:{port}", workdir / "error.log")
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()
        shutil.rmtree(workdir, ignore_errors=True)
