"""The frames between the dispatcher and its sender processes (a socketpair, both directions).

Why a private protocol: the dispatcher hands every attempt to a sender process and gets the outcome
back, thousands of times a second, so the framing is the cheapest that is still obviously correct:
`!III` (frame length, request id, meta length), then the meta JSON, then raw bytes. Writers batch
the frames of one event-loop tick into one write (`FrameWriter`).

- request:  meta = `[url, headers, secret, iat, jti, scheme, previous secret, event id]`,
            bytes = the push body
- response: meta = `[success, status, error, latency, retry_after]`, bytes = empty
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable, Mapping
from typing import Any, cast

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


def encode_request(
    request_id: int,
    url: str,
    headers: Mapping[str, str],
    secret: bytes | None,
    iat: int,
    jti: str,
    body: bytes,
    scheme: str,
    previous: bytes | None,
    event_id: str,
) -> bytes:
    meta = [
        url,
        headers,
        secret.decode() if secret else None,
        iat,
        jti,
        scheme,
        previous.decode() if previous else None,
        event_id,
    ]
    return encode(request_id, meta, body)


def encode_outcome(request_id: int, outcome: Outcome) -> bytes:
    meta = [outcome.success, outcome.status, outcome.error, outcome.latency, outcome.retry_after]
    return encode(request_id, meta)


def decode_outcome(meta: Any) -> Outcome:
    success, status, error, latency, retry_after = meta
    return Outcome(
        bool(success),
        status,
        error,
        float(latency),
        None if retry_after is None else float(retry_after),
    )


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
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses

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


class FrameWriter:
    """Collects the frames of one loop tick and writes them in one system call."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self._frames: list[bytes] = []

    def write(self, frame: bytes) -> None:
        if not self._frames:
            asyncio.get_running_loop().call_soon(self._flush)
        self._frames.append(frame)

    def _flush(self) -> None:
        frames, self._frames = self._frames, []
        if frames and not self.transport.is_closing():
            self.transport.write(b"".join(frames))
