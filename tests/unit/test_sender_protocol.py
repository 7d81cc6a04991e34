"""Framing between the dispatcher and its sender processes survives any split of the byte stream."""

from __future__ import annotations

import asyncio
import random

from conduit.delivery.http import Outcome
from conduit.delivery.sender_protocol import (
    Frame,
    FrameProtocol,
    decode_outcome,
    encode_outcome,
    encode_request,
)


def _feed(chunks: list[bytes]) -> list[Frame]:
    frames: list[Frame] = []
    protocol = FrameProtocol(frames.append, lambda _exc: None)
    for chunk in chunks:
        protocol.data_received(chunk)
    return frames


def test_requests_and_outcomes_round_trip_through_arbitrary_chunking() -> None:
    stream = b"".join(
        encode_request(
            i,
            f"https://h{i}.example/x",
            {"A": str(i)},
            b"s\xc3\xa9cret" if i % 2 else None,
            1_700_000_000 + i,
            f"jti{i}",
            bytes([i % 256]) * (i * 37),
            "BOTH" if i % 3 else "DT_JWT",
            b"old-s\xc3\xa9cret" if i % 5 == 0 else None,
            f"event{i}",
        )
        for i in range(1, 60)
    ) + encode_outcome(99, Outcome(False, 503, "http_503", 0.25, 120.0))
    rng = random.Random(3)
    for _ in range(20):
        cuts = sorted(rng.sample(range(1, len(stream)), 40))
        chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
        frames = _feed(chunks)
        assert [f[0] for f in frames] == [*range(1, 60), 99]
        request_id, meta, body = frames[4]
        url, headers, secret, iat, jti, scheme, previous, event_id = meta
        assert (request_id, url, headers, iat, jti, scheme, event_id) == (
            5,
            "https://h5.example/x",
            {"A": "5"},
            1_700_000_005,
            "jti5",
            "BOTH",
            "event5",
        )
        assert secret == "sécret" and previous == "old-sécret" and body == bytes([5]) * 185
        assert frames[5][1][2] is None and frames[5][1][6] is None
        assert decode_outcome(frames[-1][1]) == Outcome(False, 503, "http_503", 0.25, 120.0)
        assert frames[-1][2] == b""


def test_oversized_frame_closes_the_connection() -> None:
    closed: list[bool] = []

    class Transport(asyncio.Transport):
        def close(self) -> None:
            closed.append(True)

    protocol = FrameProtocol(lambda _f: None, lambda _e: None)
    protocol.connection_made(Transport())
    protocol.data_received((2**31).to_bytes(4, "big") + b"\0" * 8)
    assert closed == [True]
