"""Which certificate authorities a push client trusts: the system store, or only the bundle given.

pyreqwest verifies with rustls' platform verifier, which reads the system store when a client is
built and has no switch to leave it out: `add_root_certificate_pem` only adds to it. The store it
reads is the one OpenSSL's environment names (`SSL_CERT_FILE`, `SSL_CERT_DIR`), so a client built
while `SSL_CERT_FILE` names the bundle, and `SSL_CERT_DIR` is unset, trusts the bundle alone, as
`--ca-bundle` promises. The environment is restored as soon as the client is built. Builds are
serialised by a lock (they run on worker threads); for those milliseconds another thread creating an
OpenSSL context from the environment would see the bundle too, which only narrows what it trusts.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR")
_BUILDING = threading.Lock()


@contextmanager
def only_trusting(bundle: str | None) -> Iterator[None]:
    """While open, a client built trusts only `bundle` (None: the system store, untouched)."""
    with _BUILDING:
        if bundle is None:
            yield
            return
        saved = {name: os.environ.get(name) for name in VARIABLES}
        os.environ["SSL_CERT_FILE"] = bundle
        os.environ.pop("SSL_CERT_DIR", None)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
