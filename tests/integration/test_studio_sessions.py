"""Studio's people: `conduit user add`, sign-in, the session cookie, CSRF, sign-out, throttling,
expiry, and users as members (issue 8). Real servers, both backends."""

from __future__ import annotations

import re
from pathlib import Path

import requests

from tests.harness.resources import new_project
from tests.harness.server import ServerProcess
from tests.harness.stored import arrange
from tests.harness.users import add_user, conduit_user, sign_in

CONNECTOR = {"displayName": "x", "httpConfig": {"url": "http://127.0.0.1:9/push"}}


def test_a_user_signs_in_and_holds_exactly_its_roles(
    server: ServerProcess, api: requests.Session, organization_id: str, project_id: str
) -> None:
    email, password = add_user(server, "project.user", project_id)
    res = requests.post(f"{server.url}/auth/session", json={"email": email, "password": password})
    assert res.status_code == 200, res.text
    cookie = res.headers["set-cookie"]
    assert cookie.startswith("conduit_session=")
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/"):
        assert attribute.lower() in cookie.lower(), cookie
    assert res.json()["user"]["email"] == email
    browser = sign_in(server, email, password)
    visible = browser.http.get(f"{server.api}/projects").json()["projects"]
    assert [p["name"] for p in visible] == [f"projects/{project_id}"]
    assert browser.http.get(f"{server.api}/projects/{project_id}/dataconnectors").status_code == 200
    # A project user may read connectors, not create them; the API refuses whatever the page shows.
    refused = browser.write(
        "POST", f"{server.api}/projects/{project_id}/dataconnectors", json=CONNECTOR
    )
    assert refused.status_code == 403, refused.text
    other = new_project(api, server, organization_id)
    assert browser.http.get(f"{server.api}/projects/{other}").status_code == 404
    members = api.get(f"{server.api}/projects/{project_id}/members").json()["members"]
    [mine] = [m for m in members if m["email"] == email]
    assert (mine["accountType"], mine["status"], mine["roles"]) == (
        "USER",
        "ACCEPTED",
        ["roles/project.user"],
    )
    assert mine["name"].endswith(browser.user_id)


def test_removing_a_users_membership_ends_its_access_at_the_next_request(
    server: ServerProcess, api: requests.Session, project_id: str
) -> None:
    email, password = add_user(server, "project.developer", project_id)
    browser = sign_in(server, email, password)
    url = f"{server.api}/projects/{project_id}/dataconnectors"
    assert browser.http.get(url).status_code == 200
    removed = api.delete(f"{server.api}/projects/{project_id}/members/{browser.user_id}")
    assert removed.status_code == 200, removed.text
    assert browser.http.get(url).status_code == 404
    assert browser.write("POST", url, json=CONNECTOR).status_code == 404
    assert browser.http.get(f"{server.api}/projects").json()["projects"] == []


def test_a_write_without_the_csrf_token_is_refused_and_changes_nothing(
    server: ServerProcess, project_id: str
) -> None:
    email, password = add_user(server, "project.admin", project_id)
    browser = sign_in(server, email, password)
    url = f"{server.api}/projects/{project_id}/dataconnectors"
    missing = browser.http.post(url, json=CONNECTOR)
    wrong = browser.http.post(url, json=CONNECTOR, headers={"X-CSRF-Token": browser.csrf + "x"})
    for res in (missing, wrong):
        assert res.status_code == 403, res.text
        assert "CSRF" in res.json()["error"]
    assert browser.http.get(url).json()["dataConnectors"] == []
    made = browser.write("POST", url, json=CONNECTOR)
    assert made.status_code == 200, made.text
    assert len(browser.http.get(url).json()["dataConnectors"]) == 1


def test_the_session_endpoint_gives_a_reloaded_page_its_csrf_token(
    server: ServerProcess, project_id: str
) -> None:
    email, password = add_user(server, "project.user", project_id)
    browser = sign_in(server, email, password)
    again = browser.http.get(f"{server.url}/auth/session")
    assert again.status_code == 200
    assert again.json()["csrfToken"] == browser.csrf
    assert requests.get(f"{server.url}/auth/session").status_code == 401


def test_sign_out_ends_the_session_wherever_its_cookie_was_copied(
    server: ServerProcess, project_id: str
) -> None:
    email, password = add_user(server, "project.user", project_id)
    browser = sign_in(server, email, password)
    copied = dict(browser.http.cookies)
    no_token = browser.http.delete(f"{server.url}/auth/session")
    assert no_token.status_code == 403
    out = browser.write("DELETE", f"{server.url}/auth/session")
    assert out.status_code == 200
    assert (
        'conduit_session=""' in out.headers["set-cookie"]
        or "Max-Age=0" in out.headers["set-cookie"]
    )
    replayed = requests.get(f"{server.api}/projects", cookies=copied)
    assert replayed.status_code == 401
    assert "sign in again" in replayed.json()["error"]


def test_wrong_password_and_unknown_email_get_the_same_answer(
    server: ServerProcess, project_id: str
) -> None:
    email, _ = add_user(server, "project.user", project_id)
    answers = [
        requests.post(f"{server.url}/auth/session", json={"email": e, "password": "wrong-password"})
        for e in (email, "nobody-" + email)
    ]
    assert [a.status_code for a in answers] == [401, 401]
    assert answers[0].json()["error"] == answers[1].json()["error"] == "wrong email or password"
    assert all("set-cookie" not in a.headers for a in answers)


def test_malformed_sign_ins_are_400_in_the_error_format(server: ServerProcess) -> None:
    url = f"{server.url}/auth/session"
    for body in (
        {},
        {"email": "a@b.c"},
        {"email": 3, "password": "x"},
        {"email": "a@b.c", "password": ["x"]},
        {"email": "a@b.c", "password": "long enough", "extra": 1},
    ):
        res = requests.post(url, json=body)
        assert res.status_code == 400, (body, res.text)
        assert set(res.json()) >= {"error", "code", "help"}
    assert (
        requests.post(
            url, data="not json", headers={"content-type": "application/json"}
        ).status_code
        == 400
    )


def test_an_expired_session_is_refused(server: ServerProcess, project_id: str) -> None:
    email, password = add_user(server, "project.user", project_id)
    browser = sign_in(server, email, password)
    assert browser.http.get(f"{server.api}/projects").status_code == 200
    # Twelve hours after sign-in (a state only time produces; the rule itself is
    # test_user_store.py's, with a clock advanced).
    arrange(
        server,
        "UPDATE user_sessions SET expire_time = create_time - 1 WHERE csrf_token = ?",
        "UPDATE user_sessions SET expire_time = create_time - 1 WHERE csrf_token = $1",
        browser.csrf,
    )
    for res in (
        browser.http.get(f"{server.api}/projects"),
        browser.http.get(f"{server.url}/auth/session"),
    ):
        assert res.status_code == 401, res.text


def test_an_invitation_is_accepted_when_its_user_is_created(
    server: ServerProcess, api: requests.Session, organization_id: str, project_id: str
) -> None:
    email = f"invited-{project_id}@example.com"
    invited = api.post(
        f"{server.api}/projects/{project_id}/members",
        json={"email": email, "roles": ["roles/project.developer"]},
    ).json()
    assert invited["status"] == "PENDING"
    other = new_project(api, server, organization_id)
    done = conduit_user(
        server,
        "add",
        "--email",
        email,
        "--role",
        "project.user",
        "--project",
        other,
        password="a long password",
    )
    assert done.returncode == 0, done.stderr
    after = api.get(f"{server.api}/{invited['name']}").json()
    assert after["status"] == "ACCEPTED"
    browser = sign_in(server, email, "a long password")
    assert invited["name"].endswith(browser.user_id)
    seen = {p["name"] for p in browser.http.get(f"{server.api}/projects").json()["projects"]}
    assert seen == {f"projects/{project_id}", f"projects/{other}"}
    # Adding an existing user elsewhere makes an accepted member with the same id at once.
    third = new_project(api, server, organization_id)
    added = api.post(
        f"{server.api}/projects/{third}/members",
        json={"email": email, "roles": ["roles/project.user"]},
    ).json()
    assert (added["status"], added["accountType"]) == ("ACCEPTED", "USER")
    assert added["name"].endswith(browser.user_id)


def test_user_add_refuses_bad_input_with_one_line(server: ServerProcess, project_id: str) -> None:
    email, _ = add_user(server, "project.user", project_id)
    cases = [
        (
            ["--email", email, "--role", "project.user", "--project", project_id],
            "a long password",
            "already exists",
        ),
        (
            ["--email", "new@example.com", "--role", "boss", "--project", project_id],
            "a long password",
            "unknown role",
        ),
        (
            ["--email", "new@example.com", "--role", "project.user", "--project", project_id],
            "short",
            "at least 10",
        ),
        (
            ["--email", "not-an-email", "--role", "project.user", "--project", project_id],
            "a long password",
            "email",
        ),
        (
            ["--email", "new@example.com", "--role", "project.user", "--project", "nope"],
            "a long password",
            "no project",
        ),
    ]
    for args, password, expected in cases:
        done = conduit_user(server, "add", *args, password=password)
        assert done.returncode == 1, (args, done.stdout)
        assert expected in done.stderr and "Traceback" not in done.stderr, done.stderr
    no_terminal = conduit_user(server, "add", "--email", "x@example.com", "--role", "project.user")
    assert no_terminal.returncode == 1 and "--password-stdin" in no_terminal.stderr


def test_passwd_changes_the_password_and_ends_every_session(
    server: ServerProcess, project_id: str
) -> None:
    email, password = add_user(server, "project.user", project_id)
    browser = sign_in(server, email, password)
    done = conduit_user(server, "passwd", "--email", email, password="a brand new password")
    assert done.returncode == 0, done.stderr
    assert browser.http.get(f"{server.api}/projects").status_code == 401
    old = requests.post(f"{server.url}/auth/session", json={"email": email, "password": password})
    assert old.status_code == 401
    sign_in(server, email, "a brand new password")


def test_guessing_a_password_is_throttled(tmp_path: Path) -> None:
    server = ServerProcess(
        data_dir=tmp_path, env={"CONDUIT_ADMIN_PASSWORD": "the admin's password"}
    ).start()
    try:
        url = f"{server.url}/auth/session"
        email = "admin@conduit.local"
        wrong = [
            requests.post(url, json={"email": email, "password": f"guess {i:05d}"})
            for i in range(5)
        ]
        assert [r.status_code for r in wrong] == [401] * 5
        for password in ("guess 99999", "the admin's password"):
            held = requests.post(url, json={"email": email, "password": password})
            assert held.status_code == 429, held.text
            assert int(held.headers["Retry-After"]) > 0
        # Another email from this address still gets its answer (the address budget is larger).
        other = requests.post(url, json={"email": "other@example.com", "password": "guess 00000"})
        assert other.status_code == 401
    finally:
        server.stop()


def test_a_fresh_data_dir_gets_an_admin_user_with_a_password_printed_once(tmp_path: Path) -> None:
    server = ServerProcess(
        data_dir=tmp_path,
        env={"CONDUIT_ADMIN_PASSWORD": None, "CONDUIT_ADMIN_EMAIL": "ops@example.com"},
    ).start()
    try:
        found = re.search(r"sign in as ops@example\.com, password (\S+) ", server.log())
        assert found, server.log()
        browser = sign_in(server, "ops@example.com", found.group(1))
        [org] = browser.http.get(f"{server.api}/organizations").json()["organizations"]
        made = browser.write(
            "POST",
            f"{server.api}/projects",
            json={"displayName": "by the admin", "organization": org["name"]},
        )
        assert made.status_code == 200, made.text  # an organization admin
        server.stop()
        server.start()
        assert server.log().count(found.group(1)) == 1
    finally:
        server.stop()


def test_a_bad_admin_password_refuses_the_start(tmp_path: Path) -> None:
    server = ServerProcess(data_dir=tmp_path, env={"CONDUIT_ADMIN_PASSWORD": "short"})
    try:
        server.start(timeout=20)
    except RuntimeError as exc:
        assert "CONDUIT_ADMIN_PASSWORD" in str(exc) and "at least 10" in str(exc)
    else:
        raise AssertionError("the server started with a 5-character admin password")
    finally:
        server.stop()
