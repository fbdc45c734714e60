"""The Redis Streams store (``pip install "assistant-stream-ce[redis]"``).

Layout, shared with the npm ``assistant-stream`` store (0.3.57) so that
JavaScript and Python workers serve each other's streams::

    <prefix>:{<id>}:meta                 JSON {"status", "ttlSec", "generation", ...}
    <prefix>:{<id>}:data:<generation>    a Redis stream; entries {c: bytes}, last {fin, error}

``{<id>}`` is a Redis Cluster hash tag: every key of a stream lives on one
shard. The generation (one per acquisition) fences producers: a producer
superseded by a later acquisition writes into a key nobody reads, and its
finalize is refused. Streams written by upstream's Python store (``...:data``,
no generation) are read too.

What this store adds, in keys the other implementations ignore:

* ``...:lease`` — the producer renews it every ``heartbeat_interval``; the
  meta says ``"leaseMs"``. A reader that finds it expired finalizes the
  stream as ``producer-lost`` (atomically, once) and raises.
* ``...:stop`` — a stream of stop requests; the producer waits on it with
  ``XREAD BLOCK``, so a stop from any worker reaches it at once.
* ``...:last:<generation>`` — ``"<nonce> <id>"`` of the latest append by a
  writer other than the owner (see the offset index below).
* ``closed`` in the final entry — the stored bytes end with the protocol's
  closing frames.

Reads use ``XREAD COUNT <page> BLOCK``: stored entries a page at a time,
then the live tail, with no polling. Appends are one ``XADD`` per batch (the
first also sets the TTL); TTLs are renewed by the heartbeat, not per append.

The offset index. This store gives each data entry the id ``<end>-<n>``:
``<end>`` is the stream's size in bytes after the entry (``n`` counts empty
entries at the same size), and the meta says ``"offsetIds": true``. The
entry holding byte ``k`` is then the first with an id above ``k-<max>``: a
byte-offset resume costs three round trips at any length
(:meth:`RedisStore.open_read_at`). Writers may mix (the owner of the lease,
unleased appends, other store objects under the lease): how the ids stay
exact is told at ``_FENCE`` below. Ids stay increasing,
so the npm store and upstream's read these streams as any other; the final
entry keeps a time-based id (``*``), above every offset below a terabyte.
Streams written by the npm store or upstream's (no ``offsetIds``) are read
from the start for an offset resume instead.
"""

from __future__ import annotations

import itertools
import re
import secrets
from collections.abc import AsyncIterator
from typing import Any, Literal

import msgspec

from .errors import DEFAULT_TTL_MS, ResumableStreamError, validate_stream_id
from .memory import DEFAULT_LEASE_MS
from .offsets import check_offset, cut_first, skip_bytes
from .store import Lease, StreamEntry, StreamRole, StreamStatus

try:
    import redis.asyncio as _redis  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError(
        'the Redis resumable store needs redis-py: pip install "assistant-stream-ce[redis]"'
    ) from exc

__all__ = ["DEFAULT_KEY_PREFIX", "DEFAULT_PAGE_SIZE", "RedisStore"]

#: The key prefix of the npm and upstream stores.
DEFAULT_KEY_PREFIX = "aui:resumable"
#: Entries per ``XREAD`` while catching up.
DEFAULT_PAGE_SIZE = 512

_FIRST_PAGE = 16
_CURSOR = re.compile(r"[0-9]{1,20}-[0-9]{1,20}")
_START = "0-0"
_MAX_SEQ = 2**64 - 1

# How the offset ids stay exact with several writers, the owner's appends
# costing one plain XADD. The owner is the store object that acquired the
# lease; it keeps the id of its last entry and XADDs the next one at the id
# that follows. Redis takes an explicit id only above the stream's last
# generated id, so every other append (unleased, another store object, one
# while the owner's own append is in flight) goes through _APPEND, which
# computes the id from the real top and then raises the last generated id to
# _FENCE: the owner's next XADD is refused, whatever its guess, and it
# continues through _RECOVER from the real top. The final entry (``*``, a
# time-based id) refuses it the same way.
_FENCE = "1000000000000000-0"

# Finds the real top (its id; false for the final entry; nil when empty),
# then the id for a chunk of ``length`` bytes after it.
_TOP = """
local function top_of(stream)
  local entry = redis.call("XREVRANGE", stream, "+", "-", "COUNT", 1)[1]
  if not entry then
    return nil, nil
  end
  local fields = entry[2]
  for i = 1, #fields, 2 do
    if fields[i] == "fin" then
      return false, nil
    end
  end
  return entry[1], fields
end
local function next_id(top, length)
  local size, seq = 0, 0
  if top then
    local dash = string.find(top, "-", 1, true)
    size = tonumber(string.sub(top, 1, dash - 1))
    seq = tonumber(string.sub(top, dash + 1))
  end
  if length > 0 then
    return string.format("%d-0", size + length)
  end
  return string.format("%d-%d", size, seq + 1)
end
"""

# An append by a writer other than the owner. ``last`` holds "<nonce> <id>"
# of such an append (or "created" once the owner made the key): a retry of an
# append that was applied (its reply lost with the connection) finds its
# nonce and gets its id back instead of storing the chunk twice. Returns the
# id; 1: the stream, or its entries, are gone; 2: it has ended.
_WRITE = """
local function append(data, meta, last_key, chunk, ttl, nonce, fence)
  local last = redis.call("GET", last_key)
  if last then
    local space = string.find(last, " ", 1, true)
    if space and string.sub(last, 1, space - 1) == nonce then
      return string.sub(last, space + 1)
    end
  end
  local top = top_of(data)
  if top == false then
    return 2
  end
  local id = next_id(top, string.len(chunk))
  if top == nil then
    -- Entries were appended and are gone (deleted, evicted), or the stream
    -- is: starting again at offset 0 would index bytes nobody has.
    if last or redis.call("EXISTS", meta) == 0 then
      return 1
    end
    redis.call("XADD", data, id, "c", chunk)
    redis.call("EXPIRE", data, math.max(tonumber(ttl), redis.call("TTL", meta)))
  else
    redis.call("XSETID", data, top)
    redis.call("XADD", data, id, "c", chunk)
  end
  redis.call("XSETID", data, fence)
  redis.call("SET", last_key, nonce .. " " .. id, "EX", ttl)
  return id
end
"""

# KEYS: data, meta, last. ARGV: chunk, ttl seconds, nonce, fence. Under a
# lease, by another store object or beside the owner's own append in flight.
_APPEND = (
    _TOP
    + _WRITE
    + """
return append(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
"""
)

# KEYS: meta, data, last (the latter two without the generation: it is read
# here, from the meta, and appended to their names; every key of a stream
# shares its hash tag, so in a Cluster they are on this script's shard).
# ARGV: chunk, default ttl seconds, nonce, fence. Upstream's append, without
# a lease, in one round trip: the meta's checks (1: missing, 2: ended), the
# append (_WRITE; a stream of the npm store or upstream's, without
# ``offsetIds``, gets a time-based id as they write), then both TTLs.
_APPEND_UNLEASED = (
    _TOP
    + _WRITE
    + """
local raw = redis.call("GET", KEYS[1])
if not raw or not string.find(raw, "^%s*{") then
  return 1
end
local parsed, meta = pcall(cjson.decode, raw)
if not parsed then
  return 1
end
if meta.status ~= "streaming" then
  return 2
end
local ttl = meta.ttlSec
if type(ttl) ~= "number" or ttl <= 0 or ttl % 1 ~= 0 then
  ttl = tonumber(ARGV[2])
end
local generation = meta.generation
if type(generation) ~= "string" or generation == "" then
  generation = nil
end
local data = generation and KEYS[2] .. ":" .. generation or KEYS[2]
-- True as Python reads it (open_read_at): not null, false, 0 or "".
local offset_ids = meta.offsetIds
offset_ids = offset_ids and offset_ids ~= cjson.null and offset_ids ~= 0 and offset_ids ~= ""
local id
if generation and offset_ids then
  id = append(data, KEYS[1], KEYS[3] .. ":" .. generation, ARGV[1], ttl, ARGV[3], ARGV[4])
  if type(id) == "number" then
    return id
  end
else
  id = redis.call("XADD", data, "*", "c", ARGV[1])
end
redis.call("EXPIRE", data, ttl)
redis.call("EXPIRE", KEYS[1], ttl)
return id
"""
)

# KEYS: data. ARGV: chunk, the id the owner's XADD asked for. The owner's
# XADD was refused: continue from the real top. If the top is that very
# entry, not fenced (no other writer came after it) and holds the same
# chunk, the XADD was applied and this is redis-py's retry of it: its id.
_RECOVER = (
    _TOP
    + """
local top, fields = top_of(KEYS[1])
if not top then
  return top == false and 2 or 1
end
if top == ARGV[2] and fields[1] == "c" and fields[2] == ARGV[1] then
  local info = redis.call("XINFO", "STREAM", KEYS[1])
  for i = 1, #info, 2 do
    if info[i] == "last-generated-id" and info[i + 1] == top then
      return top
    end
  end
end
local id = next_id(top, string.len(ARGV[1]))
redis.call("XSETID", KEYS[1], top)
redis.call("XADD", KEYS[1], id, "c", ARGV[1])
return id
"""
)

# KEYS: meta, data. ARGV: expected meta, next meta, ttl seconds, then field/value pairs.
# The meta is compared whole, as the npm store does: a producer that lost the
# stream (another generation, already finalized) changes nothing.
_FINALIZE = """
if redis.call("GET", KEYS[1]) ~= ARGV[1] then
  return 0
end
local entry = {"XADD", KEYS[2], "*"}
for i = 4, #ARGV do
  entry[#entry + 1] = ARGV[i]
end
redis.call(unpack(entry))
redis.call("EXPIRE", KEYS[2], ARGV[3])
redis.call("SET", KEYS[1], ARGV[2], "EX", ARGV[3])
return 1
"""

# KEYS: meta, data, lease. As _FINALIZE, and only while the lease is missing.
_DECLARE_LOST = """
if redis.call("EXISTS", KEYS[3]) == 1 then
  return 0
end
if redis.call("GET", KEYS[1]) ~= ARGV[1] then
  return 0
end
local entry = {"XADD", KEYS[2], "*"}
for i = 4, #ARGV do
  entry[#entry + 1] = ARGV[i]
end
redis.call(unpack(entry))
redis.call("EXPIRE", KEYS[2], ARGV[3])
redis.call("SET", KEYS[1], ARGV[2], "EX", ARGV[3])
return 1
"""

_json = msgspec.json.Encoder()


def _sec(ms: int) -> int:
    return max(1, -(-ms // 1000))


def _meta(raw: bytes | str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        meta = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None
    return meta if isinstance(meta, dict) else None


def _text(value: bytes | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.decode("utf-8", "replace")


def _parse_id(entry_id: bytes | str) -> tuple[int, int]:
    size, _, seq = (_text(entry_id) or "0-0").partition("-")
    return int(size), int(seq)


def _refused(exc: Exception) -> bool:
    """Whether an ``XADD`` with an explicit id was refused as not above the stream's top."""
    return "equal or smaller than the target stream top item" in str(exc)


class RedisStore:
    """A :class:`~assistant_stream_core.resumable.store.ResumableStore` in Redis.

    :param client: a ``redis.asyncio.Redis`` created without
        ``decode_responses`` (chunks are bytes).
    :param key_prefix: the keys' prefix (the npm store's default).
    :param default_ttl_ms: how long a stream is kept after its producer's last sign of life.
    :param lease_ms: how long a producer's lease lasts without a heartbeat; a
        reader of a stream whose producer died gets ``producer-lost`` at most
        ``lease_ms`` plus one heartbeat interval after the producer's last
        heartbeat.
    :param page_size: entries per read while catching up.
    :param max_chunk_bytes: reject larger appends.
    """

    def __init__(
        self,
        client: Any,
        *,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        default_ttl_ms: int = DEFAULT_TTL_MS,
        lease_ms: int = DEFAULT_LEASE_MS,
        page_size: int = DEFAULT_PAGE_SIZE,
        max_chunk_bytes: int | None = None,
    ) -> None:
        pool = getattr(client, "connection_pool", None)
        kwargs = getattr(pool, "connection_kwargs", None)
        if isinstance(kwargs, dict) and kwargs.get("decode_responses"):
            raise ValueError(
                "the redis client must be created without decode_responses "
                "(decode_responses=True cannot carry binary stream chunks)"
            )
        if not isinstance(lease_ms, int) or lease_ms < 100:
            raise ValueError(f"lease_ms must be an int >= 100, got {lease_ms!r}")
        self._r = client
        self._prefix = key_prefix
        self._default_ttl_sec = _sec(default_ttl_ms)
        self._lease_ms = lease_ms
        self._page = page_size
        self._max_chunk = max_chunk_bytes
        #: Seconds between heartbeats: a quarter of the lease.
        self.heartbeat_interval = lease_ms / 4000
        self._finalize = client.register_script(_FINALIZE)
        self._declare_lost = client.register_script(_DECLARE_LOST)
        self._append = client.register_script(_APPEND)
        self._recover = client.register_script(_RECOVER)
        self._append_unleased_script = client.register_script(_APPEND_UNLEASED)
        # (stream id, generation) -> TTL seconds, for this process's producers.
        self._producing: dict[tuple[str, str], int] = {}
        # (stream id, generation) -> the id of the owner's last entry.
        self._tops: dict[tuple[str, str], tuple[int, int]] = {}
        # Owner appends awaiting their reply: a concurrent one goes through _APPEND.
        self._in_flight: set[tuple[str, str]] = set()
        # Append nonces: this object's random prefix and a counter.
        self._writer = secrets.token_hex(6)
        self._calls = itertools.count()

    # -- keys -------------------------------------------------------------------------

    def _key(self, stream_id: str, suffix: str) -> str:
        return f"{self._prefix}:{{{stream_id}}}:{suffix}"

    def _data(self, stream_id: str, generation: str | None) -> str:
        return self._key(stream_id, f"data:{generation}" if generation else "data")

    # -- producer side ----------------------------------------------------------------

    async def acquire_lease(self, stream_id: str, *, ttl_ms: int | None = None) -> Lease | None:
        """Create the stream and return its lease, or ``None`` if it exists."""
        return await self._acquire(stream_id, ttl_ms, leased=True)

    async def acquire(self, stream_id: str, *, ttl_ms: int | None = None) -> StreamRole:
        """Upstream's election (no lease, no heartbeat): ``"producer"`` or ``"consumer"``."""
        lease = await self._acquire(stream_id, ttl_ms, leased=False)
        return "consumer" if lease is None else "producer"

    async def _acquire(self, stream_id: str, ttl_ms: int | None, *, leased: bool) -> Lease | None:
        validate_stream_id(stream_id)
        ttl = _sec(ttl_ms) if ttl_ms is not None else self._default_ttl_sec
        generation = secrets.token_urlsafe(15)
        meta: dict[str, Any] = {
            "status": "streaming",
            "ttlSec": ttl,
            "generation": generation,
            "offsetIds": True,
        }
        if leased:
            meta["leaseMs"] = self._lease_ms
        if not await self._r.set(self._key(stream_id, "meta"), _json.encode(meta), nx=True, ex=ttl):
            return None
        pipe = self._r.pipeline(transaction=False)
        pipe.delete(self._key(stream_id, "stop"))
        if leased:
            pipe.set(self._key(stream_id, "lease"), generation, px=self._lease_ms)
        await pipe.execute()
        self._producing[(stream_id, generation)] = ttl
        return Lease(stream_id, generation)

    async def append(self, stream_id: str, chunk: bytes, lease: Lease | None = None) -> str:
        """Append ``chunk`` (one round trip, its id the stream's new size); return its entry id."""
        validate_stream_id(stream_id)
        if self._max_chunk is not None and len(chunk) > self._max_chunk:
            raise ResumableStreamError(
                "full", f"Chunk exceeds maxChunkBytes ({len(chunk)} > {self._max_chunk})"
            )
        if lease is None:
            return await self._append_unleased(stream_id, chunk)
        key = (stream_id, lease.token)
        ttl = self._producing.get(key)
        if ttl is None or key in self._in_flight:  # not the owner (see _FENCE)
            ttl = ttl or self._default_ttl_sec
            keys = self._append_keys(stream_id, lease.token)
            reply = await self._append(keys=keys, args=[chunk, ttl, self._nonce(), _FENCE])
            return self._appended(stream_id, reply)
        self._in_flight.add(key)
        try:
            entry_id = await self._owner_append(key, chunk, ttl)
        finally:
            self._in_flight.discard(key)
        self._tops[key] = _parse_id(entry_id)
        return entry_id

    async def _owner_append(self, key: tuple[str, str], chunk: bytes, ttl: int) -> str:
        stream_id, generation = key
        data = self._data(stream_id, generation)
        top = self._tops.get(key)
        size, seq = top or (0, 0)
        entry_id = f"{size + len(chunk)}-0" if chunk else f"{size}-{seq + 1}"
        try:
            if top is not None:
                if await self._r.xadd(data, {"c": chunk}, id=entry_id, nomkstream=True) is None:
                    raise ResumableStreamError("missing", f"Stream not found: {stream_id}")
                return entry_id
            # The first: create the key, with the TTL, and mark that it was made.
            pipe = self._r.pipeline(transaction=True)
            pipe.xadd(data, {"c": chunk}, id=entry_id)
            pipe.expire(data, ttl)
            pipe.set(self._key(stream_id, f"last:{generation}"), "created", ex=ttl, nx=True)
            await pipe.execute()
            return entry_id
        except Exception as exc:
            if not _refused(exc):
                raise
        # Another writer came in between, or the stream ended: see _FENCE.
        reply = await self._recover(keys=[data], args=[chunk, entry_id])
        return self._appended(stream_id, reply)

    def _append_keys(self, stream_id: str, generation: str) -> list[str]:
        return [
            self._data(stream_id, generation),
            self._key(stream_id, "meta"),
            self._key(stream_id, f"last:{generation}"),
        ]

    def _nonce(self) -> str:
        # Unique per call: a retry by redis-py sends the same one again.
        return f"{self._writer}.{next(self._calls)}"

    @staticmethod
    def _appended(stream_id: str, reply: bytes | str | int) -> str:
        if reply == 1:
            raise ResumableStreamError("missing", f"Stream not found: {stream_id}")
        if isinstance(reply, int):
            raise ResumableStreamError("finalized", f"Stream already finalized: {stream_id}")
        return _text(reply) or ""

    async def _append_unleased(self, stream_id: str, chunk: bytes) -> str:
        # One EVALSHA: the meta is read and checked in the script (see _APPEND_UNLEASED).
        keys = [self._key(stream_id, s) for s in ("meta", "data", "last")]
        args = [chunk, self._default_ttl_sec, self._nonce(), _FENCE]
        return self._appended(stream_id, await self._append_unleased_script(keys=keys, args=args))

    async def finalize(
        self,
        stream_id: str,
        status: Literal["done", "error"],
        error: str | None = None,
        lease: Lease | None = None,
        *,
        closed: bool = True,
    ) -> bool:
        """End the stream with a final entry; ``False`` if it had ended or ``lease`` lost it."""
        validate_stream_id(stream_id)
        meta_key = self._key(stream_id, "meta")
        raw = await self._r.get(meta_key)
        meta = _meta(raw)
        if meta is None:
            raise ResumableStreamError("missing", f"Stream not found: {stream_id}")
        generation = meta.get("generation")
        if lease is not None:
            self._producing.pop((stream_id, lease.token), None)
            self._tops.pop((stream_id, lease.token), None)
            if generation != lease.token:
                return False
        if meta.get("status") != "streaming":
            return False
        fields = ["fin", status]
        if status == "error":
            message = error or "Stream errored"
            fields += ["error", message]
            meta = {**meta, "status": "error", "error": message}
        else:
            meta = {**meta, "status": "done"}
        if closed:
            fields += ["closed", "1"]
        ttl = meta.get("ttlSec")
        ttl = ttl if isinstance(ttl, int) and ttl > 0 else self._default_ttl_sec
        done = await self._finalize(
            keys=[meta_key, self._data(stream_id, generation)],
            args=[raw, _json.encode(meta), ttl, *fields],
        )
        if done and lease is not None:
            await self._r.delete(self._key(stream_id, "lease"))
        return bool(done)

    async def heartbeat(self, lease: Lease) -> bool:
        """Renew the lease and the TTLs; ``False`` once the lease no longer owns a live stream."""
        stream_id, token = lease.stream_id, lease.token
        ttl = self._producing.get((stream_id, token), self._default_ttl_sec)
        meta_key = self._key(stream_id, "meta")
        pipe = self._r.pipeline(transaction=False)
        pipe.get(meta_key)
        pipe.set(self._key(stream_id, "lease"), token, px=self._lease_ms)
        pipe.expire(meta_key, ttl)
        pipe.expire(self._data(stream_id, token), ttl)
        pipe.expire(self._key(stream_id, f"last:{token}"), ttl)
        raw, *_ = await pipe.execute()
        meta = _meta(raw)
        return (
            meta is not None
            and meta.get("generation") == token
            and meta.get("status") == "streaming"
        )

    async def request_stop(self, stream_id: str) -> bool:
        """Add a stop request the producer is waiting for; ``False`` if not streaming."""
        validate_stream_id(stream_id)
        if await self.status(stream_id) != "streaming":
            return False
        stop = self._key(stream_id, "stop")
        pipe = self._r.pipeline(transaction=True)
        pipe.xadd(stop, {"stop": "1"})
        pipe.expire(stop, 600)
        await pipe.execute()
        return True

    async def wait_stop(self, lease: Lease, interval: float) -> bool:
        """Block up to ``interval`` seconds on the stop requests (``XREAD BLOCK``)."""
        stop = self._key(lease.stream_id, "stop")
        reply = await self._r.xread({stop: _START}, count=1, block=max(1, int(interval * 1000)))
        return bool(reply)

    # -- reader side ------------------------------------------------------------------

    async def open_read(self, stream_id: str, cursor: str = "") -> AsyncIterator[StreamEntry]:
        """Check the stream and ``cursor`` now; return the entries after it."""
        validate_stream_id(stream_id)
        if cursor and _CURSOR.fullmatch(cursor) is None:
            raise ResumableStreamError(
                "invalid-cursor", f"cursor {cursor[:40]!r} is not a Redis stream entry id"
            )
        meta, data = await self._open(stream_id)
        if cursor and cursor != _START and not await self._r.xrange(data, cursor, cursor, count=1):
            raise ResumableStreamError(
                "invalid-cursor", f"cursor {cursor!r} names no entry of stream {stream_id}"
            )
        return self._read(stream_id, data, meta, cursor or _START)

    async def open_read_at(self, stream_id: str, offset: int) -> AsyncIterator[StreamEntry]:
        """Return the entries from byte ``offset`` on, found through the offset ids.

        Three round trips at any length: the meta, the entries on either
        side of the offset (one pipeline), then the reads. A stream written
        without offset ids (by the npm store or upstream's) is read from
        its start instead, and an offset past its end is reported when the
        read reaches the end.
        """
        validate_stream_id(stream_id)
        check_offset(offset)
        meta, data = await self._open(stream_id)
        if not meta.get("offsetIds"):
            return skip_bytes(self._read(stream_id, data, meta, _START), offset)
        point = f"{offset}-{_MAX_SEQ}"
        pipe = self._r.pipeline(transaction=False)
        pipe.xrange(data, f"{offset + 1}-0", "+", count=1)
        pipe.xrevrange(data, point, "-", count=1)
        after, before = await pipe.execute()
        if after and b"c" in after[0][1]:
            # The entry holding byte ``offset``: it ends after it, its
            # predecessor does not.
            end, _ = _parse_id(after[0][0])
            skip = offset - (end - len(after[0][1][b"c"]))
        else:
            stored = _parse_id(before[0][0])[0] if before and b"c" in before[0][1] else 0
            check_offset(offset, stored)  # at the end: wait for the next append
            skip = 0
        return cut_first(self._read(stream_id, data, meta, point), skip)

    async def _open(self, stream_id: str) -> tuple[dict[str, Any], str]:
        meta = _meta(await self._r.get(self._key(stream_id, "meta")))
        if meta is None:
            raise ResumableStreamError("missing", f"Stream not found: {stream_id}")
        generation = meta.get("generation")
        return meta, self._data(stream_id, generation if isinstance(generation, str) else None)

    async def _read(
        self, stream_id: str, data: str, opened: dict[str, Any], last: str
    ) -> AsyncIterator[StreamEntry]:
        # The meta when the read was opened: its generation is the one read.
        generation, leased = opened.get("generation"), "leaseMs" in opened
        block = max(1, int(self.heartbeat_interval * 1000))
        meta_key = self._key(stream_id, "meta")
        # Small first pages: the first byte of a resume does not wait for a
        # big reply to be parsed; pages grow while the reader catches up.
        count = min(_FIRST_PAGE, self._page)
        while True:
            reply = await self._r.xread({data: last}, count=count, block=block)
            if reply:
                count = min(count * 4, self._page)
                for entry_id, fields in reply[0][1]:
                    last = _text(entry_id) or last
                    fin = _text(fields.get(b"fin"))
                    if fin == "done":
                        return
                    if fin is not None:
                        message = _text(fields.get(b"error")) or "Stream errored"
                        raise ResumableStreamError(
                            "producer-lost" if b"lost" in fields else "failed",
                            message,
                            closed=b"closed" in fields,
                        )
                    chunk = fields.get(b"c")
                    if chunk is not None:
                        yield StreamEntry(last, chunk)
                continue
            # Idle for a heartbeat interval: is the stream still alive?
            pipe = self._r.pipeline(transaction=False)
            pipe.get(meta_key)
            pipe.exists(self._key(stream_id, "lease"))
            raw, lease_alive = await pipe.execute()
            meta = _meta(raw)
            if meta is None or meta.get("generation") != generation:
                return  # deleted, expired or replaced: nothing more will come
            status = meta.get("status")
            if status != "streaming":
                # The final entry is written with the meta; read it next round.
                continue
            if leased and not lease_alive:
                lost = _LOST.format(self._lease_ms)
                await self._declare_lost(
                    keys=[meta_key, data, self._key(stream_id, "lease")],
                    args=[
                        raw,
                        _json.encode({**meta, "status": "error", "error": lost}),
                        meta.get("ttlSec") or self._default_ttl_sec,
                        "fin",
                        "error",
                        "error",
                        lost,
                        "lost",
                        "1",
                    ],
                )

    async def status(self, stream_id: str) -> StreamStatus:
        """The stream's status from its meta; ``error`` once its producer's lease expired."""
        validate_stream_id(stream_id)
        pipe = self._r.pipeline(transaction=False)
        pipe.get(self._key(stream_id, "meta"))
        pipe.exists(self._key(stream_id, "lease"))
        raw, lease_alive = await pipe.execute()
        meta = _meta(raw) or {}
        status = meta.get("status")
        if status == "streaming":
            return "error" if "leaseMs" in meta and not lease_alive else "streaming"
        if status == "done":
            return "done"
        return "error" if status == "error" else "missing"

    async def delete(self, stream_id: str) -> None:
        """Delete every key of the stream; readers end, the producer's next append fails."""
        validate_stream_id(stream_id)
        meta = _meta(await self._r.get(self._key(stream_id, "meta")))
        generation = meta.get("generation") if meta is not None else None
        keys = [self._key(stream_id, s) for s in ("meta", "data", "lease", "stop")]
        if isinstance(generation, str):
            keys += [self._data(stream_id, generation), self._key(stream_id, f"last:{generation}")]
        await self._r.delete(*keys)


_LOST = "producer lost: no heartbeat for {} ms (its worker stopped)"
