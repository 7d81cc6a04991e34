"""The Celery baseline's task (issue 10): what an integrator would write instead of Conduit — one
task per event that builds the push body and its `X-Dt-Signature` (PyJWT, the claims DT sends),
POSTs it with `requests` (10 s timeout, a keep-alive session per worker process) and retries with
exponential backoff. Run by `bench/celery_baseline.py` as
`celery -A celery_tasks worker --concurrency 2` with Redis at 127.0.0.1:6379 as the broker.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from typing import Any

import jwt
import requests
from celery import Celery

BROKER = os.environ.get("CONDUIT_BENCH_BROKER", "redis://127.0.0.1:6379/15")
QUEUE = "conduit-bench"

app = Celery("conduit_bench", broker=BROKER)
app.conf.update(
    task_default_queue=QUEUE,
    task_serializer="json",
    accept_content=["json"],
    task_acks_late=True,  # at least once, as Conduit: a worker killed mid-task does not lose it
    worker_prefetch_multiplier=4,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)

_session = requests.Session()


def push_body(envelope: dict[str, Any], labels: dict[str, str], metadata: dict[str, str]) -> bytes:
    return json.dumps(
        {"event": envelope, "labels": labels, "metadata": metadata}, separators=(",", ":")
    ).encode()


def signature(body: bytes, secret: str) -> str:
    now = int(time.time())
    claims = {
        "checksum": hashlib.sha1(body).hexdigest(),
        "checksum_sha256": hashlib.sha256(body).hexdigest(),
        "exp": now + 3600,
        "iat": now,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


@app.task(bind=True, max_retries=16)
def deliver(
    self: Any,
    url: str,
    envelope: dict[str, Any],
    labels: dict[str, str],
    metadata: dict[str, str],
    secret: str,
) -> None:
    body = push_body(envelope, labels, metadata)
    headers = {"Content-Type": "application/json", "X-Dt-Signature": signature(body, secret)}
    try:
        response = _session.post(url, data=body, headers=headers, timeout=10)
        response.raise_for_status()
    except requests.RequestException as exc:
        raise self.retry(exc=exc, countdown=min(2**self.request.retries, 300)) from exc
