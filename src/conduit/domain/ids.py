"""Identifiers in DT Cloud's style: 20 lowercase base32hex characters, sortable by creation time.

Like xid: 4 bytes of Unix seconds, 5 random bytes, a 3-byte counter, so ids made in the same second
still sort by creation order within one process and never collide across processes in practice.
"""

from __future__ import annotations

import itertools
import os
import threading
import time

_ALPHABET = "0123456789abcdefghijklmnopqrstuv"
_counter = itertools.count(int.from_bytes(os.urandom(3), "big"))
_lock = threading.Lock()
_random = os.urandom(5)


def new_id(now: float | None = None) -> str:
    seconds = int(time.time() if now is None else now) & 0xFFFFFFFF
    with _lock:
        count = next(_counter) & 0xFFFFFF
    raw = seconds.to_bytes(4, "big") + _random + count.to_bytes(3, "big")
    return _encode_12(raw)


def _encode_12(raw: bytes) -> str:
    """96 bits into 20 base32 characters, left-aligned (the last 4 bits are padding), like xid."""
    number = int.from_bytes(raw, "big") << 4
    chars = []
    for _ in range(20):
        chars.append(_ALPHABET[number & 31])
        number >>= 5
    return "".join(reversed(chars))


def new_emulated_device_id(now: float | None = None) -> str:
    """Emulated device ids carry the `emu` prefix (23 characters), as DT Cloud's do."""
    return "emu" + new_id(now)


def is_valid_id(value: str) -> bool:
    return 1 <= len(value) <= 64 and all(c in _ALPHABET for c in value)
