"""The headers every web page Conduit serves carries: Studio's and the API reference's.

A strict Content-Security-Policy (scripts, styles and connections only from this origin, no inline
code, no framing), so an injected string in a page can neither run nor leak anything; `nosniff`, so
a browser never reads a file as another type than the one declared; `no-cache`, so an upgraded
server never runs with yesterday's scripts.
"""

from __future__ import annotations

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}
