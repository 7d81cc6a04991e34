"""The Data Connector write rules: what a create or PATCH body may contain, how a PATCH merges."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
import pytest

from conduit.domain.dataconnector_rules import (
    FORBIDDEN_HEADERS,
    ConnectorUpdate,
    apply_update,
    parse_create,
    parse_update,
    parse_update_mask,
    validate_headers,
)
from conduit.domain.dataconnectors import DataConnector
from conduit.domain.errors import BadRequest

URL = "https://receiver.example/hook"


def create_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "HTTP_PUSH", "httpConfig": {"url": URL}}
    body.update(overrides)
    return body


def stored(**overrides: Any) -> DataConnector:
    fields: dict[str, Any] = {
        "id": "c1",
        "project_id": "p1",
        "display_name": "old",
        "status": "ACTIVE",
        "events": ["touch"],
        "labels": ["name"],
        "url": URL,
        "signature_secret_encrypted": b"enc:old-secret",
        "headers_sealed": fake_seal({"x-old": "1"}),
        "create_time": 1.0,
        "update_time": 1.0,
    }
    fields.update(overrides)
    return DataConnector(**fields)


def fake_encrypt(secret: str) -> bytes:
    return f"enc:{secret}".encode()


def fake_seal(headers: Mapping[str, str]) -> bytes | None:
    return b"sealed:" + orjson.dumps(dict(headers)) if headers else None


def rejects(fn: Any, *args: Any, match: str) -> None:
    with pytest.raises(BadRequest, match=match):
        fn(*args)


# ---- create --------------------------------------------------------------------------------------


def test_minimal_create_fills_in_every_default() -> None:
    new = parse_create({"type": "HTTP_PUSH", "httpConfig": {"url": URL}})
    assert new.display_name == ""
    assert new.status == "ACTIVE"
    assert new.events == [] and new.labels == []
    assert new.url == URL and new.signature_secret == "" and new.headers == {}


def test_create_keeps_every_option_given() -> None:
    new = parse_create(
        {
            "displayName": "my-dcon",
            "type": "HTTP_PUSH",
            "status": "USER_DISABLED",
            "events": ["touch", "temperature"],
            "labels": ["name", "custom_label-02", "room.number"],
            "httpConfig": {"url": URL, "signatureSecret": "s3cret", "headers": {"x-a": "b"}},
        }
    )
    assert new.display_name == "my-dcon"
    assert new.status == "USER_DISABLED"
    assert new.events == ["touch", "temperature"]
    assert new.labels == ["name", "custom_label-02", "room.number"]
    assert new.signature_secret == "s3cret" and new.headers == {"x-a": "b"}


def test_create_without_type_means_http_push() -> None:
    assert parse_create({"httpConfig": {"url": URL}}).url == URL


def test_create_requires_a_url() -> None:
    rejects(parse_create, {"type": "HTTP_PUSH"}, match="httpConfig.url is required")
    rejects(parse_create, create_body(httpConfig={}), match="httpConfig.url is required")
    rejects(parse_create, create_body(httpConfig={"url": ""}), match="must not be empty")


def test_create_ignores_the_output_only_name() -> None:
    new = parse_create(create_body(name="projects/p/dataconnectors/whatever"))
    assert new.url == URL


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (create_body(type="AZURE_SERVICE_BUS"), "type must be 'HTTP_PUSH'"),
        (create_body(type=None), "type must be 'HTTP_PUSH'"),
        (create_body(pubsubConfig={"topic": "t"}), "only HTTP_PUSH"),
        (create_body(eventTypes=["touch"]), "unknown field 'eventTypes'"),
        (create_body(httpConfig={"url": URL, "secret": "x"}), "httpConfig: unknown field 'secret'"),
        (create_body(displayName=3), "displayName must be a string"),
        (create_body(displayName=None), "displayName must be a string"),
        (create_body(name=5), "name must be a string"),
        (create_body(status="SYSTEM_DISABLED"), "set only by Conduit"),
        (create_body(status="active"), "status must be ACTIVE or USER_DISABLED"),
        (create_body(status=True), "status must be a string"),
        (create_body(events="touch"), "events must be an array of strings"),
        (create_body(events=[1]), "events must be an array of strings"),
        (create_body(events=["touch", "ping"]), "unknown event type 'ping'"),
        (create_body(events=["Touch"]), "unknown event type 'Touch'"),
        (create_body(labels={"name": "x"}), "labels must be an array of strings"),
        (create_body(labels=[""]), "labels: label key"),
        (create_body(labels=["has space"]), "labels: label key"),
        (create_body(labels=["k" * 129]), "labels: label key"),
        (create_body(labels=[f"k{i}" for i in range(101)]), "at most 100 label keys"),
        (create_body(httpConfig="https://x"), "httpConfig must be an object"),
        (create_body(httpConfig={"url": 7}), "httpConfig.url must be a string"),
        (create_body(httpConfig={"url": "https://" + "a" * 2048}), "at most 2048"),
        (create_body(httpConfig={"url": URL, "signatureSecret": 1}), "signatureSecret must be"),
        (create_body(httpConfig={"url": URL, "headers": ["a"]}), "headers must be an object"),
    ],
)
def test_create_rejects_bad_fields(body: dict[str, Any], match: str) -> None:
    rejects(parse_create, body, match=match)


def test_every_known_event_type_is_accepted() -> None:
    import disruptive.events

    new = parse_create(create_body(events=list(disruptive.events.EVENT_TYPES)))
    assert set(new.events) == set(disruptive.events.EVENT_TYPES)


def test_duplicate_events_and_labels_keep_the_first_of_each() -> None:
    new = parse_create(create_body(events=["touch", "co2", "touch"], labels=["a", "b", "a"]))
    assert new.events == ["touch", "co2"]
    assert new.labels == ["a", "b"]


def test_a_label_key_of_128_characters_is_fine() -> None:
    assert parse_create(create_body(labels=["k" * 128])).labels == ["k" * 128]


# ---- headers -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(FORBIDDEN_HEADERS))
def test_headers_conduit_sets_cannot_be_overridden_in_any_case(name: str) -> None:
    for spelling in (name, name.upper(), name.title()):
        rejects(validate_headers, {spelling: "x"}, match="cannot be overridden")


def test_the_forbidden_list_is_exactly_the_spec_list() -> None:
    assert set(FORBIDDEN_HEADERS) == {
        "host",
        "content-length",
        "content-type",
        "transfer-encoding",
        "connection",
        "user-agent",
        "x-dt-signature",
    }


@pytest.mark.parametrize("name", ["", "has space", "colon:", 'quote"', "(paren)", "tab\t", "é"])
def test_header_names_must_be_tokens(name: str) -> None:
    rejects(validate_headers, {name: "x"}, match="not a valid header name")


@pytest.mark.parametrize("value", ["a\r\nX-Injected: 1", "line\nfeed", "nul\x00", "bell\x07", "é"])
def test_header_values_must_be_printable_without_cr_lf(value: str) -> None:
    rejects(validate_headers, {"X-A": value}, match="printable ASCII")


def test_header_values_must_be_strings() -> None:
    rejects(validate_headers, {"X-A": 1}, match="must be a string")
    rejects(validate_headers, {"X-A": None}, match="must be a string")


def test_valid_headers_pass_unchanged() -> None:
    headers = {
        "Authorization": "Bearer abc.def",
        "x-api-key": "",
        "X-Tabbed": "a\tb c",
        "weird!#$%&'*+-.^_`|~": "ok",
    }
    assert validate_headers(headers) == headers


def test_at_most_32_headers() -> None:
    assert len(validate_headers({f"X-{i}": "v" for i in range(32)})) == 32
    rejects(validate_headers, {f"X-{i}": "v" for i in range(33)}, match="at most 32 headers")


def test_at_most_8_kib_of_headers_in_all() -> None:
    exactly = {"X-A": "v" * (8192 - 3)}
    assert validate_headers(exactly) == exactly
    rejects(validate_headers, {"X-A": "v" * (8192 - 2)}, match="8 KiB")


def test_header_names_differing_only_in_case_collide() -> None:
    rejects(validate_headers, {"X-Key": "a", "x-key": "b"}, match="appears twice")


# ---- update mask ---------------------------------------------------------------------------------


def test_an_absent_or_empty_mask_means_no_mask() -> None:
    assert parse_update_mask([]) is None
    assert parse_update_mask([""]) is None
    assert parse_update_mask([" , "]) is None


def test_mask_paths_are_comma_separated_or_repeated_in_either_case_style() -> None:
    assert parse_update_mask(["displayName,httpConfig.url", "labels"]) == [
        "displayName",
        "httpConfig.url",
        "labels",
    ]
    assert parse_update_mask(["display_name", "http_config.signature_secret"]) == [
        "displayName",
        "httpConfig.signatureSecret",
    ]
    assert parse_update_mask(["events,events"]) == ["events"]


@pytest.mark.parametrize("path", ["name", "httpConfig.nope", "foo", "eventTypes"])
def test_unknown_mask_paths_are_rejected(path: str) -> None:
    rejects(parse_update_mask, [path], match="unknown field path")


# ---- update without a mask -----------------------------------------------------------------------


def test_an_empty_body_changes_nothing() -> None:
    assert parse_update({}, None).is_empty
    assert parse_update({"httpConfig": {}}, None).is_empty


def test_without_a_mask_every_present_field_is_assigned() -> None:
    update = parse_update({"displayName": "new", "status": "USER_DISABLED"}, None)
    assert update == ConnectorUpdate(display_name="new", status="USER_DISABLED")


def test_without_a_mask_http_config_merges_per_sub_key() -> None:
    update = parse_update({"httpConfig": {"signatureSecret": "new"}}, None)
    assert update == ConnectorUpdate(signature_secret="new")
    current = stored()
    after = apply_update(current, update, encrypt=fake_encrypt, seal_headers=fake_seal, now=2.0)
    assert after.url == current.url and after.headers_sealed == current.headers_sealed
    assert after.signature_secret_encrypted == b"enc:new"


def test_a_whole_resource_sent_back_is_accepted() -> None:
    body = {
        "name": "projects/p1/dataconnectors/c1",
        "displayName": "same",
        "type": "HTTP_PUSH",
        "status": "ACTIVE",
        "events": [],
        "labels": ["name"],
        "httpConfig": {"url": URL, "signatureSecret": "", "headers": {}},
    }
    update = parse_update(body, None)
    assert update.display_name == "same" and update.signature_secret == "" and update.headers == {}


def test_update_validates_every_field_like_create() -> None:
    rejects(parse_update, {"status": "SYSTEM_DISABLED"}, None, match="set only by Conduit")
    rejects(parse_update, {"httpConfig": {"headers": {"Host": "x"}}}, None, match="overridden")
    rejects(parse_update, {"events": ["nope"]}, None, match="unknown event type")
    rejects(parse_update, {"type": "AWS_SQS"}, None, match="type must be")
    rejects(parse_update, {"bogus": 1}, None, match="unknown field 'bogus'")
    rejects(parse_update, {"httpConfig": {"url": ""}}, None, match="must not be empty")


# ---- update with a mask --------------------------------------------------------------------------


def test_with_a_mask_only_the_masked_paths_change() -> None:
    body = {"displayName": "new", "status": "USER_DISABLED", "labels": ["x"]}
    assert parse_update(body, ["displayName"]) == ConnectorUpdate(display_name="new")


def test_with_a_mask_fields_outside_it_are_still_validated() -> None:
    rejects(parse_update, {"displayName": "n", "status": "NOPE"}, ["displayName"], match="status")


def test_a_masked_path_missing_from_the_body_is_cleared() -> None:
    assert parse_update({}, ["displayName", "events", "labels"]) == ConnectorUpdate(
        display_name="", events=[], labels=[]
    )
    assert parse_update(
        {}, ["httpConfig.signatureSecret", "httpConfig.headers"]
    ) == ConnectorUpdate(signature_secret="", headers={})


def test_a_masked_url_or_status_must_be_in_the_body() -> None:
    rejects(parse_update, {}, ["httpConfig.url"], match="no httpConfig.url")
    rejects(parse_update, {}, ["httpConfig"], match="no httpConfig.url")
    rejects(parse_update, {}, ["status"], match="no status")


def test_masking_http_config_replaces_it_whole() -> None:
    update = parse_update({"httpConfig": {"url": "https://new.example/"}}, ["httpConfig"])
    assert update == ConnectorUpdate(url="https://new.example/", signature_secret="", headers={})


def test_masking_sub_paths_of_http_config() -> None:
    body = {"httpConfig": {"url": "https://new.example/", "headers": {"a": "b"}}}
    assert parse_update(body, ["httpConfig.headers"]) == ConnectorUpdate(headers={"a": "b"})
    assert parse_update(body, ["httpConfig.url"]) == ConnectorUpdate(url="https://new.example/")


def test_masking_type_is_a_no_op() -> None:
    assert parse_update({"type": "HTTP_PUSH"}, ["type"]).is_empty


# ---- apply ---------------------------------------------------------------------------------------


def test_an_empty_update_returns_the_stored_connector_itself() -> None:
    current = stored()
    assert (
        apply_update(
            current, ConnectorUpdate(), encrypt=fake_encrypt, seal_headers=fake_seal, now=9.0
        )
        is current
    )


def test_apply_replaces_exactly_the_assigned_fields() -> None:
    current = stored()
    after = apply_update(
        current,
        ConnectorUpdate(display_name="new", events=[], headers={"x-new": "2"}),
        encrypt=fake_encrypt,
        seal_headers=fake_seal,
        now=9.0,
    )
    assert after.display_name == "new"
    assert after.events == []
    assert after.headers_sealed == fake_seal({"x-new": "2"})
    assert after.labels == current.labels and after.url == current.url
    assert after.status == current.status
    assert after.signature_secret_encrypted == current.signature_secret_encrypted
    assert after.update_time == 9.0 and after.create_time == current.create_time


def test_an_empty_secret_removes_the_signature() -> None:
    after = apply_update(
        stored(),
        ConnectorUpdate(signature_secret=""),
        encrypt=fake_encrypt,
        seal_headers=fake_seal,
        now=9.0,
    )
    assert after.signature_secret_encrypted is None


def test_apply_changes_status() -> None:
    after = apply_update(
        stored(),
        ConnectorUpdate(status="USER_DISABLED"),
        encrypt=fake_encrypt,
        seal_headers=fake_seal,
        now=9.0,
    )
    assert after.status == "USER_DISABLED"


def test_a_grace_period_is_a_duration_string_or_a_number_of_seconds() -> None:
    from conduit.domain.dataconnector_rules import parse_duration

    assert parse_duration("86400s", "gracePeriod") == 86400.0
    assert parse_duration("1.5s", "gracePeriod") == 1.5
    assert parse_duration(60, "gracePeriod") == 60.0
    for bad in ["1d", "-1s", "s", "99999999s", True, None, [], -1, 30 * 86400 + 1]:
        with pytest.raises(BadRequest, match="gracePeriod"):
            parse_duration(bad, "gracePeriod")
