"""`conduit.receiver.verify_push`: accepts exactly the pushes dtintegrations accepts, with clear
errors."""

from __future__ import annotations

import hashlib

import jwt
import pytest

from conduit.delivery.signing import sign_push
from conduit.receiver import (
    ChecksumMismatch,
    ExpiredSignature,
    InvalidSignature,
    MalformedPush,
    MissingSignature,
    PushVerificationError,
    verify_push,
)
from tests.unit.test_signing import TEMPERATURE_BODY, TEMPERATURE_TOKEN, TOUCH_BODY, TOUCH_TOKEN

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

SECRET = "test-secret"
NOW = 1_800_000_000.0


def _signed(body: bytes, secret: str = SECRET, iat: float = NOW) -> dict[str, str]:
    return {"X-Dt-Signature": sign_push(body, secret, iat=int(iat), jti="c82gg99hga35jc2afkeg")}


def test_verifies_and_parses_a_captured_push() -> None:
    push = verify_push({"x-dt-signature": TOUCH_TOKEN}, TOUCH_BODY, SECRET, now=1644496933 + 1)
    assert push.event_id == "c82gg9catj3vmh4248og"
    assert push.event_type == "touch"
    assert push.labels == {"name": "touch"}
    assert push.device_id == "emuc17m6d7lq0bgk44smcqg"
    assert push.metadata is not None and push.metadata["projectId"] == "c14u9p094l47cdv1o3pg"
    assert push.claims is not None and push.claims["jti"] == "c82gg99hga35jc2afkeg"
    temperature = verify_push(
        [("X-DT-SIGNATURE", TEMPERATURE_TOKEN)], TEMPERATURE_BODY, SECRET, now=1716978843 + 3599
    )
    assert temperature.event["data"]["temperature"]["value"] == 27


@pytest.mark.parametrize(
    "name", ["X-Dt-Signature", "x-dt-signature", "X-DT-SIGNATURE", "x-Dt-sIgnature"]
)
def test_header_name_is_case_insensitive(name: str) -> None:
    token = _signed(TOUCH_BODY)["X-Dt-Signature"]
    assert (
        verify_push({name: token, "Other": "x"}, TOUCH_BODY, SECRET, now=NOW).event_type == "touch"
    )


def test_missing_header() -> None:
    with pytest.raises(MissingSignature):
        verify_push({"Content-Type": "application/json"}, TOUCH_BODY, SECRET, now=NOW)


def test_wrong_secret_and_garbage_and_other_algorithms_are_invalid() -> None:
    with pytest.raises(InvalidSignature):
        verify_push(_signed(TOUCH_BODY, secret="other"), TOUCH_BODY, SECRET, now=NOW)
    with pytest.raises(InvalidSignature):
        verify_push({"X-Dt-Signature": "not.a.jwt"}, TOUCH_BODY, SECRET, now=NOW)
    claims = {"checksum_sha256": hashlib.sha256(TOUCH_BODY).hexdigest(), "exp": NOW + 60}
    unsigned = jwt.encode(claims, None, algorithm="none")
    with pytest.raises(InvalidSignature):
        verify_push({"X-Dt-Signature": unsigned}, TOUCH_BODY, SECRET, now=NOW)
    hs512 = jwt.encode(claims, SECRET, algorithm="HS512")
    with pytest.raises(InvalidSignature):
        verify_push({"X-Dt-Signature": hs512}, TOUCH_BODY, SECRET, now=NOW)


def test_expired_exactly_at_exp() -> None:
    headers = _signed(TOUCH_BODY, iat=NOW)
    verify_push(headers, TOUCH_BODY, SECRET, now=NOW + 3599.9)
    with pytest.raises(ExpiredSignature):
        verify_push(headers, TOUCH_BODY, SECRET, now=NOW + 3600)
    with pytest.raises(ExpiredSignature):  # the captured token, at today's time
        verify_push({"X-Dt-Signature": TOUCH_TOKEN}, TOUCH_BODY, SECRET)


def test_checksum_covers_the_raw_bytes() -> None:
    headers = _signed(TOUCH_BODY)
    reformatted = TOUCH_BODY.replace(b'":"', b'": "')  # same JSON, other bytes
    with pytest.raises(ChecksumMismatch):
        verify_push(headers, reformatted, SECRET, now=NOW)
    with pytest.raises(ChecksumMismatch):
        verify_push(headers, TOUCH_BODY + b" ", SECRET, now=NOW)


def test_old_tokens_with_only_sha1_checksum_still_verify() -> None:
    claims = {
        "checksum": hashlib.sha1(TOUCH_BODY).hexdigest(),
        "exp": int(NOW) + 3600,
        "iat": int(NOW),
        "jti": "x",
    }
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    assert verify_push({"X-Dt-Signature": token}, TOUCH_BODY, SECRET, now=NOW).event_type == "touch"
    with pytest.raises(ChecksumMismatch):
        verify_push({"X-Dt-Signature": token}, TOUCH_BODY + b"\n", SECRET, now=NOW)


def test_malformed_bodies_are_rejected_after_verification() -> None:
    for body in (b"not json", b"[]", b'{"labels":{}}', b'{"event":{},"labels":[]}'):
        with pytest.raises(MalformedPush):
            verify_push(_signed(body), body, SECRET, now=NOW)


def test_every_error_is_a_push_verification_error_and_secret_must_be_a_string() -> None:
    for cls in (
        MissingSignature,
        InvalidSignature,
        ExpiredSignature,
        ChecksumMismatch,
        MalformedPush,
    ):
        assert issubclass(cls, PushVerificationError)
    with pytest.raises(ValueError):
        verify_push(_signed(TOUCH_BODY), TOUCH_BODY, "", now=NOW)


def test_unsigned_connector_push_parses_without_a_secret() -> None:
    push = verify_push({}, TOUCH_BODY, None)
    assert push.claims is None and push.labels == {"name": "touch"}


def test_metadata_is_none_for_non_device_events() -> None:
    body = (
        b'{"event":{"eventId":"e","targetName":"projects/p","eventType":"x","data":{},'
        b'"timestamp":"t"},"labels":{},"metadata":{}}'
    )
    push = verify_push(_signed(body), body, SECRET, now=NOW)
    assert push.metadata is None and push.device_id is None
