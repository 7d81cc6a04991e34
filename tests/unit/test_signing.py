"""X-Dt-Signature: byte-identical to DT Cloud's captured tokens and to PyJWT, and verifiable by the
official receiver library."""

from __future__ import annotations

import base64
import datetime as real_datetime
import hashlib
import json
from typing import Any

import jwt
import pytest
from dtintegrations import data_connector

from conduit.delivery.signing import push_claims, sign_push, sign_push_reference

# DT's own test secret is 11 bytes; PyJWT warns about short HMAC keys, which is not tested here.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

SECRET = "test-secret"

# SPEC §1/§2: the two captured requests (python-integrations/tests/events.py), body bytes verbatim.
TOUCH_BODY = (
    b'{"event":{"eventId":"c82gg9catj3vmh4248og","targetName":"projects/c14u9p094l47cdv1o3pg/devices/'
    b'emuc17m6d7lq0bgk44smcqg","eventType":"touch","data":{"touch":{"updateTime":"2022-02-10T12:42:13.'
    b'313949Z"}},"timestamp":"2022-02-10T12:42:13.313949Z"},"labels":{"name":"touch"},"metadata":{"dev'
    b'iceId":"emuc17m6d7lq0bgk44smcqg","projectId":"c14u9p094l47cdv1o3pg","deviceType":"touch","produc'
    b'tNumber":""}}'
)
TOUCH_TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJjaGVja3N1bSI6ImYyYjVkYzA0OTY0MzcyMDFkM2NlZTE1NmMyMzNhMTMzNTYw"
    "M2Q0NjUiLCJjaGVja3N1bV9zaGEyNTYiOiJhZmQ4MWExNmJiOWMwNzZlNTdmOTI3MjhmMjg0ZmY1NTgzMWJmZGYxZDNjMmMxMGI4"
    "MzM1NjdmNTIxZDc4MmRlIiwiZXhwIjoxNjQ0NTAwNTMzLCJpYXQiOjE2NDQ0OTY5MzMsImp0aSI6ImM4MmdnOTloZ2EzNWpjMmFm"
    "a2VnIn0.gm8m_HrhlOnAyS08CfR_RNYdZQIpGV6E8bk3UiAR3uo"
)
TEMPERATURE_BODY = (
    b'{"event":{"eventId":"cpbg96qngr7ai7ldarrg","targetName":"projects/ccol8iuk9smqiha4e8l0/devices/'
    b'emucdd6ef2eu277bo8f52vg","eventType":"temperature","data":{"temperature":{"value":27,"updat'
    b'eTime":"2024-05-29T10:34:03.970415Z","samples":[{"value":27,"sampleTime":"2024-05-29T10:34:0'
    b'3.970415Z"}],"isBackfilled":false}},"timestamp":"2024-05-29T10:34:03.970415Z"},"labels":{"na'
    b'me":"test temp"},"metadata":{"deviceId":"emucdd6ef2eu277bo8f52vg","projectId":"ccol8iuk9smqih'
    b'a4e8l0","deviceType":"temperature","productNumber":""}}'
)
TEMPERATURE_TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJjaGVja3N1bSI6IjBmNzUzOTM5YTEzNzdhM2M5NGFiZDJjZmViZGMyY2I0NzU2"
    "YzNmYzMiLCJjaGVja3N1bV9zaGEyNTYiOiI1YjVmYzJlN2M3NjM3YWIzN2RiNDJiNzQ1YmY2ZjEyOWZhZTk3ODJmOTUzZWQzZGM2"
    "NDM1YzMyMTQ4ZjQxNWQ0IiwiZXhwIjoxNzE2OTgyNDQzLCJpYXQiOjE3MTY5Nzg4NDMsImp0aSI6ImNwYmc5NnQxaXNqbHIydmRv"
    "cmMwIn0.A4r91SKDW4IqYtb1eXuTQCUxM6GnouPbt94Ywd-vCpU"
)
VECTORS = [
    pytest.param(TOUCH_BODY, TOUCH_TOKEN, 1644496933, "c82gg99hga35jc2afkeg", id="touch-2022"),
    pytest.param(
        TEMPERATURE_BODY,
        TEMPERATURE_TOKEN,
        1716978843,
        "cpbg96t1isjlr2vdorc0",
        id="temperature-2024",
    ),
]


def _segment(token: str, index: int) -> Any:
    part = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_vectors_are_what_spec_says() -> None:
    assert hashlib.sha1(TOUCH_BODY).hexdigest() == "f2b5dc0496437201d3cee156c233a1335603d465"
    assert hashlib.sha256(TEMPERATURE_BODY).hexdigest() == (
        "5b5fc2e7c7637ab37db42b745bf6f129fae9782f953ed3dc6435c32148f415d4"
    )


@pytest.mark.parametrize(("body", "token", "iat", "jti"), VECTORS)
def test_reproduces_dt_cloud_captured_token_exactly(
    body: bytes, token: str, iat: int, jti: str
) -> None:
    assert _segment(token, 1)["jti"] == jti and _segment(token, 1)["iat"] == iat
    assert sign_push(body, SECRET, iat=iat, jti=jti) == token
    assert sign_push_reference(body, SECRET, iat=iat, jti=jti) == token


@pytest.mark.parametrize(("body", "token", "iat", "jti"), VECTORS)
def test_captured_and_own_tokens_verify_with_pyjwt(
    body: bytes, token: str, iat: int, jti: str
) -> None:
    ours = sign_push(body, SECRET, iat=iat, jti=jti)
    for candidate in (token, ours):
        claims = jwt.decode(candidate, SECRET, algorithms=["HS256"], options={"verify_exp": False})
        assert claims == push_claims(body, iat=iat, jti=jti)
        assert claims["exp"] - claims["iat"] == 3600
        with pytest.raises(jwt.ExpiredSignatureError):
            jwt.decode(candidate, SECRET, algorithms=["HS256"])
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(candidate, "wrong", algorithms=["HS256"], options={"verify_exp": False})


class _FrozenDatetime(real_datetime.datetime):
    frozen: float = 0.0

    @classmethod
    def now(cls, tz: Any = None) -> Any:
        return real_datetime.datetime.fromtimestamp(cls.frozen, tz)


@pytest.mark.parametrize(("body", "token", "iat", "jti"), VECTORS)
def test_tokens_verify_with_dtintegrations_at_a_frozen_time(
    monkeypatch: pytest.MonkeyPatch, body: bytes, token: str, iat: int, jti: str
) -> None:
    _FrozenDatetime.frozen = iat + 60  # a minute after signing: inside the hour
    monkeypatch.setattr(jwt.api_jwt, "datetime", _FrozenDatetime)
    ours = sign_push(body, SECRET, iat=iat, jti=jti)
    for candidate in (token, ours):
        push = data_connector.HttpPush(
            headers={"x-dt-signature": candidate}, body=body, secret=SECRET
        )
        assert push.event.event_id == json.loads(body)["event"]["eventId"]
        assert push.labels == json.loads(body)["labels"]
        metadata = push.get_device_metadata()
        assert (
            metadata is not None and metadata.device_id == json.loads(body)["metadata"]["deviceId"]
        )


def test_fast_path_is_byte_identical_to_pyjwt_across_inputs() -> None:
    bodies = [b"", b"{}", TOUCH_BODY, '{"v":"snø ☃ \\u0000"}'.encode(), bytes(range(256)) * 40]
    secrets = ["s", SECRET, "ünïcødé-secret", "x" * 200, 'with "quotes" and \\ backslash']
    for body in bodies:
        for secret in secrets:
            for iat, jti in [(0, "a"), (1_900_000_000, "c82gg99hga35jc2afkeg")]:
                expected = sign_push_reference(body, secret, iat=iat, jti=jti)
                assert sign_push(body, secret, iat=iat, jti=jti) == expected
                assert sign_push(body, secret.encode(), iat=iat, jti=jti) == expected


def test_header_and_claims_have_dt_shape() -> None:
    token = sign_push(b"{}", SECRET, iat=100, jti="jti-1")
    assert token.split(".")[0] == "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    assert _segment(token, 0) == {"alg": "HS256", "typ": "JWT"}
    payload = base64.urlsafe_b64decode(token.split(".")[1] + "==")
    assert payload == (
        b'{"checksum":"bf21a9e8fbc5a3846fb05b4fa0859e0917b2202f","checksum_sha256":'
        b'"44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","exp":3700,"iat":100,'
        b'"jti":"jti-1"}'
    )


def test_each_attempt_signature_differs_by_jti_and_time() -> None:
    first = sign_push(TOUCH_BODY, SECRET, iat=1000, jti="aaaaaaaaaaaaaaaaaaaa")
    retry = sign_push(TOUCH_BODY, SECRET, iat=1000, jti="bbbbbbbbbbbbbbbbbbbb")
    later = sign_push(TOUCH_BODY, SECRET, iat=5000, jti="aaaaaaaaaaaaaaaaaaaa")
    assert len({first, retry, later}) == 3
    assert {_segment(t, 1)["checksum_sha256"] for t in (first, retry, later)} == {
        hashlib.sha256(TOUCH_BODY).hexdigest()
    }
