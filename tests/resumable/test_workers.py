"""Many workers, one Redis: the proofs of issue 16 on real processes.

Two uvicorn worker processes (:mod:`tests.resumable.worker`) share one
redis-server. A client starts a stream on one worker, drops the connection,
and resumes on the other; a worker is SIGKILLed mid-stream; a stop request
reaches a producer on another worker; Redis goes away mid-run; 200 streams
are resumed twice each, concurrently.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import anyio
import httpx
import pytest

from assistant_stream_core.resumable import new_stream_id
from tests.redis_server import RedisServer, redis_server

from .test_http import PROTOCOLS, SSE_IDS, cut_and_cursor
from .workers import Worker, workers

#: The documented bound for a dead producer: lease (4 s) + one heartbeat
#: interval (1 s), plus slack for this shared 2-core machine.
LOST_PRODUCER_BOUND = 6.5


@pytest.fixture(scope="module")
def pair(redis_srv: RedisServer) -> Iterator[list[Worker]]:
    with workers(redis_srv.url, 2) as started:
        yield started


def _read_some(url: str, path: str, params: dict[str, object], enough: int) -> bytes:
    kept = b""
    with (
        httpx.Client(base_url=url, timeout=10) as client,
        client.stream("GET", path, params=params) as response,
    ):
        assert response.status_code == 200
        for data in response.iter_raw():
            kept += data
            if kept.count(b"t") >= enough:
                break
    return kept


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_resume_on_another_worker_is_byte_exact(pair: list[Worker], protocol: str) -> None:
    a, b = pair
    sid = new_stream_id()
    kept = b""
    while (protocol in SSE_IDS and b"\nid: " not in kept) or not kept:
        enough = 10 if not kept else kept.count(b"t") + 5
        if kept:  # the first read ended before an id line: start a fresh stream
            sid = new_stream_id()
        kept = _read_some(a.url, f"/start/{protocol}", {"n": 60, "delay": 0.01, "id": sid}, enough)
    kept, headers = cut_and_cursor(kept, protocol)
    with httpx.Client(base_url=b.url, timeout=10) as client:
        rest = client.get(f"/resume/{protocol}", headers={"x-resumable-stream-id": sid, **headers})
        assert rest.status_code == 200
        whole = client.get(f"/resume/{protocol}", headers={"x-resumable-stream-id": sid})
    assert kept + rest.content == whole.content
    assert b"t59 " in whole.content


@pytest.mark.parametrize("protocol", ["assistant_transport", "data_stream"])
def test_sigkill_of_the_producer_gives_a_terminal_error_within_the_bound(
    redis_srv: RedisServer, pair: list[Worker], protocol: str
) -> None:
    with workers(redis_srv.url, 1) as (victim,):
        sid = new_stream_id()
        kept = _read_some(
            victim.url, f"/start/{protocol}", {"n": 2000, "delay": 0.01, "id": sid}, 5
        )
        assert kept
        body = b""
        with httpx.Client(base_url=pair[1].url, timeout=30) as client:
            headers = {"x-resumable-stream-id": sid}
            with client.stream("GET", f"/resume/{protocol}", headers=headers) as response:
                assert response.status_code == 200
                chunks = response.iter_raw()
                body += next(chunks)
                victim.kill()
                killed = time.monotonic()
                for data in chunks:
                    body += data
                ended = time.monotonic() - killed
    assert ended < LOST_PRODUCER_BOUND, ended
    assert b"producer lost" in body
    assert body.startswith(kept[:20])
    if protocol == "assistant_transport":
        assert body.rstrip(b"\n").endswith(b"data: [DONE]")
        assert b'"type":"error"' in body
    else:
        assert b'\n3:"producer lost' in body


def test_stop_request_on_another_worker_stops_the_producer_within_500_ms(
    pair: list[Worker],
) -> None:
    a, b = pair
    sid = new_stream_id()
    with httpx.Client(timeout=10) as client:
        params = {"n": 10_000, "delay": 0.01, "id": sid}
        with client.stream("GET", f"{a.url}/start/assistant_transport", params=params) as live:
            chunks = live.iter_raw()
            next(chunks)
            sent = time.monotonic()
            assert client.get(f"{b.url}/stop/{sid}").json() == {"stopped": True}
            rest = b"".join(chunks)
            elapsed = time.monotonic() - sent
        assert elapsed < 0.5, elapsed
        assert rest.rstrip(b"\n").endswith(b"id: " + rest.rstrip(b"\n").rsplit(b"id: ", 1)[1])
        assert b"data: [DONE]\n\n" in rest
        assert client.get(f"{b.url}/status/{sid}").json() == {"status": "done"}
        assert client.get(f"{b.url}/stop/{sid}").json() == {"stopped": False}


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_200_streams_resumed_twice_each_across_workers(pair: list[Worker]) -> None:
    rng = random.Random(16)
    limits = httpx.Limits(max_connections=600, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:

        async def partial(url: str, headers: dict[str, str], enough: int) -> bytes:
            kept = b""
            async with client.stream("GET", url, headers=headers) as response:
                assert response.status_code == 200, await response.aread()
                async for data in response.aiter_raw():
                    kept += data
                    if kept.count(b"t") >= enough:
                        break
            return kept

        async def one(i: int) -> None:
            protocol = "assistant_transport" if i % 2 else "data_stream"
            sid = new_stream_id()
            first, second = rng.sample(pair, 2)
            start = f"{first.url}/start/{protocol}?n=30&delay=0.01&id={sid}"
            kept, headers = cut_and_cursor(await partial(start, {}, rng.randint(1, 12)), protocol)
            ids = {"x-resumable-stream-id": sid}
            more = await partial(
                f"{second.url}/resume/{protocol}", {**ids, **headers}, rng.randint(1, 20)
            )
            more, headers = cut_and_cursor(kept + more, protocol)
            last = rng.choice(pair)
            rest = await client.get(f"{last.url}/resume/{protocol}", headers={**ids, **headers})
            whole = await client.get(f"{first.url}/resume/{protocol}", headers=ids)
            assert rest.status_code == whole.status_code == 200, (rest.text, whole.text)
            assert more + rest.content == whole.content
            assert whole.content.count(b"t29 ") == 1

        with anyio.fail_after(120):
            async with anyio.create_task_group() as tg:
                for i in range(200):
                    tg.start_soon(one, i)


def test_redis_going_away_mid_run(tmp_path: object) -> None:
    with redis_server() as server, workers(server.url, 2) as (a, b):
        sid = new_stream_id()
        body = b""
        with httpx.Client(timeout=30) as client:
            params = {"n": 150, "delay": 0.01, "id": sid}
            with client.stream("GET", f"{a.url}/start/data_stream", params=params) as live:
                chunks = live.iter_raw()
                body += next(chunks)
                server.stop()
                down = client.get(
                    f"{b.url}/resume/data_stream", headers={"x-resumable-stream-id": sid}
                )
                for data in chunks:
                    body += data
            # The connected client's stream went on to the end.
            assert all(
                f'0:"t{i} "'.encode() in body or f"t{i} ".encode() in body for i in range(150)
            )
            assert down.status_code == 503
            assert down.json()["error"]["code"] == "unavailable"
            server.start()
            gone = client.get(f"{b.url}/resume/data_stream", headers={"x-resumable-stream-id": sid})
            assert gone.status_code == 404
            assert gone.json()["error"]["code"] == "missing"
        assert a.log_text().count("the store failed") == 1, a.log_text()
