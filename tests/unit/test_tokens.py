"""The token rules as pure functions of `now`: assertions (the JWT-bearer grant), access tokens,
and the cache of verified credentials that keeps them off the hot path.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import jwt
import pytest

from conduit.auth.credential_cache import CredentialCache, Identity
from conduit.auth.tokens import (
    ACCESS_TOKEN_LIFETIME,
    issue_access_token,
    read_assertion_header,
    verify_access_token,
    verify_assertion,
)
from conduit.domain.errors import BadRequest, Unauthorized

NOW = 1_700_000_000.0
SECRET = "0123456789abcdef0123456789abcdef"
AUD = "http://127.0.0.1:8080/oauth2/token"
SIGNING_KEY = b"k" * 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make(claims: dict[str, object], *, secret: str = SECRET, kid: str = "key1") -> str:
    """An HS256 JWT signed by hand, so claims of any JSON type (NaN included) can be sent."""
    header = _b64(json.dumps({"alg": "HS256", "kid": kid, "typ": "JWT"}).encode())
    payload = _b64(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def good(**overrides: object) -> dict[str, object]:
    claims: dict[str, object] = {
        "iat": int(NOW),
        "exp": int(NOW) + 3600,
        "aud": AUD,
        "iss": "a@b.c",
    }
    claims.update(overrides)
    return claims


def test_a_good_assertion_names_its_key_and_issuer() -> None:
    verified = verify_assertion(make(good()), SECRET, [AUD], NOW)
    assert (verified.key_id, verified.issuer) == ("key1", "a@b.c")


def test_any_of_the_accepted_audiences_will_do() -> None:
    token = make(good(aud="http://localhost:9/oauth2/token"))
    assert verify_assertion(token, SECRET, [AUD, "http://localhost:9/oauth2/token"], NOW).issuer


@pytest.mark.parametrize(
    ("now", "fine"),
    [
        (NOW + 3600 + 59, True),  # within the minute of leeway after exp
        (NOW + 3600 + 61, False),
        (NOW - 59, True),  # iat a little in the future: clocks differ
        (NOW - 61, False),
    ],
)
def test_expiry_and_issue_time_are_checked_against_now(now: float, fine: bool) -> None:
    token = make(good())
    if fine:
        verify_assertion(token, SECRET, [AUD], now)
    else:
        with pytest.raises(BadRequest):
            verify_assertion(token, SECRET, [AUD], now)


@pytest.mark.parametrize(
    "claims",
    [
        good(exp=int(NOW) + 3601),
        good(exp=int(NOW) - 1),
        good(exp=float("nan")),
        good(exp=float("inf")),
        good(iat=float("-inf")),
        good(iat="now"),
        good(iat=False),
        good(iss=7),
        good(iss=""),
        good(aud="https://identity.disruptive-technologies.com/oauth2/token"),
        good(nbf=NOW + 120),
        {"iat": int(NOW), "exp": int(NOW) + 60, "aud": AUD},
        {"iat": int(NOW), "aud": AUD, "iss": "a@b.c"},
        {"exp": int(NOW) + 60, "aud": AUD, "iss": "a@b.c"},
    ],
)
def test_bad_claims_are_400(claims: dict[str, object]) -> None:
    with pytest.raises(BadRequest):
        verify_assertion(make(claims), SECRET, [AUD], NOW)


def test_wrong_secret_is_400() -> None:
    with pytest.raises(BadRequest, match="signature"):
        verify_assertion(make(good(), secret="f" * 32), SECRET, [AUD], NOW)


@pytest.mark.parametrize(
    "assertion",
    [
        "",
        "garbage",
        "a.b.c",
        "eyJhbGciOiJub25lIiwia2lkIjoia2V5MSJ9.eyJpc3MiOiJhQGIuYyJ9.",  # alg none
        jwt.encode({"iss": "a@b.c"}, SECRET, algorithm="HS256"),  # no kid
        "eyJhbGciOiJIUzI1NiIsImtpZCI6NX0.eyJpc3MiOiJhQGIuYyJ9.c2ln",  # kid is a number
        jwt.encode({"iss": "a@b.c"}, SECRET * 2, algorithm="HS384", headers={"kid": "key1"}),
        "x" * 9000,
    ],
)
def test_header_must_be_hs256_with_a_kid(assertion: str) -> None:
    with pytest.raises(BadRequest):
        read_assertion_header(assertion)


def test_access_tokens_live_exactly_one_hour() -> None:
    token = issue_access_token(SIGNING_KEY, "acct", "key1", NOW)
    claims = jwt.decode(token, SIGNING_KEY, algorithms=["HS256"], options={"verify_exp": False})
    assert claims["exp"] - claims["iat"] == ACCESS_TOKEN_LIFETIME == 3600
    verified = verify_access_token(SIGNING_KEY, token, NOW + 3599)
    assert (verified.account_id, verified.key_id, verified.expires) == ("acct", "key1", NOW + 3600)
    with pytest.raises(Unauthorized, match="expired"):
        verify_access_token(SIGNING_KEY, token, NOW + 3600)


def test_an_old_token_is_expired_now() -> None:
    old = issue_access_token(SIGNING_KEY, "acct", "key1", NOW - 3601)
    with pytest.raises(Unauthorized, match="expired"):
        verify_access_token(SIGNING_KEY, old, NOW)


def test_each_token_is_unique() -> None:
    assert issue_access_token(SIGNING_KEY, "a", "k", NOW) != issue_access_token(
        SIGNING_KEY, "a", "k", NOW
    )


@pytest.mark.parametrize(
    "token",
    [
        issue_access_token(b"another key" * 3, "acct", "key1", NOW),
        jwt.encode({"sub": "acct", "kid": "key1", "exp": NOW + 60}, SIGNING_KEY, "HS256"),  # no typ
        jwt.encode(
            {"sub": "acct", "exp": NOW + 60, "typ": "access"}, SIGNING_KEY, "HS256"
        ),  # no kid
        jwt.encode({"sub": 5, "kid": "k", "exp": NOW + 60, "typ": "access"}, SIGNING_KEY, "HS256"),
        jwt.encode({"sub": "a", "kid": "k", "exp": "later", "typ": "access"}, SIGNING_KEY, "HS256"),
        make(good()),  # an assertion is not an access token
        "not a token",
    ],
)
def test_forged_or_foreign_access_tokens_are_401(token: str) -> None:
    with pytest.raises(Unauthorized):
        verify_access_token(SIGNING_KEY, token, NOW)


def test_cache_remembers_until_expiry() -> None:
    cache = CredentialCache()
    who = Identity("acct", "key1")
    cache.put("bearer:t", who, expires=NOW + 10)
    assert cache.get("bearer:t", NOW + 9.9) == who
    assert cache.get("bearer:t", NOW + 10) is None
    assert len(cache) == 0, "an expired entry is dropped when found"


def test_cache_is_bounded_and_drops_the_oldest() -> None:
    cache = CredentialCache(max_entries=3)
    for i in range(5):
        cache.put(f"t{i}", Identity(f"a{i}", "k"), NOW + 60)
    assert len(cache) == 3
    assert [cache.get(f"t{i}", NOW) for i in range(2)] == [None, None]
    assert cache.get("t4", NOW) == Identity("a4", "k")


def test_basic_cache_keys_do_not_hold_the_secret() -> None:
    key = CredentialCache.basic_key("a2V5OnNlY3JldA==")
    assert "a2V5OnNlY3JldA==" not in key and "secret" not in key
    assert key == CredentialCache.basic_key("a2V5OnNlY3JldA==")
    assert key != CredentialCache.basic_key("a2V5OnNlY3JldB==")
