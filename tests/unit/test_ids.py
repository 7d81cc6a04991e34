"""Ids: the fast encoder against the definition (xid's base32hex of 96 bits, left-aligned), and
the order and alphabet the rest of Conduit relies on."""

from __future__ import annotations

import os

from hypothesis import given
from hypothesis import strategies as st

from conduit.domain.ids import _ALPHABET, _encode_12, _id_of, _random, is_valid_id, new_id


def _by_definition(raw: bytes) -> str:
    number = int.from_bytes(raw, "big") << 4
    return "".join(_ALPHABET[(number >> (5 * (19 - i))) & 31] for i in range(20))


@given(st.binary(min_size=12, max_size=12))
def test_the_encoder_is_base32hex_of_the_96_bits_left_aligned(raw: bytes) -> None:
    assert _encode_12(raw) == _by_definition(raw)


@given(st.integers(0, 0xFFFFFFFF), st.integers(0, 0xFFFFFF))
def test_the_fast_path_of_new_id_encodes_the_same_bits(seconds: int, count: int) -> None:
    raw = seconds.to_bytes(4, "big") + _random + count.to_bytes(3, "big")
    assert _id_of(seconds, count) == _by_definition(raw)


def test_edges_and_a_thousand_random_ids() -> None:
    for raw in (b"\0" * 12, b"\xff" * 12, *(os.urandom(12) for _ in range(1000))):
        assert _encode_12(raw) == _by_definition(raw)
    assert _encode_12(b"\xff" * 12) == "v" * 19 + "g"


def test_ids_sort_by_creation_and_use_the_alphabet() -> None:
    made = [new_id(1_800_000_000.0 + second) for second in range(3) for _ in range(50)]
    assert made == sorted(made) and len(set(made)) == len(made)
    assert all(len(i) == 20 and is_valid_id(i) for i in made)
