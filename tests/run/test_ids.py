"""Random ids: length, alphabet, uniqueness and rough uniformity."""

from __future__ import annotations

import collections
import string

from assistant_stream_core.ids import random_id
from assistant_stream_core.run import create_run

ALPHABET = set(string.ascii_letters + string.digits)


def test_length_and_alphabet() -> None:
    for length in (0, 1, 24, 300):
        value = random_id(length)
        assert len(value) == length
        assert set(value) <= ALPHABET


def test_every_character_is_about_equally_likely() -> None:
    counts = collections.Counter("".join(random_id(62) for _ in range(2000)))
    assert set(counts) == ALPHABET
    # 2,000 draws per character expected (standard deviation 44); a biased
    # table (b % 62 over all 256 bytes) would give 8 characters about 2,420.
    assert max(counts.values()) < 2250
    assert min(counts.values()) > 1750


def test_ids_are_unique() -> None:
    assert len({random_id(24) for _ in range(10_000)}) == 10_000


def test_run_ids() -> None:
    run_id = create_run(_noop).run_id
    assert run_id.startswith("run_")
    assert len(run_id) == 28
    assert set(run_id[4:]) <= ALPHABET


async def _noop(controller: object) -> None:
    return None
