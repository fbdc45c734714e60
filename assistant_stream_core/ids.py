"""Random ids over ``[A-Za-z0-9]``, from one ``os.urandom`` call each.

``secrets.choice`` once per character reads the OS random source 24 times
for a 24-character id; that was a third of a tool-using run's time. Here the
random bytes are read at once and mapped with :meth:`bytes.translate`: bytes
below 248 (4 x 62) map to ``alphabet[b % 62]``, which keeps every character
equally likely; the rest are dropped and, rarely, more bytes are read.
"""

from __future__ import annotations

import os
import string
from typing import Final

__all__ = ["random_id"]

_ALPHABET: Final = (string.ascii_letters + string.digits).encode()
_LIMIT: Final = 256 - 256 % len(_ALPHABET)  # 248: the largest multiple of 62 <= 256
_TABLE: Final = bytes(_ALPHABET[b % len(_ALPHABET)] for b in range(256))
_REJECTED: Final = bytes(range(_LIMIT, 256))


def random_id(length: int) -> str:
    """Return ``length`` characters drawn uniformly from ``[A-Za-z0-9]``."""
    out = b""
    while len(out) < length:
        # A few spare bytes make a second read very unlikely (6 of 256 are rejected).
        out += os.urandom(length + 8).translate(_TABLE, _REJECTED)
    return out[:length].decode()
