"""Label rules (SPEC §11), how a batch of label changes applies, and label filters."""

from __future__ import annotations

import pytest

from conduit.domain.errors import BadRequest
from conduit.domain.labels import (
    MAX_LABELS,
    LabelFilter,
    TooManyLabels,
    apply_changes,
    check_key,
    check_label_keys,
    check_labels,
    matches_all,
    parse_label_filters,
    replace_labels,
)


@pytest.mark.parametrize(
    "key", ["name", "a", "room-number", "x.y_z-9", "A" * 128, "virtual-sensor"]
)
def test_valid_keys(key: str) -> None:
    assert check_key(key) == key


@pytest.mark.parametrize(
    "key", ["", "A" * 129, "has space", "ünïcode", "a/b", "a=b", "a:b", 5, None]
)
def test_invalid_keys(key: object) -> None:
    with pytest.raises(BadRequest):
        check_key(key)


def test_values_may_be_empty_or_up_to_1024_characters() -> None:
    assert check_labels({"virtual-sensor": "", "long": "v" * 1024}) == {
        "virtual-sensor": "",
        "long": "v" * 1024,
    }
    with pytest.raises(BadRequest, match="1024"):
        check_labels({"long": "v" * 1025})
    with pytest.raises(BadRequest, match="string value"):
        check_labels({"n": 5})
    with pytest.raises(BadRequest, match="object"):
        check_labels(["name"])


def test_at_most_100_labels() -> None:
    assert len(check_labels({f"k{i}": "" for i in range(MAX_LABELS)})) == MAX_LABELS
    with pytest.raises(TooManyLabels):
        check_labels({f"k{i}": "" for i in range(MAX_LABELS + 1)})


def test_label_key_lists() -> None:
    assert check_label_keys(["a", "b"]) == ["a", "b"]
    with pytest.raises(BadRequest):
        check_label_keys("a")
    with pytest.raises(BadRequest):
        check_label_keys(["ok", "not ok"])


def test_changes_report_added_modified_and_removed() -> None:
    change = apply_changes(
        {"name": "old", "keep": "1", "gone": "x"},
        add={"name": "new", "fresh": "2", "keep": "1"},
        remove=["gone", "absent"],
    )
    assert change.labels == {"name": "new", "keep": "1", "fresh": "2"}
    assert change.added == {"fresh": "2"}
    assert change.modified == {"name": "new"}
    assert change.removed == ["gone"]
    assert change.changed
    assert change.event_data() == {
        "added": {"fresh": "2"},
        "modified": {"name": "new"},
        "removed": ["gone"],
    }


def test_a_change_to_the_same_state_is_no_change() -> None:
    change = apply_changes({"a": "1"}, add={"a": "1"}, remove=["b"])
    assert not change.changed
    assert change.labels == {"a": "1"}


def test_a_change_past_the_limit_is_refused_but_shrinking_is_fine() -> None:
    full = {f"k{i}": "" for i in range(MAX_LABELS)}
    with pytest.raises(TooManyLabels):
        apply_changes(full, add={"one-more": ""}, remove=[])
    assert apply_changes(full, add={"k0": "changed"}, remove=[]).modified == {"k0": "changed"}
    assert len(apply_changes(full, add={"new": ""}, remove=["k1"]).labels) == MAX_LABELS


def test_replace_labels_computes_the_full_difference() -> None:
    change = replace_labels({"a": "1", "b": "2"}, {"b": "3", "c": "4"})
    assert change.labels == {"b": "3", "c": "4"}
    assert (change.added, change.modified, change.removed) == ({"c": "4"}, {"b": "3"}, ["a"])


def test_label_filters() -> None:
    filters = parse_label_filters(["room=99", "floor", "group="])
    assert filters == [
        LabelFilter("room", "99"),
        LabelFilter("floor", None),
        LabelFilter("group", None),
    ]
    assert matches_all({"room": "99", "floor": "", "group": "red"}, filters)
    assert not matches_all({"room": "98", "floor": "", "group": "red"}, filters)
    assert not matches_all({"room": "99", "group": "red"}, filters)
    assert parse_label_filters(["note=a=b"]) == [LabelFilter("note", "a=b")]
    assert matches_all({}, [])
    with pytest.raises(BadRequest):
        parse_label_filters(["bad key=1"])
