"""Studio: the web console, plain ES modules and one stylesheet served from this package.

Studio talks only to the public `/v2` API and `/auth/session`, like any other client; the server
merely hands out its files (`routes.py`).
"""
