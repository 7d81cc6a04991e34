"""RFC 3339 timestamps as DT Cloud writes them: UTC, microseconds, `Z`."""

from __future__ import annotations

from datetime import UTC, datetime

from conduit.domain.errors import BadRequest


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_rfc3339(value: str, field: str = "time") -> float:
    try:
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        parsed = datetime.fromisoformat(text)
    except (ValueError, AttributeError) as exc:
        raise BadRequest(f"{field} must be an RFC 3339 timestamp") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()
