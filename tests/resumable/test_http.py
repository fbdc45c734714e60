"""Resume over HTTP in every adapter, on real servers (in-memory store, one process).

Each framework serves :mod:`tests.resumable.apps`; a client reads part of a
stream, drops the connection, and resumes with its cursor (SSE
``Last-Event-ID``, or the byte offset for Data Stream and OpenAI chat): what
it kept plus what the resume sends equals, byte for byte, the whole stream.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from assistant_stream_core.resumable import (
    InMemoryStore,
    ResumableStreams,
    event_id,
    new_stream_id,
)
from assistant_stream_core.resumable.blocking import BlockingStreams
from tests.adapters import servers

from . import apps

PROTOCOLS = ["data_stream", "assistant_transport", "openai_chat", "ui_message_stream", "ag_ui"]
SSE_IDS = {"assistant_transport", "ui_message_stream", "ag_ui"}


@pytest.fixture(scope="module", params=["starlette", "aiohttp", "django-asgi", "django-wsgi"])
def base_url(request: pytest.FixtureRequest) -> Iterator[str]:
    streams = ResumableStreams(InMemoryStore(lease_ms=1000))
    if request.param == "django-wsgi":
        blocking = BlockingStreams(lambda: ResumableStreams(InMemoryStore(lease_ms=1000)))
        try:
            with servers.wsgi_server(apps.django_wsgi_app(blocking)) as url:
                yield url
        finally:
            blocking.close()
    elif request.param == "starlette":
        with servers.uvicorn_server(apps.starlette_app(streams)) as url:
            yield url
    elif request.param == "aiohttp":
        with servers.aiohttp_server(apps.aiohttp_app(streams)) as url:
            yield url
    else:
        with servers.uvicorn_server(apps.django_asgi_app(streams)) as url:
            yield url


def _whole(client: httpx.Client, protocol: str, sid: str) -> bytes:
    response = client.get(f"/resume/{protocol}", headers={"x-resumable-stream-id": sid})
    assert response.status_code == 200, response.text
    return response.content


def cut_and_cursor(data: bytes, protocol: str) -> tuple[bytes, dict[str, str]]:
    """What a client that lost the connection after ``data`` keeps, and its resume headers."""
    if protocol in SSE_IDS:
        end = data.rfind(b"\n\nid: ")
        if end < 0:
            return b"", {}
        line_end = data.index(b"\n\n", end + 2) + 2
        cursor = data[end + 6 : line_end - 2].decode()
        return data[:line_end], {"last-event-id": cursor}
    return data, {"x-resumable-stream-offset": str(len(data))}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_resume_after_a_dropped_connection_is_byte_exact(base_url: str, protocol: str) -> None:
    sid = new_stream_id()
    with httpx.Client(base_url=base_url, timeout=10) as client:
        kept = b""
        with client.stream(
            "GET", f"/start/{protocol}", params={"n": 40, "delay": 0.01, "id": sid}
        ) as r:
            assert r.status_code == 200
            assert r.headers["x-resumable-stream-id"] == sid
            for data in r.iter_raw():
                kept += data
                if kept.count(b"t") >= 10 and (protocol not in SSE_IDS or b"\nid: " in kept):
                    break
        kept, headers = cut_and_cursor(kept, protocol)
        assert kept
        resumed = client.get(
            f"/resume/{protocol}", headers={"x-resumable-stream-id": sid, **headers}
        )
        assert resumed.status_code == 200
        assert resumed.headers["content-type"].startswith(
            "text/plain" if protocol == "data_stream" else "text/event-stream"
        )
        whole = _whole(client, protocol, sid)
        assert kept + resumed.content == whole
        assert b"t39 " in whole
        if protocol == "openai_chat":
            assert b"\nid:" not in whole
            assert not whole.startswith(b"id:")


def test_resume_from_start_by_default_and_the_run_finished_without_its_client(
    base_url: str,
) -> None:
    sid = new_stream_id()
    with httpx.Client(base_url=base_url, timeout=10) as client:
        with client.stream(
            "GET", "/start/data_stream", params={"n": 30, "delay": 0.005, "id": sid}
        ) as r:
            next(r.iter_raw())
        replay = _whole(client, "data_stream", sid)
        assert replay.startswith(b'0:"t0 "')
        assert b't29 "' in replay
        assert client.get(f"/status/{sid}").json() == {"status": "done"}


@pytest.mark.parametrize(
    ("path", "headers", "status", "code"),
    [
        ("/start/data_stream?id=bad%20id", {}, 400, "invalid-id"),
        ("/start/data_stream?id=" + "x" * 300, {}, 400, "invalid-id"),
        ("/resume/data_stream", {"x-resumable-stream-id": ""}, 400, "invalid-id"),
        ("/resume/data_stream", {"x-resumable-stream-id": "{slot}"}, 400, "invalid-id"),
        ("/resume/data_stream", {"x-resumable-stream-id": "nope"}, 404, "missing"),
        ("/resume/assistant_transport", {"last-event-id": "zz"}, 400, "invalid-cursor"),
        ("/resume/assistant_transport", {"last-event-id": "999"}, 400, "invalid-cursor"),
        # A well-formed id of another stream; its cursor "1" exists in this one too.
        (
            "/resume/assistant_transport",
            {"last-event-id": event_id("another-stream", "1")},
            400,
            "invalid-cursor",
        ),
        ("/resume/data_stream", {"x-resumable-stream-offset": "9999999"}, 400, "invalid-cursor"),
        ("/resume/data_stream", {"x-resumable-stream-offset": "1e3"}, 400, "invalid-cursor"),
        ("/resume/data_stream", {"x-resumable-stream-offset": "-5"}, 400, "invalid-cursor"),
        ("/resume/openai_chat", {"last-event-id": "1"}, 400, "invalid-cursor"),
    ],
)
def test_bad_requests_get_json_errors(
    base_url: str, path: str, headers: dict[str, str], status: int, code: str
) -> None:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        sid = new_stream_id()
        client.get("/start/assistant_transport", params={"n": 2, "id": sid}).raise_for_status()
        headers = {"x-resumable-stream-id": sid, **headers}
        response = client.get(path, headers=headers)
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["error"]["code"] == code


def test_a_failed_run_replays_with_its_error_frame(base_url: str) -> None:
    sid = new_stream_id()
    with httpx.Client(base_url=base_url, timeout=10) as client:
        live = client.get("/start/assistant_transport", params={"n": 3, "fail": 1, "id": sid})
        assert b"the run failed on purpose" in live.content
        assert _whole(client, "assistant_transport", sid) == live.content
        assert client.get(f"/status/{sid}").json() == {"status": "error"}
