"""Input rules for accounts, projects and members (`domain/accounts.py`), without a server."""

from __future__ import annotations

import pytest

from conduit.domain.accounts import (
    ORGANIZATION_SCOPE,
    PROJECT_SCOPE,
    check_bool,
    check_display_name,
    check_fields,
    check_roles,
    normalise_email,
    parse_resource_name,
)
from conduit.domain.errors import BadRequest


def test_unknown_fields_are_refused_but_output_only_fields_ignored() -> None:
    check_fields({"displayName": "x", "name": "projects/p"}, ("displayName",), ("name",))
    with pytest.raises(BadRequest, match="colour"):
        check_fields({"displayName": "x", "colour": 1}, ("displayName",), ("name",))


def test_display_names() -> None:
    assert check_display_name("", required=False) == ""
    assert check_display_name("x" * 256, required=True) == "x" * 256
    for bad in (None, 3, ["x"], "x" * 257):
        with pytest.raises(BadRequest):
            check_display_name(bad, required=False)
    with pytest.raises(BadRequest):
        check_display_name("   ", required=True)


def test_booleans_are_json_booleans_only() -> None:
    assert check_bool(True, "f") is True
    for bad in (1, 0, "true", None):
        with pytest.raises(BadRequest):
            check_bool(bad, "f")


def test_emails_are_normalised_and_checked() -> None:
    assert normalise_email("  Ada@Example.COM ") == "ada@example.com"
    for bad in (
        "ada",
        "ada@",
        "@example.com",
        "a b@example.com",
        "ada@example",
        5,
        None,
        "a" * 250 + "@x.io",
    ):
        with pytest.raises(BadRequest):
            normalise_email(bad)


def test_roles_must_fit_the_scope() -> None:
    assert check_roles(["roles/project.user"], PROJECT_SCOPE) == ["roles/project.user"]
    assert check_roles(["roles/organization.admin"], ORGANIZATION_SCOPE) == [
        "roles/organization.admin"
    ]
    for bad in (
        [],
        "roles/project.user",
        [None],
        ["project.user"],
        ["roles/organization.admin"],
        ["roles/project.user", "roles/project.user"],
    ):
        with pytest.raises(BadRequest):
            check_roles(bad, PROJECT_SCOPE)
    with pytest.raises(BadRequest):
        check_roles(["roles/project.admin"], ORGANIZATION_SCOPE)


def test_resource_names() -> None:
    assert parse_resource_name("organizations/abc", "organizations", "organization") == "abc"
    assert parse_resource_name("abc", "organizations", "organization") == "abc"
    for bad in ("", "organizations/", "organizations/a/b", None, 5):
        with pytest.raises(BadRequest):
            parse_resource_name(bad, "organizations", "organization")
