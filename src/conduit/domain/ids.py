"""Identifiers in DT Cloud's style: 20 lowercase base32hex characters, sortable by creation time.

Like xid: 4 bytes of Unix seconds, 5 random bytes, a 3-byte counter, so ids made in the same second
still sort by creation order within one process and never collide across processes in practice.
"""

from __future__ import annotations

import base64
import itertools
import os
import threading
import time

_ALPHABET = "0123456789abcdefghijklmnopqrstuv"
_counter = itertools.count(int.from_bytes(os.urandom(3), "big"))
_lock = threading.Lock()
_random = os.urandom(5)


# Every 3-character run of the alphabet, by the 15 bits it encodes.
_TRIPLES = [a + b + c for a in _ALPHABET for b in _ALPHABET for c in _ALPHABET]
_prefix: tuple[int, str] = (-1, "")  # (seconds, the 14 characters they and _random encode)


def new_id(now: float | None = None) -> str:
    seconds = int(time.time() if now is None else now) & 0xFFFFFFFF
    with _lock:
        count = next(_counter) & 0xFFFFFF
    return _id_of(seconds, count)


def _id_of(seconds: int, count: int) -> str:
    """The 20 characters of (seconds, _random, count), fast: one id per event, and encoding all
    96 bits each time was 5 % of the publish path's time on the event loop (py-spy, issue 10).

    The first 14 characters (bits 0-69) depend only on the second and this process's random
    bytes, so they are encoded once per second; the last 6 (bits 70-99: the random bytes' last 2
    bits, the counter, 4 padding bits) are two table lookups. `_encode_12` is the reference
    `tests/unit/test_ids.py` holds this to."""
    global _prefix
    cached_seconds, prefix = _prefix
    if cached_seconds != seconds:
        prefix = _encode_12(seconds.to_bytes(4, "big") + _random + b"\0\0\0")[:14]
        _prefix = (seconds, prefix)
    tail = ((_random[-1] & 3) << 28) | (count << 4)
    return prefix + _TRIPLES[tail >> 15] + _TRIPLES[tail & 0x7FFF]


def _encode_12(raw: bytes) -> str:
    """96 bits into 20 base32hex characters, left-aligned (the last 4 bits are padding), like xid:
    the standard library's encoder over the 12 bytes padded to 15, whose first 20 characters are
    the 96 bits and 4 zero bits."""
    return base64.b32hexencode(raw + b"\0\0\0")[:20].decode().lower()


def new_emulated_device_id(now: float | None = None) -> str:
    """Emulated device ids carry the `emu` prefix (23 characters), as DT Cloud's do."""
    return "emu" + new_id(now)


def is_valid_id(value: str) -> bool:
    return 1 <= len(value) <= 64 and all(c in _ALPHABET for c in value)
