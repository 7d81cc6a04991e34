"""Issue 7, hole 5: a connector's signature secret and custom headers (where users keep their
receivers' API keys) are encrypted at rest, on both backends; rows written before headers were
sealed are sealed at the next start."""

from __future__ import annotations

import orjson

from tests.harness.receivers import Receiver
from tests.harness.server import ServerProcess
from tests.harness.stored import arrange, raw_bytes

API_KEY = "receiver-api-key-7f3a9c"
SIGNATURE_SECRET = "signature-secret-0c41e8d2aa5b"


def _create(server: ServerProcess, url: str) -> str:
    api = server.session()
    project = api.get(f"{server.api}/projects").json()["projects"][0]["name"]
    res = api.post(
        f"{server.api}/{project}/dataconnectors",
        json={
            "type": "HTTP_PUSH",
            "httpConfig": {
                "url": url,
                "signatureSecret": SIGNATURE_SECRET,
                "headers": {"X-Api-Key": API_KEY},
            },
        },
    )
    assert res.status_code == 200, res.text
    return str(res.json()["name"])


def _publish(server: ServerProcess, connector: str) -> None:
    """Publish one event on a new device of the connector's project."""
    api = server.session()
    project = connector.split("/dataconnectors/")[0]
    device = api.post(f"{server.api}/{project}/devices", json={"type": "touch"})
    assert device.status_code == 200, device.text
    published = api.post(f"{server.api}/{device.json()['name']}:publish", json={"touch": {}})
    assert published.status_code == 200, published.text


def _push_one(server: ServerProcess, connector: str, receiver: Receiver) -> None:
    """The next push carries the custom header, signed."""
    count = receiver.count() + 1
    _publish(server, connector)
    got = receiver.wait_for(count)[-1]
    assert got.header("X-Api-Key") == API_KEY
    assert got.header("X-Dt-Signature")


def _headers_read_back(server: ServerProcess, connector: str) -> dict[str, str]:
    res = server.session().get(f"{server.api}/{connector}")
    assert res.status_code == 200, res.text
    return dict(res.json()["httpConfig"]["headers"])


def test_signature_secret_and_custom_headers_are_encrypted_at_rest(
    fresh_server: ServerProcess,
) -> None:
    with Receiver() as receiver:
        fresh_server.start()
        connector = _create(fresh_server, receiver.url)
        _push_one(fresh_server, connector, receiver)
        assert _headers_read_back(fresh_server, connector) == {"X-Api-Key": API_KEY}
        assert fresh_server.stop() == 0

    stored = raw_bytes(fresh_server)
    assert connector.split("/")[-1].encode() in stored, "the connector row is there"
    for clear in (API_KEY, SIGNATURE_SECRET):
        assert clear.encode() not in stored
        assert clear.encode().hex().encode() not in stored


def test_clear_headers_of_an_older_schema_are_sealed_at_the_next_start(
    fresh_server: ServerProcess,
) -> None:
    with Receiver() as receiver:
        fresh_server.start()
        connector = _create(fresh_server, receiver.url)
        connector_id = connector.split("/")[-1]
        assert fresh_server.stop() == 0
        # The row as a server from before sealed headers wrote it: clear JSON in `headers`.
        clear = orjson.dumps({"X-Api-Key": API_KEY}).decode()
        arrange(
            fresh_server,
            "UPDATE dataconnectors SET headers = ?, headers_sealed = NULL WHERE id = ?",
            "UPDATE dataconnectors SET headers = $1, headers_sealed = NULL WHERE id = $2",
            clear,
            connector_id,
        )
        assert API_KEY.encode() in raw_bytes(fresh_server)  # the test's premise

        fresh_server.start()
        assert _headers_read_back(fresh_server, connector) == {"X-Api-Key": API_KEY}
        _push_one(fresh_server, connector, receiver)
        assert fresh_server.stop() == 0
    # Freed pages may still hold the old bytes in a SQLite file; the question is what rows hold.
    arrange(fresh_server, "VACUUM", "SELECT 1")
    assert API_KEY.encode() not in raw_bytes(fresh_server)


def test_headers_set_to_nothing_are_sent_no_more(fresh_server: ServerProcess) -> None:
    """Sealed headers are replaced as a whole: an update to `{}` stores no headers at all."""
    with Receiver() as receiver:
        fresh_server.start()
        connector = _create(fresh_server, receiver.url)
        res = fresh_server.session().patch(
            f"{fresh_server.api}/{connector}",
            params={"update_mask": "httpConfig.headers"},
            json={"httpConfig": {"headers": {}}},
        )
        assert res.status_code == 200, res.text
        assert res.json()["httpConfig"]["headers"] == {}
        _publish(fresh_server, connector)
        [got] = receiver.wait_for(1)
        assert got.header("X-Api-Key") is None
        assert got.header("X-Dt-Signature")
