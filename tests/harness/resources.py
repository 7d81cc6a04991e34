"""Making the resources many tests need, one way: a project, a connector through the official
client."""

from __future__ import annotations

from typing import Any

import requests

from tests.harness.server import ServerProcess


def new_project(
    api: requests.Session, server: ServerProcess, organization_id: str, display_name: str = "test"
) -> str:
    """A new project of the organization; returns its id."""
    res = api.post(
        f"{server.api}/projects",
        json={"displayName": display_name, "organization": f"organizations/{organization_id}"},
    )
    assert res.status_code == 200, res.text
    return str(res.json()["name"].split("/")[1])


def client_connector(dt: Any, project_id: str, url: str, **kwargs: Any) -> Any:
    """A connector made through the official client (`secret` and `headers` go into its
    HttpPushConfig, the rest to `create_data_connector`)."""
    return dt.DataConnector.create_data_connector(
        project_id,
        dt.DataConnector.HttpPushConfig(
            url=url,
            signature_secret=kwargs.pop("secret", ""),
            headers=kwargs.pop("headers", {}),
        ),
        **kwargs,
    )
