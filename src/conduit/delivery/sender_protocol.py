"""The frames between the dispatcher and its sender processes (a socketpair, both directions).

Why a private protocol: the dispatcher hands every attempt (URL, headers, body) to a sender process
and gets the outcome back, thousands of times a second, so the framing is the cheapest that is still
obviously correct: `!III` (frame length, request id, meta length), then the meta JSON, then raw
bytes.

- request:  meta = `[url, headers]`, bytes = the push body
- response: meta = `[success, status, error, latency]`, bytes = empty
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from conduit.delivery.http import Outcome

_HEAD = struct.Struct("!III")
MAX_FRAME = 16 * 1024 * 1024

Frame = tuple[int, Any, bytes]  # (request id, decoded meta, raw bytes)


def encode(request_id: int, meta: Any, raw: bytes = b"") -> bytes:
    encoded = orjson.dumps(meta)
    return (
        _HEAD.pack(_HEAD.size - 4 + len(encoded) + len(raw), request_id, len(encoded))
        + encoded
        + raw
    )


def encode_request(request_id: int, url: str, headers: Mapping[str, str], body: bytes) -> bytes:
    return encode(request_id, [url, dict(headers)], body)


def encode_outcome(request_id: int, outcome: Outcome) -> bytes:
    return encode(request_id, [outcome.success, outcome.status, outcome.error, outcome.latency])


def decode_outcome(meta: Any) -> Outcome:
    success, status, error, latency = meta
    return Outcome(bool(success), status, error, float(latency))


class FrameProtocol(asyncio.Protocol):
    """Splits the byte stream into frames and hands each to `on_frame`; reports loss once."""

    def __init__(
        self, on_frame: Callable[[Frame], None], on_lost: Callable[[Exception | None], None]
    ) -> None:
        self._on_frame = on_frame
        self._on_lost = on_lost
        self._buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        offset = 0
        size = len(buffer)
        while size - offset >= 4:
            (length,) = struct.unpack_from("!I", buffer, offset)
            if length > MAX_FRAME:
                assert self.transport is not None
                self.transport.close()
                return
            end = offset + 4 + length
            if end > size:
                break
            _, request_id, meta_length = _HEAD.unpack_from(buffer, offset)
            meta_end = offset + _HEAD.size + meta_length
            meta = orjson.loads(bytes(buffer[offset + _HEAD.size : meta_end]))
            self._on_frame((request_id, meta, bytes(buffer[meta_end:end])))
            offset = end
        if offset:
            del buffer[:offset]

    def connection_lost(self, exc: Exception | None) -> None:
        self._on_lost(exc)
