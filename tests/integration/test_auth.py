"""Authentication and authorization against a real server.

- `POST /oauth2/token`: the good grant, and every bad one answered 400 (which the official client
  turns into `Unauthorized`).
- Access tokens: one hour; expired, forged or foreign tokens are 401.
- Basic auth: only while the service account has `enableBasicAuth`.
- 401 / 403 / 404 for each role on representative endpoints.
- Key secrets are stored encrypted and never written to the server log.
- The optional per-account rate limit (25 requests / 5 s, bursts, 429 + Retry-After).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import disruptive
import jwt
import pytest
import requests

from conduit.auth.secrets import SecretBox
from conduit.auth.tokens import GRANT_TYPE, issue_access_token
from tests.harness.accounts import ActingAccount, make_account
from tests.harness.server import ServerProcess
from tests.harness.stored import raw_bytes
from tests.harness.wire import assert_error


def b64(data: dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def assertion(
    account: ActingAccount | dict[str, Any],
    *,
    now: float | None = None,
    lifetime: float = 3600,
    aud: str | None = None,
    secret: str | None = None,
    **overrides: Any,
) -> str:
    """A JWT-bearer assertion as the official client makes it, with any claim overridden."""
    creds = (
        account
        if isinstance(account, dict)
        else {
            "keyId": account.key_id,
            "secret": account.secret,
            "email": account.email,
            "tokenEndpoint": f"{account.server.url}/oauth2/token",
        }
    )
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "iat": issued,
        "exp": issued + lifetime,
        "aud": aud or creds["tokenEndpoint"],
        "iss": creds["email"],
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(
        claims, secret or creds["secret"], algorithm="HS256", headers={"kid": creds["keyId"]}
    )


def grant(server: ServerProcess, token: str, grant_type: str = GRANT_TYPE) -> requests.Response:
    return requests.post(
        f"{server.url}/oauth2/token",
        data={"assertion": token, "grant_type": grant_type},
        timeout=5,
    )


# ---- the token endpoint --------------------------------------------------------------------------


def test_good_grant_gives_a_one_hour_bearer_token(
    server: ServerProcess, api: requests.Session
) -> None:
    res = grant(server, assertion(server.credentials))
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["expires_in"] == 3600 and body["token_type"] == "bearer"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 3600
    assert abs(claims["iat"] - time.time()) < 60
    who = requests.get(
        f"{server.api}/projects", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert who.status_code == 200
    assert who.json() == api.get(f"{server.api}/projects").json()


def test_official_client_authenticates_and_refreshes(dt: Any) -> None:
    auth = dt.default_auth
    auth.refresh()
    first = auth.get_token()
    assert first.startswith("Bearer ")
    assert dt.Project.list_projects()
    auth._expiration = 0  # the client renews once its own clock says the token expired
    assert dt.Project.list_projects() and auth.get_token() != first


BAD_GRANTS: dict[str, tuple[Callable[[dict[str, Any]], str], str]] = {
    "expired": (lambda c: assertion(c, now=time.time() - 7200), "expired"),
    "issued in the future": (lambda c: assertion(c, now=time.time() + 600), "future"),
    "lifetime over an hour": (lambda c: assertion(c, lifetime=3601), "lifetime"),
    "expires before issue": (lambda c: assertion(c, lifetime=-10), "before"),
    "wrong audience": (
        lambda c: assertion(c, aud="https://identity.disruptive-technologies.com/oauth2/token"),
        "audience",
    ),
    "wrong secret": (lambda c: assertion(c, secret="0" * 32), "bad signature"),
    "wrong issuer": (lambda c: assertion(c, iss="someone@else.example"), "issuer"),
    "no issuer": (lambda c: assertion(c, iss=None), "iss claim"),
    "no expiry": (lambda c: assertion(c, exp=None), "exp claim"),
    "no audience": (lambda c: _without(c, "aud"), "aud claim"),
    "exp not a number": (lambda c: assertion(c, exp="tomorrow"), "exp must"),
    "exp is NaN": (lambda c: assertion(c, exp=float("nan")), "exp must"),
    "iat is a bool": (lambda c: assertion(c, iat=True), "iat must"),
    "not yet valid": (lambda c: assertion(c, nbf=time.time() + 600), "nbf"),
    "unknown key": (lambda c: assertion({**c, "keyId": "c0000000000000000000"}), "unknown key"),
    "no kid": (lambda c: jwt.encode({"iss": c["email"]}, c["secret"], algorithm="HS256"), "kid"),
    "alg none": (
        lambda c: f"{b64({'alg': 'none', 'kid': c['keyId']})}.{b64({'iss': c['email']})}.",
        "HS256",
    ),
    "alg HS512": (
        lambda c: jwt.encode(
            {"iss": c["email"]}, c["secret"] * 2, algorithm="HS512", headers={"kid": c["keyId"]}
        ),
        "HS256",
    ),
    "garbage": (lambda c: "not-a-jwt", "not a JWT"),
    "three garbage parts": (lambda c: "a.b.c", "not a JWT"),
    "binary header": (lambda c: b64(b"\xff\xfe") + "." + b64({}) + ".sig", "not a JWT"),
    "huge": (lambda c: "a" * 20000, "not a JWT"),
}


def _without(creds: dict[str, Any], claim: str) -> str:
    now = int(time.time())
    claims = {"iat": now, "exp": now + 3600, "aud": creds["tokenEndpoint"], "iss": creds["email"]}
    del claims[claim]
    return jwt.encode(claims, creds["secret"], algorithm="HS256", headers={"kid": creds["keyId"]})


@pytest.mark.parametrize("case", list(BAD_GRANTS))
def test_bad_assertions_are_400(server: ServerProcess, case: str) -> None:
    make, reason = BAD_GRANTS[case]
    assert reason in assert_error(grant(server, make(server.credentials)), 400)["error"]


def test_bad_grant_requests_are_400(server: ServerProcess) -> None:
    good = assertion(server.credentials)
    url = f"{server.url}/oauth2/token"
    assert_error(grant(server, good, grant_type="client_credentials"), 400)
    assert_error(requests.post(url, data={"assertion": good}), 400)
    assert_error(requests.post(url, data={"grant_type": GRANT_TYPE}), 400)
    # Query parameters are not supported: the assertion must be in the form body.
    assert_error(requests.post(url, params={"assertion": good, "grant_type": GRANT_TYPE}), 400)
    assert_error(requests.post(url, json={"assertion": good, "grant_type": GRANT_TYPE}), 400)
    assert_error(
        requests.post(
            url, data=b"\xff\xfe\xfd", headers={"Content-Type": "application/x-www-form-urlencoded"}
        ),
        400,
    )
    assert_error(requests.get(url), 405)


def test_official_client_raises_unauthorized_for_bad_credentials(
    dt: Any, server: ServerProcess
) -> None:
    creds = server.credentials
    auth = dt.Auth.service_account(creds["keyId"], "f" * 32, creds["email"])
    auth.token_endpoint = creds["tokenEndpoint"]
    with pytest.raises(dt.errors.Unauthorized):
        dt.Project.list_projects(auth=auth)


def test_a_deleted_key_can_no_longer_be_exchanged(
    dt: Any, server: ServerProcess, project_id: str
) -> None:
    account = make_account(server, project_id, role=dt.Role.PROJECT_USER)
    assert grant(server, assertion(account)).status_code == 200
    dt.ServiceAccount.delete_key(account.key_id, account.account_id, project_id)
    assert_error(grant(server, assertion(account)), 400)


# ---- access tokens -------------------------------------------------------------------------------


def server_signing_key(server: ServerProcess) -> bytes:
    return SecretBox.load_or_create(server.data_dir).signing_key()


def test_expired_access_token_is_401(server: ServerProcess, project_id: str, dt: Any) -> None:
    account = make_account(server, project_id, role=dt.Role.PROJECT_USER)
    key = server_signing_key(server)
    url = f"{server.api}/projects/{project_id}"
    fresh = issue_access_token(key, account.account_id, account.key_id, time.time())
    assert requests.get(url, headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
    old = issue_access_token(key, account.account_id, account.key_id, time.time() - 3601)
    error = assert_error(requests.get(url, headers={"Authorization": f"Bearer {old}"}), 401)
    assert "expired" in error["error"]
    nearly = issue_access_token(key, account.account_id, account.key_id, time.time() - 3500)
    assert requests.get(url, headers={"Authorization": f"Bearer {nearly}"}).status_code == 200


def test_forged_and_foreign_tokens_are_401(server: ServerProcess) -> None:
    creds = server.credentials
    account_id = creds["email"].split("@")[0]
    url = f"{server.api}/projects"
    forged = issue_access_token(b"not the server key" * 2, account_id, creds["keyId"], time.time())
    untyped = jwt.encode(
        {"sub": account_id, "kid": creds["keyId"], "exp": time.time() + 60},
        server_signing_key(server),
        "HS256",
    )
    for token in (forged, untyped, assertion(creds), "garbage", "a.b.c"):
        assert_error(requests.get(url, headers={"Authorization": f"Bearer {token}"}), 401)


def test_missing_or_malformed_credentials_are_401(server: ServerProcess) -> None:
    url = f"{server.api}/projects"
    creds = server.credentials
    for header in (
        None,
        "",
        "Bearer",
        "Bearer   ",
        "Token abc",
        "Basic",
        "Basic !!!notbase64",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(f"{creds['keyId']}:wrong".encode()).decode(),
        "Basic " + base64.b64encode(f"unknown:{creds['secret']}".encode()).decode(),
        "Basic " + base64.b64encode(b"\xff:\xfe").decode(),
        "Basic \u00ff\u00fe",  # not ASCII at all (found by test_no_server_errors: was a 500)
    ):
        headers = {} if header is None else {"Authorization": header}
        assert_error(requests.get(url, headers=headers), 401)


def test_basic_auth_only_while_enabled(dt: Any, server: ServerProcess, project_id: str) -> None:
    account = make_account(server, project_id, role=dt.Role.PROJECT_USER, basic_auth=False)
    url = f"{server.api}/projects/{project_id}"
    assert_error(account.session().get(url), 401)
    assert account.bearer().get(url).status_code == 200, "OAuth2 works regardless"

    dt.ServiceAccount.update_service_account(
        account.account_id, project_id, basic_auth_enabled=True
    )
    assert account.session().get(url).status_code == 200
    dt.ServiceAccount.update_service_account(
        account.account_id, project_id, basic_auth_enabled=False
    )
    assert_error(account.session().get(url), 401)


# ---- authorization per role ----------------------------------------------------------------------


def test_each_role_gets_200_403_or_404(
    dt: Any, server: ServerProcess, project_id: str, organization_id: str
) -> None:
    users = {
        role: make_account(server, project_id, role=role).bearer()
        for role in (dt.Role.PROJECT_USER, dt.Role.PROJECT_DEVELOPER, dt.Role.PROJECT_ADMIN)
    }
    other = dt.Project.create_project(organization_id, "someone else's").project_id
    users["outsider"] = make_account(server, other, role=dt.Role.PROJECT_ADMIN).bearer()
    p = f"{server.api}/projects/{project_id}"
    calls: list[tuple[str, str, dict[str, Any] | None, dict[str, int]]] = [
        ("GET", p, None, {"project.user": 200, "project.developer": 200, "project.admin": 200}),
        (
            "GET",
            f"{p}/members",
            None,
            {"project.user": 200, "project.developer": 200, "project.admin": 200},
        ),
        ("GET", f"{p}/serviceaccounts", None, {"project.user": 200, "project.admin": 200}),
        (
            "POST",
            f"{p}/serviceaccounts",
            {},
            {"project.user": 403, "project.developer": 403, "project.admin": 200},
        ),
        (
            "POST",
            f"{p}/members",
            {"email": "n@example.com", "roles": ["roles/project.user"]},
            {"project.user": 403, "project.developer": 403, "project.admin": 200},
        ),
        (
            "PATCH",
            p,
            {"displayName": "renamed"},
            {"project.user": 403, "project.developer": 403, "project.admin": 200},
        ),
        (
            "GET",
            f"{server.api}/organizations/{organization_id}/members",
            None,
            {"project.user": 403, "project.admin": 403, "outsider": 403},
        ),
        (
            "POST",
            f"{server.api}/projects",
            {"displayName": "x", "organization": f"organizations/{organization_id}"},
            {"project.admin": 403, "outsider": 403},
        ),
        ("DELETE", p, None, {"project.user": 403, "project.developer": 403}),
    ]
    for method, url, body, expected in calls:
        expected.setdefault("outsider", 404)
        for who, status in expected.items():
            res = users[who].request(method, url, json=body)
            assert res.status_code == status, (method, url, who, res.text)
            if status != 200:
                assert_error(res, status)
    assert_error(requests.get(p), 401)
    assert users["project.admin"].get(f"{server.api}/projects/{other}").status_code == 404


# ---- secrets at rest and in logs -----------------------------------------------------------------


@pytest.fixture
def debug_server(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(data_dir=tmp_path / "conduit", extra_args=["--log-level", "debug"]).start()
    yield proc
    proc.kill()


def test_key_secrets_are_encrypted_at_rest_and_never_logged(debug_server: ServerProcess) -> None:
    server = debug_server
    admin = server.session()
    project = admin.get(f"{server.api}/projects").json()["projects"][0]["name"]
    sa = admin.post(
        f"{server.api}/{project}/serviceaccounts", json={"enableBasicAuth": True}
    ).json()
    admin.post(
        f"{server.api}/{project}/members",
        json={"email": sa["email"], "roles": ["roles/project.user"]},
    )
    created = admin.post(f"{server.api}/{sa['name']}/keys").json()
    secret, key_id = created["secret"], created["key"]["id"]
    # Use the key every way there is, so any logging of credentials would catch it.
    creds = {
        "keyId": key_id,
        "secret": secret,
        "email": sa["email"],
        "tokenEndpoint": f"{server.url}/oauth2/token",
    }
    token = grant(server, assertion(creds)).json()["access_token"]
    assert requests.get(f"{server.api}/{project}", headers={"Authorization": f"Bearer {token}"}).ok
    assert requests.get(f"{server.api}/{project}", auth=(key_id, secret)).ok
    assert_error(grant(server, assertion(creds, secret="w" * 32)), 400)
    bootstrap_secret = server.credentials["secret"]
    assert server.stop() == 0

    stored = raw_bytes(server)
    assert key_id.encode() in stored, "the key row is there"
    for clear in (secret, bootstrap_secret):
        assert clear.encode() not in stored
        assert clear.encode().hex().encode() not in stored
    log = server.log()
    assert "INFO" in log, "the server logged more than warnings"
    assert secret not in log and token not in log
    assert bootstrap_secret not in log, "the first start prints where it is, not the secret"


# ---- rate limit ----------------------------------------------------------------------------------


@pytest.fixture
def limited_server(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(data_dir=tmp_path / "conduit", extra_args=["--rate-limit"]).start()
    yield proc
    proc.kill()


def test_rate_limit_is_off_by_default(api: requests.Session, server: ServerProcess) -> None:
    statuses = {api.get(f"{server.api}/roles").status_code for _ in range(40)}
    assert statuses == {200}


def test_rate_limit_allows_a_burst_of_25_then_429_with_retry_after(
    limited_server: ServerProcess,
) -> None:
    server = limited_server
    admin = server.session()
    url = f"{server.api}/roles"
    started = time.monotonic()
    allowed = 0
    while (refused := admin.get(url)).status_code == 200:
        allowed += 1
        assert allowed < 100, "never limited"
    elapsed = time.monotonic() - started
    # A burst of 25, plus whatever refilled (5 per second) while the burst was being sent.
    assert 25 <= allowed <= 25 + int(elapsed * 5) + 1, (allowed, elapsed)
    body = assert_error(refused, 429)
    assert "rate limit" in body["error"]
    wait = int(refused.headers["Retry-After"])
    assert wait == 1, "one token refills in 0.2 s, rounded up to whole seconds"
    # Waiting as told lets the next request through.
    time.sleep(wait)
    assert admin.get(url).status_code == 200


def _spend_the_budget(admin: requests.Session, server: ServerProcess) -> None:
    """Request until the first 429: 25 requests per 5 s with bursts runs out within a bounded
    number of requests."""
    for _ in range(60):
        if admin.get(f"{server.api}/roles").status_code == 429:
            return
    pytest.fail("no 429 within 60 requests")


def test_rate_limit_is_per_account_and_the_client_waits_as_told(
    limited_server: ServerProcess,
) -> None:
    server = limited_server
    admin = server.session()
    project = admin.get(f"{server.api}/projects").json()["projects"][0]["name"].split("/")[1]
    sa = admin.post(
        f"{server.api}/projects/{project}/serviceaccounts", json={"enableBasicAuth": True}
    ).json()
    admin.post(
        f"{server.api}/projects/{project}/members",
        json={"email": sa["email"], "roles": ["roles/project.user"]},
    )
    key = admin.post(f"{server.api}/{sa['name']}/keys").json()
    _spend_the_budget(admin, server)
    other = requests.get(f"{server.api}/projects/{project}", auth=(key["key"]["id"], key["secret"]))
    assert other.status_code == 200, "another account has its own budget"

    saved = (disruptive.base_url, disruptive.default_auth)
    try:
        disruptive.base_url = server.api
        auth = disruptive.Auth.service_account(
            server.credentials["keyId"], server.credentials["secret"], server.credentials["email"]
        )
        auth.token_endpoint = server.credentials["tokenEndpoint"]
        _spend_the_budget(admin, server)  # again, right before: the bucket refills 5 per second
        started = time.monotonic()
        roles = disruptive.Role.list_roles(
            auth=auth
        )  # 429 first; the client sleeps Retry-After and retries
        assert len(roles) == 4
        assert time.monotonic() - started >= 0.9
    finally:
        disruptive.base_url, disruptive.default_auth = saved


def test_the_audience_is_the_advertised_endpoint_not_the_host_header(
    server: ServerProcess,
) -> None:
    """An assertion made for another server must not be accepted because the client named that
    server in `Host`."""
    elsewhere = assertion(server.credentials, aud="http://evil.example/oauth2/token")
    res = requests.post(
        f"{server.url}/oauth2/token",
        data={"assertion": elsewhere, "grant_type": GRANT_TYPE},
        headers={"Host": "evil.example"},
        timeout=5,
    )
    assert "audience" in assert_error(res, 400)["error"]
    assert grant(server, assertion(server.credentials)).status_code == 200
